package io.krpc.benchmarks.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/** Writes a benchmark's result table as a markdown file with the conditions it ran under. */
public final class MarkdownReport {
  private MarkdownReport() {}

  /**
   * Writes {@code title}, the command, the run's date, JVM and cores, then {@code body}, to {@code
   * file}; with {@code append} adds them as a new section at the end of the file instead.
   */
  public static void write(Path file, String title, String command, String body, boolean append) {
    // Heap and GC flags change results; the launcher's -D properties (Maven's, under exec:java) do
    // not, and would name this machine's paths.
    List<String> jvmArgs =
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(arg -> arg.startsWith("-X"))
            .toList();
    String text =
        (append ? "\n## " : "# ")
            + title
            + "\n\n"
            + "`BenchmarkMain "
            + command
            + "`\n\n"
            + "Run "
            + Instant.now().truncatedTo(ChronoUnit.SECONDS)
            + " on "
            + Runtime.getRuntime().availableProcessors()
            + " cores, Java "
            + System.getProperty("java.version")
            + " ("
            + ManagementFactory.getRuntimeMXBean().getVmName()
            + (jvmArgs.isEmpty() ? "" : ", " + String.join(" ", jvmArgs))
            + ").\n\n"
            + body;
    try {
      Path path = file;
      if (path.getParent() != null) {
        Files.createDirectories(path.getParent());
      }
      if (append) {
        Files.writeString(
            path,
            text,
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      } else {
        Files.writeString(path, text, StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    System.out.println("table " + (append ? "appended to " : "written to ") + file);
  }
}
