package io.krpc.benchmarks;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** A line that says where and when results were measured. */
public final class Environment {
  private Environment() {}

  /** Date, cores, JVM, heap and OS of this run. */
  public static String describe() {
    Runtime rt = Runtime.getRuntime();
    return String.format("Measured %s on %d CPU cores, %s %s (%s), max heap %d MiB, %s %s.%n",
        Instant.now().truncatedTo(ChronoUnit.SECONDS), rt.availableProcessors(),
        System.getProperty("java.vm.name"), System.getProperty("java.version"),
        System.getProperty("java.vm.vendor"), rt.maxMemory() >> 20,
        System.getProperty("os.name"), System.getProperty("os.arch"));
  }
}
