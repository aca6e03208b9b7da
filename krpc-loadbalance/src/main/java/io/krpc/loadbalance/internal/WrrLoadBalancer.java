package io.krpc.loadbalance.internal;

import io.grpc.Deadline;
import io.krpc.loadbalance.KrpcLoadBalancers;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The {@value KrpcLoadBalancers#WRR} load balancer: smooth weighted round robin over the READY
 * endpoints' {@link io.krpc.loadbalance.EndpointAttributes#WEIGHT}s. A new resolution with other
 * weights for the same addresses only rebuilds the picker; subchannels are kept. Under slow start
 * an endpoint's weight is multiplied by its ramp factor; all weights are first scaled by {@value
 * EndpointSetLoadBalancer#RAMP_STEPS} so that even weight 1 ramps in steps (the schedule divides
 * the common factor out again).
 *
 * <p>Threading: grpc-java's {@code LoadBalancer} contract, as described in {@link
 * EndpointSetLoadBalancer}: all methods run in the channel's SynchronizationContext.
 */
public final class WrrLoadBalancer extends EndpointSetLoadBalancer {

  /** Creates a balancer reading time from the system ticker. */
  public WrrLoadBalancer(Helper helper) {
    this(helper, Deadline.getSystemTicker());
  }

  /** Creates a balancer reading time from {@code ticker}, a fake one in tests. */
  public WrrLoadBalancer(Helper helper, Deadline.Ticker ticker) {
    super(helper, KrpcLoadBalancers.WRR, ticker);
  }

  @Override
  long configure(@Nullable Object policyConfig) {
    WrrConfig config =
        policyConfig instanceof WrrConfig ? (WrrConfig) policyConfig : WrrConfig.DEFAULT;
    return config.slowStartNanos;
  }

  @Override
  SubchannelPicker newReadyPicker(List<TrackedEndpoint> ready, long nowNanos) {
    int[] weights = new int[ready.size()];
    for (int i = 0; i < weights.length; i++) {
      TrackedEndpoint endpoint = ready.get(i);
      double factor = slowStartFactor(endpoint, nowNanos);
      weights[i] = Math.max(1, (int) Math.round(endpoint.weight() * factor * RAMP_STEPS));
    }
    return new SmoothWrrPicker(ready, weights);
  }
}
