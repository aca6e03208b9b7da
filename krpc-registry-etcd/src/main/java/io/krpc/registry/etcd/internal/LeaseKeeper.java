package io.krpc.registry.etcd.internal;

import io.krpc.common.Backoff;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import io.krpc.registry.etcd.internal.EtcdGateway.EtcdRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
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
 * put under it in every {@link RecordFormat} of the registry. Whenever the lease may be lost (a
 * keep-alive fails or finds it gone, etcd restarted or lost its data, a key of ours was deleted by
 * someone else) it checks the lease, grants a new one when needed and puts every instance again,
 * retrying with capped exponential backoff for as long as the registry is open.
 *
 * <p>Records are encoded in one place ({@link #registration}), through the registry's {@link
 * RecordFormat}s.
 *
 * <p>Confined to the registry's {@link StateScheduler}: every method must be called on it.
 */
public final class LeaseKeeper {
  private static final Logger logger = LoggerFactory.getLogger(LeaseKeeper.class);

  private final EtcdGateway gateway;
  private final List<RecordFormat> formats;
  private final StateScheduler scheduler;
  private final long ttlSeconds;
  private final long timeoutNanos;
  private final Backoff backoff = EtcdErrors.retryBackoff();
  private final Map<String, Registration> desired = new LinkedHashMap<>();
  // `desired` by service name, kept in step by putDesired/removeDesired: a register and a
  // watcher's key check look at the instances of one service, not at every instance registered
  private final Map<String, Map<String, Registration>> desiredByService = new HashMap<>();
  private long leaseId;
  private boolean syncing;
  private boolean syncAgain;
  private boolean recovering;
  private StateScheduler.@Nullable Cancellable retry;
  private StateScheduler.@Nullable Cancellable keepAliveTask;
  private boolean closed;
  private volatile @Nullable Throwable lastError;
  // written on the state thread, read from any thread by lease()
  private volatile @Nullable Confirmed confirmed;

  LeaseKeeper(
      EtcdGateway gateway,
      List<RecordFormat> formats,
      StateScheduler scheduler,
      Duration leaseTtl,
      Duration requestTimeout) {
    this.gateway = gateway;
    this.formats = List.copyOf(formats);
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
    String key = identity(instance);
    // every key of service S starts with <keyPrefix>S/ (RecordFormat's contract), so only an
    // instance of the same service can share a key with this one
    for (Registration other : ofService(instance.serviceName())) {
      String clash = other.key.equals(key) ? null : sharedKey(instance, other.instance);
      if (clash != null) {
        done.completeExceptionally(
            new IllegalArgumentException(
                "instance "
                    + key
                    + " would overwrite "
                    + other.key
                    + " under the key "
                    + clash
                    + " (a registry holds one instance per key; use another registry)"));
        return;
      }
    }
    Registration registration = registration(instance);
    Registration previous = putDesired(registration);
    if (previous != null) {
      previous.waiters.forEach(w -> w.complete(null));
    }
    registration.waiters.add(done);
    if (leaseId != 0 && !syncing && !recovering) {
      var unused =
          timed(gateway.putAll(registration.records(formats, leaseId), leaseId))
              .whenCompleteAsync(
                  (revision, error) -> {
                    if (desired.get(key) != registration) {
                      deleteIfForgotten(registration);
                      return;
                    }
                    if (error == null) {
                      registration.confirmed(revision);
                    } else {
                      requestSync("put of " + key + " failed: " + error);
                    }
                  },
                  scheduler);
    } else {
      requestSync(null);
    }
  }

  /** The one place an instance becomes stored values, one per format. */
  private Registration registration(ServiceInstance instance) {
    byte[][] values = new byte[formats.size()][];
    for (int i = 0; i < values.length; i++) {
      values[i] = formats.get(i).encode(instance);
    }
    return new Registration(identity(instance), instance, values);
  }

  /**
   * The keys {@code instance} has (or would have) in etcd in every format, under the current lease.
   */
  List<String> keys(ServiceInstance instance) {
    List<String> keys = new ArrayList<>();
    for (RecordFormat format : formats) {
      keys.add(format.key(instance, leaseId));
    }
    return keys;
  }

  /** The name of {@code instance} in messages and in this keeper: service and endpoint. */
  static String identity(ServiceInstance instance) {
    return instance.serviceName() + "/" + instance.endpoint();
  }

  private @Nullable String sharedKey(ServiceInstance a, ServiceInstance b) {
    for (RecordFormat format : formats) {
      String key = format.key(a, 1);
      if (key.equals(format.key(b, 1))) {
        return key;
      }
    }
    return null;
  }

  private @Nullable Registration putDesired(Registration registration) {
    desiredByService
        .computeIfAbsent(registration.instance.serviceName(), s -> new LinkedHashMap<>())
        .put(registration.key, registration);
    return desired.put(registration.key, registration);
  }

  private @Nullable Registration removeDesired(String key) {
    Registration removed = desired.remove(key);
    if (removed != null) {
      String service = removed.instance.serviceName();
      Map<String, Registration> ofService = desiredByService.get(service);
      if (ofService != null) {
        ofService.remove(key);
        if (ofService.isEmpty()) {
          desiredByService.remove(service);
        }
      }
    }
    return removed;
  }

  /** The registrations of {@code serviceName}, in registration order. */
  private Collection<Registration> ofService(String serviceName) {
    Map<String, Registration> ofService = desiredByService.get(serviceName);
    return ofService == null ? List.of() : ofService.values();
  }

  /** Forgets {@code instance} (if it is still the one registered) so it is not put back. */
  void forget(ServiceInstance instance) {
    Registration registration = removeDesired(identity(instance));
    if (registration != null) {
      registration.waiters.forEach(
          w ->
              w.completeExceptionally(
                  new IllegalStateException(
                      "deregistered before etcd confirmed the registration")));
    }
  }

  /** Forgets {@code instance}'s key if it still holds exactly {@code instance}. */
  void forgetIfSame(ServiceInstance instance) {
    Registration registration = desired.get(identity(instance));
    if (registration != null && registration.instance.equals(instance)) {
      removeDesired(registration.key);
    }
  }

  /**
   * The check of format {@code formatIndex}'s watcher: an instance of ours missing from its changed
   * keys (or changed) at or after the revision we wrote it at is put back. Only this registry's own
   * instances of the service are looked at, and only against the changed keys, so a change costs
   * the same whatever the size of the service.
   */
  ServiceWatcher.KeyCheck check(int formatIndex) {
    RecordFormat format = formats.get(formatIndex);
    return (serviceName, revision, instances, keys) -> {
      for (Registration registration : ofService(serviceName)) {
        String key = registration.key(formatIndex, format, leaseId);
        if ((keys == null || keys.contains(key))
            && registration.confirmedRevision > 0
            && revision >= registration.confirmedRevision
            && !registration.readBack(formatIndex, format, key).equals(instances.get(key))) {
          logger.warn(
              "Registration {} disappeared from etcd (deleted by someone else or lease "
                  + "lost); putting it back",
              key);
          registration.confirmedRevision = 0;
          requestSync("key deleted");
        }
      }
    };
  }

  /** Called when etcd answers again after an outage, restarted or lost its data. */
  void onEtcdRecovered() {
    if (!desired.isEmpty()) {
      requestSync("etcd answers again");
    }
  }

  /**
   * Checks the lease (granting a new one if it is gone) and puts every instance again. Coalesces: a
   * request during a running sync runs one more sync after it.
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
      lease =
          timed(gateway.keepAliveOnce(current))
              .handle((ttl, error) -> error == null && ttl > 0 ? current : 0L)
              .thenCompose(id -> id != 0 ? CompletableFuture.completedFuture(id) : grant());
    } else {
      lease = grant();
    }
    // the registrations are read on the state thread, where they live
    var unused =
        lease
            .thenApplyAsync(
                id -> {
                  if (closed) {
                    // closed while the lease was being granted: write nothing, and leave no lease
                    // behind
                    if (id != leaseId) {
                      var unusedRevoke = gateway.revoke(id);
                    }
                    throw new IllegalStateException("EtcdRegistry closed");
                  }
                  return new Pending(id, new ArrayList<>(desired.values()));
                },
                scheduler)
            .thenCompose(this::putAll)
            .whenCompleteAsync(
                (result, error) -> {
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
                },
                scheduler);
  }

  private CompletableFuture<Long> grant() {
    return timed(gateway.grant(ttlSeconds));
  }

  private CompletableFuture<Synced> putAll(Pending pending) {
    if (pending.registrations.isEmpty()) {
      return CompletableFuture.completedFuture(new Synced(pending.leaseId, 0, List.of()));
    }
    List<EtcdRecord> records = new ArrayList<>();
    pending.registrations.forEach(r -> records.addAll(r.records(formats, pending.leaseId)));
    return timed(gateway.putAll(records, pending.leaseId))
        .thenApply(revision -> new Synced(pending.leaseId, revision, pending.registrations));
  }

  private void onSynced(Synced result) {
    if (leaseId != result.leaseId) {
      logger.info("Granted etcd lease {} (TTL {} s)", Long.toHexString(result.leaseId), ttlSeconds);
    }
    // the sync either granted this lease or kept it alive: its full TTL runs from now
    confirmed = new Confirmed(result.leaseId, ttlSeconds, scheduler.nanoTime());
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
        deleteIfForgotten(registration);
      }
    }
    scheduleKeepAlive();
  }

  /**
   * A put that was in flight while its instance was deregistered may have written the key after the
   * deregistration's delete: delete it again unless it was registered anew meanwhile.
   */
  private void deleteIfForgotten(Registration registration) {
    if (!desired.containsKey(registration.key)) {
      var unused =
          timed(gateway.deleteAll(keys(registration.instance)))
              .whenComplete(
                  (r, e) -> {
                    if (e != null) {
                      logger.debug(
                          "Could not delete deregistered keys of {}; they expire with the lease",
                          registration.key,
                          e);
                    }
                  });
    }
  }

  private void onSyncFailed(Throwable failure) {
    Throwable error = EtcdErrors.unwrap(failure);
    lastError = error;
    if (EtcdErrors.isPermanent(error)) {
      // waiting cannot fix bad credentials: let register() say so at once
      desired
          .values()
          .forEach(
              r -> {
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
      logger.warn(
          "Could not register {} in etcd; retrying with backoff until it answers: {}",
          desired.keySet(),
          String.valueOf(error));
    } else {
      logger.debug(
          "Re-registration failed again; retrying in {} ms",
          TimeUnit.NANOSECONDS.toMillis(delay),
          error);
    }
    recovering = true;
    retry = scheduler.schedule(() -> requestSync(null), delay);
  }

  private void scheduleKeepAlive() {
    if (keepAliveTask != null || closed) {
      return;
    }
    long period = TimeUnit.MILLISECONDS.toNanos(Math.max(300, ttlSeconds * 1000 / 3));
    keepAliveTask =
        scheduler.schedule(
            () -> {
              keepAliveTask = null;
              keepAlive();
              scheduleKeepAlive();
            },
            period);
  }

  private void keepAlive() {
    if (closed || syncing || recovering || leaseId == 0) {
      return;
    }
    long lease = leaseId;
    var unused =
        timed(gateway.keepAliveOnce(lease))
            .whenCompleteAsync(
                (ttl, error) -> {
                  if (closed || lease != leaseId || syncing || recovering) {
                    return;
                  }
                  if (error != null) {
                    requestSync(
                        "keep-alive of lease " + Long.toHexString(lease) + " failed: " + error);
                  } else if (ttl <= 0) {
                    leaseId = 0;
                    confirmed = null;
                    requestSync("lease " + Long.toHexString(lease) + " expired");
                  } else {
                    confirmed = new Confirmed(lease, ttl, scheduler.nanoTime());
                  }
                },
                scheduler);
  }

  /** Stops keeping alive and returns the lease to revoke, or 0; the keeper is dead afterwards. */
  long shutdown() {
    closed = true;
    confirmed = null;
    if (keepAliveTask != null) {
      keepAliveTask.cancel();
    }
    if (retry != null) {
      retry.cancel();
    }
    desired
        .values()
        .forEach(
            r ->
                r.waiters.forEach(
                    w ->
                        w.completeExceptionally(new IllegalStateException("EtcdRegistry closed"))));
    return leaseId;
  }

  /** The current lease, 0 before the first grant; for tests. */
  long leaseId() {
    return leaseId;
  }

  /**
   * The lease as etcd last confirmed it (granted or kept alive), or null while none is held (before
   * the first registration, after it expired until a new one is granted, after shutdown). Any
   * thread.
   */
  @Nullable LeaseStatus lease() {
    Confirmed c = confirmed;
    return c == null
        ? null
        : new LeaseStatus(c.leaseId, c.ttlSeconds, scheduler.nanoTime() - c.atNanos);
  }

  /**
   * A lease as seen now: its id, the TTL etcd reported when it last confirmed it, and the time
   * since then; it expires {@code ttlSeconds} after that confirmation unless kept alive again.
   */
  public record LeaseStatus(long leaseId, long ttlSeconds, long sinceConfirmedNanos) {}

  private record Confirmed(long leaseId, long ttlSeconds, long atNanos) {}

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
    final String key;
    final ServiceInstance instance;
    final byte[][] values;
    // what each format's watcher reads back from our own value (formats drop some fields)
    final Object[] readBack;
    final List<CompletableFuture<Void>> waiters = new ArrayList<>();
    long confirmedRevision;
    // each format's key under keysLease: every change of the service checks it
    private final String[] keys;
    private long keysLease = -1;

    Registration(String key, ServiceInstance instance, byte[][] values) {
      this.key = key;
      this.instance = instance;
      this.values = values;
      this.readBack = new Object[values.length];
      this.keys = new String[values.length];
    }

    /** Format {@code index}'s key of this instance under {@code lease}, built once per lease. */
    String key(int index, RecordFormat format, long lease) {
      if (lease != keysLease) {
        Arrays.fill(keys, null);
        keysLease = lease;
      }
      if (keys[index] == null) {
        keys[index] = format.key(instance, lease);
      }
      return keys[index];
    }

    List<EtcdRecord> records(List<RecordFormat> formats, long lease) {
      List<EtcdRecord> records = new ArrayList<>(values.length);
      for (int i = 0; i < values.length; i++) {
        records.add(new EtcdRecord(formats.get(i).key(instance, lease), values[i], 0));
      }
      return records;
    }

    Object readBack(int index, RecordFormat format, String key) {
      if (readBack[index] == null) {
        ServiceInstance decoded = null;
        try {
          decoded = format.decode(instance.serviceName(), key, values[index]);
        } catch (IllegalArgumentException e) {
          logger.warn(
              "Format {} cannot read back its own record of {}: {}",
              format,
              this.key,
              e.getMessage());
        }
        readBack[index] = decoded == null ? instance : decoded;
      }
      return readBack[index];
    }

    void confirmed(long revision) {
      confirmedRevision = revision;
      waiters.forEach(w -> w.complete(null));
      waiters.clear();
    }
  }
}
