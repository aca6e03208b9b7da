package io.krpc.registry.etcd;

import static io.krpc.registry.etcd.EtcdRegistryIT.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdClusterExtension;
import io.krpc.testing.EtcdMember;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd failures under a registered server and a watching client: restart, wipe, an outage longer
 * than the lease TTL (etcd down, and etcd frozen as in a network cut).
 */
class EtcdFaultIT {
  private static final Logger logger = LoggerFactory.getLogger(EtcdFaultIT.class);
  private static final String KEY = "/krpc/services/greeter-fault/127.0.0.1:9001";
  private static final ServiceInstance INSTANCE =
      ServiceInstance.of("greeter-fault", "127.0.0.1", 9001);

  @RegisterExtension
  final EtcdClusterExtension etcd =
      EtcdClusterExtension.builder().lifecycle(EtcdClusterExtension.Lifecycle.PER_TEST).build();

  private final TestResources resources = new TestResources();

  @AfterEach
  void tearDown() throws Exception {
    resources.close();
  }

  private EtcdRegistry registry() {
    return resources.shortLeaseRegistry(etcd.endpoints());
  }

  @Test
  void etcdRestartedWithItsData() throws Exception {
    RecordingListener listener = registerAndWatch();
    long before = modRevision();
    EtcdMember member = etcd.cluster().member(0);
    member.kill();
    member.restart(true);
    long back = measureReRegistration(before, "restart with data");
    assertThat(back).isLessThan(2000);
    assertStillDiscovered(listener);
  }

  @Test
  void etcdWipedAndRestarted() throws Exception {
    RecordingListener listener = registerAndWatch();
    EtcdMember member = etcd.cluster().member(0);
    member.kill();
    member.restart(false);
    long back = measureReRegistration(-1, "wipe");
    assertThat(back).isLessThan(2000);
    assertStillDiscovered(listener);
  }

  @Test
  void etcdDownLongerThanLeaseTtlUnderClientLoad() throws Exception {
    EtcdRegistry serverRegistry = registry();
    RecordingListener listener = new RecordingListener();
    registry().watch("greeter-fault", listener);
    try (GreeterLoad load =
        new GreeterLoad(
                etcd.cluster().authority(), "greeter-load", List.of(serverRegistry, registry()))
            .start()) {
      serverRegistry.register(INSTANCE);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> listener.last() != null && !listener.last().isEmpty());
      long before = modRevision();
      EtcdMember member = etcd.cluster().member(0);
      member.stop();
      Thread.sleep(3500); // longer than the 2 s lease TTL
      member.restart(true);
      long back = measureReRegistration(before, "outage of 3.5 s");
      assertThat(back).isLessThan(2000);
      assertStillDiscovered(listener);
      long okBefore = load.ok.get();
      await().atMost(Duration.ofSeconds(5)).until(() -> load.ok.get() > okBefore + 20);
      logger.info(
          "MEASURE outage of 3.5 s: {} calls ok, {} failed", load.ok.get(), load.failed.get());
      assertThat(load.failed.get()).isZero();
      assertThat(listener.errors).isNotEmpty(); // the outage was reported, not hidden
    }
  }

  @Test
  void etcdFrozenLongerThanLeaseTtlUnderClientLoad() throws Exception {
    EtcdRegistry serverRegistry = registry();
    RecordingListener listener = new RecordingListener();
    registry().watch("greeter-fault", listener);
    try (GreeterLoad load =
        new GreeterLoad(etcd.cluster().authority(), "greeter-load", List.of(registry())).start()) {
      serverRegistry.register(INSTANCE);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> listener.last() != null && !listener.last().isEmpty());
      long before = modRevision();
      EtcdMember member = etcd.cluster().member(0);
      member.pause(); // like a network cut: sockets open, no answers
      Thread.sleep(3500);
      member.resume();
      long back = measureReRegistration(before, "freeze of 3.5 s");
      assertThat(back).isLessThan(2000);
      assertStillDiscovered(listener);
      logger.info(
          "MEASURE freeze of 3.5 s: {} calls ok, {} failed", load.ok.get(), load.failed.get());
      assertThat(load.failed.get()).isZero();
    }
  }

  private RecordingListener registerAndWatch() {
    EtcdRegistry server = registry();
    EtcdRegistry client = registry();
    RecordingListener listener = new RecordingListener();
    client.watch("greeter-fault", listener);
    server.register(INSTANCE);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> listener.last() != null && listener.last().contains(INSTANCE));
    return listener;
  }

  /**
   * Polls etcd (from the moment it answers again) until the key is written again under a live
   * lease, newer than {@code before}; returns the milliseconds that took.
   */
  private long measureReRegistration(long before, String what) throws Exception {
    long start = System.nanoTime();
    logger.info("etcd answers again; measuring re-registration");
    try (Client raw = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(10))
          .until(
              () -> {
                List<KeyValue> kvs =
                    raw.getKVClient().get(bytes(KEY)).get(1, TimeUnit.SECONDS).getKvs();
                if (kvs.isEmpty() || kvs.get(0).getModRevision() <= before) {
                  return false;
                }
                long ttl =
                    raw.getLeaseClient()
                        .timeToLive(
                            kvs.get(0).getLease(), io.etcd.jetcd.options.LeaseOption.DEFAULT)
                        .get(1, TimeUnit.SECONDS)
                        .getTTL();
                return ttl > 0;
              });
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    logger.info("MEASURE {}: re-registered {} ms after etcd answered", what, millis);
    return millis;
  }

  private void assertStillDiscovered(RecordingListener listener) {
    await().atMost(Duration.ofSeconds(5)).until(() -> listener.last().contains(INSTANCE));
    assertThat(listener.sawEmptyAfterInstances).as("listener saw an empty list").isFalse();
    assertThat(listener.overlapped).isFalse();
  }

  private long modRevision() throws Exception {
    try (Client raw = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
      return raw.getKVClient()
          .get(bytes(KEY))
          .get(5, TimeUnit.SECONDS)
          .getKvs()
          .get(0)
          .getModRevision();
    }
  }
}
