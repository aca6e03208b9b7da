package io.krpc.benchmarks;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** A line that says where and when results were measured. */
public final class Environment {
  private static volatile String command = "";

  private Environment() {}

  /** Records the benchmark arguments, so that result files can say how they were produced. */
  public static void command(String[] args) {
    command =
        "./mvnw -q -B -DskipTests -pl krpc-benchmarks -am package -Dbench=\""
            + String.join(" ", args)
            + "\"";
  }

  /** Date, cores, JVM, heap and OS of this run. */
  public static String describe() {
    Runtime rt = Runtime.getRuntime();
    return String.format(
        "Measured %s on %d CPU cores, %s %s (%s), max heap %d MiB, %s %s.%n"
            + (command.isEmpty() ? "" : "%nCommand: `" + command.replace("%", "%%") + "`%n"),
        Instant.now().truncatedTo(ChronoUnit.SECONDS),
        rt.availableProcessors(),
        System.getProperty("java.vm.name"),
        System.getProperty("java.version"),
        System.getProperty("java.vm.vendor"),
        rt.maxMemory() >> 20,
        System.getProperty("os.name"),
        System.getProperty("os.arch"));
  }
}
