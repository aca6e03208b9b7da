package io.krpc.examples.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prints a scenario's figures and appends them as a Markdown table row to {@code
 * target/chaos-results.md}, where the whole suite's figures end up side by side.
 */
final class ChaosReport {
  private static final Logger logger = LoggerFactory.getLogger(ChaosReport.class);
  private static final String HEADER =
      "| scenario | calls sent | failed | failed during fault "
          + "| p99 during fault (ms) | max during fault (ms) | notes |\n"
          + "|---|---|---|---|---|---|---|\n";

  private static boolean headerWritten;

  private ChaosReport() {}

  /**
   * Records one scenario: all calls of the run in {@code all}, the calls started during the fault
   * in {@code fault}, and free-form notes.
   */
  static synchronized void record(
      String scenario, SteadyLoad.Window all, SteadyLoad.Window fault, String notes) {
    String line =
        String.format(
            Locale.ROOT,
            "| %s | %d | %d | %d | %.1f | %.1f | %s |%n",
            scenario,
            all.count(),
            all.failed(),
            fault.failed(),
            fault.percentileMillis(99),
            fault.maxMillis(),
            notes);
    String printed =
        String.format(
            Locale.ROOT,
            "CHAOS %s: sent=%d failed=%d (during fault %d of %d) p50/p99/max(fault)=%.1f/%.1f/%.1f ms"
                + " p99(all)=%.1f ms failures=%s %s",
            scenario,
            all.count(),
            all.failed(),
            fault.failed(),
            fault.count(),
            fault.percentileMillis(50),
            fault.percentileMillis(99),
            fault.maxMillis(),
            all.percentileMillis(99),
            all.failuresByCode(),
            notes);
    logger.info(printed);
    if (!fault.calls.isEmpty()) {
      long origin = fault.calls.stream().mapToLong(SteadyLoad.Call::startNanos).min().getAsLong();
      logger.info(
          "CHAOS {}: slowest calls during the fault: {}", scenario, fault.slowest(8, origin));
      logger.info("CHAOS {}: failures {}", scenario, all.sampleErrors(5));
    }
    System.out.println(printed);
    Path file = Paths.get(System.getProperty("basedir", "."), "target", "chaos-results.md");
    try {
      Files.createDirectories(file.getParent());
      if (!headerWritten) {
        // One table per test JVM, so reruns without "clean" stay readable.
        String title = Files.exists(file) ? "" : "# KRPC chaos suite results\n";
        Files.writeString(
            file,
            title + "\n## Run of " + Instant.now() + "\n\n" + HEADER,
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
        headerWritten = true;
      }
      Files.writeString(
          file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file, e);
    }
  }
}
