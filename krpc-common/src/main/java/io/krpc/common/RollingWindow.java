package io.krpc.common;

import com.google.errorprone.annotations.ThreadSafe;
import com.google.errorprone.annotations.concurrent.GuardedBy;

/**
 * Completed calls and their response times over a rolling window of equal buckets, as the BBR
 * limiter needs them: the most calls completed in one bucket and the lowest mean response time of a
 * bucket. The bucket being filled is left out of both, because it is not complete yet.
 *
 * <p>Thread-safe; each method holds a short lock (one bucket update, or one pass over the buckets).
 */
@ThreadSafe
public final class RollingWindow {
  private final int buckets;
  private final long bucketNanos;

  @GuardedBy("this")
  private final long[] epochs;

  @GuardedBy("this")
  private final long[] passes;

  @GuardedBy("this")
  private final long[] rtSums;

  /**
   * Creates a window of {@code buckets} buckets of {@code bucketNanos} each.
   *
   * @throws IllegalArgumentException if either is not positive
   */
  public RollingWindow(int buckets, long bucketNanos) {
    if (buckets < 2) {
      // One bucket would always be the one still filling: the window would never hold data.
      throw new IllegalArgumentException("buckets: " + buckets + " (expected: >= 2)");
    }
    if (bucketNanos < 1) {
      throw new IllegalArgumentException("bucketNanos: " + bucketNanos + " (expected: >= 1)");
    }
    this.buckets = buckets;
    this.bucketNanos = bucketNanos;
    this.epochs = new long[buckets];
    this.passes = new long[buckets];
    this.rtSums = new long[buckets];
    java.util.Arrays.fill(epochs, Long.MIN_VALUE);
  }

  /** The length of one bucket in nanoseconds. */
  public long bucketNanos() {
    return bucketNanos;
  }

  /** Records one call that completed at {@code nowNanos} after {@code rtNanos}. */
  public synchronized void add(long nowNanos, long rtNanos) {
    long epoch = Math.floorDiv(nowNanos, bucketNanos);
    int slot = (int) Math.floorMod(epoch, (long) buckets);
    if (epochs[slot] != epoch) {
      epochs[slot] = epoch;
      passes[slot] = 0;
      rtSums[slot] = 0;
    }
    passes[slot]++;
    rtSums[slot] += Math.max(0, rtNanos);
  }

  /** Returns the most calls completed in one full bucket of the window, or 0 without data. */
  public long maxPass(long nowNanos) {
    return (long) maxPassPerBucket(nowNanos, 1);
  }

  /**
   * Returns the most calls completed per bucket over {@code spanBuckets} consecutive full buckets
   * of the window, averaged over the span (a bucket with no data counts 0), or 0 without data. With
   * a span of 1 this is {@link #maxPass(long)}; a longer span keeps a burst of completions in one
   * bucket (a backlog that finishes at once) from passing for throughput. A span longer than the
   * window's full buckets is cut to them.
   */
  public synchronized double maxPassPerBucket(long nowNanos, int spanBuckets) {
    if (spanBuckets < 1) {
      throw new IllegalArgumentException("spanBuckets: " + spanBuckets + " (expected: >= 1)");
    }
    long current = Math.floorDiv(nowNanos, bucketNanos);
    int full = buckets - 1;
    int span = Math.min(spanBuckets, full);
    long sum = 0;
    long max = 0;
    for (int k = 0; k < full; k++) {
      long epoch = current - full + k; // oldest first
      sum += passesAt(epoch);
      if (k >= span) {
        sum -= passesAt(epoch - span);
      }
      if (k >= span - 1) {
        max = Math.max(max, sum);
      }
    }
    return (double) max / span;
  }

  @GuardedBy("this")
  private long passesAt(long epoch) {
    int slot = (int) Math.floorMod(epoch, (long) buckets);
    return epochs[slot] == epoch ? passes[slot] : 0;
  }

  /**
   * Returns the lowest mean response time of a full bucket of the window, in nanoseconds, or -1
   * without data.
   */
  public synchronized long minRtNanos(long nowNanos) {
    long current = Math.floorDiv(nowNanos, bucketNanos);
    long min = Long.MAX_VALUE;
    for (int i = 0; i < buckets; i++) {
      if (inWindow(epochs[i], current) && passes[i] > 0) {
        min = Math.min(min, rtSums[i] / passes[i]);
      }
    }
    return min == Long.MAX_VALUE ? -1 : min;
  }

  private boolean inWindow(long epoch, long current) {
    // Full buckets only: the current one is still filling.
    return epoch != Long.MIN_VALUE && epoch < current && current - epoch < buckets;
  }
}
