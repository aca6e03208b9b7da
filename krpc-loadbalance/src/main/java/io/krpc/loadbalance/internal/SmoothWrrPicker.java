package io.krpc.loadbalance.internal;

import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Walks a precomputed {@link SmoothWeightedSchedule} cycle with one atomic counter, so concurrent
 * picks neither lock nor burst. Each picker starts at a random point of its cycle, so that many
 * channels do not all begin on the same endpoint.
 *
 * <p>Thread-safe: immutable apart from the atomic position counter.
 */
@ThreadSafe
final class SmoothWrrPicker extends SubchannelPicker {

  private final PickResult[] results;
  private final int[] cycle;
  private final AtomicInteger position;

  SmoothWrrPicker(List<TrackedEndpoint> ready, int[] weights) {
    this.results = new PickResult[ready.size()];
    for (int i = 0; i < results.length; i++) {
      results[i] = PickResult.withSubchannel(ready.get(i).subchannel());
    }
    this.cycle = SmoothWeightedSchedule.cycle(weights);
    this.position = new AtomicInteger(ThreadLocalRandom.current().nextInt(cycle.length));
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    return results[cycle[Math.floorMod(position.getAndIncrement(), cycle.length)]];
  }

  @Override
  public String toString() {
    return "SmoothWrrPicker{endpoints=" + results.length + ", cycle=" + cycle.length + "}";
  }
}
