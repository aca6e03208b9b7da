package io.krpc.registry.etcd.internal;

import java.time.Duration;
import java.util.PriorityQueue;

/** A {@link StateScheduler} on fake time: tasks run only when the test runs or advances it. */
final class FakeScheduler implements StateScheduler {
  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private long now = 1_000_000_000L;
  private long sequence;

  @Override
  public synchronized long nanoTime() {
    return now;
  }

  @Override
  public synchronized Cancellable schedule(Runnable task, long delayNanos) {
    Task t = new Task(now + Math.max(0, delayNanos), sequence++, task);
    tasks.add(t);
    return () -> {
      synchronized (FakeScheduler.this) {
        tasks.remove(t);
      }
    };
  }

  @Override
  public void execute(Runnable task) {
    schedule(task, 0);
  }

  /** Runs every task due now, including those they schedule for now. */
  void runDue() {
    advance(Duration.ZERO);
  }

  /** Moves time forward by {@code by}, running each task when its time comes. */
  void advance(Duration by) {
    long target;
    synchronized (this) {
      target = now + by.toNanos();
    }
    while (true) {
      Task next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.at > target) {
          now = target;
          return;
        }
        tasks.poll();
        now = Math.max(now, next.at);
      }
      next.task.run();
    }
  }

  /** Tasks waiting, for assertions. */
  synchronized int pending() {
    return tasks.size();
  }

  private record Task(long at, long sequence, Runnable task) implements Comparable<Task> {
    @Override
    public int compareTo(Task o) {
      return at != o.at ? Long.compare(at, o.at) : Long.compare(sequence, o.sequence);
    }
  }
}
