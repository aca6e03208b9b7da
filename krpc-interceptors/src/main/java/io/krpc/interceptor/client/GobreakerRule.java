package io.krpc.interceptor.client;

import com.google.errorprone.annotations.ThreadSafe;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.Deadline;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The two gobreaker rules Resilience4j has no setting for, applied next to one Resilience4j
 * breaker: a custom {@code readyToTrip} over gobreaker-style {@link
 * CircuitBreakerInterceptor.Counts} (reset every {@code interval} while closed and on every state
 * change), and "any failure in half-open opens the breaker again".
 */
@ThreadSafe
final class GobreakerRule {
  private static final Logger logger = LoggerFactory.getLogger(GobreakerRule.class);

  private final CircuitBreaker breaker;
  @Nullable private final Predicate<CircuitBreakerInterceptor.Counts> readyToTrip;
  private final long intervalNanos;
  private final Deadline.Ticker ticker;

  @GuardedBy("this")
  private CircuitBreakerInterceptor.Counts counts = CircuitBreakerInterceptor.Counts.ZERO;

  @GuardedBy("this")
  private long generationEndNanos;

  GobreakerRule(
      CircuitBreaker breaker,
      @Nullable Predicate<CircuitBreakerInterceptor.Counts> readyToTrip,
      long intervalNanos,
      Deadline.Ticker ticker) {
    this.breaker = breaker;
    this.readyToTrip = readyToTrip;
    this.intervalNanos = intervalNanos;
    this.ticker = ticker;
    this.generationEndNanos = ticker.nanoTime() + intervalNanos;
    breaker.getEventPublisher().onStateTransition(event -> newGeneration());
  }

  private synchronized void newGeneration() {
    counts = CircuitBreakerInterceptor.Counts.ZERO;
    generationEndNanos = ticker.nanoTime() + intervalNanos;
  }

  /** Records one outcome that Resilience4j has already recorded; may open the breaker. */
  void onOutcome(boolean failure) {
    CircuitBreaker.State state = breaker.getState();
    if (state == CircuitBreaker.State.HALF_OPEN && failure) {
      open("a trial call failed in half-open");
      return;
    }
    if (state != CircuitBreaker.State.CLOSED || readyToTrip == null) {
      return;
    }
    boolean trip;
    CircuitBreakerInterceptor.Counts snapshot;
    synchronized (this) {
      long now = ticker.nanoTime();
      if (intervalNanos > 0 && now - generationEndNanos >= 0) {
        counts = CircuitBreakerInterceptor.Counts.ZERO;
        generationEndNanos = now + intervalNanos;
      }
      counts = failure ? counts.withFailure() : counts.withSuccess();
      snapshot = counts;
      trip = failure && readyToTrip.test(snapshot);
    }
    if (trip) {
      open("readyToTrip returned true for " + snapshot);
    }
  }

  private void open(String why) {
    if (breaker.getState() == CircuitBreaker.State.OPEN) {
      return; // Resilience4j's own rule got there first; reopening would restart the wait
    }
    try {
      breaker.transitionToOpenState();
      logger.debug("circuit breaker '{}' opened: {}", breaker.getName(), why);
    } catch (IllegalStateException e) {
      // Another thread changed the state first (for example Resilience4j's own rule): nothing to
      // do.
    }
  }
}
