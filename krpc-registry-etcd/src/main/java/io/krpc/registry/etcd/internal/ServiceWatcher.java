package io.krpc.registry.etcd.internal;

import io.krpc.common.Backoff;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import io.krpc.registry.etcd.internal.EtcdGateway.Change;
import io.krpc.registry.etcd.internal.EtcdGateway.EtcdRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache and the one etcd watch of one service, shared by all of a registry's listeners of that
 * service (and by its {@link LeaseKeeper}, which puts back its own keys deleted by others).
 *
 * <p>Lists the service's prefix in pages at one revision ({@link RangeLister}), then watches from
 * the next revision on the registry's shared watch stream. When the watch is compacted away, fails,
 * or {@link #resync(boolean)} is called after an outage, it lists and watches again, retrying with
 * capped exponential backoff. Until a list succeeds the last known instances stay: listeners never
 * see an outage as an empty service. After an outage an empty re-list is held back for one lease
 * TTL, the time live owners need to register again after etcd lost its data.
 *
 * <p>Delivery is coalesced: at most one snapshot per {@link WatchOptions#coalesce()}; a burst of
 * changes reaches listeners as one snapshot. A change costs in proportion to itself (one decode,
 * one map update, a check of that key by the lease keeper); only a delivered snapshot copies the
 * instance list, once per interval. Records are decoded in one place ({@link #decode}), through the
 * watcher's {@link RecordFormat} (one watcher per service and format).
 *
 * <p>Confined to the registry's {@link StateScheduler}: every method must be called on it; listener
 * callbacks are handed to the notifier executor.
 */
public final class ServiceWatcher {
  private static final Logger logger = LoggerFactory.getLogger(ServiceWatcher.class);
  private static final Duration REFUSAL_RETRY = Duration.ofSeconds(30);

  /** The lease keeper's view of a service: told which keys changed, and asked to check them. */
  interface KeyCheck {
    /**
     * Keys of the service changed at {@code revision}; {@code keys} null means every key (after a
     * list). {@code instances} is the watcher's live map: read it now, never keep it.
     */
    void check(
        String serviceName,
        long revision,
        Map<String, ServiceInstance> instances,
        @Nullable Collection<String> keys);
  }

  private final String serviceName;
  private final String prefix;
  private final EtcdGateway gateway;
  private final RangeLister lister;
  private final RecordFormat format;
  private final StateScheduler scheduler;
  private final Executor notifier;
  private final WatchOptions options;
  private final Backoff backoff = EtcdErrors.retryBackoff();
  private final List<Subscription> subscriptions = new ArrayList<>();
  private final List<KeyCheck> keyChecks = new ArrayList<>();
  private final TreeMap<String, ServiceInstance> instances = new TreeMap<>();
  private final Map<String, ServiceInstance> instancesView = Collections.unmodifiableMap(instances);
  // the same instances in snapshot order: endpoint, then key ("endpoint\0key"), kept in step with
  // `instances` by put/remove so a snapshot is a copy, not a sort with an endpoint string built per
  // instance (which made each publish of a 30,000-instance service cost milliseconds)
  private final TreeMap<String, ServiceInstance> byEndpoint = new TreeMap<>();
  // key -> revision of the malformed value already warned about, so each is logged once
  private final Map<String, Long> warned = new HashMap<>();
  private @Nullable List<ServiceInstance> published;
  private long revision;
  private long generation;
  private EtcdGateway.@Nullable Watch watch;
  private StateScheduler.@Nullable Cancellable retry;
  private StateScheduler.@Nullable Cancellable flush;
  private long lastDeliveryNanos;
  private boolean changed;
  private boolean failing;
  private boolean refused;
  // after an error was reported, the next snapshot is delivered even when unchanged: the
  // Registry contract promises listeners a fresh snapshot once etcd answers again
  private boolean deliverNext;
  private long holdEmptyUntilNanos;
  private boolean closed;

  ServiceWatcher(
      String serviceName,
      EtcdGateway gateway,
      RecordFormat format,
      StateScheduler scheduler,
      Executor notifier,
      WatchOptions options) {
    this.serviceName = serviceName;
    this.prefix = format.servicePrefix(serviceName);
    this.gateway = gateway;
    this.lister = new RangeLister(gateway, options.pageLimit());
    this.format = format;
    this.scheduler = scheduler;
    this.notifier = notifier;
    this.options = options;
    this.lastDeliveryNanos = scheduler.nanoTime() - options.coalesce().toNanos();
  }

  /** The watched service. */
  public String serviceName() {
    return serviceName;
  }

  /** Starts listing and watching. */
  void start() {
    list(false);
  }

  /** Adds a listener; it gets the current snapshot at once if one is known. */
  void add(Subscription subscription) {
    subscriptions.add(subscription);
    if (published != null) {
      subscription.deliver(notifier, published);
    }
  }

  /** Removes a listener; returns whether the watcher has no listeners left. */
  boolean remove(Subscription subscription) {
    subscriptions.remove(subscription);
    return subscriptions.isEmpty() && keyChecks.isEmpty();
  }

  /** Adds the lease keeper's check; it sees the current instances at once if they are known. */
  void addKeyCheck(KeyCheck check) {
    keyChecks.add(check);
    if (published != null) {
      check.check(serviceName, revision, instancesView, null);
    }
  }

  /**
   * Lists and watches again. With {@code afterOutage}, the list waits a random part of the re-list
   * jitter and reads from the local member, and an empty result is held back for one lease TTL
   * while the previous snapshot had instances.
   */
  void resync(boolean afterOutage) {
    if (closed) {
      return;
    }
    if (!afterOutage) {
      list(false);
      return;
    }
    holdEmptyUntilNanos = scheduler.nanoTime() + options.emptyHold().toNanos();
    long jitter = options.relistJitter().toNanos();
    long delay = jitter <= 0 ? 0 : ThreadLocalRandom.current().nextLong(jitter);
    long gen = ++generation;
    cancelWatch();
    cancelRetry();
    retry =
        scheduler.schedule(
            () -> {
              if (gen == generation) {
                list(true);
              }
            },
            delay);
  }

  /** Tells the listeners (once per failure episode) that etcd does not answer. */
  void reportOutage(Throwable cause) {
    report(
        new RegistryException(
            "etcd does not answer; keeping the last known instances of " + serviceName, cause));
  }

  void close() {
    closed = true;
    generation++;
    cancelWatch();
    cancelRetry();
    if (flush != null) {
      flush.cancel();
      flush = null;
    }
  }

  /** The instances as the watcher knows them now, sorted by endpoint; for tests. */
  List<ServiceInstance> current() {
    return sortedSnapshot();
  }

  // ---- listing

  private void list(boolean serializable) {
    if (closed) {
      return;
    }
    long gen = ++generation;
    cancelWatch();
    cancelRetry();
    var unused =
        Futures.within(
                lister.list(prefix, serializable),
                scheduler,
                options.requestTimeout().toNanos() * 4)
            .whenCompleteAsync(
                (listing, error) -> {
                  if (gen != generation) {
                    return;
                  }
                  if (error != null) {
                    fail("list", EtcdErrors.unwrap(error));
                  } else {
                    onListed(gen, listing);
                  }
                },
                scheduler);
  }

  private void onListed(long gen, RangeLister.Listing listing) {
    Map<String, ServiceInstance> before = new HashMap<>(instances);
    instances.clear();
    byEndpoint.clear();
    for (EtcdRecord record : listing.records()) {
      decode(record.key(), record.value(), record.modRevision());
    }
    if (!instances.equals(before)) {
      changed = true;
    }
    revision = listing.revision();
    if (failing) {
      holdEmptyUntilNanos =
          Math.max(holdEmptyUntilNanos, scheduler.nanoTime() + options.emptyHold().toNanos());
    }
    endFailure();
    backoff.reset();
    keyChecks.forEach(c -> c.check(serviceName, revision, instancesView, null));
    requestPublish();
    watch = gateway.watch(prefix, revision + 1, new Listener(gen));
  }

  // ---- watch events

  private void onChanges(List<Change> changes, long atRevision) {
    List<String> keys = new ArrayList<>(changes.size());
    for (Change change : changes) {
      keys.add(change.key());
      byte[] value = change.value();
      if (value == null) {
        warned.remove(change.key());
        if (remove(change.key()) != null) {
          changed = true;
        }
      } else {
        decode(change.key(), value, change.modRevision());
      }
      revision = Math.max(revision, change.modRevision());
    }
    revision = Math.max(revision, atRevision);
    for (KeyCheck check : keyChecks) {
      check.check(serviceName, revision, instancesView, keys);
    }
    requestPublish();
  }

  /** The one place a stored record becomes an instance (or a warning). */
  private void decode(String key, byte[] value, long modRevision) {
    ServiceInstance instance;
    try {
      instance = format.decode(serviceName, key, value);
    } catch (IllegalArgumentException e) {
      if (remove(key) != null) {
        changed = true;
      }
      Long previous = warned.put(key, modRevision);
      if (previous == null || previous != modRevision) {
        logger.warn(
            "Skipping malformed etcd record {} (revision {}, format {}): {}",
            key,
            modRevision,
            format.name(),
            e.getMessage());
      }
      return;
    }
    warned.remove(key);
    if (instance == null) {
      // well formed but not routable (disabled, deleted, no gRPC endpoint)
      if (remove(key) != null) {
        changed = true;
      }
    } else if (!instance.equals(put(key, instance))) {
      changed = true;
    }
  }

  private @Nullable ServiceInstance put(String key, ServiceInstance instance) {
    ServiceInstance previous = instances.put(key, instance);
    if (previous != null) {
      byEndpoint.remove(sortKey(key, previous));
    }
    byEndpoint.put(sortKey(key, instance), instance);
    return previous;
  }

  private @Nullable ServiceInstance remove(String key) {
    ServiceInstance previous = instances.remove(key);
    if (previous != null) {
      byEndpoint.remove(sortKey(key, previous));
    }
    return previous;
  }

  /**
   * Snapshot order: by endpoint, then by key. NUL sorts before every character an endpoint can
   * hold, so "h:80\0…" comes before "h:8080\0…" as "h:80" comes before "h:8080".
   */
  private static String sortKey(String key, ServiceInstance instance) {
    return instance.endpoint() + '\0' + key;
  }

  // ---- failures

  private void fail(String what, Throwable error) {
    cancelWatch();
    if (closed) {
      return;
    }
    boolean refusal = EtcdErrors.isRefusal(error);
    long delay = refusal ? REFUSAL_RETRY.toNanos() : backoff.nextDelayNanos();
    if (refusal) {
      report(
          new RegistryException(
              "etcd refuses to "
                  + what
                  + " service "
                  + serviceName
                  + ": "
                  + EtcdErrors.describe(error)
                  + "; keeping the last known instances, trying again every "
                  + REFUSAL_RETRY.toSeconds()
                  + " s",
              error));
    } else {
      if (!failing) {
        logger.info(
            "etcd {} of service {} failed; re-listing in {} ms: {}",
            what,
            serviceName,
            TimeUnit.NANOSECONDS.toMillis(delay),
            String.valueOf(error));
      } else {
        logger.debug("etcd {} of service {} failed again", what, serviceName, error);
      }
      reportOutage(error);
    }
    long gen = generation;
    retry =
        scheduler.schedule(
            () -> {
              if (gen == generation) {
                list(true);
              }
            },
            delay);
  }

  /** Reports {@code error} to the listeners once per failure episode (and once per refusal). */
  private void report(RegistryException error) {
    Throwable cause = error.getCause();
    boolean refusal = cause != null && EtcdErrors.isRefusal(cause);
    if (failing && (refused || !refusal)) {
      return;
    }
    if (refusal) {
      logger.warn("{}", error.getMessage());
    }
    failing = true;
    refused = refusal;
    deliverNext = true;
    subscriptions.forEach(s -> s.error(notifier, error));
  }

  private void endFailure() {
    failing = false;
    refused = false;
  }

  // ---- delivery

  private void requestPublish() {
    if (closed || flush != null || !(changed || deliverNext || published == null)) {
      return;
    }
    long wait = lastDeliveryNanos + options.coalesce().toNanos() - scheduler.nanoTime();
    if (wait <= 0) {
      publish();
    } else {
      flush =
          scheduler.schedule(
              () -> {
                flush = null;
                publish();
              },
              wait);
    }
  }

  private void publish() {
    if (closed || failing) {
      // deletes seen while etcd is failing (leases that expired because nobody could reach
      // etcd) are outage effects: wait for the re-list after recovery
      return;
    }
    if (instances.isEmpty() && published != null && !published.isEmpty()) {
      long wait = holdEmptyUntilNanos - scheduler.nanoTime();
      if (wait > 0) {
        logger.info(
            "etcd lists no instance of {} after an outage; waiting {} ms for owners to "
                + "register again before publishing that",
            serviceName,
            TimeUnit.NANOSECONDS.toMillis(wait));
        flush =
            scheduler.schedule(
                () -> {
                  flush = null;
                  publish();
                },
                wait);
        return;
      }
    }
    if (!changed && !deliverNext && published != null) {
      return;
    }
    changed = false;
    deliverNext = false;
    List<ServiceInstance> snapshot = sortedSnapshot();
    published = snapshot;
    lastDeliveryNanos = scheduler.nanoTime();
    subscriptions.forEach(s -> s.deliver(notifier, snapshot));
  }

  /** The instances sorted by endpoint (then key): a copy of the order kept as they change. */
  private List<ServiceInstance> sortedSnapshot() {
    return Collections.unmodifiableList(new ArrayList<>(byEndpoint.values()));
  }

  private void cancelWatch() {
    if (watch != null) {
      watch.cancel();
      watch = null;
    }
  }

  private void cancelRetry() {
    if (retry != null) {
      retry.cancel();
      retry = null;
    }
  }

  /** The watch's callbacks, moved onto the state thread and dropped once superseded. */
  private final class Listener implements EtcdGateway.WatchListener {
    private final long gen;

    Listener(long gen) {
      this.gen = gen;
    }

    private void run(Runnable task) {
      scheduler.execute(
          () -> {
            if (gen == generation && !closed) {
              task.run();
            }
          });
    }

    @Override
    public void onChanges(List<Change> changes, long atRevision) {
      run(() -> ServiceWatcher.this.onChanges(changes, atRevision));
    }

    @Override
    public void onCompacted(long compactRevision) {
      run(
          () -> {
            logger.info(
                "etcd compacted the watch of {} away (revision {}); listing again",
                serviceName,
                compactRevision);
            watch = null;
            list(false);
          });
    }

    @Override
    public void onInterrupted(Throwable cause) {
      run(() -> reportOutage(cause));
    }

    @Override
    public void onResumed() {
      run(
          () -> {
            if (failing && !refused) {
              endFailure();
              requestPublish();
            }
          });
    }

    @Override
    public void onFailed(Throwable cause) {
      run(
          () -> {
            watch = null;
            fail("watch", cause);
          });
    }
  }

  /** One listener of a watch; its callbacks run on the notifier, one at a time. */
  public static final class Subscription implements Registry.Watch {
    private final String serviceName;
    private final Registry.Listener listener;
    private final java.util.function.Consumer<Subscription> onCancel;
    private volatile boolean cancelled;

    /** {@code onCancel} detaches the subscription from its watcher. */
    public Subscription(
        String serviceName,
        Registry.Listener listener,
        java.util.function.Consumer<Subscription> onCancel) {
      this.serviceName = serviceName;
      this.listener = listener;
      this.onCancel = onCancel;
    }

    void deliver(Executor notifier, List<ServiceInstance> snapshot) {
      execute(notifier, () -> listener.onUpdate(snapshot));
    }

    void error(Executor notifier, RegistryException error) {
      execute(notifier, () -> listener.onError(error));
    }

    private void execute(Executor notifier, Runnable callback) {
      try {
        notifier.execute(
            () -> {
              if (cancelled) {
                return;
              }
              try {
                callback.run();
              } catch (RuntimeException e) {
                logger.warn(
                    "Registry listener of service {} threw; it keeps receiving updates",
                    serviceName,
                    e);
              }
            });
      } catch (java.util.concurrent.RejectedExecutionException e) {
        logger.debug("Registry closed; update of {} dropped", serviceName);
      }
    }

    @Override
    public void cancel() {
      if (!cancelled) {
        cancelled = true;
        onCancel.accept(this);
      }
    }
  }
}
