package io.krpc.internal;

import io.krpc.common.Checks;
import io.krpc.common.DaemonThreads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KRPC's default executor for handlers and client callbacks: as many workers as there are cores,
 * kept for short tasks, and a way out for tasks that block. Short tasks thus run on a few hot
 * threads (no thread wakes for each call, as in grpc-java's cached pool), and a task that blocks
 * (JDBC, a file, a blocking stub) costs the others a few milliseconds at most.
 *
 * <p>A monitor thread looks at the workers every half stall threshold while any of them is busy
 * (every millisecond while one is stalled) and backs off to {@link #IDLE_CHECK} while the pool is
 * idle; the first task after an idle spell wakes it. A worker is stalled when it has run one task
 * for longer than the stall threshold. While tasks wait and some workers are stalled, the monitor
 *
 * <ol>
 *   <li>adds a worker for each stalled one, so that as many as there are cores stay free for short
 *       tasks however long the stalled ones block (the extra workers end once they have been idle
 *       for {@link #EXTRA_KEEP_ALIVE}); and
 *   <li>hands every waiting task to an overflow pool that gives each its own thread, as grpc-java's
 *       cached pool does, so that many calls blocking at once (say 64 calls that each wait 20 ms on
 *       a database) all run at once rather than a few at a time. Overflow threads end after {@link
 *       #OVERFLOW_KEEP_ALIVE} without work.
 * </ol>
 *
 * <p>There is no upper bound, as with grpc-java's cached pool: a call that blocks for ever holds
 * one thread, never the others. Long CPU-bound tasks also count as stalled (the pool cannot tell
 * them from a blocking socket read, which the JVM reports as RUNNABLE too).
 *
 * <p>Thread-safe. {@link #shutdown()} stops the monitor and lets the workers finish what is queued;
 * a task submitted after it runs on a thread of its own rather than being lost.
 */
public final class BlockingAwareExecutor implements Executor {
  /** How long the monitor sleeps between checks while the pool is idle. */
  static final Duration IDLE_CHECK = Duration.ofMillis(50);

  /** How long a worker added for a stalled one lives without work. */
  static final Duration EXTRA_KEEP_ALIVE = Duration.ofSeconds(1);

  /** How long an overflow thread lives without work. */
  static final Duration OVERFLOW_KEEP_ALIVE = Duration.ofSeconds(60);

  private static final Logger logger = LoggerFactory.getLogger(BlockingAwareExecutor.class);
  private static final ThreadLocal<Worker> CURRENT = new ThreadLocal<>();
  private static final long STALLED_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final int baseThreads;
  private final long stallNanos;
  private final long busyCheckNanos;
  private final Set<Worker> workers = ConcurrentHashMap.newKeySet();
  private final Pool pool;
  private final ThreadPoolExecutor overflow;
  private final Thread monitor;
  // Set by the monitor before a long (idle) sleep; the next execute() wakes it.
  private volatile boolean monitorIdle;
  private volatile boolean shutdown;

  /**
   * A pool of {@code baseThreads} workers named {@code name-N}, whose workers count as stalled
   * after running one task for {@code stallThreshold}; overflow threads are named {@code
   * name-overflow-N}.
   */
  public BlockingAwareExecutor(String name, int baseThreads, Duration stallThreshold) {
    Checks.notNull(name, "name");
    Checks.check(baseThreads >= 1, "baseThreads", baseThreads, ">= 1");
    Checks.nonNegative(stallThreshold, "stallThreshold");
    Checks.check(stallThreshold.toMillis() >= 1, "stallThreshold", stallThreshold, ">= 1 ms");
    this.baseThreads = baseThreads;
    this.stallNanos = stallThreshold.toNanos();
    this.busyCheckNanos = Math.max(STALLED_CHECK_NANOS, stallNanos / 2);
    this.pool = new Pool(baseThreads, tracked(DaemonThreads.factory(name)));
    this.overflow =
        new ThreadPoolExecutor(
            0,
            Integer.MAX_VALUE,
            OVERFLOW_KEEP_ALIVE.toNanos(),
            TimeUnit.NANOSECONDS,
            new SynchronousQueue<>(),
            DaemonThreads.factory(name + "-overflow"),
            RUN_ON_OWN_THREAD);
    this.monitor = DaemonThreads.factory(name + "-monitor").newThread(this::monitorLoop);
    monitor.start();
  }

  /** The default pool: one worker per core, a 5 ms stall threshold. */
  public static BlockingAwareExecutor forCores(String name) {
    return new BlockingAwareExecutor(
        name, Runtime.getRuntime().availableProcessors(), Duration.ofMillis(5));
  }

  @Override
  public void execute(Runnable task) {
    pool.execute(task);
    if (monitorIdle) {
      monitorIdle = false;
      LockSupport.unpark(monitor);
    }
  }

  /** Stops the monitor; queued and running tasks finish, idle threads end. Idempotent. */
  public void shutdown() {
    shutdown = true;
    pool.shutdown();
    overflow.shutdown();
    LockSupport.unpark(monitor);
  }

  /** Waits at most {@code timeout} for every thread to end; returns whether they had. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    return pool.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS)
        && overflow.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
  }

  /** Live worker threads, base and added for stalled ones; overflow threads not included. */
  public int threads() {
    return workers.size();
  }

  /** Live overflow threads. */
  public int overflowThreads() {
    return overflow.getPoolSize();
  }

  /** Workers running one task for longer than the stall threshold, now. */
  public int stalledThreads() {
    return countStalled(System.nanoTime());
  }

  @Override
  public String toString() {
    return "BlockingAwareExecutor{base="
        + baseThreads
        + ", threads="
        + threads()
        + ", overflow="
        + overflowThreads()
        + ", queued="
        + pool.getQueue().size()
        + ", shutdown="
        + shutdown
        + "}";
  }

  private ThreadFactory tracked(ThreadFactory daemons) {
    return task ->
        daemons.newThread(
            () -> {
              Worker worker = new Worker();
              CURRENT.set(worker);
              workers.add(worker);
              try {
                task.run();
              } finally {
                workers.remove(worker);
                CURRENT.remove();
              }
            });
  }

  private int countStalled(long now) {
    int stalled = 0;
    for (Worker worker : workers) {
      long since = worker.runningSince;
      if (since != 0 && now - since > stallNanos) {
        stalled++;
      }
    }
    return stalled;
  }

  private void monitorLoop() {
    long sleep = busyCheckNanos;
    while (!shutdown) {
      if (sleep > busyCheckNanos) {
        monitorIdle = true;
      }
      LockSupport.parkNanos(this, sleep);
      monitorIdle = false;
      if (shutdown) {
        return;
      }
      try {
        int state = check();
        sleep =
            state > 1
                ? STALLED_CHECK_NANOS
                : state == 1 ? busyCheckNanos : Math.min(sleep * 2, IDLE_CHECK.toNanos());
      } catch (RuntimeException e) {
        logger.warn("Executor monitor check failed; trying again", e);
        sleep = busyCheckNanos;
      }
    }
  }

  /**
   * One look at the workers: adds workers for stalled ones and hands waiting tasks to the overflow
   * pool while any is stalled. Returns 0 when the pool was idle, 1 when busy, 2 when a worker was
   * stalled.
   */
  int check() {
    long now = System.nanoTime();
    int busy = 0;
    int stalled = 0;
    for (Worker worker : workers) {
      long since = worker.runningSince;
      if (since != 0) {
        busy++;
        if (now - since > stallNanos) {
          stalled++;
        }
      }
    }
    BlockingQueue<Runnable> queue = pool.getQueue();
    int queued = queue.size();
    int core = pool.getCorePoolSize();
    int wanted = baseThreads + stalled;
    if (queued > 0 && wanted > core) {
      // Keeps baseThreads workers free of stalled tasks; starts the new ones at once.
      pool.setCorePoolSize(wanted);
    } else if (queued == 0 && core > wanted) {
      // Workers above the core end after EXTRA_KEEP_ALIVE without work.
      pool.setCorePoolSize(wanted);
    }
    if (queued > 0 && stalled > 0) {
      List<Runnable> waiting = new ArrayList<>(queued);
      queue.drainTo(waiting);
      for (Runnable task : waiting) {
        overflow.execute(task);
      }
      if (!waiting.isEmpty()) {
        logger.debug(
            "{} of {} workers stalled; {} waiting tasks handed to the overflow pool",
            stalled,
            workers.size(),
            waiting.size());
      }
    }
    return stalled > 0 ? 2 : busy > 0 || queued > 0 ? 1 : 0;
  }

  /** Per-worker state read by the monitor. */
  private static final class Worker {
    // System.nanoTime() when the current task started, 0 while idle.
    volatile long runningSince;
  }

  /** The thread pool, with hooks that stamp each task's start on its worker. */
  private static final class Pool extends ThreadPoolExecutor {
    Pool(int baseThreads, ThreadFactory threads) {
      super(
          baseThreads,
          Integer.MAX_VALUE,
          EXTRA_KEEP_ALIVE.toNanos(),
          TimeUnit.NANOSECONDS,
          new LinkedBlockingQueue<>(),
          threads,
          RUN_ON_OWN_THREAD);
    }

    @Override
    protected void beforeExecute(Thread thread, Runnable task) {
      Worker worker = CURRENT.get();
      if (worker != null) {
        long now = System.nanoTime();
        worker.runningSince = now == 0 ? 1 : now;
      }
    }

    @Override
    protected void afterExecute(Runnable task, Throwable failure) {
      Worker worker = CURRENT.get();
      if (worker != null) {
        worker.runningSince = 0;
      }
    }
  }

  /** After shutdown: late callbacks of a call still run, on a thread of their own. */
  private static final RejectedExecutionHandler RUN_ON_OWN_THREAD =
      (task, executor) -> {
        logger.debug("Task submitted after shutdown; running it on a thread of its own");
        DaemonThreads.newThread(task, "krpc-late-task").start();
      };
}
