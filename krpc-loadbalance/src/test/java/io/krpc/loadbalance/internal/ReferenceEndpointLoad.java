package io.krpc.loadbalance.internal;

import com.google.errorprone.annotations.Immutable;
import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.Status;
import io.krpc.common.FailureCodes;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link EndpointLoad} as it was before its updates stopped allocating a lambda per answer and
 * skipping the success rate's no-op updates (issue 17, session 25), kept verbatim as the reference
 * that {@link EndpointLoadEquivalenceTest} compares the current one with, bit for bit.
 */
@ThreadSafe
// NullAway models AtomicReference.get() and updateAndGet's argument as nullable; these references
// start non-null and are only ever set to non-null estimates.
@SuppressWarnings("NullAway")
final class ReferenceEndpointLoad {

  /** Cost of an endpoint with calls in flight but no answer yet: never preferred while waiting. */
  static final double UNMEASURED_PENALTY = 1e14;

  static final double SUCCESS_WEIGHT = 0.05;

  /** Floor of the success rate, so a failing endpoint costs at most 100 times more. */
  static final double MIN_SUCCESS = 0.01;

  /**
   * The least queueing factor of an endpoint below the fleet's mean: at most twice as cheap as its
   * latency, so that an idle endpoint ten times slower stays dearer than a busy fast one whose
   * latency is inflated by the load.
   */
  static final double MIN_QUEUEING_FACTOR = 0.5;

  /** The latency estimate's decay time, in multiples of the estimate itself. */
  static final double DECAY_RTTS = 10;

  private static final Latency NO_LATENCY = new Latency(0, 0, 0);

  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger fleetInFlight;
  private final AtomicReference<Latency> latency = new AtomicReference<>(NO_LATENCY);
  private final AtomicReference<Rate> success = new AtomicReference<>(new Rate(1, 0));
  private final AtomicLong lastPickedNanos = new AtomicLong();

  /** An endpoint on its own, for tests. */
  ReferenceEndpointLoad() {
    this(new AtomicInteger());
  }

  /** An endpoint of a fleet whose calls in flight are also counted in {@code fleetInFlight}. */
  ReferenceEndpointLoad(AtomicInteger fleetInFlight) {
    this.fleetInFlight = fleetInFlight;
  }

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

  /** Counts a call in; returns how many other calls this endpoint had in flight. */
  int callStarted() {
    fleetInFlight.incrementAndGet();
    return inFlight.getAndIncrement();
  }

  void callFinished() {
    inFlight.decrementAndGet();
    fleetInFlight.decrementAndGet();
  }

  int inFlight() {
    return inFlight.get();
  }

  /**
   * Records the RTT of a call that had {@code othersInFlight} other calls beside it on this
   * endpoint when it started.
   *
   * @param maxDecayNanos the cap of the decay time ({@code decayTime})
   */
  void recordLatency(long rttNanos, int othersInFlight, long nowNanos, long maxDecayNanos) {
    double rtt = Math.max(0, rttNanos);
    latency.updateAndGet(
        old -> {
          if (old == NO_LATENCY) {
            return new Latency(rtt, othersInFlight, nowNanos);
          }
          double weight = decayedWeight(old, nowNanos, maxDecayNanos);
          double toward = rtt > old.value ? Math.max(weight, 1.0 / (othersInFlight + 1)) : weight;
          return new Latency(
              old.value + (rtt - old.value) * toward,
              old.measuredAt + (othersInFlight - old.measuredAt) * toward,
              nowNanos);
        });
  }

  /**
   * Records the RTT of a failed call: it may raise the estimate but never lowers it, so that an
   * endpoint that fails fast never looks cheaper than the healthy ones because of its failures.
   */
  void recordFailedCallLatency(
      long rttNanos, int othersInFlight, long nowNanos, long maxDecayNanos) {
    Latency old = latency.get();
    if (old == NO_LATENCY || rttNanos > old.value) {
      recordLatency(rttNanos, othersInFlight, nowNanos, maxDecayNanos);
    }
  }

  void recordOutcome(Status.Code code, long nowNanos, long decayNanos) {
    double outcome = isFailure(code) ? 0 : 1;
    success.updateAndGet(
        old ->
            new Rate(
                successRate(old, nowNanos, decayNanos) * (1 - SUCCESS_WEIGHT)
                    + outcome * SUCCESS_WEIGHT,
                nowNanos));
  }

  /** Codes that say the endpoint itself is unhealthy or overloaded: KRPC's one failure table. */
  static boolean isFailure(Status.Code code) {
    return FailureCodes.isServerFailure(code);
  }

  double successRate(long nowNanos, long decayNanos) {
    return successRate(success.get(), nowNanos, decayNanos);
  }

  /** Latency estimate in nanoseconds as of the last answer, or -1 before the first answer. */
  double latencyNanos() {
    Latency e = latency.get();
    return e == NO_LATENCY ? -1 : e.value;
  }

  /** Calls in flight across the fleet this endpoint belongs to (all endpoints of its balancer). */
  int fleetInFlight() {
    return fleetInFlight.get();
  }

  /**
   * The P2C cost: latency x queueing factor / success rate. Every endpoint's latency was measured
   * while the fleet held about {@code meanInFlight} calls per endpoint, so it already holds that
   * much queueing. With {@code r = (inFlight + 1) / (meanInFlight + 1)} the factor is {@code r}
   * above the mean and {@code sqrt(r)}, at least {@value #MIN_QUEUEING_FACTOR}, below it: calls
   * beyond the mean count in full, an endpoint below it is cheaper by less. Below the mean, {@code
   * r} takes as its reference the lower of the mean and the calls in flight the estimate was
   * measured beside: an estimate measured one call at a time holds no queueing to discount.
   * Finagle's and tower's {@code latency x (inFlight + 1)} is {@code r} throughout; at 16-64 calls
   * in flight it rated an idle endpoint ten times slower as cheap as a busy fast one (the queueing
   * counted twice), while no reward at all below the mean left equal endpoints to be told apart by
   * latency noise alone. With one call at a time (meanInFlight = 0) all three agree. An estimate
   * above {@code referenceNanos} (the lower estimate of the two endpoints compared) drifts towards
   * it since its last answer while the endpoint has no call in flight. An endpoint never measured
   * costs 0 while idle (so it is tried once) and {@link #UNMEASURED_PENALTY} while its first call
   * is out.
   */
  double cost(long nowNanos, long decayNanos, double meanInFlight, double referenceNanos) {
    Latency lat = latency.get();
    int calls = inFlight.get();
    if (lat == NO_LATENCY) {
      return calls == 0 ? 0 : UNMEASURED_PENALTY + calls;
    }
    double rate = Math.max(MIN_SUCCESS, successRate(nowNanos, decayNanos));
    double value = lat.value;
    // Stale evidence counts less: drift towards the reference, but only while idle. The drift is
    // a probe: once a call is out, the endpoint costs its own estimate again until that call
    // answers, so a slow endpoint gets one call per probe, not every call picked while its probe
    // is out (at 0.5 ms x 4 in flight that pile-up was most of a 10x endpoint's share).
    if (calls == 0 && value > referenceNanos) {
      value =
          referenceNanos
              + (value - referenceNanos) * (1 - decayedWeight(lat, nowNanos, decayNanos));
    }
    double ratio = (calls + 1) / (Math.max(0, meanInFlight) + 1);
    double queueing = ratio;
    if (ratio < 1) {
      // The discount below the mean is for the queueing share of the estimate, so it counts only
      // the calls its samples had beside them: none for an estimate taken one call at a time (a
      // probe of a slow endpoint, which the discount made up to twice as cheap as it is).
      double measuredAt = Math.min(Math.max(0, meanInFlight), lat.measuredAt);
      queueing =
          Math.min(1, Math.max(MIN_QUEUEING_FACTOR, Math.sqrt((calls + 1) / (measuredAt + 1))));
    }
    // +1 ns so that an endpoint answering in "zero" time still costs more with more calls.
    return (value + 1) * queueing / rate;
  }

  private static double decayedWeight(Latency old, long nowNanos, long maxDecayNanos) {
    long elapsed = Math.max(0, nowNanos - old.stampNanos);
    double decay = Math.min(maxDecayNanos, Math.max(1, DECAY_RTTS * old.value));
    return 1 - Math.exp(-elapsed / decay);
  }

  private static double successRate(Rate r, long nowNanos, long decayNanos) {
    long elapsed = Math.max(0, nowNanos - r.stampNanos);
    return 1 - (1 - r.value) * Math.exp(-(double) elapsed / decayNanos);
  }

  /**
   * A latency estimate, the calls in flight beside the calls it was measured from (averaged with
   * the same weights), and when it was last updated.
   */
  @Immutable
  private static final class Latency {
    final double value;
    final double measuredAt;
    final long stampNanos;

    Latency(double value, double measuredAt, long stampNanos) {
      this.value = value;
      this.measuredAt = measuredAt;
      this.stampNanos = stampNanos;
    }
  }

  @Immutable
  private static final class Rate {
    final double value;
    final long stampNanos;

    Rate(double value, long stampNanos) {
      this.value = value;
      this.stampNanos = stampNanos;
    }
  }
}
