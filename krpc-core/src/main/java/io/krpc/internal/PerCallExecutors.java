package io.krpc.internal;

import io.krpc.common.DaemonThreads;
import java.lang.reflect.Method;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executors that give every task a thread of its own, for services declared blocking: virtual
 * threads on Java 24 and later, a cached pool of platform threads before. Java 21 to 23 have
 * virtual threads too, but a virtual thread that blocks inside {@code synchronized} (common in JDBC
 * drivers and connection pools) pins its carrier there, and a few such calls can stall all the
 * others; JEP 491 removed that in Java 24.
 */
public final class PerCallExecutors {
  private static final Logger logger = LoggerFactory.getLogger(PerCallExecutors.class);
  private static final int FIRST_UNPINNED_JAVA = 24;

  private PerCallExecutors() {}

  /** Whether {@link #newExecutor} gives virtual threads on this JVM. */
  public static boolean virtualThreads() {
    return Runtime.version().feature() >= FIRST_UNPINNED_JAVA;
  }

  /** A new executor whose threads are named {@code name-N}; shut it down after use. */
  public static ExecutorService newExecutor(String name) {
    if (virtualThreads()) {
      try {
        return virtualThreadPerTask(name);
      } catch (ReflectiveOperationException | RuntimeException e) {
        logger.warn(
            "Virtual threads unavailable on Java {}; using platform threads for {}",
            Runtime.version(),
            name,
            e);
      }
    }
    return new ThreadPoolExecutor(
        0,
        Integer.MAX_VALUE,
        60,
        TimeUnit.SECONDS,
        new SynchronousQueue<>(),
        DaemonThreads.factory(name));
  }

  // Thread.ofVirtual().name(name + "-", 1).factory() and Executors.newThreadPerTaskExecutor,
  // through reflection: KRPC compiles for Java 17.
  private static ExecutorService virtualThreadPerTask(String name)
      throws ReflectiveOperationException {
    Class<?> builderType = Class.forName("java.lang.Thread$Builder");
    Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
    builder =
        builderType.getMethod("name", String.class, long.class).invoke(builder, name + "-", 1L);
    ThreadFactory factory = (ThreadFactory) builderType.getMethod("factory").invoke(builder);
    Method perTask =
        java.util.concurrent.Executors.class.getMethod(
            "newThreadPerTaskExecutor", ThreadFactory.class);
    return (ExecutorService) perTask.invoke(null, factory);
  }
}
