package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.Client;
import io.krpc.common.Backoff;
import io.krpc.common.DaemonThreads;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import io.krpc.registry.etcd.internal.EtcdGateway.EtcdRecord;
import io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The machinery behind {@code EtcdRegistry}: one state thread (a {@link StateScheduler}) that owns
 * the {@link LeaseKeeper}, the {@link ServiceWatcher}s, the {@link ConnectionMonitor} and the watch
 * stream, and one notifier thread that runs listener callbacks (so callbacks of one watch never
 * overlap, and a slow listener never delays etcd traffic). They reach etcd only through an {@link
 * EtcdGateway}. Blocking calls wait on futures completed by the state thread, bounded by the
 * request timeout.
 */
public final class EtcdRegistryCore {
  private static final Logger logger = LoggerFactory.getLogger(EtcdRegistryCore.class);
  private static final AtomicInteger ids = new AtomicInteger();

  /**
   * Everything a registry is built from.
   *
   * @param clientFactory builds a new jetcd client for the endpoints in the order given (called
   *     again after outages)
   * @param connectionKey registries of this JVM with equal keys share one connection to etcd; null:
   *     a connection of this registry's own
   * @param endpoints the etcd URLs, for the watch stream's own channel
   * @param keyPrefix KRPC's own key prefix, where the connection monitor probes
   * @param formats the record formats written and read, at least one
   * @param maxInboundMessageSize the largest response accepted, in bytes
   * @param pageLimit the most keys per list response
   * @param coalesce the least time between two snapshots of one service
   * @param progressInterval how often the watch stream is asked for progress
   */
  public record Config(
      Function<List<String>, Client> clientFactory,
      @Nullable Object connectionKey,
      List<String> endpoints,
      @Nullable SslContext sslContext,
      @Nullable String username,
      @Nullable String password,
      Duration dialTimeout,
      String keyPrefix,
      List<RecordFormat> formats,
      Duration leaseTtl,
      Duration requestTimeout,
      int maxInboundMessageSize,
      int pageLimit,
      Duration coalesce,
      Duration progressInterval) {}

  private final String description;
  private final Duration requestTimeout;
  private final Duration leaseTtl;
  private final List<RecordFormat> formats;
  private final EtcdGateway gateway;
  private final StateScheduler scheduler;
  private final Runnable shutdownThreads;
  private final Executor notifier;
  private final LeaseKeeper keeper;
  private final ConnectionMonitor monitor;
  private final WatchOptions watchOptions;
  private final RangeLister lister;
  // confined to the state scheduler; keyed by format index and service name
  private final Map<String, ServiceWatcher> watchers = new HashMap<>();
  private final Set<String> selfWatched = new HashSet<>();
  private final Set<ServiceWatcher.Subscription> subscriptions = ConcurrentHashMap.newKeySet();

  /** Set once, by the first close(): later calls wait for that close instead of racing it. */
  private final AtomicBoolean closed = new AtomicBoolean();

  private final CountDownLatch closeDone = new CountDownLatch(1);
  private final @Nullable JetcdGateway jetcd;

  /** The production registry: jetcd, one watch stream, a state thread and a notifier thread. */
  public static EtcdRegistryCore create(Config config) {
    int id = ids.incrementAndGet();
    ThreadStateScheduler scheduler =
        new ThreadStateScheduler(DaemonThreads.named("krpc-etcd-registry-" + id));
    ExecutorService notifier =
        Executors.newSingleThreadExecutor(DaemonThreads.named("krpc-etcd-notifier-" + id));
    Object key = config.connectionKey();
    EtcdConnection connection =
        key == null
            ? EtcdConnection.own(config.endpoints(), config.clientFactory())
            : EtcdConnection.shared(key, config.endpoints(), config.clientFactory());
    JetcdGateway gateway =
        new JetcdGateway(
            connection,
            new GrpcWatchTransport.Settings(
                GrpcWatchTransport.uris(config.endpoints()),
                config.sslContext(),
                config.username(),
                config.password(),
                config.dialTimeout(),
                config.maxInboundMessageSize()),
            scheduler,
            config.progressInterval());
    return new EtcdRegistryCore(
        gateway,
        scheduler,
        notifier,
        config,
        () -> {
          scheduler.shutdown();
          notifier.shutdown();
        });
  }

  EtcdRegistryCore(
      EtcdGateway gateway,
      StateScheduler scheduler,
      Executor notifier,
      Config config,
      Runnable shutdownThreads) {
    this.description = String.join(",", config.endpoints());
    this.requestTimeout = config.requestTimeout();
    this.leaseTtl = config.leaseTtl();
    this.formats = List.copyOf(config.formats());
    this.gateway = gateway;
    this.jetcd = gateway instanceof JetcdGateway j ? j : null;
    this.scheduler = scheduler;
    this.notifier = notifier;
    this.shutdownThreads = shutdownThreads;
    this.watchOptions =
        new WatchOptions(
            config.requestTimeout(),
            config.leaseTtl(),
            config.pageLimit(),
            config.coalesce(),
            relistJitter(config.leaseTtl()));
    this.lister = new RangeLister(gateway, config.pageLimit());
    this.keeper = new LeaseKeeper(gateway, formats, scheduler, leaseTtl, requestTimeout);
    Duration probeTimeout =
        requestTimeout.compareTo(Duration.ofSeconds(1)) < 0
            ? requestTimeout
            : Duration.ofSeconds(1);
    this.monitor =
        new ConnectionMonitor(
            gateway,
            scheduler,
            config.keyPrefix(),
            Duration.ofMillis(500),
            probeTimeout,
            requestTimeout,
            new ConnectionMonitor.Callbacks() {
              @Override
              public void onOutage(Throwable cause) {
                watchers.values().forEach(w -> w.reportOutage(cause));
              }

              @Override
              public void onRecovered(String why) {
                keeper.onEtcdRecovered();
                watchers.values().forEach(w -> w.resync(true));
              }
            });
    // connect now, in the background: the first call of a JVM pays for class loading and the
    // connection, which should not count against the first register()'s timeout
    scheduler.execute(monitor::start);
  }

  /**
   * The longest random wait before re-listing after an outage: a quarter of the lease TTL, at most
   * 1 s, so that a thousand clients coming back spread their lists over that time.
   */
  private static Duration relistJitter(Duration leaseTtl) {
    Duration quarter = leaseTtl.dividedBy(4);
    return quarter.compareTo(Duration.ofSeconds(1)) < 0 ? quarter : Duration.ofSeconds(1);
  }

  /** See {@link Registry#register}. */
  public void register(ServiceInstance instance) {
    checkOpen();
    CompletableFuture<Void> done = new CompletableFuture<>();
    String key = describeKey(instance);
    run(
        () -> {
          keeper.register(instance, done);
          watchOwnKeys(instance.serviceName());
        });
    try {
      done.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      run(() -> keeper.forgetIfSame(instance));
      Throwable cause = e instanceof ExecutionException ? EtcdErrors.unwrap(e) : keeper.lastError();
      if (e instanceof TimeoutException) {
        // a put may still land; delete it so a failed register() leaves nothing behind
        run(
            () -> {
              var unused = gateway.deleteAll(keeper.keys(instance));
            });
      }
      if (cause instanceof IllegalArgumentException) {
        throw new IllegalArgumentException(cause.getMessage(), cause);
      }
      String why = cause == null ? " (etcd did not answer)" : ": " + EtcdErrors.describe(cause);
      throw new RegistryException(
          "Could not register "
              + key
              + " in etcd at "
              + description
              + (e instanceof TimeoutException ? " within " + requestTimeout : "")
              + why,
          cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException("Interrupted while registering " + key, e);
    }
  }

  /** See {@link Registry#deregister}. */
  public void deregister(ServiceInstance instance) {
    if (closed.get()) {
      return;
    }
    String key = describeKey(instance);
    List<String> keys =
        await(
            supplyOnState(
                () -> {
                  keeper.forget(instance);
                  return keeper.keys(instance);
                }),
            "deregister " + key);
    retrying(() -> gateway.deleteAll(keys), "deregister " + key);
  }

  /** See {@link Registry#watch}. */
  public Registry.Watch watch(String serviceName, Registry.Listener listener) {
    checkOpen();
    if (formats.size() == 1) {
      return watch(0, serviceName, listener);
    }
    FormatMerge.Listener merged = new FormatMerge.Listener(formats, listener);
    List<Registry.Watch> parts = new ArrayList<>();
    for (int i = 0; i < formats.size(); i++) {
      parts.add(watch(i, serviceName, merged.part(i)));
    }
    return () -> parts.forEach(Registry.Watch::cancel);
  }

  private Registry.Watch watch(int format, String serviceName, Registry.Listener listener) {
    ServiceWatcher.Subscription subscription =
        new ServiceWatcher.Subscription(
            serviceName,
            listener,
            s -> {
              subscriptions.remove(s);
              try {
                scheduler.execute(() -> detach(format, serviceName, s));
              } catch (RejectedExecutionException e) {
                // the registry is closed: nothing left to detach from
              }
            });
    subscriptions.add(subscription);
    run(() -> watcher(format, serviceName).add(subscription));
    return subscription;
  }

  /** The lease as etcd last confirmed it, or null while none is held; any thread. */
  public LeaseKeeper.@Nullable LeaseStatus lease() {
    return keeper.lease();
  }

  /** See {@link Registry#lookup}: a paged, linearizable list per format, merged. */
  public List<ServiceInstance> lookup(String serviceName) {
    checkOpen();
    List<List<ServiceInstance>> perFormat = new ArrayList<>();
    for (RecordFormat format : formats) {
      String prefix = format.servicePrefix(serviceName);
      RangeLister.Listing listing =
          retrying(() -> lister.list(prefix, false), "lookup " + serviceName);
      List<ServiceInstance> result = new ArrayList<>();
      for (EtcdRecord record : listing.records()) {
        try {
          ServiceInstance instance = format.decode(serviceName, record.key(), record.value());
          if (instance != null) {
            result.add(instance);
          }
        } catch (IllegalArgumentException e) {
          logger.debug(
              "lookup({}) skips malformed record {}: {}",
              serviceName,
              record.key(),
              e.getMessage());
        }
      }
      perFormat.add(result);
    }
    return FormatMerge.merge(formats, perFormat);
  }

  /**
   * How this registry reaches etcd, for tests and benchmarks: {@code "shared/N"} when its
   * connection is shared by N registries, {@code "own"} otherwise, with {@code "+watch"} when the
   * watch stream rides that connection (a second connection otherwise).
   */
  public String connectionInfo() {
    if (jetcd == null) {
      return "none";
    }
    int references = jetcd.connection().references();
    return (references > 1 ? "shared/" + references : "own")
        + (jetcd.watchRidesConnection() ? "+watch" : "");
  }

  /** The watch streams opened so far by this registry; for tests and benchmarks. */
  public int watchStreamsOpened() {
    return jetcd == null
        ? 0
        : await(supplyOnState(() -> jetcd.mux().streamsOpened()), "count watch streams");
  }

  /**
   * Cancels the watches, stops keeping the lease alive and, with {@code revoke}, revokes it so that
   * every instance disappears at once; without, they disappear when the lease expires (what a
   * crashed process leaves behind). Never throws. Idempotent and safe to call from several threads
   * at once: one of them closes, the others return once it is done.
   */
  public void close(boolean revoke) {
    if (!closed.compareAndSet(false, true)) {
      awaitClose();
      return;
    }
    try {
      doClose(revoke);
    } finally {
      closeDone.countDown();
    }
  }

  private void awaitClose() {
    boolean interrupted = false;
    while (true) {
      try {
        closeDone.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void doClose(boolean revoke) {
    subscriptions.forEach(ServiceWatcher.Subscription::cancel);
    long leaseId = 0;
    try {
      leaseId =
          supplyOnState(
                  () -> {
                    monitor.close();
                    watchers.values().forEach(ServiceWatcher::close);
                    watchers.clear();
                    if (jetcd != null) {
                      jetcd.mux().close();
                    }
                    return keeper.shutdown();
                  })
              .get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      if (revoke && leaseId != 0) {
        gateway.revoke(leaseId).get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      logger.warn(
          "Closing the etcd registry at {}: could not revoke lease {}; its instances "
              + "disappear when it expires within {}",
          description,
          Long.toHexString(leaseId),
          leaseTtl,
          e);
    }
    shutdownThreads.run();
    if (jetcd != null) {
      jetcd.close();
    }
  }

  // ---- on the state scheduler

  private ServiceWatcher watcher(int format, String serviceName) {
    return watchers.computeIfAbsent(
        format + "/" + serviceName,
        k -> {
          ServiceWatcher watcher =
              new ServiceWatcher(
                  serviceName, gateway, formats.get(format), scheduler, notifier, watchOptions);
          watcher.start();
          return watcher;
        });
  }

  private void watchOwnKeys(String serviceName) {
    if (selfWatched.add(serviceName)) {
      for (int i = 0; i < formats.size(); i++) {
        watcher(i, serviceName).addKeyCheck(keeper.check(i));
      }
    }
  }

  private void detach(int format, String serviceName, ServiceWatcher.Subscription subscription) {
    ServiceWatcher watcher = watchers.get(format + "/" + serviceName);
    if (watcher != null && watcher.remove(subscription)) {
      watcher.close();
      watchers.remove(format + "/" + serviceName);
    }
  }

  /** The key of {@code instance} in the first format, for messages. */
  private String describeKey(ServiceInstance instance) {
    return formats.get(0).key(instance, 0) + (formats.size() > 1 ? " (and its other formats)" : "");
  }

  // ---- helpers

  private <T> CompletableFuture<T> supplyOnState(Supplier<T> task) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      scheduler.execute(
          () -> {
            try {
              result.complete(task.get());
            } catch (RuntimeException e) {
              result.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(new IllegalStateException("EtcdRegistry is closed", e));
    }
    return result;
  }

  private void run(Runnable task) {
    try {
      scheduler.execute(task);
    } catch (RejectedExecutionException e) {
      throw new IllegalStateException("EtcdRegistry is closed", e);
    }
  }

  /**
   * Runs {@code call} until it succeeds, fails permanently or the request timeout is used up,
   * waiting between attempts as every etcd retry does ({@link EtcdErrors#retryBackoff()}): a
   * blocking call rides out a leader election, a reconnect or a fresh authentication.
   */
  private <T> T retrying(Supplier<CompletableFuture<T>> call, String what) {
    long deadline = System.nanoTime() + requestTimeout.toNanos();
    Backoff backoff = EtcdErrors.retryBackoff();
    while (true) {
      long left = deadline - System.nanoTime();
      CompletableFuture<T> future = call.get();
      long delay;
      try {
        return future.get(Math.max(1, left), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        future.cancel(false);
        throw new RegistryException(
            "Could not "
                + what
                + ": etcd at "
                + description
                + " did not answer within "
                + requestTimeout,
            e);
      } catch (ExecutionException e) {
        Throwable cause = EtcdErrors.unwrap(e);
        delay = backoff.nextDelayNanos();
        if (EtcdErrors.isRefusal(cause) || System.nanoTime() + delay - deadline > 0) {
          throw new RegistryException(
              "Could not "
                  + what
                  + " in etcd at "
                  + description
                  + ": "
                  + EtcdErrors.describe(cause),
              cause);
        }
        logger.debug("{} failed, retrying: {}", what, cause.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RegistryException("Interrupted: " + what, e);
      }
      try {
        TimeUnit.NANOSECONDS.sleep(delay);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RegistryException("Interrupted: " + what, e);
      }
    }
  }

  private <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(false);
      throw new RegistryException(
          "Could not "
              + what
              + ": etcd at "
              + description
              + " did not answer within "
              + requestTimeout,
          e);
    } catch (ExecutionException e) {
      Throwable cause = EtcdErrors.unwrap(e);
      throw new RegistryException(
          "Could not " + what + " in etcd at " + description + ": " + EtcdErrors.describe(cause),
          cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException("Interrupted: " + what, e);
    }
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("EtcdRegistry is closed");
    }
  }
}
