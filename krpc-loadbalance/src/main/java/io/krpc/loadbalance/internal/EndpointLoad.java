package io.krpc.loadbalance.internal;

import com.google.errorprone.annotations.Immutable;
import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.Status;
import io.krpc.common.FailureCodes;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What {@value io.krpc.loadbalance.KrpcLoadBalancers#P2C} knows about one endpoint: calls in
 * flight, a peak-EWMA of its latency, an EWMA of its success rate and when it was last picked.
 *
 * <p>The latency estimate follows Finagle's peak EWMA: an RTT above the estimate replaces it at
 * once, lower RTTs pull it down with weight {@code 1 - exp(-elapsed / decayTime)}. The success rate
 * weighs each outcome by {@value #SUCCESS_WEIGHT} (roughly the last 20 calls) and drifts back
 * towards 1 with the same decay time while no outcome arrives, so a penalised endpoint recovers.
 *
 * <p>Thread-safe and lock-free: stream tracers update it from transport threads and pickers read
 * it from application threads. Each estimate is an immutable pair swapped by compare-and-set.
 */
@ThreadSafe
final class EndpointLoad {

  /** Cost of an endpoint with calls in flight but no answer yet: never preferred while waiting. */
  static final double UNMEASURED_PENALTY = 1e14;

  static final double SUCCESS_WEIGHT = 0.05;
  /** Floor of the success rate, so a failing endpoint costs at most 100 times more. */
  static final double MIN_SUCCESS = 0.01;

  private static final Estimate NO_LATENCY = new Estimate(0, 0);

  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicReference<Estimate> latency = new AtomicReference<>(NO_LATENCY);
  private final AtomicReference<Estimate> success = new AtomicReference<>(new Estimate(1, 0));
  private final AtomicLong lastPickedNanos = new AtomicLong();

  /** Treats the endpoint as just picked, so a fresh endpoint is not force-picked at once. */
  void resetPickTime(long nowNanos) {
    lastPickedNanos.set(nowNanos);
  }

  void markPicked(long nowNanos) {
    lastPickedNanos.lazySet(nowNanos);
  }

  /**
   * Claims the forced pick of an endpoint idle for at least {@code intervalNanos}; only one of
   * several racing callers wins.
   */
  boolean claimForcedPick(long nowNanos, long intervalNanos) {
    long last = lastPickedNanos.get();
    return nowNanos - last >= intervalNanos && lastPickedNanos.compareAndSet(last, nowNanos);
  }

  void callStarted() {
    inFlight.incrementAndGet();
  }

  void callFinished() {
    inFlight.decrementAndGet();
  }

  int inFlight() {
    return inFlight.get();
  }

  void recordLatency(long rttNanos, long nowNanos, long decayNanos) {
    double rtt = Math.max(0, rttNanos);
    latency.updateAndGet(old -> {
      if (old == NO_LATENCY || rtt > old.value) {
        return new Estimate(rtt, nowNanos);
      }
      double keep = decayWeight(old, nowNanos, decayNanos);
      return new Estimate(old.value * keep + rtt * (1 - keep), nowNanos);
    });
  }

  /**
   * Records the RTT of a failed call: it may raise the estimate but never lowers it, so that an
   * endpoint that fails fast never looks cheaper than the healthy ones because of its failures.
   */
  void recordFailedCallLatency(long rttNanos, long nowNanos) {
    double rtt = Math.max(0, rttNanos);
    latency.updateAndGet(old -> old == NO_LATENCY || rtt > old.value
        ? new Estimate(rtt, nowNanos) : old);
  }

  void recordOutcome(Status.Code code, long nowNanos, long decayNanos) {
    double outcome = isFailure(code) ? 0 : 1;
    success.updateAndGet(old -> new Estimate(
        successRate(old, nowNanos, decayNanos) * (1 - SUCCESS_WEIGHT) + outcome * SUCCESS_WEIGHT,
        nowNanos));
  }

  /** Codes that say the endpoint itself is unhealthy or overloaded: KRPC's one failure table. */
  static boolean isFailure(Status.Code code) {
    return FailureCodes.isServerFailure(code);
  }

  double successRate(long nowNanos, long decayNanos) {
    return successRate(success.get(), nowNanos, decayNanos);
  }

  /** Latency estimate in nanoseconds, or -1 before the first answer. */
  double latencyNanos() {
    Estimate e = latency.get();
    return e == NO_LATENCY ? -1 : e.value;
  }

  /**
   * The P2C cost: latency × (in-flight + 1) / success rate. An endpoint never measured costs 0
   * while idle (so it is tried once) and {@link #UNMEASURED_PENALTY} while its first call is out.
   */
  double cost(long nowNanos, long decayNanos) {
    Estimate lat = latency.get();
    int calls = inFlight.get();
    if (lat == NO_LATENCY) {
      return calls == 0 ? 0 : UNMEASURED_PENALTY + calls;
    }
    double rate = Math.max(MIN_SUCCESS, successRate(nowNanos, decayNanos));
    // +1 ns so that an endpoint answering in "zero" time still costs more with more calls.
    return (lat.value + 1) * (calls + 1) / rate;
  }

  private static double successRate(Estimate e, long nowNanos, long decayNanos) {
    return 1 - (1 - e.value) * decayWeight(e, nowNanos, decayNanos);
  }

  private static double decayWeight(Estimate e, long nowNanos, long decayNanos) {
    long elapsed = Math.max(0, nowNanos - e.stampNanos);
    return Math.exp(-(double) elapsed / decayNanos);
  }

  @Immutable
  private static final class Estimate {
    final double value;
    final long stampNanos;

    Estimate(double value, long stampNanos) {
      this.value = value;
      this.stampNanos = stampNanos;
    }
  }
}
