package io.krpc.benchmarks.lb;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The {@code lb} matrix as one markdown table: per cell the median over the passes of each figure
 * (ratios are taken within a pass, then their median), and which goals the cell meets.
 */
final class LbReport {

  static final double MAX_SLOW_SHARE = 0.01;
  static final double MAX_VS_HEALTHY = 1.5;
  static final double MAX_VS_RR = 0.2;
  static final double MAX_SPREAD = 0.15;
  static final double MAX_RECOVERY_MS = 5000;

  private LbReport() {}

  /** Reads every pass in {@code raw} and writes the median table to {@code out}. */
  static void write(Path raw, Path out, String command) throws IOException {
    if (raw == null || !Files.exists(raw)) {
      throw new IllegalArgumentException("--raw: " + raw + " (expected: a file of lb passes)");
    }
    Map<String, List<Map<String, Double>>> passes = new LinkedHashMap<>();
    for (String line : Files.readAllLines(raw, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      String pass = null;
      Map<String, Double> cell = new LinkedHashMap<>();
      for (String field : line.split("\t")) {
        int eq = field.indexOf('=');
        if (field.startsWith("pass=")) {
          pass = field.substring(eq + 1);
        } else {
          cell.put(field.substring(0, eq), Double.parseDouble(field.substring(eq + 1)));
        }
      }
      passes.computeIfAbsent(pass, p -> new ArrayList<>()).add(cell);
    }
    String table = table(new ArrayList<>(passes.values()));
    System.out.println(table);
    if (out != null) {
      LbCommand.writeReport(out, command, table);
    }
  }

  /** One cell of one pass, for the console. */
  static String line(Map<String, Double> c) {
    return String.format(
        Locale.ROOT,
        "fast %s x%d: served p50 %.3f p99 %.3f ms; healthy p50 %.2f p99 %.2f ms spread %.0f%% (%.1f %.1f %.1f %.1f);"
            + " 10x share %.2f%% p99 %.2f (rr %.2f);"
            + " tail share %.2f%% p99 %.2f (rr %.2f); recovery %s",
        DelayedGreeter.formatMillis(c.get("fast_us").longValue()),
        c.get("concurrency").intValue(),
        c.getOrDefault("served_p50", Double.NaN) / 1000,
        c.getOrDefault("served_p99", Double.NaN) / 1000,
        c.get("healthy_p50") / 1000,
        c.get("healthy_p99") / 1000,
        c.get("healthy_spread") * 100,
        c.get("healthy_share_0") * 100,
        c.get("healthy_share_1") * 100,
        c.get("healthy_share_2") * 100,
        c.get("healthy_share_3") * 100,
        c.get("slow_share") * 100,
        c.get("slow_p99") / 1000,
        c.get("slow_rr_p99") / 1000,
        c.get("tail_share") * 100,
        c.get("tail_p99") / 1000,
        c.get("tail_rr_p99") / 1000,
        c.containsKey("recovery_ms") ? c.get("recovery_ms") + " ms" : "-");
  }

  /** The table over {@code passes}, each a list of cells. */
  static String table(List<List<Map<String, Double>>> passes) {
    Map<String, List<Map<String, Double>>> byCell = new LinkedHashMap<>();
    for (List<Map<String, Double>> pass : passes) {
      for (Map<String, Double> cell : pass) {
        String key = cell.get("fast_us").longValue() + "/" + cell.get("concurrency").intValue();
        byCell.computeIfAbsent(key, k -> new ArrayList<>()).add(cell);
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "Median of %d pass(es) per cell.%n%n", passes.size()));
    sb.append(
        "| fast | in flight | healthy p99 ms | healthy shares max/min | 10x: slow share"
            + " | p99 ms (rr) | ÷ healthy | ÷ rr | 5% 100x: slow share | p99 ms (rr) | ÷ healthy"
            + " | ÷ rr | recovery s | goals |\n");
    sb.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    int met = 0;
    for (List<Map<String, Double>> cells : byCell.values()) {
      Map<String, Double> first = cells.get(0);
      double healthyP99 = median(cells, c -> c.get("healthy_p99"));
      double spread = median(cells, c -> c.get("healthy_spread"));
      double slowShare = median(cells, c -> c.get("slow_share"));
      double slowP99 = median(cells, c -> c.get("slow_p99"));
      double slowRr = median(cells, c -> c.get("slow_rr_p99"));
      double slowVsH = median(cells, c -> c.get("slow_p99") / c.get("healthy_p99"));
      double slowVsRr = median(cells, c -> c.get("slow_p99") / c.get("slow_rr_p99"));
      double tailShare = median(cells, c -> c.get("tail_share"));
      double tailP99 = median(cells, c -> c.get("tail_p99"));
      double tailRr = median(cells, c -> c.get("tail_rr_p99"));
      double tailVsH = median(cells, c -> c.get("tail_p99") / c.get("healthy_p99"));
      double tailVsRr = median(cells, c -> c.get("tail_p99") / c.get("tail_rr_p99"));
      boolean hasRecovery = first.containsKey("recovery_ms");
      double recovery =
          hasRecovery
              ? median(
                  cells,
                  c -> c.get("recovery_ms") < 0 ? Double.POSITIVE_INFINITY : c.get("recovery_ms"))
              : Double.NaN;
      List<String> missed = new ArrayList<>();
      check(missed, slowShare < MAX_SLOW_SHARE, "10x share");
      check(missed, tailShare < MAX_SLOW_SHARE, "tail share");
      check(missed, slowVsH <= MAX_VS_HEALTHY, "10x ÷ healthy");
      check(missed, tailVsH <= MAX_VS_HEALTHY, "tail ÷ healthy");
      check(missed, slowVsRr <= MAX_VS_RR, "10x ÷ rr");
      check(missed, tailVsRr <= MAX_VS_RR, "tail ÷ rr");
      check(missed, spread <= MAX_SPREAD, "shares");
      check(missed, !hasRecovery || recovery <= MAX_RECOVERY_MS, "recovery");
      met += missed.isEmpty() ? 1 : 0;
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.2f | %.2f | %.2f%% | %.2f (%.2f) | %.2f | %.2f | %.2f%% | %.2f (%.2f)"
                  + " | %.2f | %.2f | %s | %s |%n",
              DelayedGreeter.formatMillis(first.get("fast_us").longValue()),
              first.get("concurrency").intValue(),
              healthyP99 / 1000,
              1 + spread,
              slowShare * 100,
              slowP99 / 1000,
              slowRr / 1000,
              slowVsH,
              slowVsRr,
              tailShare * 100,
              tailP99 / 1000,
              tailRr / 1000,
              tailVsH,
              tailVsRr,
              !hasRecovery
                  ? "-"
                  : Double.isInfinite(recovery)
                      ? "> 5"
                      : String.format(Locale.ROOT, "%.2f", recovery / 1000),
              missed.isEmpty() ? "all met" : "missed: " + String.join(", ", missed)));
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "%nGoals per cell: krpc_p2c sends the slow server < 1%% of the calls in both scenarios;"
                + " its p99 is <= 1.5x its all-healthy p99 and <= 0.2x round_robin's; four healthy"
                + " servers' shares within 15%% of each other (max/min <= 1.15); after the 10x server"
                + " heals, its share over 300 ms is back to 20%% (a quarter is fair) within 5 s."
                + " Cells meeting every goal: %d of %d.%n",
            met,
            byCell.size()));
    appendCpu(sb, byCell.values());
    return sb.toString();
  }

  private static final String[] CPU_ROWS = {"healthy", "slow_rr", "slow", "tail_rr", "tail"};

  /**
   * The client JVM's CPU time per call in each row, where every pass recorded it (the servers run
   * in their own JVM, so this is the client's cost alone): medians, with krpc_p2c's calls per
   * second, since a row's cost per call falls as its call rate rises (the event loops' and timers'
   * fixed cost is shared by more calls).
   */
  private static void appendCpu(StringBuilder sb, Iterable<List<Map<String, Double>>> byCell) {
    for (List<Map<String, Double>> cells : byCell) {
      for (Map<String, Double> c : cells) {
        for (String row : CPU_ROWS) {
          if (!c.containsKey(row + "_cpu_us")) {
            return;
          }
        }
      }
    }
    sb.append(
        "\nClient CPU time per call (µs; the client JVM, every thread), median of the passes;"
            + " krpc_p2c's calls/s beside it:\n\n");
    sb.append(
        "| fast | in flight | healthy: krpc_p2c (calls/s) | 10x: rr | krpc_p2c (calls/s)"
            + " | 5% 100x: rr | krpc_p2c (calls/s) |\n");
    sb.append("|---:|---:|---:|---:|---:|---:|---:|\n");
    for (List<Map<String, Double>> cells : byCell) {
      Map<String, Double> first = cells.get(0);
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.1f (%.0f) | %.1f | %.1f (%.0f) | %.1f | %.1f (%.0f) |%n",
              DelayedGreeter.formatMillis(first.get("fast_us").longValue()),
              first.get("concurrency").intValue(),
              median(cells, c -> c.get("healthy_cpu_us")),
              median(cells, c -> c.get("healthy_calls_s")),
              median(cells, c -> c.get("slow_rr_cpu_us")),
              median(cells, c -> c.get("slow_cpu_us")),
              median(cells, c -> c.get("slow_calls_s")),
              median(cells, c -> c.get("tail_rr_cpu_us")),
              median(cells, c -> c.get("tail_cpu_us")),
              median(cells, c -> c.get("tail_calls_s"))));
    }
  }

  private static void check(List<String> missed, boolean ok, String goal) {
    if (!ok) {
      missed.add(goal);
    }
  }

  static double median(List<Map<String, Double>> cells, ToDoubleFunction<Map<String, Double>> f) {
    double[] values = cells.stream().mapToDouble(f).sorted().toArray();
    int n = values.length;
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }

  static String describe(double[] values) {
    return Arrays.toString(values);
  }
}
