package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A three-member etcd cluster losing its leader under registered servers and client load. */
class EtcdClusterFaultIT {
  private static final Logger logger = LoggerFactory.getLogger(EtcdClusterFaultIT.class);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).build();

  private final TestResources resources = new TestResources();

  @AfterEach
  void tearDown() throws Exception {
    resources.close();
  }

  private EtcdRegistry registry() {
    return resources.shortLeaseRegistry(etcd.endpoints());
  }

  @Test
  void leaderKilledRegistrationsIntactAndNoFailedCalls() throws Exception {
    EtcdRegistry server = registry();
    EtcdRegistry client = registry();
    ServiceInstance instance = ServiceInstance.of("greeter-cluster", "127.0.0.1", 9001);
    RecordingListener listener = new RecordingListener();
    client.watch("greeter-cluster", listener);
    try (GreeterLoad load =
        new GreeterLoad(
                etcd.cluster().authority(), "greeter-cluster-load", List.of(registry(), registry()))
            .start()) {
      server.register(instance);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> listener.last() != null && listener.last().contains(instance));

      int leader = etcd.cluster().leaderIndex();
      assertThat(leader).isNotNegative();
      etcd.cluster().member(leader).kill();
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> etcd.cluster().leaderIndex() >= 0);
      // more than a lease TTL after the kill: leases survived the leader change
      Thread.sleep(2500);
      assertThat(client.lookup("greeter-cluster")).containsExactly(instance);
      assertThat(client.lookup("greeter-cluster-load")).hasSize(2);
      ServiceInstance late = ServiceInstance.of("greeter-cluster", "127.0.0.1", 9002);
      server.register(late);
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.last().contains(late));
      assertThat(listener.sawEmptyAfterInstances).isFalse();

      etcd.cluster().member(leader).restart(true);
      long okBefore = load.ok.get();
      await().atMost(Duration.ofSeconds(5)).until(() -> load.ok.get() > okBefore + 20);
      logger.info("MEASURE leader kill: {} calls ok, {} failed", load.ok.get(), load.failed.get());
      assertThat(load.failed.get()).isZero();
    }
  }
}
