package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.krpc.common.Backoff;
import io.krpc.common.DaemonThreads;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import javax.annotation.concurrent.ThreadSafe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The machinery behind {@code EtcdRegistry}: one state thread that owns the {@link LeaseKeeper},
 * the {@link ServiceWatcher}s and the {@link ConnectionMonitor}, and one notifier thread that runs
 * listener callbacks (so callbacks of one watch never overlap, and a slow listener never delays
 * etcd traffic). Blocking calls wait on futures completed by the state thread, bounded by the
 * request timeout.
 */
@ThreadSafe
public final class EtcdRegistryCore {
  private static final Logger logger = LoggerFactory.getLogger(EtcdRegistryCore.class);
  private static final AtomicInteger ids = new AtomicInteger();

  private final String description;
  private final Duration requestTimeout;
  private final List<RecordFormat> formats;
  private final EtcdConnection connection;
  private final ScheduledThreadPoolExecutor stateExecutor;
  private final ExecutorService notifier;
  private final LeaseKeeper keeper;
  private final ConnectionMonitor monitor;
  private final Duration leaseTtl;
  // confined to stateExecutor; keyed by format index and service name
  private final Map<String, ServiceWatcher> watchers = new HashMap<>();
  private final Set<String> selfWatched = ConcurrentHashMap.newKeySet();
  private final Set<ServiceWatcher.Subscription> subscriptions = ConcurrentHashMap.newKeySet();
  /** Set once, by the first close(): later calls wait for that close instead of racing it. */
  private final AtomicBoolean closing = new AtomicBoolean();

  private final CountDownLatch closeDone = new CountDownLatch(1);
  private volatile boolean closed;

  /**
   * @param clientFactory builds a new jetcd client (called again after outages)
   * @param description the endpoints, for messages
   * @param keyPrefix KRPC's own key prefix, where the connection monitor probes
   * @param formats the record formats written and read, at least one
   */
  public EtcdRegistryCore(Supplier<Client> clientFactory, String description, String keyPrefix,
      List<RecordFormat> formats, Duration leaseTtl, Duration requestTimeout) {
    int id = ids.incrementAndGet();
    this.description = description;
    this.requestTimeout = requestTimeout;
    this.leaseTtl = leaseTtl;
    this.formats = List.copyOf(formats);
    this.connection = new EtcdConnection(clientFactory);
    this.stateExecutor = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("krpc-etcd-registry-" + id));
    this.stateExecutor.setRemoveOnCancelPolicy(true);
    this.notifier = Executors.newSingleThreadExecutor(DaemonThreads.named("krpc-etcd-notifier-" + id));
    this.keeper = new LeaseKeeper(connection, this.formats, stateExecutor, leaseTtl,
        requestTimeout);
    Duration probeTimeout = requestTimeout.compareTo(Duration.ofSeconds(1)) < 0
        ? requestTimeout : Duration.ofSeconds(1);
    this.monitor = new ConnectionMonitor(connection, stateExecutor, keyPrefix,
        Duration.ofMillis(500), probeTimeout, requestTimeout, new ConnectionMonitor.Callbacks() {
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
    stateExecutor.execute(monitor::start);
  }

  /** See {@link Registry#register}. */
  public void register(ServiceInstance instance) {
    checkOpen();
    CompletableFuture<Void> done = new CompletableFuture<>();
    String key = describeKey(instance);
    run(() -> {
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
        run(() -> connection.client().getKVClient().txn().Then(keeper.deletes(instance)).commit());
      }
      if (cause instanceof IllegalArgumentException) {
        throw new IllegalArgumentException(cause.getMessage(), cause);
      }
      String why = cause == null ? " (etcd did not answer)" : ": " + EtcdErrors.describe(cause);
      throw new RegistryException("Could not register " + key + " in etcd at " + description
          + (e instanceof TimeoutException ? " within " + requestTimeout : "") + why, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException("Interrupted while registering " + key, e);
    }
  }

  /** See {@link Registry#deregister}. */
  public void deregister(ServiceInstance instance) {
    if (closed) {
      return;
    }
    String key = describeKey(instance);
    io.etcd.jetcd.op.Op[] deletes = await(CompletableFuture.supplyAsync(() -> {
      keeper.forget(instance);
      return keeper.deletes(instance);
    }, stateExecutor), "deregister " + key);
    retrying(() -> connection.client().getKVClient().txn().Then(deletes).commit(),
        "deregister " + key);
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
    ServiceWatcher.Subscription subscription = new ServiceWatcher.Subscription(serviceName,
        listener, s -> {
          subscriptions.remove(s);
          try {
            stateExecutor.execute(() -> detach(format, serviceName, s));
          } catch (java.util.concurrent.RejectedExecutionException e) {
            // the registry is closed: nothing left to detach from
          }
        });
    subscriptions.add(subscription);
    run(() -> {
      watcher(format, serviceName).add(subscription);
    });
    return subscription;
  }

  /** See {@link Registry#lookup}. */
  public List<ServiceInstance> lookup(String serviceName) {
    checkOpen();
    List<List<ServiceInstance>> perFormat = new ArrayList<>();
    for (RecordFormat format : formats) {
      String prefix = format.servicePrefix(serviceName);
      GetResponse response = retrying(() -> connection.client().getKVClient()
          .get(bytes(prefix), GetOption.builder().isPrefix(true).build()),
          "lookup " + serviceName);
      List<ServiceInstance> result = new ArrayList<>();
      for (KeyValue kv : response.getKvs()) {
        String key = kv.getKey().toString(StandardCharsets.UTF_8);
        try {
          ServiceInstance instance = format.decode(serviceName, key, kv.getValue().getBytes());
          if (instance != null) {
            result.add(instance);
          }
        } catch (IllegalArgumentException e) {
          logger.debug("lookup({}) skips malformed record {}: {}", serviceName, key,
              e.getMessage());
        }
      }
      perFormat.add(result);
    }
    return FormatMerge.merge(formats, perFormat);
  }

  /**
   * Cancels the watches, stops keeping the lease alive and, with {@code revoke}, revokes it so
   * that every instance disappears at once; without, they disappear when the lease expires (what
   * a crashed process leaves behind). Never throws. Idempotent and safe to call from several
   * threads at once: one of them closes, the others return once it is done.
   */
  public void close(boolean revoke) {
    if (!closing.compareAndSet(false, true)) {
      awaitClose();
      return;
    }
    closed = true;
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
      leaseId = CompletableFuture.supplyAsync(() -> {
        monitor.close();
        watchers.values().forEach(ServiceWatcher::close);
        watchers.clear();
        return keeper.shutdown();
      }, stateExecutor).get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      if (revoke && leaseId != 0) {
        connection.client().getLeaseClient().revoke(leaseId)
            .get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      logger.warn("Closing the etcd registry at {}: could not revoke lease {}; its instances "
          + "disappear when it expires within {}", description, Long.toHexString(leaseId),
          leaseTtl, e);
    }
    stateExecutor.shutdownNow();
    notifier.shutdown();
    connection.close();
  }

  // ---- on stateExecutor

  private ServiceWatcher watcher(int format, String serviceName) {
    return watchers.computeIfAbsent(format + "/" + serviceName, k -> {
      ServiceWatcher watcher = new ServiceWatcher(serviceName, connection, formats.get(format),
          stateExecutor, notifier, requestTimeout, leaseTtl);
      watcher.start();
      return watcher;
    });
  }

  private void watchOwnKeys(String serviceName) {
    if (selfWatched.add(serviceName)) {
      for (int i = 0; i < formats.size(); i++) {
        int format = i;
        watcher(format, serviceName)
            .addInternal(snapshot -> keeper.check(format, serviceName, snapshot));
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

  // ---- helpers

  /** The key of {@code instance} in the first format, for messages. */
  private String describeKey(ServiceInstance instance) {
    return formats.get(0).key(instance, 0) + (formats.size() > 1 ? " (and its other formats)" : "");
  }

  private void run(Runnable task) {
    try {
      stateExecutor.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      throw new IllegalStateException("EtcdRegistry is closed", e);
    }
  }

  /**
   * Runs {@code call} until it succeeds, fails permanently or the request timeout is used up,
   * waiting between attempts as every etcd retry does ({@link EtcdErrors#retryBackoff()}): a
   * blocking call rides out a leader election or a reconnect.
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
        throw new RegistryException("Could not " + what + ": etcd at " + description
            + " did not answer within " + requestTimeout, e);
      } catch (ExecutionException e) {
        Throwable cause = EtcdErrors.unwrap(e);
        delay = backoff.nextDelayNanos();
        if (EtcdErrors.isPermanent(cause) || System.nanoTime() + delay - deadline > 0) {
          throw new RegistryException("Could not " + what + " in etcd at " + description + ": "
              + EtcdErrors.describe(cause), cause);
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
      throw new RegistryException("Could not " + what + ": etcd at " + description
          + " did not answer within " + requestTimeout, e);
    } catch (ExecutionException e) {
      Throwable cause = EtcdErrors.unwrap(e);
      throw new RegistryException("Could not " + what + " in etcd at " + description + ": "
          + EtcdErrors.describe(cause), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException("Interrupted: " + what, e);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("EtcdRegistry is closed");
    }
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }
}
