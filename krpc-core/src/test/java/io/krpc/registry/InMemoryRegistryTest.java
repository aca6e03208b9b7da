package io.krpc.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InMemoryRegistryTest {
  private final InMemoryRegistry registry = new InMemoryRegistry();

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  void watchDeliversSnapshotsInOrder() {
    List<List<ServiceInstance>> seen = new CopyOnWriteArrayList<>();
    ServiceInstance a = ServiceInstance.of("greeter", "127.0.0.1", 2);
    ServiceInstance b = ServiceInstance.of("greeter", "127.0.0.1", 1);
    registry.register(a);
    Registry.Watch watch = registry.watch("greeter", seen::add);
    registry.register(b);
    registry.register(ServiceInstance.of("other", "127.0.0.1", 3));
    registry.deregister(a);

    await()
        .untilAsserted(
            () -> assertThat(seen).containsExactly(List.of(a), List.of(b, a), List.of(b)));
    assertThat(registry.lookup("greeter")).containsExactly(b);

    watch.cancel();
    registry.deregister(b);
    assertThat(registry.lookup("greeter")).isEmpty();
    // A registration after cancel is not delivered: a later snapshot would show up here.
    registry.register(a);
    await().during(java.time.Duration.ofMillis(100)).until(() -> seen.size() == 3);
  }

  @Test
  void reRegisteringReplacesTheInstance() {
    registry.register(ServiceInstance.of("greeter", "127.0.0.1", 1));
    ServiceInstance heavier =
        ServiceInstance.builder("greeter", "127.0.0.1", 1).weight(300).build();
    registry.register(heavier);
    assertThat(registry.lookup("greeter")).containsExactly(heavier);
  }

  @Test
  void listenerExceptionDoesNotStopLaterSnapshots() {
    List<List<ServiceInstance>> seen = new CopyOnWriteArrayList<>();
    registry.watch(
        "greeter",
        instances -> {
          seen.add(instances);
          throw new IllegalStateException("listener bug");
        });
    registry.register(ServiceInstance.of("greeter", "127.0.0.1", 1));
    await().untilAsserted(() -> assertThat(seen).hasSize(2));
  }

  @Test
  void closedRegistryRefusesNewWork() {
    registry.close();
    assertThatThrownBy(() -> registry.register(ServiceInstance.of("greeter", "h", 1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> registry.watch("greeter", i -> {}))
        .isInstanceOf(IllegalStateException.class);
    registry.close(); // idempotent
  }
}
