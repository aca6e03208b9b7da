package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The service watcher's transitions on fake time and an in-memory etcd. */
class ServiceWatcherTest {
  private final FakeScheduler time = new FakeScheduler();
  private final FakeEtcd etcd = new FakeEtcd();
  private final InstanceRecordCodec codec = new InstanceRecordCodec("/krpc/services/");
  private final Recorder listener = new Recorder();

  private ServiceWatcher watcher(int pageLimit, Duration coalesce) {
    return watcher(new KrpcRecordFormat("/krpc/services/"), pageLimit, coalesce);
  }

  private ServiceWatcher watcher(RecordFormat format, int pageLimit, Duration coalesce) {
    ServiceWatcher watcher =
        new ServiceWatcher(
            "greeter",
            etcd,
            format,
            time,
            Runnable::run,
            new WatchOptions(
                Duration.ofSeconds(2),
                Duration.ofSeconds(3),
                pageLimit,
                coalesce,
                Duration.ofMillis(500)));
    time.execute(
        () -> {
          watcher.add(new ServiceWatcher.Subscription("greeter", listener, s -> {}));
          watcher.start();
        });
    time.runDue();
    return watcher;
  }

  @Test
  void listsThenFollowsTheWatch() {
    put(1);
    watcher(1000, Duration.ZERO);
    assertThat(listener.last()).containsExactly(instance(1));
    put(2);
    time.runDue();
    assertThat(listener.last()).containsExactly(instance(1), instance(2));
    etcd.deleteByHand(codec.key(instance(1)));
    time.runDue();
    assertThat(listener.last()).containsExactly(instance(2));
    assertThat(listener.errors).isEmpty();
  }

  @Test
  void largeServicesAreListedInPagesAtOneRevision() {
    for (int i = 1; i <= 2500; i++) {
      put(i);
    }
    watcher(1000, Duration.ZERO);
    assertThat(etcd.count("range")).isEqualTo(3);
    assertThat(listener.last()).hasSize(2500);
    assertThat(etcd.watches).hasSize(1);
    assertThat(etcd.watches.get(0).fromRevision()).isEqualTo(etcd.revision + 1);
  }

  @Test
  void compactionRelistsAndWatchesAgain() {
    put(1);
    watcher(1000, Duration.ZERO);
    // a change the watch never saw, then etcd compacts the watch away
    FakeEtcd.FakeWatch watch = etcd.watches.remove(0);
    put(2);
    etcd.watches.add(watch);
    etcd.compactWatches();
    time.runDue();
    assertThat(listener.last()).containsExactly(instance(1), instance(2));
    assertThat(etcd.count("range")).isEqualTo(2);
    assertThat(etcd.watches).hasSize(1);
    assertThat(listener.errors).isEmpty();
  }

  @Test
  void watchErrorKeepsTheLastSnapshotAndReportsTheErrorOnce() {
    put(1);
    watcher(1000, Duration.ZERO);
    int updates = listener.updates.size();
    etcd.down = true;
    etcd.failWatches(Status.UNAVAILABLE.asRuntimeException());
    time.advance(Duration.ofSeconds(5));
    assertThat(listener.errors).hasSize(1);
    assertThat(listener.errors.get(0)).hasMessageContaining("etcd does not answer");
    assertThat(listener.updates).hasSize(updates);
    assertThat(etcd.count("range-serializable")).isGreaterThan(3);

    etcd.down = false;
    put(2);
    time.advance(Duration.ofSeconds(2));
    assertThat(listener.last()).containsExactly(instance(1), instance(2));
    assertThat(listener.errors).hasSize(1);
  }

  @Test
  void refusalIsReportedAsWhatItIsOnceAndNotRetriedLikeAnOutage() {
    etcd.refuseRange =
        Status.PERMISSION_DENIED
            .withDescription("etcdserver: permission denied")
            .asRuntimeException();
    watcher(1000, Duration.ZERO);
    time.advance(Duration.ofSeconds(20));
    assertThat(listener.errors).hasSize(1);
    assertThat(listener.errors.get(0))
        .hasMessageContaining("refuses")
        .hasMessageContaining("permission denied")
        .hasMessageNotContaining("does not answer");
    assertThat(etcd.count("range") + etcd.count("range-serializable")).isEqualTo(1);
    time.advance(Duration.ofSeconds(60));
    assertThat(listener.errors).hasSize(1);
    etcd.refuseRange = null;
    time.advance(Duration.ofSeconds(31));
    assertThat(listener.updates).isNotEmpty();
  }

  @Test
  void aBurstReachesListenersInCoalescedSnapshots() {
    watcher(1000, Duration.ofMillis(50));
    int before = listener.updates.size();
    for (int i = 1; i <= 1000; i++) {
      put(i);
      time.advance(Duration.ofMillis(1)); // 1,000 changes over one second
    }
    time.advance(Duration.ofMillis(60));
    int delivered = listener.updates.size() - before;
    assertThat(delivered).isBetween(10, 21);
    assertThat(listener.last()).hasSize(1000);
  }

  @Test
  void snapshotsStayInEndpointOrderThroughPutsMovesAndDeletes() {
    // The snapshot order is kept as instances change, not sorted per publish. Checked against
    // sorting what etcd holds by endpoint, then key, after every change of a seeded random run in
    // go-zero's format, whose keys (service/lease) do not name the endpoint: a key's instance moves
    // to another endpoint, two keys hold one endpoint, keys go.
    java.util.Random random = new java.util.Random(42);
    java.util.Map<String, ServiceInstance> held = new java.util.TreeMap<>();
    watcher(new GoRecordFormats.GoZero(""), 1000, Duration.ZERO);
    for (int step = 0; step < 400; step++) {
      String key = "greeter/" + (7_000_000 + random.nextInt(30));
      if (random.nextInt(4) == 0) {
        etcd.deleteByHand(key);
        held.remove(key);
      } else {
        ServiceInstance instance =
            ServiceInstance.of("greeter", "10.0.0." + random.nextInt(12), 80 + random.nextInt(3));
        etcd.putByHand(key, instance.endpoint());
        held.put(key, instance);
      }
      time.runDue();
      List<java.util.Map.Entry<String, ServiceInstance>> expected =
          new ArrayList<>(held.entrySet());
      expected.sort(
          java.util.Comparator.comparing(
                  (java.util.Map.Entry<String, ServiceInstance> e) -> e.getValue().endpoint())
              .thenComparing(java.util.Map.Entry::getKey));
      assertThat(listener.last())
          .as("after step %d", step)
          .containsExactlyElementsOf(expected.stream().map(java.util.Map.Entry::getValue).toList());
    }
  }

  @Test
  void theFirstChangeAfterAQuietPeriodIsDeliveredAtOnce() {
    watcher(1000, Duration.ofMillis(50));
    time.advance(Duration.ofSeconds(1));
    put(7);
    time.runDue();
    assertThat(listener.last()).containsExactly(instance(7));
  }

  @Test
  void afterAnOutageAnEmptyRelistIsHeldBackForTheLeaseTtl() {
    put(1);
    ServiceWatcher watcher = watcher(1000, Duration.ZERO);
    time.execute(() -> watcher.reportOutage(FakeEtcd.unavailable()));
    etcd.expireLease(0);
    etcd.deleteByHand(codec.key(instance(1)));
    time.execute(() -> watcher.resync(true));
    time.advance(Duration.ofSeconds(1));
    assertThat(listener.last()).containsExactly(instance(1));
    time.advance(Duration.ofSeconds(3));
    assertThat(listener.last()).isEmpty();
  }

  @Test
  void closeDuringARelistDeliversNothing() {
    put(1);
    ServiceWatcher watcher = watcher(1000, Duration.ZERO);
    int updates = listener.updates.size();
    etcd.hang = true;
    time.execute(() -> watcher.resync(false));
    time.runDue();
    time.execute(watcher::close);
    time.runDue();
    etcd.hang = false;
    etcd.hanging.forEach(f -> f.cancel(false));
    time.advance(Duration.ofSeconds(30));
    assertThat(listener.updates).hasSize(updates);
    assertThat(listener.errors).isEmpty();
    assertThat(etcd.watches).isEmpty();
    assertThat(time.pending()).isZero();
  }

  private ServiceInstance instance(int port) {
    return ServiceInstance.of("greeter", "10.0.0.1", port);
  }

  private void put(int port) {
    ServiceInstance instance = instance(port);
    etcd.putByHand(codec.key(instance), new String(codec.encode(instance), StandardCharsets.UTF_8));
  }

  static final class Recorder implements Registry.Listener {
    final List<List<ServiceInstance>> updates = new ArrayList<>();
    final List<RegistryException> errors = new ArrayList<>();

    @Override
    public void onUpdate(List<ServiceInstance> instances) {
      updates.add(instances);
    }

    @Override
    public void onError(RegistryException error) {
      errors.add(error);
    }

    List<ServiceInstance> last() {
      return updates.get(updates.size() - 1);
    }
  }
}
