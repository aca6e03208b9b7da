package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.Auth;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdClusterExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** etcd with authentication enabled: the right password works, a wrong one fails clearly. */
class EtcdAuthIT {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  @BeforeAll
  static void enableAuth() throws Exception {
    try (Client client =
        Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
      Auth auth = client.getAuthClient();
      ByteSequence root = bytes("root");
      auth.userAdd(root, bytes("s3cret")).get(5, TimeUnit.SECONDS);
      auth.roleAdd(root).get(5, TimeUnit.SECONDS);
      auth.userGrantRole(root, root).get(5, TimeUnit.SECONDS);
      auth.authEnable().get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void rightPasswordRegistersAndDiscovers() {
    ServiceInstance instance = ServiceInstance.of("greeter-auth", "127.0.0.1", 9001);
    try (EtcdRegistry registry = builder().username("root").password("s3cret").build()) {
      registry.register(instance);
      assertThat(registry.lookup("greeter-auth")).containsExactly(instance);
    }
  }

  @Test
  void afterAnEtcdRestartEveryOperationAuthenticatesAgain() {
    ServiceInstance a = ServiceInstance.of("greeter-reauth", "127.0.0.1", 9101);
    ServiceInstance b = ServiceInstance.of("greeter-reauth", "127.0.0.1", 9102);
    try (EtcdRegistry server =
            builder().username("root").password("s3cret").leaseTtl(Duration.ofSeconds(2)).build();
        EtcdRegistry client = builder().username("root").password("s3cret").build()) {
      RecordingListener listener = new RecordingListener();
      client.watch("greeter-reauth", listener);
      server.register(a);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> java.util.List.of(a).equals(listener.last()));

      // etcd's simple tokens live in its memory: after a restart every token is invalid
      etcd.cluster().restart(true);
      await()
          .atMost(Duration.ofSeconds(15))
          .ignoreExceptions()
          .untilAsserted(() -> server.register(b));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> java.util.List.of(a, b).equals(listener.last()));
      assertThat(client.lookup("greeter-reauth")).containsExactly(a, b);
      // the lease is kept alive with the new token: the instances outlive several TTLs
      await()
          .pollDelay(Duration.ofSeconds(5))
          .atMost(Duration.ofSeconds(7))
          .until(() -> client.lookup("greeter-reauth").size() == 2);
      // and the watch follows changes again
      server.deregister(a);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> java.util.List.of(b).equals(listener.last()));
    }
  }

  @Test
  void wrongPasswordFailsFastWithClearMessage() {
    try (EtcdRegistry registry = builder().username("root").password("wrong").build()) {
      long start = System.nanoTime();
      assertThatThrownBy(
              () -> registry.register(ServiceInstance.of("greeter-auth", "127.0.0.1", 1)))
          .isInstanceOf(RegistryException.class)
          .hasMessageContaining("authentication failed");
      assertThatThrownBy(() -> registry.lookup("greeter-auth"))
          .isInstanceOf(RegistryException.class)
          .hasMessageContaining("authentication failed");
      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(10));
    }
  }

  @Test
  void missingCredentialsFailClearly() {
    try (EtcdRegistry registry = builder().build()) {
      assertThatThrownBy(
              () -> registry.register(ServiceInstance.of("greeter-auth", "127.0.0.1", 2)))
          .isInstanceOf(RegistryException.class)
          .hasMessageContaining("user name is empty");
    }
  }

  private static EtcdRegistry.Builder builder() {
    return EtcdRegistry.builder().endpoints(etcd.endpoints()).requestTimeout(Duration.ofSeconds(5));
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }
}
