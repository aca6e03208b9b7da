package io.krpc.common;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one factory of KRPC's background threads: named (so a thread dump says whose they are) and
 * daemons (so they never hold the JVM open, as grpc-java's own shared timer).
 */
public final class DaemonThreads {
  private DaemonThreads() {}

  /** Returns a factory whose threads are daemons named {@code prefix-N}, N counting from 1. */
  public static ThreadFactory factory(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return task -> newThread(task, prefix + "-" + n.incrementAndGet());
  }

  /**
   * Returns a factory whose threads are daemons all named {@code name}, for executors of exactly
   * one thread.
   */
  public static ThreadFactory named(String name) {
    return task -> newThread(task, name);
  }

  /** Returns a new, unstarted daemon thread named {@code name} that runs {@code task}. */
  public static Thread newThread(Runnable task, String name) {
    Thread t = new Thread(task, name);
    t.setDaemon(true);
    return t;
  }
}
