package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Response;
import io.etcd.jetcd.options.GetOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks etcd a trivial question every {@code interval} to notice what jetcd hides: an outage, the
 * end of an outage, a restart (the raft term changes) and a wipe (the revision goes backwards).
 * On an outage it reports to the {@link Callbacks} once and replaces the jetcd client on each
 * further failed probe, so that etcd's return is seen at once; on recovery, restart or wipe it
 * tells the callbacks to re-register and re-list.
 *
 * <p>Confined to the registry's state executor.
 */
public final class ConnectionMonitor {
  private static final Logger logger = LoggerFactory.getLogger(ConnectionMonitor.class);

  /** What the registry does on the monitor's findings; called on the state executor. */
  interface Callbacks {
    void onOutage(Throwable cause);

    void onRecovered(String why);
  }

  private final EtcdConnection connection;
  private final ScheduledExecutorService stateExecutor;
  private final Duration interval;
  private final Duration probeTimeout;
  private final Duration firstProbeTimeout;
  private long answeredGeneration = -1;
  private final Callbacks callbacks;
  private final ByteSequence probeKey;
  private @Nullable ScheduledFuture<?> next;
  private int failures;
  private long lastTerm = -1;
  private long lastRevision = -1;
  private boolean probing;
  private boolean closed;

  ConnectionMonitor(EtcdConnection connection, ScheduledExecutorService stateExecutor,
      String keyPrefix, Duration interval, Duration probeTimeout, Duration firstProbeTimeout,
      Callbacks callbacks) {
    this.connection = connection;
    this.stateExecutor = stateExecutor;
    this.interval = interval;
    this.probeTimeout = probeTimeout;
    this.firstProbeTimeout = firstProbeTimeout;
    this.callbacks = callbacks;
    this.probeKey = ByteSequence.from(keyPrefix, StandardCharsets.UTF_8);
  }

  /** Starts probing at once (which also opens the connection early); idempotent. */
  void start() {
    if (next == null && !closed) {
      schedule(0);
    }
  }

  void close() {
    closed = true;
    if (next != null) {
      next.cancel(false);
    }
  }

  private void schedule(long delayNanos) {
    next = stateExecutor.schedule(this::probe, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void probe() {
    if (closed || probing) {
      return;
    }
    probing = true;
    long generation = connection.generation();
    // The first call of a client may take seconds (a cold JVM, a TLS handshake): give it the
    // request timeout. Later probes must notice a frozen etcd well within a lease TTL.
    Duration timeout = generation == answeredGeneration ? probeTimeout : firstProbeTimeout;
    var unused = connection.client().getKVClient()
        .get(probeKey, GetOption.builder().withCountOnly(true).build())
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .whenCompleteAsync((response, error) -> {
          probing = false;
          if (closed) {
            return;
          }
          if (error != null) {
            onFailure(error);
          } else {
            answeredGeneration = generation;
            onSuccess(response.getHeader());
          }
        }, stateExecutor);
  }

  private void onFailure(Throwable error) {
    failures++;
    if (failures == 1) {
      logger.warn("etcd does not answer; keeping registrations and last known instances, "
          + "retrying: {}", String.valueOf(error));
      callbacks.onOutage(error);
      schedule(interval.toNanos());
    } else {
      // a fresh channel, so that etcd's return is not hidden by gRPC's reconnect backoff
      connection.reconnect();
      schedule(Math.min(interval.toNanos(), TimeUnit.MILLISECONDS.toNanos(200)));
    }
  }

  private void onSuccess(Response.Header header) {
    String why = null;
    if (failures > 0) {
      why = "etcd answers again after " + failures + " failed probes";
    } else if (lastTerm >= 0 && header.getRaftTerm() != lastTerm) {
      why = "etcd raft term changed from " + lastTerm + " to " + header.getRaftTerm()
          + " (restart or new leader)";
    } else if (header.getRevision() < lastRevision) {
      why = "etcd revision went back from " + lastRevision + " to " + header.getRevision()
          + " (data lost)";
    }
    failures = 0;
    lastTerm = header.getRaftTerm();
    lastRevision = header.getRevision();
    if (why != null) {
      logger.info("Re-syncing with etcd: {}", why);
      callbacks.onRecovered(why);
    }
    schedule(interval.toNanos());
  }
}
