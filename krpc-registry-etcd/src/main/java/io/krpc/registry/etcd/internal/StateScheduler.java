package io.krpc.registry.etcd.internal;

import java.util.concurrent.Executor;

/**
 * The one thread of an etcd registry's state machines, and their clock. Every state machine ({@link
 * LeaseKeeper}, {@link ServiceWatcher}, {@link ConnectionMonitor}, {@link WatchMux}) is confined to
 * it: it runs their tasks one at a time, and they read the time only from {@link #nanoTime()} and
 * wait only through {@link #schedule}. The production scheduler is one daemon thread and {@link
 * System#nanoTime()}; tests drive a fake one by hand.
 */
public interface StateScheduler extends Executor {

  /** The current time, in nanoseconds of an arbitrary origin (as {@link System#nanoTime()}). */
  long nanoTime();

  /** Runs {@code task} on the state thread after {@code delayNanos}; cancel it with the handle. */
  Cancellable schedule(Runnable task, long delayNanos);

  /** Runs {@code task} on the state thread soon; throws RejectedExecutionException once closed. */
  @Override
  void execute(Runnable task);

  /** A scheduled task that can still be called off. */
  interface Cancellable {
    /** Calls the task off if it has not started; does nothing otherwise. */
    void cancel();
  }
}
