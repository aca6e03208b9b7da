package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import io.krpc.common.Backoff;
import io.krpc.registry.ServiceInstance;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.annotation.concurrent.NotThreadSafe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one registry's instances in etcd: one lease, kept alive every TTL/3, with every instance
 * put under it. Whenever the lease may be lost (a keep-alive fails or finds it gone, etcd
 * restarted or lost its data, a key of ours was deleted by someone else) it checks the lease,
 * grants a new one when needed and puts every instance again in one transaction, retrying with
 * capped exponential backoff for as long as the registry is open.
 *
 * <p>Confined to the registry's state executor: every method must be called on it.
 */
@NotThreadSafe
public final class LeaseKeeper {
  private static final Logger logger = LoggerFactory.getLogger(LeaseKeeper.class);

  private final EtcdConnection connection;
  private final InstanceRecordCodec codec;
  private final ScheduledExecutorService stateExecutor;
  private final long ttlSeconds;
  private final Duration requestTimeout;
  private final Backoff backoff = EtcdErrors.retryBackoff();
  private final Map<String, Registration> desired = new LinkedHashMap<>();
  private long leaseId;
  private boolean syncing;
  private boolean syncAgain;
  private boolean recovering;
  private ScheduledFuture<?> retry;
  private ScheduledFuture<?> keepAliveTask;
  private boolean closed;
  private volatile Throwable lastError;

  LeaseKeeper(EtcdConnection connection, InstanceRecordCodec codec,
      ScheduledExecutorService stateExecutor, Duration leaseTtl, Duration requestTimeout) {
    this.connection = connection;
    this.codec = codec;
    this.stateExecutor = stateExecutor;
    this.ttlSeconds = Math.max(1, (leaseTtl.toMillis() + 999) / 1000);
    this.requestTimeout = requestTimeout;
  }

  /** Adds or replaces an instance; {@code done} completes once its key is written under a lease. */
  void register(ServiceInstance instance, CompletableFuture<Void> done) {
    if (closed) {
      done.completeExceptionally(new IllegalStateException("EtcdRegistry is closed"));
      return;
    }
    String key = codec.key(instance);
    Registration registration = new Registration(key, instance, codec.encode(instance));
    Registration previous = desired.put(key, registration);
    if (previous != null) {
      previous.waiters.forEach(w -> w.complete(null));
    }
    registration.waiters.add(done);
    if (leaseId != 0 && !syncing && !recovering) {
      long lease = leaseId;
      timed(connection.client().getKVClient().put(bytes(key), bytes(registration.value),
              PutOption.builder().withLeaseId(lease).build()))
          .whenCompleteAsync((response, error) -> {
            if (desired.get(key) != registration) {
              deleteIfForgotten(key);
              return;
            }
            if (error == null) {
              registration.confirmed(response.getHeader().getRevision());
            } else {
              requestSync("put of " + key + " failed: " + error);
            }
          }, stateExecutor);
    } else {
      requestSync(null);
    }
  }

  /** Forgets {@code instance} (if it is still the one registered) so it is not put back. */
  void forget(ServiceInstance instance) {
    Registration registration = desired.remove(codec.key(instance));
    if (registration != null) {
      registration.waiters.forEach(w -> w.completeExceptionally(
          new IllegalStateException("deregistered before etcd confirmed the registration")));
    }
  }

  /** Forgets {@code instance}'s key if it still holds exactly {@code instance}. */
  void forgetIfSame(ServiceInstance instance) {
    Registration registration = desired.get(codec.key(instance));
    if (registration != null && registration.instance.equals(instance)) {
      desired.remove(registration.key);
    }
  }

  /**
   * Checks a watched snapshot of {@code serviceName}: an instance of ours missing from it (or
   * changed) at or after the revision we wrote it at is put back.
   */
  void check(String serviceName, ServiceWatcher.ServiceSnapshot snapshot) {
    for (Registration registration : desired.values()) {
      if (!registration.instance.serviceName().equals(serviceName)) {
        continue;
      }
      if (registration.confirmedRevision > 0
          && snapshot.revision() >= registration.confirmedRevision
          && !registration.instance.equals(snapshot.instances().get(registration.key))) {
        logger.warn("Registration {} disappeared from etcd (deleted by someone else or lease "
            + "lost); putting it back", registration.key);
        registration.confirmedRevision = 0;
        requestSync("key deleted");
      }
    }
  }

  /** Called when etcd answers again after an outage, restarted or lost its data. */
  void onEtcdRecovered() {
    if (!desired.isEmpty()) {
      requestSync("etcd answers again");
    }
  }

  /**
   * Checks the lease (granting a new one if it is gone) and puts every instance again. Coalesces:
   * a request during a running sync runs one more sync after it.
   */
  void requestSync(String reason) {
    if (closed) {
      return;
    }
    if (syncing) {
      syncAgain = true;
      return;
    }
    if (retry != null) {
      retry.cancel(false);
      retry = null;
    }
    if (reason != null) {
      logger.debug("Re-registering in etcd: {}", reason);
    }
    syncing = true;
    syncAgain = false;
    CompletableFuture<Long> lease;
    if (leaseId != 0) {
      long current = leaseId;
      lease = timed(connection.client().getLeaseClient().keepAliveOnce(current))
          .handle((response, error) -> error == null && response.getTTL() > 0 ? current : 0L)
          .thenCompose(id -> id != 0 ? CompletableFuture.completedFuture(id) : grant());
    } else {
      lease = grant();
    }
    lease.thenCompose(this::putAll).whenCompleteAsync((pair, error) -> {
      syncing = false;
      if (closed) {
        return;
      }
      if (error != null) {
        onSyncFailed(error);
        return;
      }
      onSynced(pair);
      if (syncAgain) {
        requestSync(null);
      }
    }, stateExecutor);
  }

  private CompletableFuture<Long> grant() {
    return timed(connection.client().getLeaseClient().grant(ttlSeconds))
        .thenApply(response -> response.getID());
  }

  private CompletableFuture<LeaseAndRevision> putAll(long lease) {
    // desired is read on a jetcd thread here; hop back so the copy is consistent
    return CompletableFuture.supplyAsync(() -> new ArrayList<>(desired.values()), stateExecutor)
        .thenCompose(registrations -> {
          if (registrations.isEmpty()) {
            return CompletableFuture.completedFuture(new LeaseAndRevision(lease, 0, registrations));
          }
          PutOption option = PutOption.builder().withLeaseId(lease).build();
          Op[] puts = registrations.stream()
              .map(r -> Op.put(bytes(r.key), bytes(r.value), option)).toArray(Op[]::new);
          return timed(connection.client().getKVClient().txn().Then(puts).commit())
              .thenApply(r -> new LeaseAndRevision(lease, r.getHeader().getRevision(),
                  registrations));
        });
  }

  private void onSynced(LeaseAndRevision result) {
    if (leaseId != result.leaseId) {
      logger.info("Granted etcd lease {} (TTL {} s)", Long.toHexString(result.leaseId), ttlSeconds);
    }
    leaseId = result.leaseId;
    if (recovering) {
      logger.info("Registrations back in etcd: {}", desired.keySet());
    }
    recovering = false;
    backoff.reset();
    for (Registration registration : result.registrations) {
      if (desired.get(registration.key) == registration) {
        registration.confirmed(result.revision);
      } else {
        deleteIfForgotten(registration.key);
      }
    }
    scheduleKeepAlive();
  }

  /**
   * A put that was in flight while its instance was deregistered may have written the key after
   * the deregistration's delete: delete it again unless it was registered anew meanwhile.
   */
  private void deleteIfForgotten(String key) {
    if (!desired.containsKey(key)) {
      timed(connection.client().getKVClient().delete(bytes(key))).whenComplete((r, e) -> {
        if (e != null) {
          logger.debug("Could not delete deregistered key {}; it expires with the lease", key, e);
        }
      });
    }
  }

  private void onSyncFailed(Throwable failure) {
    Throwable error = EtcdErrors.unwrap(failure);
    lastError = error;
    if (EtcdErrors.isPermanent(error)) {
      // waiting cannot fix bad credentials: let register() say so at once
      desired.values().forEach(r -> {
        r.waiters.forEach(w -> w.completeExceptionally(error));
        r.waiters.clear();
      });
    }
    if (desired.isEmpty()) {
      // nothing left to keep (a failed register() was withdrawn): wait for the next register()
      recovering = false;
      backoff.reset();
      return;
    }
    long delay = backoff.nextDelayNanos();
    if (!recovering) {
      logger.warn("Could not register {} in etcd; retrying with backoff until it answers: {}",
          desired.keySet(), String.valueOf(error));
    } else {
      logger.debug("Re-registration failed again; retrying in {} ms",
          TimeUnit.NANOSECONDS.toMillis(delay), error);
    }
    recovering = true;
    retry = stateExecutor.schedule(() -> requestSync(null), delay, TimeUnit.NANOSECONDS);
  }

  private void scheduleKeepAlive() {
    if (keepAliveTask != null) {
      return;
    }
    long periodMillis = Math.max(300, ttlSeconds * 1000 / 3);
    keepAliveTask = stateExecutor.scheduleWithFixedDelay(this::keepAlive, periodMillis,
        periodMillis, TimeUnit.MILLISECONDS);
  }

  private void keepAlive() {
    if (closed || syncing || recovering || leaseId == 0) {
      return;
    }
    long lease = leaseId;
    timed(connection.client().getLeaseClient().keepAliveOnce(lease))
        .whenCompleteAsync((response, error) -> {
          if (lease != leaseId || syncing || recovering) {
            return;
          }
          if (error != null) {
            requestSync("keep-alive of lease " + Long.toHexString(lease) + " failed: " + error);
          } else if (response.getTTL() <= 0) {
            leaseId = 0;
            requestSync("lease " + Long.toHexString(lease) + " expired");
          }
        }, stateExecutor);
  }

  /** Stops keeping alive and returns the lease to revoke, or 0; the keeper is dead afterwards. */
  long shutdown() {
    closed = true;
    if (keepAliveTask != null) {
      keepAliveTask.cancel(false);
    }
    if (retry != null) {
      retry.cancel(false);
    }
    desired.values().forEach(r -> r.waiters.forEach(w -> w.completeExceptionally(
        new IllegalStateException("EtcdRegistry closed"))));
    return leaseId;
  }

  /** The last failure of a sync, for the message of a failed {@code register()}; may be null. */
  Throwable lastError() {
    return lastError;
  }

  private <T> CompletableFuture<T> timed(CompletableFuture<T> future) {
    return future.orTimeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static ByteSequence bytes(byte[] b) {
    return ByteSequence.from(b);
  }

  private record LeaseAndRevision(long leaseId, long revision, List<Registration> registrations) {}

  private static final class Registration {
    final String key;
    final ServiceInstance instance;
    final byte[] value;
    final List<CompletableFuture<Void>> waiters = new ArrayList<>();
    long confirmedRevision;

    Registration(String key, ServiceInstance instance, byte[] value) {
      this.key = key;
      this.instance = instance;
      this.value = value;
    }

    void confirmed(long revision) {
      confirmedRevision = revision;
      waiters.forEach(w -> w.complete(null));
      waiters.clear();
    }
  }
}
