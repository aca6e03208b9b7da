package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.registry.ServiceInstance;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The lease keeper's transitions on fake time and an in-memory etcd. */
class LeaseKeeperTest {
  private static final Duration TTL = Duration.ofSeconds(3);
  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  private final FakeScheduler time = new FakeScheduler();
  private final FakeEtcd etcd = new FakeEtcd();
  private final InstanceRecordCodec codec = new InstanceRecordCodec("/krpc/services/");
  private final LeaseKeeper keeper =
      new LeaseKeeper(etcd, List.of(new KrpcRecordFormat("/krpc/services/")), time, TTL, TIMEOUT);
  private final ServiceInstance instance = ServiceInstance.of("greeter", "10.0.0.1", 9001);
  private final String key = codec.key(instance);

  @Test
  void registersUnderOneLeaseAndKeepsItAlive() {
    CompletableFuture<Void> done = register(instance);
    assertThat(done).isCompleted();
    assertThat(etcd.store.get(key).lease()).isEqualTo(keeper.leaseId());
    int keepAlives = etcd.count("keepAlive");
    time.advance(Duration.ofSeconds(3));
    // TTL 3 s: one keep-alive per second
    assertThat(etcd.count("keepAlive") - keepAlives).isEqualTo(3);
    assertThat(etcd.count("grant")).isEqualTo(1);
  }

  @Test
  void leaseStatusFollowsGrantKeepAliveExpiryAndShutdown() {
    assertThat(keeper.lease()).isNull();
    var unused = register(instance);
    LeaseKeeper.LeaseStatus granted = keeper.lease();
    assertThat(granted).isNotNull();
    assertThat(granted.leaseId()).isEqualTo(keeper.leaseId());
    assertThat(granted.ttlSeconds()).isEqualTo(3);
    assertThat(granted.sinceConfirmedNanos()).isZero();
    time.advance(Duration.ofMillis(900));
    assertThat(keeper.lease().sinceConfirmedNanos()).isEqualTo(Duration.ofMillis(900).toNanos());
    // the keep-alive at 1 s confirms it again, with the TTL etcd reports (10 s in FakeEtcd)
    time.advance(Duration.ofMillis(200));
    assertThat(keeper.lease().sinceConfirmedNanos()).isEqualTo(Duration.ofMillis(100).toNanos());
    assertThat(keeper.lease().ttlSeconds()).isEqualTo(10);
    // etcd away and the lease lost: the last confirmation only ages while etcd cannot be asked
    etcd.down = true;
    etcd.expireLease(granted.leaseId());
    time.advance(Duration.ofSeconds(1));
    assertThat(keeper.lease().leaseId()).isEqualTo(granted.leaseId());
    assertThat(keeper.lease().sinceConfirmedNanos()).isEqualTo(Duration.ofMillis(1100).toNanos());
    // etcd back: a new lease, confirmed just now
    etcd.down = false;
    time.advance(Duration.ofSeconds(3));
    assertThat(keeper.lease().leaseId())
        .isEqualTo(keeper.leaseId())
        .isNotEqualTo(granted.leaseId());
    assertThat(keeper.lease().sinceConfirmedNanos()).isLessThan(Duration.ofSeconds(1).toNanos());
    keeper.shutdown();
    assertThat(keeper.lease()).isNull();
  }

  @Test
  void leaseLostIsGrantedAgainWithBackoffAndEveryKeyPutBack() {
    var unused = register(instance);
    long first = keeper.leaseId();
    etcd.down = true;
    etcd.expireLease(first);
    // the next keep-alive fails; the keeper retries with a growing delay while etcd is away
    time.advance(Duration.ofSeconds(1));
    List<Long> attempts = new CopyOnWriteArrayList<>();
    int grants = etcd.count("grant");
    for (int i = 0; i < 60; i++) {
      time.advance(Duration.ofMillis(100));
      if (etcd.count("grant") > grants) {
        attempts.add(time.nanoTime());
        grants = etcd.count("grant");
      }
    }
    assertThat(attempts).hasSizeGreaterThanOrEqualTo(4);
    long firstGap = attempts.get(1) - attempts.get(0);
    long lastGap = attempts.get(attempts.size() - 1) - attempts.get(attempts.size() - 2);
    assertThat(lastGap).isGreaterThan(firstGap);
    assertThat(lastGap).isLessThanOrEqualTo(Duration.ofMillis(1100).toNanos());
    assertThat(etcd.store).doesNotContainKey(key);

    etcd.down = false;
    time.advance(Duration.ofSeconds(1));
    assertThat(keeper.leaseId()).isNotEqualTo(first).isNotZero();
    assertThat(etcd.store.get(key).lease()).isEqualTo(keeper.leaseId());
  }

  @Test
  void keyDeletedByHandIsPutBack() {
    var unused = register(instance);
    etcd.deleteByHand(key);
    keeper.check(0).check("greeter", etcd.revision, java.util.Map.of(), List.of(key));
    time.runDue();
    assertThat(etcd.store).containsKey(key);
    assertThat(etcd.store.get(key).lease()).isEqualTo(keeper.leaseId());
    assertThat(etcd.count("grant")).isEqualTo(1);
  }

  @Test
  void unrelatedKeysOrOlderRevisionsDoNotTriggerARestore() {
    var unused = register(instance);
    int puts = etcd.count("putAll") + etcd.count("put");
    keeper
        .check(0)
        .check("greeter", etcd.revision, java.util.Map.of(), List.of("/krpc/services/greeter/x:1"));
    keeper.check(0).check("greeter", 1, java.util.Map.of(), List.of(key));
    time.runDue();
    assertThat(etcd.count("putAll") + etcd.count("put")).isEqualTo(puts);
  }

  @Test
  @SuppressWarnings("unchecked")
  void closeDuringARestoreFailsWaitersAndWritesNothingAfterwards() {
    etcd.hang = true;
    CompletableFuture<Void> done = new CompletableFuture<>();
    keeper.register(instance, done);
    time.runDue();
    assertThat(etcd.hanging).isNotEmpty();
    assertThat(keeper.shutdown()).isZero();
    assertThat(done).isCompletedExceptionally();
    // etcd answers the grant after the close: nothing is written, nothing scheduled
    etcd.hang = false;
    int calls = etcd.calls.size();
    etcd.hanging.forEach(f -> ((CompletableFuture<Object>) f).complete(555L));
    time.advance(Duration.ofSeconds(30));
    // the lease granted too late is revoked, and that is all
    assertThat(etcd.calls.subList(calls, etcd.calls.size())).containsExactly("revoke");
    assertThat(etcd.store).isEmpty();
  }

  @Test
  void registerTimesOutWhenEtcdHangs() {
    etcd.hang = true;
    CompletableFuture<Void> done = register(instance);
    time.advance(TIMEOUT.plusMillis(1));
    assertThat(done).isNotDone();
    assertThat(keeper.lastError()).isInstanceOf(java.util.concurrent.TimeoutException.class);
  }

  @Test
  void anInstanceThatWouldOverwriteAnotherOfItsServiceIsRefusedAndOtherServicesAreNot() {
    // go-zero's key is service/lease: one instance per service per registry
    LeaseKeeper goZero =
        new LeaseKeeper(etcd, List.of(new GoRecordFormats.GoZero("")), time, TTL, TIMEOUT);
    CompletableFuture<Void> first = register(goZero, ServiceInstance.of("greeter", "10.0.0.1", 1));
    CompletableFuture<Void> clash = register(goZero, ServiceInstance.of("greeter", "10.0.0.2", 2));
    CompletableFuture<Void> other = register(goZero, ServiceInstance.of("billing", "10.0.0.2", 2));
    assertThat(first).isCompleted();
    assertThat(other).isCompleted();
    assertThat(clash)
        .failsWithin(Duration.ZERO)
        .withThrowableThat()
        .havingRootCause()
        .isInstanceOf(IllegalArgumentException.class)
        .withMessageContaining("greeter/10.0.0.2:2 would overwrite greeter/10.0.0.1:1")
        .withMessageContaining("under the key greeter/");
    assertThat(etcd.store)
        .containsOnlyKeys("greeter/" + goZero.leaseId(), "billing/" + goZero.leaseId());

    // forgotten, its key is free again for another instance of the service
    time.execute(() -> goZero.forget(ServiceInstance.of("greeter", "10.0.0.1", 1)));
    time.runDue();
    assertThat(register(goZero, ServiceInstance.of("greeter", "10.0.0.2", 2))).isCompleted();
  }

  private CompletableFuture<Void> register(ServiceInstance instance) {
    return register(keeper, instance);
  }

  private CompletableFuture<Void> register(LeaseKeeper keeper, ServiceInstance instance) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    time.execute(() -> keeper.register(instance, done));
    time.runDue();
    return done;
  }
}
