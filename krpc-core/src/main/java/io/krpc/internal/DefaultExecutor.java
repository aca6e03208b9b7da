package io.krpc.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * The process-wide {@link BlockingAwareExecutor} that KServers and KClients share when the user
 * gave no executor: one pool sized to the cores for the whole process, as the cores are. Each
 * server and client {@link #acquire() acquires} it when it starts and {@link #release releases} it
 * once it has terminated; the last release shuts the pool down, so that no thread outlives the last
 * user, and the next acquire starts a new one.
 */
public final class DefaultExecutor {
  private static final Object lock = new Object();

  @GuardedBy("lock")
  private static @Nullable BlockingAwareExecutor shared;

  @GuardedBy("lock")
  private static int users;

  private DefaultExecutor() {}

  /** The shared pool, started if no one holds it; pair with one {@link #release}. */
  public static Executor acquire() {
    synchronized (lock) {
      BlockingAwareExecutor pool = shared;
      if (pool == null) {
        pool = BlockingAwareExecutor.forCores("krpc-worker");
        shared = pool;
      }
      users++;
      return pool;
    }
  }

  /** Gives back a pool from {@link #acquire()}; the last user's release shuts it down. */
  public static void release(Executor executor) {
    BlockingAwareExecutor toShutdown = null;
    synchronized (lock) {
      if (executor != shared || users == 0) {
        throw new IllegalStateException(
            "release(" + executor + "): not the pool in use (" + shared + ", " + users + " users)");
      }
      if (--users == 0) {
        toShutdown = shared;
        shared = null;
      }
    }
    if (toShutdown != null) {
      toShutdown.shutdown();
    }
  }
}
