package io.krpc.loadbalance.internal;

import io.grpc.Deadline;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A manual clock for tests: a {@link Deadline.Ticker} plus a {@link ScheduledExecutorService} whose
 * one-shot tasks run, in the calling thread, when {@link #forward} passes their due time.
 * Single-threaded use only.
 */
final class FakeClock {

  private long nowNanos = 1_000_000_000L;
  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private final Deadline.Ticker ticker =
      new Deadline.Ticker() {
        @Override
        public long nanoTime() {
          return nowNanos;
        }
      };
  private final ScheduledExecutorService scheduler = new Scheduler();

  Deadline.Ticker ticker() {
    return ticker;
  }

  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  long nanos() {
    return nowNanos;
  }

  void forward(long amount, TimeUnit unit) {
    long target = nowNanos + unit.toNanos(amount);
    while (!tasks.isEmpty() && tasks.peek().dueNanos <= target) {
      Task task = tasks.poll();
      nowNanos = Math.max(nowNanos, task.dueNanos);
      if (!task.cancelled) {
        task.done = true;
        task.runnable.run();
      }
    }
    nowNanos = target;
  }

  int pendingTasks() {
    return (int) tasks.stream().filter(t -> !t.cancelled).count();
  }

  private final class Task implements ScheduledFuture<Object> {
    final Runnable runnable;
    final long dueNanos;
    boolean cancelled;
    boolean done;

    Task(Runnable runnable, long dueNanos) {
      this.runnable = runnable;
      this.dueNanos = dueNanos;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(dueNanos - nowNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(dueNanos, ((Task) other).dueNanos);
    }

    @Override
    public boolean cancel(boolean mayInterrupt) {
      boolean wasPending = !cancelled && !done;
      cancelled = true;
      return wasPending;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return done || cancelled;
    }

    @Override
    public Object get() {
      return null;
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return null;
    }
  }

  private final class Scheduler extends AbstractExecutorService
      implements ScheduledExecutorService {

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      Task task = new Task(command, nowNanos + unit.toNanos(delay));
      tasks.add(task);
      return task;
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(
        Runnable command, long initialDelay, long period, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(
        Runnable command, long initialDelay, long delay, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void execute(Runnable command) {
      command.run();
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return new ArrayList<>();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }
}
