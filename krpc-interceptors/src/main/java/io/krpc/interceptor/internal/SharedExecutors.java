package io.krpc.interceptor.internal;

import io.krpc.common.DaemonThreads;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Process-wide default executors of the interceptors, created on first use, made of daemon threads
 * so they never hold the JVM open (as grpc-java's own shared timer). Users who want control pass
 * their own executors to the builders.
 */
public final class SharedExecutors {
  private SharedExecutors() {}

  /** One daemon thread that runs short timer tasks; never runs user code. */
  public static ScheduledExecutorService timer() {
    return TimerHolder.TIMER;
  }

  /** A cached pool of daemon threads for handler work started by an interceptor. */
  public static Executor handlerPool() {
    return PoolHolder.POOL;
  }

  private static final class TimerHolder {
    static final ScheduledExecutorService TIMER =
        Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("krpc-timer"));
  }

  private static final class PoolHolder {
    static final ExecutorService POOL =
        Executors.newCachedThreadPool(DaemonThreads.factory("krpc-handler"));
  }
}
