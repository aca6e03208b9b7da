package io.krpc.benchmarks.discovery;

import java.util.Arrays;
import java.util.Locale;

/** Median, p99 and max of a set of durations in nanoseconds. */
record Stats(int samples, double medianMillis, double p99Millis, double maxMillis) {
  static Stats of(long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return new Stats(
        sorted.length, at(sorted, 50) / 1e6, at(sorted, 99) / 1e6, sorted[sorted.length - 1] / 1e6);
  }

  private static long at(long[] sorted, double percentile) {
    int index = (int) Math.ceil(percentile / 100 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }

  String row() {
    return String.format(
        Locale.ROOT, "%d | %.2f | %.2f | %.2f", samples, medianMillis, p99Millis, maxMillis);
  }
}
