package io.krpc.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Command-line options of the form {@code --name=value}; durations as {@code 10s}, {@code 500ms},
 * {@code 2m} or ISO-8601 ({@code PT10S}).
 */
public final class Options {
  private final Map<String, String> values = new HashMap<>();

  private Options() {}

  /** Parses {@code args}, skipping {@code args[0]} (the subcommand). */
  public static Options parse(String[] args) {
    Options options = new Options();
    for (int i = 1; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException(arg + " (expected: --name=value)");
      }
      int eq = arg.indexOf('=');
      if (eq < 0) {
        options.values.put(arg.substring(2), "true");
      } else {
        options.values.put(arg.substring(2, eq), arg.substring(eq + 1));
      }
    }
    return options;
  }

  /** The raw value of {@code name}, or {@code defaultValue}. */
  public String string(String name, String defaultValue) {
    return values.getOrDefault(name, defaultValue);
  }

  /** An integer option. */
  public int integer(String name, int defaultValue) {
    String v = values.get(name);
    try {
      return v == null ? defaultValue : Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + ": " + v + " (expected: an integer)");
    }
  }

  /** A duration option. */
  public Duration duration(String name, Duration defaultValue) {
    String v = values.get(name);
    return v == null ? defaultValue : parseDuration(name, v);
  }

  /** Whether a flag ({@code --name} or {@code --name=true}) is set. */
  public boolean flag(String name) {
    return Boolean.parseBoolean(values.getOrDefault(name, "false"));
  }

  /**
   * The directory results go to: {@code --results}, else the {@code krpc.benchmarks.results} system
   * property (the pom sets it to the module's {@code results} folder), else {@code
   * krpc-benchmarks/results} or {@code results} under the working directory.
   */
  public Path resultsDir() {
    String dir = values.getOrDefault("results", System.getProperty("krpc.benchmarks.results"));
    if (dir != null) {
      return Path.of(dir);
    }
    Path module = Path.of("krpc-benchmarks");
    return Files.isDirectory(module) ? module.resolve("results") : Path.of("results");
  }

  static Duration parseDuration(String name, String v) {
    String s = v.trim().toLowerCase(Locale.ROOT);
    try {
      if (s.startsWith("pt")) {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      }
      if (s.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
      }
      if (s.endsWith("s")) {
        return Duration.ofMillis(
            Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
      }
      if (s.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
      }
    } catch (RuntimeException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException(
        "--" + name + ": " + v + " (expected: a duration such as 10s, 500ms, 2m or PT10S)");
  }
}
