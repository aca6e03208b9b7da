package io.krpc.interceptor.server;

import static io.krpc.common.Checks.notNull;

import java.time.Duration;

/**
 * The token bucket of one method: the Go KRPC's {@code Cap}, {@code Rate} and {@code
 * WaitMaxDuration}.
 *
 * <pre>{@code
 * new RateLimitConfig(100, 10.0, Duration.ofMillis(100)); // burst 100, 10 calls/s, wait <= 100 ms
 * }</pre>
 *
 * @param capacity the bucket size, that is the largest burst; at least 1. The bucket starts full.
 * @param tokensPerSecond the refill rate, that is the sustained calls per second; greater than 0
 * @param maxWait how long a call over the limit may wait for a token before it is refused with
 *     {@code RESOURCE_EXHAUSTED}; zero refuses at once; not negative
 */
public record RateLimitConfig(long capacity, double tokensPerSecond, Duration maxWait) {

  /** Validates every component; throws {@link IllegalArgumentException} naming the bad one. */
  public RateLimitConfig {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
    }
    if (!(tokensPerSecond > 0) || Double.isInfinite(tokensPerSecond)) {
      throw new IllegalArgumentException(
          "tokensPerSecond: " + tokensPerSecond + " (expected: > 0 and finite)");
    }
    notNull(maxWait, "maxWait");
    if (maxWait.isNegative()) {
      throw new IllegalArgumentException("maxWait: " + maxWait + " (expected: >= 0)");
    }
  }
}
