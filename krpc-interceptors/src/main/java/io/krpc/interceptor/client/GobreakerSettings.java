package io.krpc.interceptor.client;

import static io.krpc.common.Checks.notNull;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.grpc.Deadline;
import io.krpc.common.TickerClock;
import java.time.Duration;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The Go KRPC's (sony/gobreaker) breaker parameters and their Resilience4j translation; the mapping
 * is documented on {@link CircuitBreakerInterceptor}.
 */
record GobreakerSettings(
    int maxRequests,
    Duration interval,
    Duration timeout,
    @Nullable Predicate<CircuitBreakerInterceptor.Counts> readyToTrip) {
  GobreakerSettings {
    if (maxRequests < 0) {
      throw new IllegalArgumentException("maxRequests: " + maxRequests + " (expected: >= 0)");
    }
    notNull(interval, "interval");
    if (interval.isNegative()) {
      throw new IllegalArgumentException("interval: " + interval + " (expected: >= 0)");
    }
    notNull(timeout, "timeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: >= 0)");
    }
  }

  /** As the builder call that made it: {@code gobreaker(0, PT0S, PT1M, null)}. */
  String describe() {
    return "gobreaker("
        + maxRequests
        + ", "
        + interval
        + ", "
        + timeout
        + ", "
        + (readyToTrip == null ? "null" : "a readyToTrip rule")
        + ")";
  }

  long intervalNanos() {
    return interval.toNanos();
  }

  CircuitBreakerConfig toConfig(Deadline.Ticker ticker) {
    CircuitBreakerConfig.Builder b =
        CircuitBreakerConfig.custom()
            .permittedNumberOfCallsInHalfOpenState(maxRequests == 0 ? 1 : maxRequests)
            .waitDurationInOpenState(timeout.isZero() ? Duration.ofSeconds(60) : timeout)
            .failureRateThreshold(100)
            .clock(new TickerClock(ticker));
    long seconds = Math.max(1, (interval.toNanos() + 999_999_999L) / 1_000_000_000L);
    int windowSeconds = (int) Math.min(Integer.MAX_VALUE, seconds);
    if (readyToTrip != null) {
      // GobreakerRule trips; a minimum no window reaches keeps Resilience4j's rate rule silent.
      b.slidingWindow(
          windowSeconds, Integer.MAX_VALUE, CircuitBreakerConfig.SlidingWindowType.TIME_BASED);
    } else if (interval.isZero()) {
      b.slidingWindow(6, 6, CircuitBreakerConfig.SlidingWindowType.COUNT_BASED);
    } else {
      b.slidingWindow(windowSeconds, 6, CircuitBreakerConfig.SlidingWindowType.TIME_BASED);
    }
    return b.build();
  }
}
