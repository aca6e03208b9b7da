package io.krpc.common;

import com.google.errorprone.annotations.ThreadSafe;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.Arrays;

/**
 * Counters over a rolling window of equal time buckets: each bucket holds one sum per column, and
 * the window keeps its newest {@code buckets} buckets. KRPC's one rolling window: the BBR limiter
 * ({@code AdaptiveLimitInterceptor}) counts completed calls and their response times in it, the
 * client's adaptive throttling ({@code AdaptiveThrottlingInterceptor}) its requests and accepts.
 *
 * <pre>{@code
 * RollingWindow window = new RollingWindow(2, 100, 100_000_000L); // 2 columns, 10 s in 100 ms
 * window.add(ticker.nanoTime(), 0, 1);
 * long lastSecond = window.sum(ticker.nanoTime(), 0, 10);
 * }</pre>
 *
 * <p>Time is passed in: every method takes the caller's {@code nowNanos} (from its {@code
 * Deadline.Ticker}, a fake one in tests). Bucket {@code n} holds the times {@code [n, n + 1) ×
 * bucketNanos}. When a later bucket starts, the buckets that left the window are cleared; an amount
 * added at a time that already left the window is dropped. Sums ({@link #sum(long, int, int)})
 * include the bucket still filling; the BBR view ({@link #maxPassPerBucket(long, int)}, {@link
 * #minRtNanos(long)}) reads full buckets only.
 *
 * <p>Thread-safe; each method holds a short lock (one bucket update, or one pass over the buckets
 * it reads). A sum over the whole window costs no pass: the window keeps each column's total.
 */
@ThreadSafe
public final class RollingWindow {
  /** The BBR view's column of completed calls. */
  private static final int CALLS = 0;

  /** The BBR view's column of the completed calls' response times, summed in nanoseconds. */
  private static final int RT_NANOS = 1;

  private static final long NONE = Long.MIN_VALUE;

  private final int columns;
  private final int buckets;
  private final long bucketNanos;

  /** The bucket number each slot holds, or {@link #NONE}. */
  @GuardedBy("this")
  private final long[] epochs;

  /** The sums: {@code counts[slot * columns + column]}. */
  @GuardedBy("this")
  private final long[] counts;

  /** Each column's sum over every slot, that is over the window. */
  @GuardedBy("this")
  private final long[] totals;

  /** The newest bucket the window has moved to, or {@link #NONE} before the first use. */
  @GuardedBy("this")
  private long newest = NONE;

  /**
   * Creates the BBR limiter's window of {@code buckets} buckets of {@code bucketNanos} each, with
   * two columns: completed calls and their response times, which {@link #add(long, long)} records
   * and the BBR view reads.
   *
   * @throws IllegalArgumentException if {@code buckets} is below 2 or {@code bucketNanos} below 1
   */
  public RollingWindow(int buckets, long bucketNanos) {
    this(2, checkFullBuckets(buckets), bucketNanos);
  }

  /**
   * Creates a window of {@code buckets} buckets of {@code bucketNanos} each, every bucket holding
   * {@code columns} sums.
   *
   * @throws IllegalArgumentException if any is not positive
   */
  public RollingWindow(int columns, int buckets, long bucketNanos) {
    Checks.check(columns >= 1, "columns", columns, ">= 1");
    Checks.check(buckets >= 1, "buckets", buckets, ">= 1");
    Checks.check(bucketNanos >= 1, "bucketNanos", bucketNanos, ">= 1");
    this.columns = columns;
    this.buckets = buckets;
    this.bucketNanos = bucketNanos;
    this.epochs = new long[buckets];
    this.counts = new long[buckets * columns];
    this.totals = new long[columns];
    Arrays.fill(epochs, NONE);
  }

  private static int checkFullBuckets(int buckets) {
    // One bucket would always be the one still filling: the BBR view would never hold data.
    Checks.check(buckets >= 2, "buckets", buckets, ">= 2");
    return buckets;
  }

  /** The length of one bucket in nanoseconds. */
  public long bucketNanos() {
    return bucketNanos;
  }

  /** The number of buckets the window keeps, the one still filling included. */
  public int buckets() {
    return buckets;
  }

  /**
   * Adds {@code amount} to {@code column} of the bucket of {@code nowNanos}.
   *
   * @throws IllegalArgumentException if the window has no such column
   */
  public synchronized void add(long nowNanos, int column, long amount) {
    checkColumn(column);
    int slot = slotToAdd(Math.floorDiv(nowNanos, bucketNanos));
    if (slot >= 0) {
      counts[slot * columns + column] += amount;
      totals[column] += amount;
    }
  }

  /**
   * Records one call that completed at {@code nowNanos} after {@code rtNanos}: the BBR view's
   * columns, of a window made by {@link #RollingWindow(int, long)}.
   */
  public synchronized void add(long nowNanos, long rtNanos) {
    checkBbrColumns();
    int slot = slotToAdd(Math.floorDiv(nowNanos, bucketNanos));
    if (slot >= 0) {
      long rt = Math.max(0, rtNanos);
      counts[slot * columns + CALLS]++;
      counts[slot * columns + RT_NANOS] += rt;
      totals[CALLS]++;
      totals[RT_NANOS] += rt;
    }
  }

  /** Returns the sum of {@code column} over the window at {@code nowNanos}. */
  public long sum(long nowNanos, int column) {
    return sum(nowNanos, column, buckets);
  }

  /**
   * Returns the sum of {@code column} over the newest {@code spanBuckets} buckets at {@code
   * nowNanos}, the one still filling included. A span longer than the window is cut to it.
   *
   * @throws IllegalArgumentException if the span is not positive or the window has no such column
   */
  public synchronized long sum(long nowNanos, int column, int spanBuckets) {
    checkColumn(column);
    checkSpan(spanBuckets);
    long current = Math.floorDiv(nowNanos, bucketNanos);
    moveTo(current);
    int span = Math.min(spanBuckets, buckets);
    if (span == buckets && current == newest) {
      return totals[column];
    }
    long sum = 0;
    for (long epoch = current - span + 1; epoch <= current; epoch++) {
      sum += valueAt(epoch, column);
    }
    return sum;
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
    checkSpan(spanBuckets);
    long current = Math.floorDiv(nowNanos, bucketNanos);
    int full = buckets - 1;
    int span = Math.min(spanBuckets, full);
    if (span == 0) {
      return 0;
    }
    long sum = 0;
    long max = 0;
    for (int k = 0; k < full; k++) {
      long epoch = current - full + k; // oldest first
      sum += valueAt(epoch, CALLS);
      if (k >= span) {
        sum -= valueAt(epoch - span, CALLS);
      }
      if (k >= span - 1) {
        max = Math.max(max, sum);
      }
    }
    return (double) max / span;
  }

  /**
   * Returns the lowest mean response time of a full bucket of the window, in nanoseconds, or -1
   * without data.
   */
  public synchronized long minRtNanos(long nowNanos) {
    checkBbrColumns();
    long current = Math.floorDiv(nowNanos, bucketNanos);
    long min = Long.MAX_VALUE;
    // Full buckets only: the current one is still filling.
    for (long epoch = current - buckets + 1; epoch < current; epoch++) {
      long calls = valueAt(epoch, CALLS);
      if (calls > 0) {
        min = Math.min(min, valueAt(epoch, RT_NANOS) / calls);
      }
    }
    return min == Long.MAX_VALUE ? -1 : min;
  }

  // Not Checks.check: these run on every call, and it would box the value each time.
  private void checkColumn(int column) {
    if (column < 0 || column >= columns) {
      throw new IllegalArgumentException(
          "column: " + column + " (expected: 0.." + (columns - 1) + ")");
    }
  }

  private void checkBbrColumns() {
    if (columns < 2) {
      throw new IllegalStateException(
          "columns: " + columns + " (expected: >= 2, calls and response times, for the BBR view)");
    }
  }

  private static void checkSpan(int spanBuckets) {
    if (spanBuckets < 1) {
      throw new IllegalArgumentException("spanBuckets: " + spanBuckets + " (expected: >= 1)");
    }
  }

  /** Returns {@code column} of bucket {@code epoch}, or 0 if no slot holds that bucket. */
  @GuardedBy("this")
  private long valueAt(long epoch, int column) {
    int slot = slot(epoch);
    return epochs[slot] == epoch ? counts[slot * columns + column] : 0;
  }

  /** Returns the slot to add to at bucket {@code epoch}, or -1 if that bucket left the window. */
  @GuardedBy("this")
  private int slotToAdd(long epoch) {
    moveTo(epoch);
    if (newest - epoch >= buckets) {
      return -1; // a caller that read its time a whole window ago: the bucket is gone
    }
    int slot = slot(epoch);
    // Every slot holds a bucket of the window or none; in the latter case its sums are 0.
    epochs[slot] = epoch;
    return slot;
  }

  /**
   * Moves the window forward to bucket {@code epoch}: the slots of the buckets that leave it are
   * subtracted from the totals, cleared and given the new buckets. An earlier bucket moves nothing.
   */
  @GuardedBy("this")
  private void moveTo(long epoch) {
    if (newest != NONE && epoch <= newest) {
      return;
    }
    long from = newest == NONE || epoch - newest >= buckets ? epoch - buckets + 1 : newest + 1;
    for (long e = from; e <= epoch; e++) {
      int slot = slot(e);
      for (int c = 0, i = slot * columns; c < columns; c++, i++) {
        totals[c] -= counts[i];
        counts[i] = 0;
      }
      epochs[slot] = e;
    }
    newest = epoch;
  }

  private int slot(long epoch) {
    return (int) Math.floorMod(epoch, (long) buckets);
  }
}
