package io.krpc.benchmarks.overhead;

import io.krpc.benchmarks.Environment;
import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.SvgBarChart;
import io.krpc.benchmarks.load.LoadGenerator;
import io.krpc.benchmarks.load.LoadResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The overhead suite: the same workloads against raw grpc-java (a), KRPC with its default chains
 * (b), KRPC with every governance interceptor (c) and an Armeria server (d), in one JVM and one
 * run, then a table with the ratios b/a and c/a, a markdown file and an SVG chart.
 *
 * <p>Options: {@code --duration=10s} (measurement per cell), {@code --warmup=5s}, {@code
 * --concurrency=32}, {@code --results=DIR}, {@code --no-files}.
 */
public final class OverheadSuite {
  private final Duration duration;
  private final Duration warmup;
  private final int concurrency;
  private final PrintStream out;

  /** A suite with the given run lengths and concurrency, printing to {@code out}. */
  public OverheadSuite(Duration duration, Duration warmup, int concurrency, PrintStream out) {
    this.duration = duration;
    this.warmup = warmup;
    this.concurrency = concurrency;
    this.out = out;
  }

  /** Runs the suite from command-line options; returns the results, workload then config. */
  public static Map<Workload, Map<Target.Kind, LoadResult>> main(Options options)
      throws Exception {
    OverheadSuite suite = new OverheadSuite(
        options.duration("duration", Duration.ofSeconds(10)),
        options.duration("warmup", Duration.ofSeconds(5)),
        options.integer("concurrency", 32), System.out);
    Map<Workload, Map<Target.Kind, LoadResult>> results = suite.run();
    String table = suite.table(results);
    System.out.println();
    System.out.println(table);
    if (!options.flag("no-files")) {
      suite.write(options.resultsDir(), table, results);
    }
    return results;
  }

  /** Starts every configuration, runs every workload on each, stops them. */
  public Map<Workload, Map<Target.Kind, LoadResult>> run() throws InterruptedException {
    Map<Target.Kind, Target> targets = new EnumMap<>(Target.Kind.class);
    Map<Workload, Map<Target.Kind, LoadResult>> results = new EnumMap<>(Workload.class);
    try {
      for (Target.Kind kind : Target.Kind.values()) {
        Target target = kind.start();
        targets.put(kind, target);
        checkServes(target);
      }
      for (Workload workload : Workload.values()) {
        Map<Target.Kind, LoadResult> row = new EnumMap<>(Target.Kind.class);
        for (Target target : targets.values()) {
          LoadResult result = LoadGenerator.builder(workload.callOn(target.channel()))
              .name(target.key() + ") " + target.label() + ", " + workload.label())
              .concurrency(concurrency).warmup(warmup).duration(duration).progress(out)
              .build().run();
          out.println(result.summary());
          row.put(kindOf(targets, target), result);
        }
        results.put(workload, row);
      }
    } finally {
      for (Target target : targets.values()) {
        target.close();
      }
    }
    return results;
  }

  /** One call of each workload before any load, so that connecting never falls in a window. */
  private static void checkServes(Target target) throws InterruptedException {
    for (Workload workload : Workload.values()) {
      try {
        workload.callOn(target.channel()).get().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        throw new IllegalStateException(target.label() + " does not serve " + workload.label(), e);
      }
    }
  }

  private static Target.Kind kindOf(Map<Target.Kind, Target> targets, Target target) {
    return targets.entrySet().stream().filter(e -> e.getValue() == target).findFirst()
        .orElseThrow().getKey();
  }

  /** The markdown table: one row per workload and configuration, ratios against (a). */
  public String table(Map<Workload, Map<Target.Kind, LoadResult>> results) {
    StringBuilder t = new StringBuilder();
    t.append("| workload | configuration | calls/s | p50 µs | p99 µs | p99.9 µs | alloc B/call"
        + " | errors | throughput / (a) | p99 / (a) |\n");
    t.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Map.Entry<Workload, Map<Target.Kind, LoadResult>> w : results.entrySet()) {
      LoadResult raw = w.getValue().get(Target.Kind.RAW);
      for (Map.Entry<Target.Kind, LoadResult> e : w.getValue().entrySet()) {
        LoadResult r = e.getValue();
        t.append(String.format(Locale.ROOT,
            "| %s | %s) %s | %.0f | %.0f | %.0f | %.0f | %.0f | %d | %s | %s |%n",
            w.getKey().label(), key(e.getKey()), label(e.getKey()), r.throughput(),
            r.p50Micros(), r.p99Micros(), r.p999Micros(), r.allocatedBytesPerCall(), r.errors(),
            raw == null ? "" : ratio(r.throughput(), raw.throughput()),
            raw == null ? "" : ratio(r.p99Micros(), raw.p99Micros())));
      }
    }
    return t.toString();
  }

  private static String ratio(double value, double base) {
    return base > 0 ? String.format(Locale.ROOT, "%.3f", value / base) : "n/a";
  }

  private static String key(Target.Kind kind) {
    return switch (kind) {
      case RAW -> "a";
      case KRPC_DEFAULT -> "b";
      case KRPC_GOVERNED -> "c";
      case ARMERIA -> "d";
    };
  }

  private static String label(Target.Kind kind) {
    return switch (kind) {
      case RAW -> "raw grpc-java";
      case KRPC_DEFAULT -> "KRPC, default chains";
      case KRPC_GOVERNED -> "KRPC, all governance";
      case ARMERIA -> "Armeria server";
    };
  }

  /** Writes {@code overhead.md} and {@code overhead.svg} into {@code dir}. */
  public void write(Path dir, String table, Map<Workload, Map<Target.Kind, LoadResult>> results)
      throws IOException {
    Files.createDirectories(dir);
    String md = "# KRPC overhead against raw grpc-java and Armeria\n\n"
        + Environment.describe() + "\n"
        + String.format(Locale.ROOT, "Fixed concurrency %d, warm-up %s, measurement %s per cell;"
            + " client and server in one JVM on loopback. Latency in microseconds; allocation is"
            + " every thread of the JVM (client and server) per call.%n%n",
            concurrency, human(warmup), human(duration))
        + table;
    Files.writeString(dir.resolve("overhead.md"), md);
    Files.writeString(dir.resolve("overhead.svg"), chart(results));
    out.println("wrote " + dir.resolve("overhead.md") + " and " + dir.resolve("overhead.svg"));
  }

  private String chart(Map<Workload, Map<Target.Kind, LoadResult>> results) {
    List<String> categories = new ArrayList<>();
    List<double[]> throughput = new ArrayList<>();
    List<double[]> p99 = new ArrayList<>();
    Target.Kind[] kinds = Target.Kind.values();
    for (Map.Entry<Workload, Map<Target.Kind, LoadResult>> w : results.entrySet()) {
      categories.add(w.getKey().label());
      double[] t = new double[kinds.length];
      double[] p = new double[kinds.length];
      for (int i = 0; i < kinds.length; i++) {
        LoadResult r = w.getValue().get(kinds[i]);
        t[i] = r == null ? -1 : r.throughput();
        p[i] = r == null ? -1 : r.p99Micros();
      }
      throughput.add(t);
      p99.add(p);
    }
    Map<Target.Kind, String> names = new LinkedHashMap<>();
    for (Target.Kind kind : kinds) {
      names.put(kind, key(kind) + ") " + label(kind));
    }
    return SvgBarChart.builder(String.format(Locale.ROOT,
            "KRPC overhead: concurrency %d, %s per cell, 2 cores shared by client and server",
            concurrency, human(duration)))
        .series(names.values().toArray(String[]::new))
        .panel("throughput (calls/s, higher is better)", categories,
            throughput.toArray(double[][]::new))
        .panel("p99 latency (µs, lower is better)", categories, p99.toArray(double[][]::new))
        .build();
  }

  static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
