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
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.ToDoubleFunction;

/**
 * The overhead suite: the same workloads against raw grpc-java (a), KRPC with its default chains
 * (b), KRPC with every governance interceptor (c), an Armeria server (d), raw grpc-java on a direct
 * executor (e), KRPC on grpc-java's default executor (f) and KRPC with the service declared
 * blocking (g), in one JVM and one run, then a table with the ratios to (a), a markdown file and an
 * SVG chart. Calls/s, CPU per call and p99 are the medians of the rounds, and each ratio is the
 * median of the per-round ratios (rounds run close in time, so this pairs them).
 *
 * <p>Options: {@code --duration=10s} (measurement per cell), {@code --warmup=5s}, {@code
 * --concurrency=32}, {@code --blocking-concurrency=64} (for the blocking-handler workload), {@code
 * --rounds=1}, {@code --open-loop=0.6} (a fraction of raw's throughput; off by default), {@code
 * --configs=a,b,c,d,f} (any of a to g), {@code --workloads=unary16,unary1k,stream,blocking}, {@code
 * --results=DIR}, {@code --name=overhead} (the files' base name), {@code --no-files}.
 */
public final class OverheadSuite {
  private final Duration duration;
  private final Duration warmup;
  private final int concurrency;
  private final PrintStream out;
  private final EnumSet<Target.Kind> kinds;
  private EnumSet<Workload> workloads = EnumSet.allOf(Workload.class);
  private int blockingConcurrency = 64;
  private int rounds = 1;
  private final Map<Workload, Map<Target.Kind, List<LoadResult>>> perRound =
      new EnumMap<>(Workload.class);
  private double openLoopLoad;
  private final Map<Workload, Map<Target.Kind, LoadResult>> openLoop =
      new EnumMap<>(Workload.class);

  /** A suite with the given run lengths and concurrency, printing to {@code out}. */
  public OverheadSuite(Duration duration, Duration warmup, int concurrency, PrintStream out) {
    this(duration, warmup, concurrency, out, EnumSet.allOf(Target.Kind.class));
  }

  /** A suite of only the configurations in {@code kinds}. */
  public OverheadSuite(
      Duration duration,
      Duration warmup,
      int concurrency,
      PrintStream out,
      Set<Target.Kind> kinds) {
    this.duration = duration;
    this.warmup = warmup;
    this.concurrency = concurrency;
    this.out = out;
    this.kinds = EnumSet.copyOf(kinds);
  }

  /** Runs every cell {@code rounds} times, interleaved, and merges them; default 1. */
  public OverheadSuite rounds(int rounds) {
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds: " + rounds + " (expected: >= 1)");
    }
    this.rounds = rounds;
    return this;
  }

  /** Runs only these workloads; default all. */
  public OverheadSuite workloads(Set<Workload> workloads) {
    if (workloads.isEmpty()) {
      throw new IllegalArgumentException("workloads: [] (expected: at least one workload)");
    }
    this.workloads = EnumSet.copyOf(workloads);
    return this;
  }

  /** Calls in flight for the blocking-handler workload; default 64. */
  public OverheadSuite blockingConcurrency(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("blockingConcurrency: " + n + " (expected: >= 1)");
    }
    this.blockingConcurrency = n;
    return this;
  }

  /**
   * After the closed-loop rounds, one open-loop (fixed-rate) cell per configuration and workload at
   * {@code fractionOfRaw} times the throughput raw grpc-java reached, so that latency compares at
   * equal offered load; 0 (the default) for none.
   */
  public OverheadSuite openLoopLoad(double fractionOfRaw) {
    if (!(fractionOfRaw >= 0 && fractionOfRaw <= 1)) {
      throw new IllegalArgumentException(
          "openLoopLoad: " + fractionOfRaw + " (expected: 0..1, a fraction of raw's throughput)");
    }
    this.openLoopLoad = fractionOfRaw;
    return this;
  }

  /** The open-loop results of the last {@link #run()}; empty when open loop was off. */
  public Map<Workload, Map<Target.Kind, LoadResult>> openLoopResults() {
    return openLoop;
  }

  /** {@code --configs=a,b,c,d} as kinds. */
  static Set<Target.Kind> parseKinds(String keys) {
    Set<Target.Kind> kinds = EnumSet.noneOf(Target.Kind.class);
    for (String key : keys.split(",")) {
      Target.Kind kind =
          switch (key.trim()) {
            case "a" -> Target.Kind.RAW;
            case "b" -> Target.Kind.KRPC_DEFAULT;
            case "c" -> Target.Kind.KRPC_GOVERNED;
            case "d" -> Target.Kind.ARMERIA;
            case "e" -> Target.Kind.RAW_DIRECT;
            case "f" -> Target.Kind.KRPC_CACHED_POOL;
            case "g" -> Target.Kind.KRPC_DECLARED_BLOCKING;
            default ->
                throw new IllegalArgumentException(
                    "--configs: " + keys + " (expected: a comma list of a, b, c, d, e, f, g)");
          };
      kinds.add(kind);
    }
    return kinds;
  }

  /** {@code --workloads=unary16,blocking} as workloads. */
  static Set<Workload> parseWorkloads(String keys) {
    Set<Workload> chosen = EnumSet.noneOf(Workload.class);
    for (String key : keys.split(",")) {
      Workload found = null;
      for (Workload w : Workload.values()) {
        if (w.key().equals(key.trim())) {
          found = w;
        }
      }
      if (found == null) {
        throw new IllegalArgumentException(
            "--workloads: "
                + keys
                + " (expected: a comma list of unary16, unary1k, stream, blocking)");
      }
      chosen.add(found);
    }
    return chosen;
  }

  /** Runs the suite from command-line options; returns the results, workload then config. */
  public static Map<Workload, Map<Target.Kind, LoadResult>> main(Options options) throws Exception {
    OverheadSuite suite =
        new OverheadSuite(
                options.duration("duration", Duration.ofSeconds(10)),
                options.duration("warmup", Duration.ofSeconds(5)),
                options.integer("concurrency", 32),
                System.out,
                parseKinds(options.string("configs", "a,b,c,d,f")))
            .workloads(
                parseWorkloads(options.string("workloads", "unary16,unary1k,stream,blocking")))
            .blockingConcurrency(options.integer("blocking-concurrency", 64))
            .rounds(options.integer("rounds", 1))
            .openLoopLoad(Double.parseDouble(options.string("open-loop", "0")));
    Map<Workload, Map<Target.Kind, LoadResult>> results = suite.run();
    String table = suite.table(results);
    if (!suite.openLoop.isEmpty()) {
      table += "\n" + suite.openLoopTable();
    }
    System.out.println();
    System.out.println(table);
    if (!options.flag("no-files")) {
      suite.write(options.resultsDir(), options.string("name", "overhead"), table, results);
    }
    return results;
  }

  /**
   * Starts every configuration, then runs every workload on each, in {@code rounds} interleaved
   * rounds (configurations alternate, and every other round runs them in reverse order, so that
   * drift in the machine's background load and late JIT work spread over all of them), merging each
   * cell's rounds; stops them.
   */
  public Map<Workload, Map<Target.Kind, LoadResult>> run() throws InterruptedException {
    Map<Target.Kind, Target> targets = new EnumMap<>(Target.Kind.class);
    Map<Workload, Map<Target.Kind, LoadResult>> results = new EnumMap<>(Workload.class);
    perRound.clear();
    try {
      for (Target.Kind kind : kinds) {
        Target target = kind.start();
        targets.put(kind, target);
        checkServes(kind, target);
      }
      prewarm(targets);
      for (int round = 1; round <= rounds; round++) {
        for (Workload workload : workloads) {
          Map<Target.Kind, LoadResult> row =
              results.computeIfAbsent(workload, w -> new EnumMap<>(Target.Kind.class));
          // Every other round in reverse order, so that no configuration always runs first.
          List<Map.Entry<Target.Kind, Target>> order = new ArrayList<>(targets.entrySet());
          if (round % 2 == 0) {
            Collections.reverse(order);
          }
          for (Map.Entry<Target.Kind, Target> e : order) {
            if (skips(workload, e.getKey())) {
              continue;
            }
            Target target = e.getValue();
            LoadResult result =
                LoadGenerator.builder(workload.callOn(target.channel()))
                    .name(target.key() + ") " + target.label() + ", " + workload.label())
                    .concurrency(concurrencyOf(workload))
                    .warmup(warmup)
                    .duration(duration)
                    .progress(out)
                    .build()
                    .run();
            out.println("round " + round + "/" + rounds + ": " + result.summary());
            row.merge(e.getKey(), result, LoadResult::merge);
            perRound
                .computeIfAbsent(workload, w -> new EnumMap<>(Target.Kind.class))
                .computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                .add(result);
          }
        }
      }
      runOpenLoop(targets, results);
    } finally {
      for (Target target : targets.values()) {
        target.close();
      }
    }
    return results;
  }

  private void runOpenLoop(
      Map<Target.Kind, Target> targets, Map<Workload, Map<Target.Kind, LoadResult>> closedLoop)
      throws InterruptedException {
    openLoop.clear();
    if (openLoopLoad == 0) {
      return;
    }
    for (Workload workload : workloads) {
      if (workload.blocks()) {
        continue; // its latency is the handler's 20 ms
      }
      Map<Target.Kind, LoadResult> measured = closedLoop.get(workload);
      LoadResult base = measured.getOrDefault(Target.Kind.RAW, measured.values().iterator().next());
      double rate = Math.max(1, openLoopLoad * base.throughput());
      Map<Target.Kind, LoadResult> row = new EnumMap<>(Target.Kind.class);
      for (Map.Entry<Target.Kind, Target> e : targets.entrySet()) {
        Target target = e.getValue();
        LoadResult result =
            LoadGenerator.builder(workload.callOn(target.channel()))
                .name(
                    target.key() + ") " + target.label() + ", " + workload.label() + ", open loop")
                .rate(rate)
                .warmup(warmup)
                .duration(duration)
                .progress(out)
                .build()
                .run();
        out.println("open loop: " + result.summary());
        row.put(e.getKey(), result);
      }
      openLoop.put(workload, row);
    }
  }

  /** The open-loop table: latency at the same offered rate for every configuration. */
  public String openLoopTable() {
    StringBuilder t =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "Open loop at %.0f%% of raw grpc-java's closed-loop throughput (latency from each call's"
                    + " intended start):%n%n",
                openLoopLoad * 100));
    t.append(
        "| workload | configuration | offered/s | calls/s | p50 µs | p99 µs | p99.9 µs"
            + " | errors | p99 / (a) |\n");
    t.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Map.Entry<Workload, Map<Target.Kind, LoadResult>> w : openLoop.entrySet()) {
      LoadResult raw = w.getValue().get(Target.Kind.RAW);
      for (Map.Entry<Target.Kind, LoadResult> e : w.getValue().entrySet()) {
        LoadResult r = e.getValue();
        t.append(
            String.format(
                Locale.ROOT,
                "| %s | %s) %s | %s | %.0f | %.0f | %.0f | %.0f | %d | %s |%n",
                w.getKey().label(),
                key(e.getKey()),
                label(e.getKey()),
                r.mode().replace("rate=", "").replace("/s", ""),
                r.throughput(),
                r.p50Micros(),
                r.p99Micros(),
                r.p999Micros(),
                r.errors(),
                raw == null ? "" : ratio(r.p99Micros(), raw.p99Micros())));
      }
    }
    return t.toString();
  }

  /**
   * Runs every workload on every configuration once for the warm-up time, unrecorded, so that the
   * JIT has compiled the shared grpc-java and Netty paths before the first measured cell; without
   * it the first configuration measured pays for everyone's compilation.
   */
  private void prewarm(Map<Target.Kind, Target> targets) throws InterruptedException {
    if (warmup.isZero()) {
      return;
    }
    out.println("JIT warm-up: every workload on every configuration for " + human(warmup));
    for (Workload workload : workloads) {
      for (Map.Entry<Target.Kind, Target> e : targets.entrySet()) {
        if (skips(workload, e.getKey())) {
          continue;
        }
        Target target = e.getValue();
        LoadGenerator.builder(workload.callOn(target.channel()))
            .name("warm-up")
            .concurrency(concurrencyOf(workload))
            .warmup(Duration.ZERO)
            .duration(warmup)
            .progress(null)
            .build()
            .run();
      }
    }
  }

  /**
   * Whether a cell is left out: raw grpc-java on a direct executor runs handlers on the event loops
   * that its client shares here, so a blocking handler stalls its own calls.
   */
  private static boolean skips(Workload workload, Target.Kind kind) {
    return workload.blocks() && kind == Target.Kind.RAW_DIRECT;
  }

  private int concurrencyOf(Workload workload) {
    return workload.blocks() ? blockingConcurrency : concurrency;
  }

  /** One call of each workload before any load, so that connecting never falls in a window. */
  private void checkServes(Target.Kind kind, Target target) throws InterruptedException {
    for (Workload workload : workloads) {
      if (skips(workload, kind)) {
        continue;
      }
      try {
        workload.callOn(target.channel()).get().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        throw new IllegalStateException(target.label() + " does not serve " + workload.label(), e);
      }
    }
  }

  /**
   * The markdown table: one row per workload and configuration. Calls/s, CPU per call, p50 and p99
   * are medians of the rounds, p99.9 and allocation over all rounds merged; each ratio to (a) is
   * the median of the per-round ratios.
   */
  public String table(Map<Workload, Map<Target.Kind, LoadResult>> results) {
    StringBuilder t = new StringBuilder();
    t.append(
        "| workload | configuration | calls/s | CPU µs/call | p50 µs | p99 µs | p99.9 µs"
            + " | alloc B/call | errors | calls/s / (a) | CPU / (a) | p99 / (a) |\n");
    t.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Map.Entry<Workload, Map<Target.Kind, LoadResult>> w : results.entrySet()) {
      Map<Target.Kind, List<LoadResult>> rounds = perRound.getOrDefault(w.getKey(), Map.of());
      List<LoadResult> raw = rounds.get(Target.Kind.RAW);
      for (Map.Entry<Target.Kind, LoadResult> e : w.getValue().entrySet()) {
        LoadResult merged = e.getValue();
        List<LoadResult> mine = rounds.getOrDefault(e.getKey(), List.of(merged));
        t.append(
            String.format(
                Locale.ROOT,
                "| %s | %s) %s | %.0f | %.1f | %.0f | %.0f | %.0f | %.0f | %d | %s | %s | %s |%n",
                w.getKey().label(),
                key(e.getKey()),
                label(e.getKey()),
                median(mine, LoadResult::throughput),
                median(mine, LoadResult::cpuMicrosPerCall),
                median(mine, LoadResult::p50Micros),
                median(mine, LoadResult::p99Micros),
                merged.p999Micros(),
                merged.allocatedBytesPerCall(),
                merged.errors(),
                ratio(mine, raw, LoadResult::throughput),
                ratio(mine, raw, LoadResult::cpuMicrosPerCall),
                ratio(mine, raw, LoadResult::p99Micros)));
      }
    }
    return t.toString();
  }

  /** The median of {@code metric} over the rounds. */
  static double median(List<LoadResult> rounds, ToDoubleFunction<LoadResult> metric) {
    double[] values = rounds.stream().mapToDouble(metric).sorted().toArray();
    int n = values.length;
    return n == 0 ? 0 : n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }

  /** The median over the rounds of {@code metric(mine[i]) / metric(raw[i])}. */
  private static String ratio(
      List<LoadResult> mine, List<LoadResult> raw, ToDoubleFunction<LoadResult> metric) {
    if (raw == null || raw.size() != mine.size()) {
      return "";
    }
    double[] ratios = new double[mine.size()];
    for (int i = 0; i < ratios.length; i++) {
      double base = metric.applyAsDouble(raw.get(i));
      if (!(base > 0)) {
        return "n/a";
      }
      ratios[i] = metric.applyAsDouble(mine.get(i)) / base;
    }
    java.util.Arrays.sort(ratios);
    int n = ratios.length;
    double m = n % 2 == 1 ? ratios[n / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
    return String.format(Locale.ROOT, "%.3f", m);
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
      case RAW_DIRECT -> "e";
      case KRPC_CACHED_POOL -> "f";
      case KRPC_DECLARED_BLOCKING -> "g";
    };
  }

  private static String label(Target.Kind kind) {
    return switch (kind) {
      case RAW -> "raw grpc-java";
      case KRPC_DEFAULT -> "KRPC, default chains";
      case KRPC_GOVERNED -> "KRPC, all governance";
      case ARMERIA -> "Armeria server";
      case RAW_DIRECT -> "raw grpc-java, direct executor";
      case KRPC_CACHED_POOL -> "KRPC, grpc-java's default executor";
      case KRPC_DECLARED_BLOCKING -> "KRPC, service declared blocking";
    };
  }

  /** Writes {@code NAME.md} and {@code NAME.svg} into {@code dir} ({@code --name=overhead}). */
  public void write(
      Path dir, String name, String table, Map<Workload, Map<Target.Kind, LoadResult>> results)
      throws IOException {
    Files.createDirectories(dir);
    String md =
        "# KRPC overhead against raw grpc-java and Armeria\n\n"
            + Environment.describe()
            + "\n"
            + String.format(
                Locale.ROOT,
                "Fixed concurrency %d (%d for the blocking-handler"
                    + " workload); per cell %d interleaved round(s) of %s warm-up and %s measurement;"
                    + " client and server in one JVM on loopback. Calls/s, CPU, p50 and p99 are medians of"
                    + " the rounds, p99.9 and allocation over the merged rounds, each ratio to (a) the"
                    + " median of the per-round ratios. Latency in microseconds; CPU and allocation are"
                    + " the whole JVM's (client, server and load generator) per call.%n%n",
                concurrency,
                blockingConcurrency,
                rounds,
                human(warmup),
                human(duration))
            + table;
    Files.writeString(dir.resolve(name + ".md"), md);
    Files.writeString(dir.resolve(name + ".svg"), chart(results));
    out.println("wrote " + dir.resolve(name + ".md") + " and " + dir.resolve(name + ".svg"));
  }

  private String chart(Map<Workload, Map<Target.Kind, LoadResult>> results) {
    Target.Kind[] all = kinds.toArray(Target.Kind[]::new);
    String[] names = new String[all.length];
    for (int i = 0; i < all.length; i++) {
      names[i] = key(all[i]) + ") " + label(all[i]);
    }
    SvgBarChart.Builder chart =
        SvgBarChart.builder(
                String.format(
                    Locale.ROOT,
                    "KRPC overhead (calls/s: higher is better; p99: lower is better), concurrency %d,"
                        + " %d x %s per cell, %d cores for client and server",
                    concurrency,
                    rounds,
                    human(duration),
                    Runtime.getRuntime().availableProcessors()))
            .series(names)
            .columns(Math.max(1, results.size()));
    // Row 1: throughput per workload; row 2: p99 per workload. Each panel has its own scale.
    for (boolean throughputRow : new boolean[] {true, false}) {
      for (Map.Entry<Workload, Map<Target.Kind, LoadResult>> w : results.entrySet()) {
        double[] values = new double[all.length];
        for (int i = 0; i < all.length; i++) {
          LoadResult r = w.getValue().get(all[i]);
          values[i] = r == null ? -1 : throughputRow ? r.throughput() : r.p99Micros();
        }
        chart.panel(
            w.getKey().label() + (throughputRow ? ": calls/s" : ": p99 µs"),
            List.of(""),
            new double[][] {values});
      }
    }
    // Row 3, with --open-loop: p99 at the same offered rate for everyone.
    for (Map.Entry<Workload, Map<Target.Kind, LoadResult>> w : openLoop.entrySet()) {
      double[] values = new double[all.length];
      for (int i = 0; i < all.length; i++) {
        LoadResult r = w.getValue().get(all[i]);
        values[i] = r == null ? -1 : r.p99Micros();
      }
      chart.panel(
          String.format(
              Locale.ROOT, "%s: p99 µs at %.0f%% load", w.getKey().label(), openLoopLoad * 100),
          List.of(""),
          new double[][] {values});
    }
    return chart.build();
  }

  static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
