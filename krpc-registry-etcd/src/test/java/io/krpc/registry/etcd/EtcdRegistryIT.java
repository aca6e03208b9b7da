package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdClusterExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Registration and discovery against one real etcd member. */
class EtcdRegistryIT {
  private static final Logger logger = LoggerFactory.getLogger(EtcdRegistryIT.class);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private final TestResources resources = new TestResources();
  private Client raw;

  @BeforeEach
  void setUp() {
    raw = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build();
    resources.add(raw);
  }

  @AfterEach
  void tearDown() throws Exception {
    resources.close();
  }

  private EtcdRegistry registry() {
    return resources.shortLeaseRegistry(etcd.endpoints());
  }

  @Test
  void registerDiscoverDeregister() {
    EtcdRegistry server = registry();
    EtcdRegistry client = registry();
    RecordingListener listener = new RecordingListener();
    client.watch("greeter-basic", listener);
    await().until(() -> listener.last() != null);
    assertThat(listener.last()).isEmpty();

    ServiceInstance a =
        ServiceInstance.builder("greeter-basic", "127.0.0.2", 9001)
            .weight(300)
            .metadata(Map.of("zone", "a"))
            .build();
    ServiceInstance b = ServiceInstance.of("greeter-basic", "127.0.0.1", 9002);
    server.register(a);
    server.register(b);
    await().atMost(Duration.ofSeconds(5)).until(() -> listener.last().size() == 2);
    assertThat(listener.last()).containsExactly(b, a); // sorted by endpoint
    assertThat(client.lookup("greeter-basic")).containsExactly(b, a);

    // a second listener shares the watch and gets the current snapshot at once
    RecordingListener second = new RecordingListener();
    Registry.Watch secondWatch = client.watch("greeter-basic", second);
    await().atMost(Duration.ofSeconds(2)).until(() -> second.last() != null);
    assertThat(second.last()).containsExactly(b, a);
    secondWatch.cancel();

    ServiceInstance heavier = a.toBuilder().weight(500).build();
    server.register(heavier);
    await().atMost(Duration.ofSeconds(5)).until(() -> listener.last().contains(heavier));

    server.deregister(b);
    await().atMost(Duration.ofSeconds(5)).until(() -> listener.last().equals(List.of(heavier)));
    server.deregister(b); // not registered: nothing happens

    server.close(); // revokes the lease: gone at once
    await().atMost(Duration.ofSeconds(1)).until(() -> listener.last().isEmpty());
    assertThat(listener.overlapped).isFalse();
    assertThatThrownBy(() -> server.register(a)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void registriesOfOneJvmShareOneConnectionAndTheWatchStreamRidesIt() {
    EtcdRegistry server = sharing();
    EtcdRegistry client = sharing();
    EtcdRegistry alone =
        resources.add(
            EtcdRegistry.builder()
                .endpoints(etcd.endpoints())
                .leaseTtl(Duration.ofSeconds(2))
                .shareConnection(false)
                .build());
    RecordingListener shared = new RecordingListener();
    RecordingListener own = new RecordingListener();
    client.watch("greeter-shared", shared);
    alone.watch("greeter-shared", own);
    ServiceInstance instance = ServiceInstance.of("greeter-shared", "127.0.0.1", 9001);
    server.register(instance);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> instance.equals(first(shared)) && instance.equals(first(own)));
    // one jetcd channel carries reads, writes, leases and the watch stream (if this fails, a new
    // jetcd moved its channel: EtcdConnection.Reflection must find it again)
    assertThat(client.connectionInfo()).isEqualTo("shared/2+watch");
    assertThat(alone.connectionInfo()).isEqualTo("own+watch");

    // closing one sharer leaves the other working on the connection
    server.close();
    await().atMost(Duration.ofSeconds(2)).until(() -> shared.last().isEmpty());
    assertThat(client.connectionInfo()).isEqualTo("own+watch");
    EtcdRegistry again = sharing();
    again.register(instance);
    await().atMost(Duration.ofSeconds(5)).until(() -> instance.equals(first(shared)));
  }

  @Test
  void registriesShareByDefaultAndClosingOneLeavesTheOthersWorking() {
    EtcdRegistry server = resources.add(defaults());
    EtcdRegistry crashing = resources.add(defaults());
    EtcdRegistry client = resources.add(defaults());
    assertThat(client.connectionInfo()).isEqualTo("shared/3+watch");
    RecordingListener seen = new RecordingListener();
    client.watch("greeter-default-shared", seen);
    ServiceInstance a = ServiceInstance.of("greeter-default-shared", "127.0.0.1", 9001);
    ServiceInstance b = ServiceInstance.of("greeter-default-shared", "127.0.0.1", 9002);
    server.register(a);
    crashing.register(b);
    crashing.watch("greeter-default-shared", new RecordingListener());
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.last().size() == 2);

    // a sharer that stops like a crashed process: its instance goes with its lease, the others'
    // calls and watches go on over the connection
    crashing.closeWithoutRevoking();
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.last().equals(List.of(a)));
    server.deregister(a);
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.last().isEmpty());
    server.register(a);
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.last().equals(List.of(a)));
    assertThat(client.lookup("greeter-default-shared")).containsExactly(a);

    // a sharer closed for good: its lease is revoked, the last registry keeps the connection
    server.close();
    await().atMost(Duration.ofSeconds(2)).until(() -> seen.last().isEmpty());
    assertThat(client.connectionInfo()).isEqualTo("own+watch");
    assertThat(client.lookup("greeter-default-shared")).isEmpty();
    assertThat(client.watchStreamsOpened()).isEqualTo(1);
  }

  private EtcdRegistry defaults() {
    return EtcdRegistry.builder()
        .endpoints(etcd.endpoints())
        .leaseTtl(Duration.ofSeconds(2))
        .build();
  }

  private EtcdRegistry sharing() {
    return resources.add(
        EtcdRegistry.builder()
            .endpoints(etcd.endpoints())
            .leaseTtl(Duration.ofSeconds(2))
            .shareConnection(true)
            .build());
  }

  private static ServiceInstance first(RecordingListener listener) {
    List<ServiceInstance> last = listener.last();
    return last == null || last.isEmpty() ? null : last.get(0);
  }

  @Test
  void crashedServerLeavesWithinTtlPlusOneSecond() {
    EtcdRegistry server = registry();
    EtcdRegistry client = registry();
    RecordingListener listener = new RecordingListener();
    client.watch("greeter-crash", listener);
    server.register(ServiceInstance.of("greeter-crash", "127.0.0.1", 9001));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> listener.last() != null && listener.last().size() == 1);

    long crashed = System.nanoTime();
    server.closeWithoutRevoking();
    await()
        .atMost(Duration.ofSeconds(3))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> listener.last().isEmpty());
    long gone = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - crashed);
    logger.info("MEASURE crashed instance left discovery after {} ms (TTL 2 s)", gone);
    assertThat(gone).isLessThan(3000);
  }

  @Test
  void twoThreadsClosingAtOnceBothReturnOnceTheRegistryIsClosed() throws Exception {
    EtcdRegistry server = registry();
    server.register(ServiceInstance.of("greeter-close-race", "127.0.0.1", 9001));
    ByteSequence key = bytes("/krpc/services/greeter-close-race/127.0.0.1:9001");
    assertThat(raw.getKVClient().get(key).get().getCount()).isOne();

    CyclicBarrier together = new CyclicBarrier(2);
    ExecutorService closers = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> closes = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        closes.add(
            closers.submit(
                () -> {
                  together.await();
                  server.close();
                  return null;
                }));
      }
      for (Future<?> close : closes) {
        close.get(15, TimeUnit.SECONDS); // both return, neither throws
        // whichever returns, the one close has finished by then: the lease is revoked
        assertThat(raw.getKVClient().get(key).get().getCount()).isZero();
      }
    } finally {
      closers.shutdownNow();
    }
    assertThatThrownBy(() -> server.register(ServiceInstance.of("greeter-close-race", "h", 1)))
        .hasMessageContaining("closed");
  }

  @Test
  void keyDeletedByHandIsPutBack() throws Exception {
    EtcdRegistry server = registry();
    ServiceInstance instance = ServiceInstance.of("greeter-deleted", "127.0.0.1", 9001);
    server.register(instance);
    ByteSequence key = bytes("/krpc/services/greeter-deleted/127.0.0.1:9001");
    assertThat(raw.getKVClient().get(key).get().getCount()).isOne();

    raw.getKVClient().delete(key).get();
    await()
        .atMost(Duration.ofSeconds(2))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> raw.getKVClient().get(key).get().getCount() == 1);
    // and it is under a lease again
    long lease = raw.getKVClient().get(key).get().getKvs().get(0).getLease();
    assertThat(lease).isNotZero();
  }

  @Test
  void malformedRecordsAreSkipped() throws Exception {
    String p = "/krpc/services/greeter-bad/";
    put(p + "127.0.0.1:1", "not json");
    put(p + "127.0.0.1:2", "{\"version\":1,\"host\":\"127.0.0.1\",\"port\":\"2\"}");
    put(p + "127.0.0.1:70000", "{\"version\":1,\"host\":\"127.0.0.1\",\"port\":70000}");
    put(p + ":4", "{\"version\":1,\"host\":\"\",\"port\":4}");
    put(p + "127.0.0.1:5", "{\"version\":9,\"host\":\"127.0.0.1\",\"port\":5}");
    put(p + "127.0.0.1:6", "{\"version\":1,\"host\":\"127.0.0.1\",\"port\":6,\"weight\":7}");

    EtcdRegistry client = registry();
    RecordingListener listener = new RecordingListener();
    client.watch("greeter-bad", listener);
    ServiceInstance good = ServiceInstance.builder("greeter-bad", "127.0.0.1", 6).weight(7).build();
    await().atMost(Duration.ofSeconds(5)).until(() -> listener.last() != null);
    assertThat(listener.last()).containsExactly(good);
    assertThat(client.lookup("greeter-bad")).containsExactly(good);

    // a record turning bad through a watch event is dropped; the rest keeps working
    put(p + "127.0.0.1:6", "{broken");
    put(p + "127.0.0.1:8", "{\"version\":1,\"host\":\"127.0.0.1\",\"port\":8}");
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                listener.last().equals(List.of(ServiceInstance.of("greeter-bad", "127.0.0.1", 8))));
  }

  @Test
  void registerWithEtcdUnreachableFailsWithClearMessage() {
    EtcdRegistry nowhere =
        EtcdRegistry.builder()
            .endpoints("http://127.0.0.1:1")
            .requestTimeout(Duration.ofSeconds(1))
            .build();
    resources.add(nowhere);
    long start = System.nanoTime();
    assertThatThrownBy(() -> nowhere.register(ServiceInstance.of("greeter-x", "127.0.0.1", 9001)))
        .isInstanceOf(RegistryException.class)
        .hasMessageContaining(
            "Could not register /krpc/services/greeter-x/127.0.0.1:9001 in etcd "
                + "at http://127.0.0.1:1 within PT1S");
    assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(3));
    assertThatThrownBy(() -> nowhere.lookup("greeter-x")).isInstanceOf(RegistryException.class);
  }

  @Test
  void registerToWatchLatency() {
    EtcdRegistry server = registry();
    EtcdRegistry client = registry();
    RecordingListener listener = new RecordingListener();
    client.watch("greeter-latency", listener);
    await().until(() -> listener.last() != null);
    List<Long> micros = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ServiceInstance instance = ServiceInstance.of("greeter-latency", "127.0.0.1", 10_000 + i);
      long start = System.nanoTime();
      server.register(instance);
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(1))
          .until(() -> listener.last().contains(instance));
      micros.add(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start));
    }
    Collections.sort(micros);
    logger.info(
        "MEASURE register() to watch listener: median {} us, min {} us, max {} us (n=20)",
        (micros.get(9) + micros.get(10)) / 2,
        micros.get(0),
        micros.get(19));
    assertThat(micros.get(10)).isLessThan(1_000_000);
  }

  private void put(String key, String value) throws Exception {
    raw.getKVClient().put(bytes(key), bytes(value)).get();
  }

  static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  static long count(Client raw, String prefix) throws Exception {
    return raw.getKVClient()
        .get(bytes(prefix), GetOption.builder().isPrefix(true).build())
        .get()
        .getCount();
  }
}
