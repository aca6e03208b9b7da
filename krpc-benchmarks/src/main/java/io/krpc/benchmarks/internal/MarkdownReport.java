package io.krpc.benchmarks.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Writes a benchmark's result table as a markdown file with the conditions it ran under. */
public final class MarkdownReport {
  private MarkdownReport() {}

  /** Writes {@code title}, the run's date, JVM and cores, then {@code body}, to {@code file}. */
  public static void write(String file, String title, String body) {
    String header = "# " + title + "\n\n"
        + "Run " + Instant.now().truncatedTo(ChronoUnit.SECONDS)
        + " on " + Runtime.getRuntime().availableProcessors() + " cores, Java "
        + System.getProperty("java.version") + " (" + ManagementFactory.getRuntimeMXBean().getVmName()
        + ").\n\n";
    try {
      Path path = Path.of(file);
      if (path.getParent() != null) {
        Files.createDirectories(path.getParent());
      }
      Files.writeString(path, header + body, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    System.out.println("table written to " + file);
  }
}
