package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import io.krpc.common.Backoff;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
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
 * put under it in every {@link RecordFormat} of the registry. Whenever the lease may be lost (a keep-alive fails or finds it gone, etcd
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
  private final List<RecordFormat> formats;
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

  LeaseKeeper(EtcdConnection connection, List<RecordFormat> formats,
      ScheduledExecutorService stateExecutor, Duration leaseTtl, Duration requestTimeout) {
    this.connection = connection;
    this.formats = List.copyOf(formats);
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
    String key = identity(instance);
    for (Registration other : desired.values()) {
      String clash = other.key.equals(key) ? null : sharedKey(instance, other.instance);
      if (clash != null) {
        done.completeExceptionally(new IllegalArgumentException("instance " + key
            + " would overwrite " + other.key + " under the key " + clash
            + " (a registry holds one instance per key; use another registry)"));
        return;
      }
    }
    byte[][] values = formats.stream().map(f -> f.encode(instance)).toArray(byte[][]::new);
    Registration registration = new Registration(key, instance, values);
    Registration previous = desired.put(key, registration);
    if (previous != null) {
      previous.waiters.forEach(w -> w.complete(null));
    }
    registration.waiters.add(done);
    if (leaseId != 0 && !syncing && !recovering) {
      long lease = leaseId;
      PutOption option = PutOption.builder().withLeaseId(lease).build();
      timed(connection.client().getKVClient().txn().Then(registration.puts(formats, lease, option))
              .commit())
          .whenCompleteAsync((response, error) -> {
            if (desired.get(key) != registration) {
              deleteIfForgotten(registration);
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

  /**
   * The keys {@code instance} has (or would have) in etcd in every format, under the current
   * lease.
   */
  List<String> keys(ServiceInstance instance) {
    List<String> keys = new ArrayList<>();
    for (RecordFormat format : formats) {
      keys.add(format.key(instance, leaseId));
    }
    return keys;
  }

  /** The ops that delete every key of {@code instance}. */
  Op[] deletes(ServiceInstance instance) {
    return keys(instance).stream()
        .map(k -> Op.delete(bytes(k), DeleteOption.DEFAULT)).toArray(Op[]::new);
  }

  /** The name of {@code instance} in messages and in this keeper: service and endpoint. */
  static String identity(ServiceInstance instance) {
    return instance.serviceName() + "/" + instance.endpoint();
  }

  private String sharedKey(ServiceInstance a, ServiceInstance b) {
    for (RecordFormat format : formats) {
      String key = format.key(a, 1);
      if (key.equals(format.key(b, 1))) {
        return key;
      }
    }
    return null;
  }

  /** Forgets {@code instance} (if it is still the one registered) so it is not put back. */
  void forget(ServiceInstance instance) {
    Registration registration = desired.remove(identity(instance));
    if (registration != null) {
      registration.waiters.forEach(w -> w.completeExceptionally(
          new IllegalStateException("deregistered before etcd confirmed the registration")));
    }
  }

  /** Forgets {@code instance}'s key if it still holds exactly {@code instance}. */
  void forgetIfSame(ServiceInstance instance) {
    Registration registration = desired.get(identity(instance));
    if (registration != null && registration.instance.equals(instance)) {
      desired.remove(registration.key);
    }
  }

  /**
   * Checks a watched snapshot of {@code serviceName} in format {@code formatIndex}: an instance of
   * ours missing from it (or changed) at or after the revision we wrote it at is put back.
   */
  void check(int formatIndex, String serviceName, ServiceWatcher.ServiceSnapshot snapshot) {
    RecordFormat format = formats.get(formatIndex);
    for (Registration registration : desired.values()) {
      if (!registration.instance.serviceName().equals(serviceName)) {
        continue;
      }
      String key = format.key(registration.instance, leaseId);
      if (registration.confirmedRevision > 0
          && snapshot.revision() >= registration.confirmedRevision
          && !registration.readBack(formatIndex, format, key)
              .equals(snapshot.instances().get(key))) {
        logger.warn("Registration {} disappeared from etcd (deleted by someone else or lease "
            + "lost); putting it back", key);
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
              .flatMap(r -> java.util.Arrays.stream(r.puts(formats, lease, option)))
              .toArray(Op[]::new);
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
        deleteIfForgotten(registration);
      }
    }
    scheduleKeepAlive();
  }

  /**
   * A put that was in flight while its instance was deregistered may have written the key after
   * the deregistration's delete: delete it again unless it was registered anew meanwhile.
   */
  private void deleteIfForgotten(Registration registration) {
    if (!desired.containsKey(registration.key)) {
      timed(connection.client().getKVClient().txn().Then(deletes(registration.instance)).commit())
          .whenComplete((r, e) -> {
            if (e != null) {
              logger.debug("Could not delete deregistered keys of {}; they expire with the lease",
                  registration.key, e);
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
    final byte[][] values;
    // what each format's watcher reads back from our own value (formats drop some fields)
    final Object[] readBack;
    final List<CompletableFuture<Void>> waiters = new ArrayList<>();
    long confirmedRevision;

    Registration(String key, ServiceInstance instance, byte[][] values) {
      this.key = key;
      this.instance = instance;
      this.values = values;
      this.readBack = new Object[values.length];
    }

    Op[] puts(List<RecordFormat> formats, long lease, PutOption option) {
      Op[] puts = new Op[values.length];
      for (int i = 0; i < values.length; i++) {
        puts[i] = Op.put(bytes(formats.get(i).key(instance, lease)), bytes(values[i]), option);
      }
      return puts;
    }

    Object readBack(int index, RecordFormat format, String key) {
      if (readBack[index] == null) {
        ServiceInstance decoded = null;
        try {
          decoded = format.decode(instance.serviceName(), key, values[index]);
        } catch (IllegalArgumentException e) {
          logger.warn("Format {} cannot read back its own record of {}: {}", format, this.key,
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
