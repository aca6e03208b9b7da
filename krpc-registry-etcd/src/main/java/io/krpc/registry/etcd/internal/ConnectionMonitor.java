package io.krpc.registry.etcd.internal;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks etcd a trivial question every {@code interval} to notice what the client hides: an outage,
 * the end of an outage, a restart (the raft term changes) and a wipe (the revision goes backwards).
 * On an outage it reports to the {@link Callbacks} once and opens fresh connections on each further
 * failed probe, so that etcd's return is seen at once; on recovery, restart or wipe it tells the
 * callbacks to re-register and re-list.
 *
 * <p>The probe is skipped while the connection shows proof of life: an answer from etcd ({@link
 * EtcdGateway#lastHeard()}: any successful call, keep-alive, watch event or progress answer, also
 * of the registries sharing the connection) within the last {@code interval}, of the same raft term
 * and no older revision than the last probe saw. So a busy connection is not probed at all, an idle
 * one as before, and nothing is found later than before: a term change or a revision going back
 * makes the answer no proof, and the probe runs. Registries sharing a connection (hundreds in one
 * JVM) thus mostly do without probes.
 *
 * <p>Confined to the registry's {@link StateScheduler}.
 */
public final class ConnectionMonitor {
  private static final Logger logger = LoggerFactory.getLogger(ConnectionMonitor.class);

  /** What the registry does on the monitor's findings; called on the state scheduler. */
  interface Callbacks {
    void onOutage(Throwable cause);

    void onRecovered(String why);
  }

  private final EtcdGateway gateway;
  private final StateScheduler scheduler;
  private final Duration interval;
  private final Duration probeTimeout;
  private final Duration firstProbeTimeout;
  private final Callbacks callbacks;
  private final String probeKey;
  private long answeredGeneration = -1;
  private StateScheduler.@Nullable Cancellable next;
  private int failures;
  private long lastTerm = -1;
  private long lastRevision = -1;
  private boolean probing;
  private long skipped;
  private boolean reauthenticated;
  private boolean closed;

  ConnectionMonitor(
      EtcdGateway gateway,
      StateScheduler scheduler,
      String keyPrefix,
      Duration interval,
      Duration probeTimeout,
      Duration firstProbeTimeout,
      Callbacks callbacks) {
    this.gateway = gateway;
    this.scheduler = scheduler;
    this.interval = interval;
    this.probeTimeout = probeTimeout;
    this.firstProbeTimeout = firstProbeTimeout;
    this.callbacks = callbacks;
    this.probeKey = keyPrefix;
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
      next.cancel();
    }
  }

  /** How many probes were skipped for proof of life; for tests. */
  long skipped() {
    return skipped;
  }

  /** Whether the last probe failed; for tests. */
  boolean failing() {
    return failures > 0;
  }

  private void schedule(long delayNanos) {
    next = scheduler.schedule(this::probe, delayNanos);
  }

  private void probe() {
    if (closed || probing) {
      return;
    }
    long generation = gateway.generation();
    if (provenAlive(generation)) {
      return;
    }
    probing = true;
    // The first call of a client may take seconds (a cold JVM, a TLS handshake): give it the
    // request timeout. Later probes must notice a frozen etcd well within a lease TTL.
    Duration timeout = generation == answeredGeneration ? probeTimeout : firstProbeTimeout;
    var unused =
        Futures.within(gateway.probe(probeKey), scheduler, timeout.toNanos())
            .whenCompleteAsync(
                (header, error) -> {
                  probing = false;
                  if (closed) {
                    return;
                  }
                  if (error != null) {
                    onFailure(EtcdErrors.unwrap(error), generation);
                  } else {
                    answeredGeneration = generation;
                    onSuccess(header);
                  }
                },
                scheduler);
  }

  /**
   * Whether a recent answer on the connection already says what the probe would, in which case the
   * next check is scheduled one interval after that answer.
   */
  private boolean provenAlive(long generation) {
    if (failures > 0 || generation != answeredGeneration) {
      return false;
    }
    EtcdGateway.Heard heard = gateway.lastHeard();
    if (heard == null) {
      return false;
    }
    long age = scheduler.nanoTime() - heard.atNanos();
    long intervalNanos = interval.toNanos();
    if (age >= intervalNanos
        || heard.header().raftTerm() != lastTerm
        || heard.header().revision() < lastRevision) {
      return false;
    }
    skipped++;
    lastRevision = heard.header().revision();
    // never sooner than a quarter interval, so that a stream of answers cannot make this spin
    schedule(Math.max(intervalNanos / 4, intervalNanos - age));
    return true;
  }

  private void onFailure(Throwable error, long generation) {
    if (EtcdErrors.isInvalidToken(error) && !reauthenticated) {
      // etcd restarted and forgot our token: authenticate again on fresh connections, at once
      logger.info("etcd forgot the auth token (restarted?); authenticating again");
      reauthenticated = true;
      gateway.reconnect(generation);
      schedule(0);
      return;
    }
    failures++;
    if (failures == 1) {
      logger.warn(
          "etcd does not answer; keeping registrations and last known instances, " + "retrying: {}",
          String.valueOf(error));
      callbacks.onOutage(error);
      schedule(interval.toNanos());
    } else {
      // a fresh channel, so that etcd's return is not hidden by gRPC's reconnect backoff
      gateway.reconnect(generation);
      schedule(Math.min(interval.toNanos(), TimeUnit.MILLISECONDS.toNanos(200)));
    }
  }

  private void onSuccess(EtcdGateway.Header header) {
    String why = null;
    if (failures > 0) {
      why = "etcd answers again after " + failures + " failed probes";
    } else if (lastTerm >= 0 && header.raftTerm() != lastTerm) {
      why =
          "etcd raft term changed from "
              + lastTerm
              + " to "
              + header.raftTerm()
              + " (restart or new leader)";
    } else if (header.revision() < lastRevision) {
      why =
          "etcd revision went back from "
              + lastRevision
              + " to "
              + header.revision()
              + " (data lost)";
    }
    failures = 0;
    reauthenticated = false;
    lastTerm = header.raftTerm();
    lastRevision = header.revision();
    if (why != null) {
      logger.info("Re-syncing with etcd: {}", why);
      callbacks.onRecovered(why);
    }
    schedule(interval.toNanos());
  }
}
