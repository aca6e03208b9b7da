package io.krpc.loadbalance.internal;

import com.google.common.base.MoreObjects;
import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.Deadline;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Picks by power of two choices: draws two distinct READY endpoints at random (weighted by their
 * slow-start factors when any endpoint ramps up) and takes the one with the lower {@link
 * EndpointLoad#cost}, given the fleet's mean calls in flight per READY endpoint and the lower
 * latency estimate of the two as the reference a stale estimate drifts to. A drawn endpoint not
 * picked for {@code forcePickInterval} is taken instead, once, so that its estimates can recover.
 *
 * <p>Thread-safe: an immutable snapshot of the READY endpoints; the only mutable state is in the
 * shared {@link EndpointLoad}s, which are atomic. A pick never blocks.
 */
@ThreadSafe
final class P2cPicker extends SubchannelPicker {

  private final EndpointLoad[] loads;
  private final PickResult[] results;

  /** Cumulative slow-start factors, or null when every endpoint has the full share. */
  private final double @Nullable [] cumulativeFactors;

  private final Deadline.Ticker ticker;
  private final long decayNanos;
  private final long forcePickNanos;

  P2cPicker(
      List<TrackedEndpoint> ready, double[] factors, Deadline.Ticker ticker, P2cConfig config) {
    int n = ready.size();
    this.loads = new EndpointLoad[n];
    this.results = new PickResult[n];
    for (int i = 0; i < n; i++) {
      TrackedEndpoint endpoint = ready.get(i);
      loads[i] = endpoint.load();
      results[i] =
          PickResult.withSubchannel(
              endpoint.subchannel(),
              new LoadRecordingTracerFactory(endpoint.load(), ticker, config.decayNanos));
    }
    this.cumulativeFactors = cumulate(factors);
    this.ticker = ticker;
    this.decayNanos = config.decayNanos;
    this.forcePickNanos = config.forcePickNanos;
  }

  private static double @Nullable [] cumulate(double[] factors) {
    if (Arrays.stream(factors).allMatch(f -> f >= 1)) {
      return null;
    }
    double[] cumulative = new double[factors.length];
    double sum = 0;
    for (int i = 0; i < factors.length; i++) {
      sum += factors[i];
      cumulative[i] = sum;
    }
    return cumulative;
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    long now = ticker.nanoTime();
    int chosen = loads.length == 1 ? 0 : choose(now);
    loads[chosen].markPicked(now);
    return results[chosen];
  }

  private int choose(long now) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int first;
    int second;
    double[] cumulative = cumulativeFactors;
    if (cumulative == null) {
      first = random.nextInt(loads.length);
      second = random.nextInt(loads.length - 1);
      second = second >= first ? second + 1 : second;
    } else {
      first = drawWeighted(random, cumulative);
      second = drawWeighted(random, cumulative);
      for (int tries = 0; second == first && tries < 8; tries++) {
        second = drawWeighted(random, cumulative);
      }
      if (second == first) { // all weight on one endpoint: any other will do
        second = (first + 1 + random.nextInt(loads.length - 1)) % loads.length;
      }
    }
    if (forcePickNanos > 0) {
      if (loads[first].claimForcedPick(now, forcePickNanos)) {
        return first;
      }
      if (loads[second].claimForcedPick(now, forcePickNanos)) {
        return second;
      }
    }
    double meanInFlight = (double) loads[first].fleetInFlight() / loads.length;
    double reference = reference(loads[first].latencyNanos(), loads[second].latencyNanos());
    return loads[first].cost(now, decayNanos, meanInFlight, reference)
            <= loads[second].cost(now, decayNanos, meanInFlight, reference)
        ? first
        : second;
  }

  /** The lower of two latency estimates, ignoring an unmeasured one (-1). */
  private static double reference(double a, double b) {
    if (a < 0) {
      return b < 0 ? Double.MAX_VALUE : b;
    }
    return b < 0 ? a : Math.min(a, b);
  }

  private static int drawWeighted(ThreadLocalRandom random, double[] cumulative) {
    double target = random.nextDouble(cumulative[cumulative.length - 1]);
    int index = Arrays.binarySearch(cumulative, target);
    return index >= 0 ? index + 1 : -index - 1;
  }

  @Override
  public String toString() {
    return MoreObjects.toStringHelper(this)
        .add("endpoints", results.length)
        .add("rampingUp", cumulativeFactors != null)
        .toString();
  }
}
