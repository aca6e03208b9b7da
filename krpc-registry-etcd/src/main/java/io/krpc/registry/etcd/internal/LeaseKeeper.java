package io.krpc.registry.etcd.internal;

import io.krpc.common.Backoff;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.internal.EtcdGateway.Record;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one registry's instances in etcd: one lease, kept alive every TTL/3, with every instance
 * put under it. Whenever the lease may be lost (a keep-alive fails or finds it gone, etcd
 * restarted or lost its data, a key of ours was deleted by someone else) it checks the lease,
 * grants a new one when needed and puts every instance again, retrying with capped exponential
 * backoff for as long as the registry is open.
 *
 * <p>Records are encoded in one place ({@link #registration}), through the registry's {@link
 * InstanceRecordCodec}.
 *
 * <p>Confined to the registry's {@link StateScheduler}: every method must be called on it.
 */
public final class LeaseKeeper implements ServiceWatcher.KeyCheck {
  private static final Logger logger = LoggerFactory.getLogger(LeaseKeeper.class);

  private final EtcdGateway gateway;
  private final InstanceRecordCodec codec;
  private final StateScheduler scheduler;
  private final long ttlSeconds;
  private final long timeoutNanos;
  private final Backoff backoff = EtcdErrors.retryBackoff();
  private final Map<String, Registration> desired = new LinkedHashMap<>();
  private long leaseId;
  private boolean syncing;
  private boolean syncAgain;
  private boolean recovering;
  private StateScheduler.@Nullable Cancellable retry;
  private StateScheduler.@Nullable Cancellable keepAliveTask;
  private boolean closed;
  private volatile @Nullable Throwable lastError;

  LeaseKeeper(EtcdGateway gateway, InstanceRecordCodec codec, StateScheduler scheduler,
      Duration leaseTtl, Duration requestTimeout) {
    this.gateway = gateway;
    this.codec = codec;
    this.scheduler = scheduler;
    this.ttlSeconds = Math.max(1, (leaseTtl.toMillis() + 999) / 1000);
    this.timeoutNanos = requestTimeout.toNanos();
  }

  /** Adds or replaces an instance; {@code done} completes once its key is written under a lease. */
  void register(ServiceInstance instance, CompletableFuture<Void> done) {
    if (closed) {
      done.completeExceptionally(new IllegalStateException("EtcdRegistry is closed"));
      return;
    }
    Registration registration = registration(instance);
    String key = registration.record.key();
    Registration previous = desired.put(key, registration);
    if (previous != null) {
      previous.waiters.forEach(w -> w.complete(null));
    }
    registration.waiters.add(done);
    if (leaseId != 0 && !syncing && !recovering) {
      timed(gateway.put(registration.record, leaseId))
          .whenCompleteAsync((revision, error) -> {
            if (desired.get(key) != registration) {
              deleteIfForgotten(key);
              return;
            }
            if (error == null) {
              registration.confirmed(revision);
            } else {
              requestSync("put of " + key + " failed: " + error);
            }
          }, scheduler);
    } else {
      requestSync(null);
    }
  }

  /** The one place an instance becomes a stored record. */
  private Registration registration(ServiceInstance instance) {
    return new Registration(instance, new Record(codec.key(instance), codec.encode(instance), 0));
  }

  /** The key {@code instance} is stored under. */
  String key(ServiceInstance instance) {
    return codec.key(instance);
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
      desired.remove(registration.record.key());
    }
  }

  /**
   * Checks watched keys of {@code serviceName}: an instance of ours missing from them (or
   * changed) at or after the revision we wrote it at is put back. Only the changed keys are
   * looked at, so a change costs the same whatever the size of the service.
   */
  @Override
  public void check(String serviceName, long revision, Map<String, ServiceInstance> instances,
      @Nullable Collection<String> keys) {
    if (keys == null) {
      for (Registration registration : desired.values()) {
        if (registration.instance.serviceName().equals(serviceName)) {
          checkOne(registration, revision, instances);
        }
      }
    } else {
      for (String key : keys) {
        Registration registration = desired.get(key);
        if (registration != null) {
          checkOne(registration, revision, instances);
        }
      }
    }
  }

  private void checkOne(Registration registration, long revision,
      Map<String, ServiceInstance> instances) {
    if (registration.confirmedRevision > 0 && revision >= registration.confirmedRevision
        && !registration.instance.equals(instances.get(registration.record.key()))) {
      logger.warn("Registration {} disappeared from etcd (deleted by someone else or lease "
          + "lost); putting it back", registration.record.key());
      registration.confirmedRevision = 0;
      requestSync("key deleted");
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
  void requestSync(@Nullable String reason) {
    if (closed) {
      return;
    }
    if (syncing) {
      syncAgain = true;
      return;
    }
    if (retry != null) {
      retry.cancel();
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
      lease = timed(gateway.keepAliveOnce(current))
          .handle((ttl, error) -> error == null && ttl > 0 ? current : 0L)
          .thenCompose(id -> id != 0 ? CompletableFuture.completedFuture(id) : grant());
    } else {
      lease = grant();
    }
    // the registrations are read on the state thread, where they live
    lease.thenApplyAsync(id -> {
      if (closed) {
        // closed while the lease was being granted: write nothing, and leave no lease behind
        if (id != leaseId) {
          gateway.revoke(id);
        }
        throw new IllegalStateException("EtcdRegistry closed");
      }
      return new Pending(id, new ArrayList<>(desired.values()));
    }, scheduler)
        .thenCompose(this::putAll)
        .whenCompleteAsync((result, error) -> {
          syncing = false;
          if (closed) {
            return;
          }
          if (error != null) {
            onSyncFailed(error);
            return;
          }
          onSynced(result);
          if (syncAgain) {
            requestSync(null);
          }
        }, scheduler);
  }

  private CompletableFuture<Long> grant() {
    return timed(gateway.grant(ttlSeconds));
  }

  private CompletableFuture<Synced> putAll(Pending pending) {
    if (pending.registrations.isEmpty()) {
      return CompletableFuture.completedFuture(new Synced(pending.leaseId, 0, List.of()));
    }
    List<Record> records = new ArrayList<>();
    pending.registrations.forEach(r -> records.add(r.record));
    return timed(gateway.putAll(records, pending.leaseId))
        .thenApply(revision -> new Synced(pending.leaseId, revision, pending.registrations));
  }

  private void onSynced(Synced result) {
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
      if (desired.get(registration.record.key()) == registration) {
        registration.confirmed(result.revision);
      } else {
        deleteIfForgotten(registration.record.key());
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
      timed(gateway.delete(key)).whenComplete((r, e) -> {
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
    retry = scheduler.schedule(() -> requestSync(null), delay);
  }

  private void scheduleKeepAlive() {
    if (keepAliveTask != null || closed) {
      return;
    }
    long period = TimeUnit.MILLISECONDS.toNanos(Math.max(300, ttlSeconds * 1000 / 3));
    keepAliveTask = scheduler.schedule(() -> {
      keepAliveTask = null;
      keepAlive();
      scheduleKeepAlive();
    }, period);
  }

  private void keepAlive() {
    if (closed || syncing || recovering || leaseId == 0) {
      return;
    }
    long lease = leaseId;
    timed(gateway.keepAliveOnce(lease)).whenCompleteAsync((ttl, error) -> {
      if (closed || lease != leaseId || syncing || recovering) {
        return;
      }
      if (error != null) {
        requestSync("keep-alive of lease " + Long.toHexString(lease) + " failed: " + error);
      } else if (ttl <= 0) {
        leaseId = 0;
        requestSync("lease " + Long.toHexString(lease) + " expired");
      }
    }, scheduler);
  }

  /** Stops keeping alive and returns the lease to revoke, or 0; the keeper is dead afterwards. */
  long shutdown() {
    closed = true;
    if (keepAliveTask != null) {
      keepAliveTask.cancel();
    }
    if (retry != null) {
      retry.cancel();
    }
    desired.values().forEach(r -> r.waiters.forEach(w -> w.completeExceptionally(
        new IllegalStateException("EtcdRegistry closed"))));
    return leaseId;
  }

  /** The current lease, 0 before the first grant; for tests. */
  long leaseId() {
    return leaseId;
  }

  /** The last failure of a sync, for the message of a failed {@code register()}; may be null. */
  @Nullable Throwable lastError() {
    return lastError;
  }

  private <T> CompletableFuture<T> timed(CompletableFuture<T> future) {
    return Futures.within(future, scheduler, timeoutNanos);
  }

  private record Pending(long leaseId, List<Registration> registrations) {}

  private record Synced(long leaseId, long revision, List<Registration> registrations) {}

  private static final class Registration {
    final ServiceInstance instance;
    final Record record;
    final List<CompletableFuture<Void>> waiters = new ArrayList<>();
    long confirmedRevision;

    Registration(ServiceInstance instance, Record record) {
      this.instance = instance;
      this.record = record;
    }

    void confirmed(long revision) {
      confirmedRevision = revision;
      waiters.forEach(w -> w.complete(null));
      waiters.clear();
    }
  }
}
