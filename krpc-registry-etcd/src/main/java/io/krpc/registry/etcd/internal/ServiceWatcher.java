package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.krpc.common.Backoff;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.annotation.concurrent.NotThreadSafe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache and the one etcd watch of one service, shared by all of a registry's listeners of that
 * service (and by its {@link LeaseKeeper}, which puts back its own keys deleted by others).
 *
 * <p>Lists the service's prefix, then watches from the listed revision + 1. When the watch fails
 * or is compacted away, or when {@link #resync(boolean)} is called after an outage, it lists and
 * watches again, retrying with capped exponential backoff. Until a list succeeds the last known
 * instances stay: listeners never see an outage as an empty service. After an outage an empty
 * re-list is held back for one lease TTL, the time live owners need to register again after etcd
 * lost its data.
 *
 * <p>Confined to the registry's state executor: every method must be called on it; listener
 * callbacks are handed to the notifier executor.
 */
@NotThreadSafe
public final class ServiceWatcher {
  private static final Logger logger = LoggerFactory.getLogger(ServiceWatcher.class);
  private static final Comparator<ServiceInstance> BY_ENDPOINT =
      Comparator.comparing(ServiceInstance::endpoint);

  private final String serviceName;
  private final String prefix;
  private final EtcdConnection connection;
  private final RecordFormat format;
  private final ScheduledExecutorService stateExecutor;
  private final Executor notifier;
  private final Duration requestTimeout;
  private final Duration emptyHold;
  private final Backoff backoff = EtcdErrors.retryBackoff();
  private final List<Subscription> subscriptions = new ArrayList<>();
  private final List<Consumer<ServiceSnapshot>> internalListeners = new CopyOnWriteArrayList<>();
  private final Map<String, ServiceInstance> instances = new TreeMap<>();
  // key -> revision of the malformed value already warned about, so each is logged once
  private final Map<String, Long> warned = new HashMap<>();
  private List<ServiceInstance> published;
  private long revision;
  private long generation;
  private Watch.Watcher etcdWatch;
  private ScheduledFuture<?> retry;
  private boolean failing;
  // after an error was reported, the next snapshot is delivered even when unchanged: the
  // Registry contract promises listeners a fresh snapshot once etcd answers again
  private boolean deliverNext;
  private long holdEmptyUntilNanos;
  private boolean closed;

  ServiceWatcher(String serviceName, EtcdConnection connection, RecordFormat format,
      ScheduledExecutorService stateExecutor, Executor notifier, Duration requestTimeout,
      Duration emptyHold) {
    this.serviceName = serviceName;
    this.prefix = format.servicePrefix(serviceName);
    this.connection = connection;
    this.format = format;
    this.stateExecutor = stateExecutor;
    this.notifier = notifier;
    this.requestTimeout = requestTimeout;
    this.emptyHold = emptyHold;
  }

  /** The watched service. */
  public String serviceName() {
    return serviceName;
  }

  /** Starts listing and watching. */
  void start() {
    list();
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
    return subscriptions.isEmpty() && internalListeners.isEmpty();
  }

  void addInternal(Consumer<ServiceSnapshot> listener) {
    internalListeners.add(listener);
    if (published != null) {
      listener.accept(new ServiceSnapshot(revision, Map.copyOf(instances)));
    }
  }

  /**
   * Lists and watches again. With {@code afterOutage}, an empty result is held back for one lease
   * TTL while the previous snapshot had instances.
   */
  void resync(boolean afterOutage) {
    if (closed) {
      return;
    }
    if (afterOutage) {
      holdEmptyUntilNanos = System.nanoTime() + emptyHold.toNanos();
    }
    list();
  }

  /** Tells the listeners (once per failure episode) that etcd does not answer. */
  void reportOutage(Throwable cause) {
    if (!failing) {
      failing = true;
      deliverNext = true;
      RegistryException error = new RegistryException(
          "etcd does not answer; keeping the last known instances of " + serviceName, cause);
      subscriptions.forEach(s -> s.error(notifier, error));
    }
  }

  void close() {
    closed = true;
    generation++;
    cancelWatch();
    if (retry != null) {
      retry.cancel(false);
    }
  }

  private void list() {
    if (closed) {
      return;
    }
    long gen = ++generation;
    cancelWatch();
    if (retry != null) {
      retry.cancel(false);
      retry = null;
    }
    ByteSequence key = bytes(prefix);
    connection.client().getKVClient()
        .get(key, GetOption.builder().isPrefix(true).build())
        .orTimeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .whenCompleteAsync((response, error) -> {
          if (gen != generation) {
            return;
          }
          if (error != null) {
            fail("list", error);
          } else {
            onListed(gen, response);
          }
        }, stateExecutor);
  }

  private void onListed(long gen, GetResponse response) {
    instances.clear();
    for (KeyValue kv : response.getKvs()) {
      apply(kv.getKey(), kv.getValue(), kv.getModRevision(), true);
    }
    revision = response.getHeader().getRevision();
    if (failing) {
      holdEmptyUntilNanos = Math.max(holdEmptyUntilNanos, System.nanoTime() + emptyHold.toNanos());
      failing = false;
    }
    backoff.reset();
    publish();
    watchFrom(gen, revision + 1);
  }

  private void watchFrom(long gen, long fromRevision) {
    WatchOption option = WatchOption.builder().isPrefix(true).withRevision(fromRevision).build();
    etcdWatch = connection.client().getWatchClient().watch(bytes(prefix), option,
        new Watch.Listener() {
          @Override
          public void onNext(WatchResponse response) {
            stateExecutor.execute(() -> {
              if (gen == generation) {
                onEvents(response);
              }
            });
          }

          @Override
          public void onError(Throwable error) {
            stateExecutor.execute(() -> {
              if (gen == generation) {
                fail("watch", error);
              }
            });
          }

          @Override
          public void onCompleted() {
            stateExecutor.execute(() -> {
              if (gen == generation) {
                fail("watch", new IllegalStateException("watch completed by etcd"));
              }
            });
          }
        });
  }

  private void onEvents(WatchResponse response) {
    for (WatchEvent event : response.getEvents()) {
      KeyValue kv = event.getKeyValue();
      if (event.getEventType() == WatchEvent.EventType.DELETE) {
        String key = kv.getKey().toString(StandardCharsets.UTF_8);
        instances.remove(key);
        warned.remove(key);
      } else if (event.getEventType() == WatchEvent.EventType.PUT) {
        apply(kv.getKey(), kv.getValue(), kv.getModRevision(), false);
      }
      revision = Math.max(revision, kv.getModRevision());
    }
    revision = Math.max(revision, response.getHeader().getRevision());
    publish();
  }

  private void apply(ByteSequence keyBytes, ByteSequence value, long modRevision, boolean listing) {
    String key = keyBytes.toString(StandardCharsets.UTF_8);
    try {
      ServiceInstance instance = format.decode(serviceName, key, value.getBytes());
      if (instance != null) {
        instances.put(key, instance);
      } else {
        instances.remove(key); // well formed but not routable (disabled, deleted, no gRPC)
      }
      warned.remove(key);
    } catch (IllegalArgumentException e) {
      instances.remove(key);
      Long previous = warned.put(key, modRevision);
      if (previous == null || previous != modRevision) {
        logger.warn("Skipping malformed etcd record {} (revision {}, format {}): {}", key,
            modRevision, format.name(), e.getMessage());
      }
    }
  }

  private void fail(String what, Throwable error) {
    cancelWatch();
    if (closed) {
      return;
    }
    long delay = backoff.nextDelayNanos();
    if (!failing) {
      logger.info("etcd {} of service {} failed; re-listing in {} ms: {}", what, serviceName,
          TimeUnit.NANOSECONDS.toMillis(delay), String.valueOf(error));
    } else {
      logger.debug("etcd {} of service {} failed again", what, serviceName, error);
    }
    reportOutage(error);
    retry = stateExecutor.schedule(this::list, delay, TimeUnit.NANOSECONDS);
  }

  private void publish() {
    List<ServiceInstance> snapshot = new ArrayList<>(instances.values());
    snapshot.sort(BY_ENDPOINT);
    snapshot = List.copyOf(snapshot);
    ServiceSnapshot internal = new ServiceSnapshot(revision, Map.copyOf(instances));
    internalListeners.forEach(l -> l.accept(internal));
    if (snapshot.isEmpty() && published != null && !published.isEmpty()) {
      if (failing) {
        // deletes seen while etcd is failing (leases that expired because nobody could reach
        // etcd) are outage effects: wait for the re-list after recovery
        logger.info("etcd reports no instance of {} during an outage; keeping the last ones",
            serviceName);
        return;
      }
      long wait = holdEmptyUntilNanos - System.nanoTime();
      if (wait > 0) {
        logger.info("etcd lists no instance of {} after an outage; waiting {} ms for owners to "
            + "register again before publishing that", serviceName,
            TimeUnit.NANOSECONDS.toMillis(wait));
        long gen = generation;
        stateExecutor.schedule(() -> {
          if (gen == generation) {
            publish();
          }
        }, wait, TimeUnit.NANOSECONDS);
        return;
      }
    }
    if (failing || (snapshot.equals(published) && !deliverNext)) {
      return;
    }
    deliverNext = false;
    published = snapshot;
    List<ServiceInstance> toDeliver = snapshot;
    subscriptions.forEach(s -> s.deliver(notifier, toDeliver));
  }

  private void cancelWatch() {
    if (etcdWatch != null) {
      try {
        etcdWatch.close();
      } catch (RuntimeException e) {
        logger.debug("Closing an etcd watch failed", e);
      }
      etcdWatch = null;
    }
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  /** The revision and the key-to-instance map of one service, for internal listeners. */
  public record ServiceSnapshot(long revision, Map<String, ServiceInstance> instances) {}

  /** One listener of a watch; its callbacks run on the notifier, one at a time. */
  public static final class Subscription implements Registry.Watch {
    private final String serviceName;
    private final Registry.Listener listener;
    private final Consumer<Subscription> onCancel;
    private volatile boolean cancelled;

    /** {@code onCancel} detaches the subscription from its watcher. */
    public Subscription(String serviceName, Registry.Listener listener,
        Consumer<Subscription> onCancel) {
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
        notifier.execute(() -> {
          if (cancelled) {
            return;
          }
          try {
            callback.run();
          } catch (RuntimeException e) {
            logger.warn("Registry listener of service {} threw; it keeps receiving updates",
                serviceName, e);
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
