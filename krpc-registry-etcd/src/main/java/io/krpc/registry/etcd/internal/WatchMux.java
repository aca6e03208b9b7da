package io.krpc.registry.etcd.internal;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.WatchCancelRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchProgressRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.krpc.common.Backoff;
import io.krpc.registry.etcd.internal.EtcdGateway.Change;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All watches of one registry on one etcd watch stream. etcd's Watch RPC multiplexes: each create
 * request on the stream gets a watch id in its "created" answer (creates are sent one at a time, so
 * answers match requests in order), events carry the id, and a cancel request ends one watch and
 * leaves the others running. jetcd's own {@code Watch} opens a stream per watcher; etcd's
 * watch-memory benchmark prices a stream at about 18 KB and a watcher at about 350 B per member.
 *
 * <p>Watches fail loudly. The stream carries etcd's require-leader metadata, so a member cut off
 * from its cluster ends it instead of leaving it silent. Every progress interval (±20 % jitter) the
 * mux asks for progress; a stream that answered nothing since the previous request is declared
 * dead. A broken stream is reopened (on the next member when there are several) after a capped
 * backoff, and every watch resumes from the revision after the last one it saw, so no change is
 * lost; listeners hear {@code onInterrupted} once and {@code onResumed} when their watch runs
 * again. A watch whose start revision was compacted away ends with {@code onCompacted}, one that
 * etcd refuses (permission denied) with {@code onFailed}.
 *
 * <p>Confined to the registry's {@link StateScheduler}: {@link #watch} and cancellation must be
 * called on it, and listeners are called on it.
 */
final class WatchMux {
  private static final Logger logger = LoggerFactory.getLogger(WatchMux.class);

  private final WatchTransport transport;
  private final StateScheduler scheduler;
  private final long progressIntervalNanos;
  private final Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2));
  private final Deque<Entry> toCreate = new ArrayDeque<>();
  private final Map<Long, Entry> active = new HashMap<>();
  private @Nullable Entry creating;
  private WatchTransport.@Nullable Stream stream;
  private StateScheduler.@Nullable Cancellable reopen;
  private StateScheduler.@Nullable Cancellable progressTimer;
  private long lastHeardNanos;
  private long progressAskedNanos = -1;
  private int streamsOpened;
  private boolean freshTokenTried;
  private boolean closed;

  WatchMux(WatchTransport transport, StateScheduler scheduler, Duration progressInterval) {
    this.transport = transport;
    this.scheduler = scheduler;
    this.progressIntervalNanos = progressInterval.toNanos();
  }

  /** Starts watching {@code prefix} from {@code fromRevision}. */
  EtcdGateway.Watch watch(String prefix, long fromRevision, EtcdGateway.WatchListener listener) {
    Entry entry = new Entry(prefix, fromRevision, listener);
    if (closed) {
      return entry;
    }
    toCreate.add(entry);
    if (stream == null) {
      if (reopen == null) {
        openStream();
      }
    } else {
      sendNextCreate();
    }
    return entry;
  }

  /** Streams opened so far (1 for a healthy registry, whatever its number of watches). */
  int streamsOpened() {
    return streamsOpened;
  }

  /** Watches running or waiting to run. */
  int watchCount() {
    return active.size() + toCreate.size() + (creating == null ? 0 : 1);
  }

  /** Ends every watch and the stream. */
  void close() {
    closed = true;
    toCreate.clear();
    active.clear();
    creating = null;
    if (reopen != null) {
      reopen.cancel();
    }
    closeStream();
  }

  /** Drops the stream now (its connection is being replaced); watches resume on a new one. */
  void restart(Throwable why) {
    if (stream != null) {
      WatchTransport.Stream broken = stream;
      broken.close();
      onClosed(broken, why);
    }
  }

  // ---- the stream

  private void openStream() {
    reopen = null;
    if (closed || (toCreate.isEmpty() && active.isEmpty() && creating == null)) {
      return;
    }
    streamsOpened++;
    WatchTransport.Stream[] opened = new WatchTransport.Stream[1];
    opened[0] =
        transport.open(
            new WatchTransport.StreamListener() {
              @Override
              public void onResponse(WatchResponse response) {
                onState(() -> WatchMux.this.onResponse(opened[0], response));
              }

              @Override
              public void onClosed(@Nullable Throwable error) {
                onState(
                    () ->
                        WatchMux.this.onClosed(
                            opened[0],
                            error != null
                                ? error
                                : new IllegalStateException("etcd ended the watch stream")));
              }
            });
    stream = opened[0];
    lastHeardNanos = scheduler.nanoTime();
    progressAskedNanos = -1;
    scheduleProgress();
    sendNextCreate();
  }

  private void onState(Runnable task) {
    try {
      scheduler.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // the registry closed: its stream's last words need no answer
    }
  }

  private void closeStream() {
    if (progressTimer != null) {
      progressTimer.cancel();
      progressTimer = null;
    }
    if (stream != null) {
      WatchTransport.Stream old = stream;
      stream = null;
      old.close();
    }
  }

  private void sendNextCreate() {
    if (stream == null || creating != null) {
      return;
    }
    Entry entry;
    do {
      entry = toCreate.poll();
    } while (entry != null && entry.cancelled);
    if (entry == null) {
      return;
    }
    creating = entry;
    stream.send(
        WatchRequest.newBuilder()
            .setCreateRequest(
                WatchCreateRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8(entry.prefix))
                    .setRangeEnd(ByteString.copyFromUtf8(RangeLister.prefixEnd(entry.prefix)))
                    .setStartRevision(entry.nextRevision))
            .build());
  }

  private void onResponse(WatchTransport.@Nullable Stream from, WatchResponse response) {
    if (from != stream || stream == null) {
      return;
    }
    lastHeardNanos = scheduler.nanoTime();
    if (response.getCreated()) {
      onCreated(response);
    } else if (response.getCanceled()) {
      Entry entry = active.remove(response.getWatchId());
      if (entry != null && !entry.cancelled) {
        ended(entry, response);
      }
    } else if (response.getEventsCount() > 0) {
      Entry entry = active.get(response.getWatchId());
      if (entry != null && !entry.cancelled) {
        List<Change> changes = new ArrayList<>(response.getEventsCount());
        for (Event event : response.getEventsList()) {
          KeyValue kv = event.getKv();
          String key = kv.getKey().toString(StandardCharsets.UTF_8);
          changes.add(
              new Change(
                  key,
                  event.getType() == Event.EventType.DELETE ? null : kv.getValue().toByteArray(),
                  kv.getModRevision()));
          entry.nextRevision = Math.max(entry.nextRevision, kv.getModRevision() + 1);
        }
        entry.listener.onChanges(changes, response.getHeader().getRevision());
      }
    }
    // anything else is a progress answer: hearing it is all that counts
  }

  private void onCreated(WatchResponse response) {
    Entry entry = creating;
    creating = null;
    if (entry != null) {
      if (response.getCanceled()
          && !entry.cancelled
          && response.getCompactRevision() == 0
          && response.getCancelReason().contains("permission denied")
          && !freshTokenTried
          && stream != null) {
        // etcd 3.4 refuses a watch whose stream's token it no longer knows (it restarted) as
        // "permission denied": fetch a fresh token on a new stream once before believing it
        freshTokenTried = true;
        toCreate.addFirst(entry);
        restart(
            new IllegalStateException(
                "etcdserver: invalid auth token (watch refused as "
                    + "permission denied; authenticating again)"));
        return;
      }
      if (response.getCanceled()) {
        if (!entry.cancelled) {
          ended(entry, response);
        }
      } else if (entry.cancelled) {
        sendCancel(response.getWatchId());
      } else {
        entry.watchId = response.getWatchId();
        active.put(entry.watchId, entry);
        backoff.reset();
        freshTokenTried = false;
        if (entry.interrupted) {
          entry.interrupted = false;
          entry.listener.onResumed();
        }
      }
    }
    sendNextCreate();
  }

  private void ended(Entry entry, WatchResponse response) {
    entry.cancelled = true;
    if (response.getCompactRevision() > 0) {
      entry.listener.onCompacted(response.getCompactRevision());
    } else {
      String reason = response.getCancelReason();
      entry.listener.onFailed(
          new IllegalStateException(
              "etcd cancelled the watch of "
                  + entry.prefix
                  + (reason.isEmpty() ? "" : ": " + reason)));
    }
  }

  private void onClosed(WatchTransport.@Nullable Stream from, Throwable error) {
    if (from != stream || stream == null) {
      return;
    }
    stream = null;
    if (progressTimer != null) {
      progressTimer.cancel();
      progressTimer = null;
    }
    // resume every watch from where it was, the one being created first
    List<Entry> resume = new ArrayList<>();
    if (creating != null) {
      resume.add(creating);
      creating = null;
    }
    resume.addAll(active.values());
    active.clear();
    for (Entry entry : resume) {
      entry.watchId = -1;
    }
    for (Entry entry : toCreate) {
      resume.add(entry);
    }
    toCreate.clear();
    boolean tokenRejected = EtcdErrors.isInvalidToken(error);
    if (resume.isEmpty()) {
      return;
    }
    transport.failed(tokenRejected);
    long delay = tokenRejected ? 0 : backoff.nextDelayNanos();
    logger.info(
        "etcd watch stream broke ({} watches); resuming them in {} ms: {}",
        resume.size(),
        TimeUnit.NANOSECONDS.toMillis(delay),
        String.valueOf(error));
    for (Entry entry : resume) {
      if (entry.cancelled) {
        continue;
      }
      toCreate.add(entry);
      if (!entry.interrupted) {
        entry.interrupted = true;
        entry.listener.onInterrupted(error);
      }
    }
    if (!closed) {
      reopen = scheduler.schedule(this::openStream, delay);
    }
  }

  private void cancel(Entry entry) {
    if (entry.cancelled) {
      return;
    }
    entry.cancelled = true;
    toCreate.remove(entry);
    if (entry.watchId >= 0 && active.remove(entry.watchId) == entry) {
      sendCancel(entry.watchId);
    }
    if (active.isEmpty() && toCreate.isEmpty() && creating == null) {
      // nothing left to watch: let etcd free the stream
      closeStream();
      if (reopen != null) {
        reopen.cancel();
        reopen = null;
      }
    }
  }

  private void sendCancel(long watchId) {
    if (stream != null) {
      stream.send(
          WatchRequest.newBuilder()
              .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(watchId))
              .build());
    }
  }

  // ---- the progress check

  private void scheduleProgress() {
    if (progressIntervalNanos <= 0) {
      return;
    }
    double jitter = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
    WatchTransport.Stream current = stream;
    progressTimer =
        scheduler.schedule(() -> checkProgress(current), (long) (progressIntervalNanos * jitter));
  }

  private void checkProgress(WatchTransport.@Nullable Stream checked) {
    if (checked != stream || stream == null) {
      return;
    }
    if (progressAskedNanos >= 0 && lastHeardNanos < progressAskedNanos) {
      logger.warn(
          "etcd watch stream silent for {} ms after a progress request; re-watching",
          TimeUnit.NANOSECONDS.toMillis(scheduler.nanoTime() - progressAskedNanos));
      restart(
          new TimeoutException(
              "etcd watch stream silent since "
                  + TimeUnit.NANOSECONDS.toMillis(scheduler.nanoTime() - lastHeardNanos)
                  + " ms"));
      return;
    }
    progressAskedNanos = scheduler.nanoTime();
    stream.send(
        WatchRequest.newBuilder()
            .setProgressRequest(WatchProgressRequest.getDefaultInstance())
            .build());
    scheduleProgress();
  }

  /** One watch of the stream. */
  private final class Entry implements EtcdGateway.Watch {
    final String prefix;
    final EtcdGateway.WatchListener listener;
    long nextRevision;
    long watchId = -1;
    boolean interrupted;
    boolean cancelled;

    Entry(String prefix, long nextRevision, EtcdGateway.WatchListener listener) {
      this.prefix = prefix;
      this.nextRevision = nextRevision;
      this.listener = listener;
    }

    @Override
    public void cancel() {
      WatchMux.this.cancel(this);
    }
  }
}
