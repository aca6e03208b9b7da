package io.krpc.loadbalance.internal;

import io.grpc.Deadline;
import io.krpc.loadbalance.KrpcLoadBalancers;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The {@value KrpcLoadBalancers#P2C} load balancer: power of two choices over READY endpoints by
 * {@link EndpointLoad#cost}, with forced picks of idle endpoints and optional slow start. See
 * {@link P2cPicker} for the pick itself.
 *
 * <p>Threading: grpc-java's {@code LoadBalancer} contract, as described in {@link
 * EndpointSetLoadBalancer}: all methods run in the channel's SynchronizationContext.
 */
public final class P2cLoadBalancer extends EndpointSetLoadBalancer {

  private P2cConfig config = P2cConfig.DEFAULT;

  /** Creates a balancer reading time from the system ticker. */
  public P2cLoadBalancer(Helper helper) {
    this(helper, Deadline.getSystemTicker());
  }

  /** Creates a balancer reading time from {@code ticker}, a fake one in tests. */
  public P2cLoadBalancer(Helper helper, Deadline.Ticker ticker) {
    super(helper, KrpcLoadBalancers.P2C, ticker);
  }

  @Override
  long configure(@Nullable Object policyConfig) {
    config = policyConfig instanceof P2cConfig ? (P2cConfig) policyConfig : P2cConfig.DEFAULT;
    return config.slowStartNanos;
  }

  @Override
  SubchannelPicker newReadyPicker(List<TrackedEndpoint> ready, long nowNanos) {
    double[] factors = new double[ready.size()];
    for (int i = 0; i < factors.length; i++) {
      factors[i] = slowStartFactor(ready.get(i), nowNanos);
    }
    return new P2cPicker(ready, factors, ticker, config);
  }
}
