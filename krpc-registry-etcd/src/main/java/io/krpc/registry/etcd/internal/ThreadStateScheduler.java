package io.krpc.registry.etcd.internal;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/** The production {@link StateScheduler}: one daemon thread and {@link System#nanoTime()}. */
final class ThreadStateScheduler implements StateScheduler {
  private final ScheduledThreadPoolExecutor executor;

  ThreadStateScheduler(ThreadFactory threads) {
    this.executor = new ScheduledThreadPoolExecutor(1, threads);
    this.executor.setRemoveOnCancelPolicy(true);
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public Cancellable schedule(Runnable task, long delayNanos) {
    ScheduledFuture<?> future = executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    return () -> future.cancel(false);
  }

  @Override
  public void execute(Runnable task) {
    executor.execute(task);
  }

  /** Stops the thread; queued tasks are dropped, later ones rejected. */
  void shutdown() {
    executor.shutdownNow();
  }
}
