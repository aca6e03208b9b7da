package io.krpc.common;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Capped exponential backoff with ±20 % jitter. Not thread-safe: each user confines its instance to
 * one thread.
 */
public final class Backoff {
  private final long initialNanos;
  private final long maxNanos;
  private long nextNanos;

  /** Delays start at {@code initial}, double after each failure and never exceed {@code max}. */
  public Backoff(Duration initial, Duration max) {
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
    this.nextNanos = initialNanos;
  }

  /** The delay before the next attempt, in nanoseconds; grows the following one. */
  public long nextDelayNanos() {
    long base = nextNanos;
    nextNanos = Math.min(maxNanos, nextNanos * 2);
    double jitter = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
    return Math.min(maxNanos, (long) (base * jitter));
  }

  /** Called after a success: the next failure waits {@code initial} again. */
  public void reset() {
    nextNanos = initialNanos;
  }
}
