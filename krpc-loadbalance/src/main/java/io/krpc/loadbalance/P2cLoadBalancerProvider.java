package io.krpc.loadbalance;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.NameResolver.ConfigOrError;
import io.krpc.loadbalance.internal.P2cConfig;
import io.krpc.loadbalance.internal.P2cLoadBalancer;
import java.util.Map;

/**
 * Provides the {@value KrpcLoadBalancers#P2C} policy: power of two choices on a latency EWMA,
 * in-flight calls and success rate. Found by {@link java.util.ServiceLoader}; users select it by
 * name and never construct it.
 *
 * <pre>{@code
 * ManagedChannelBuilder.forTarget(target).defaultLoadBalancingPolicy("krpc_p2c");
 * }</pre>
 *
 * <p>JSON config keys (all optional): {@code decayTime} (default {@code "10s"}, must be &gt; 0),
 * {@code forcePickInterval} (default {@code "1s"}, {@code 0} disables forced picks), {@code
 * slowStart} (default {@code 0}, off). See {@link KrpcLoadBalancers} for the duration syntax.
 *
 * <p>Thread-safe and stateless; each {@link #newLoadBalancer} result follows grpc-java's {@link
 * LoadBalancer} threading contract (it is driven from the channel's SynchronizationContext).
 */
public final class P2cLoadBalancerProvider extends LoadBalancerProvider {

  /** Called by {@link java.util.ServiceLoader}. */
  public P2cLoadBalancerProvider() {}

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int getPriority() {
    return 5;
  }

  @Override
  public String getPolicyName() {
    return KrpcLoadBalancers.P2C;
  }

  /** Returns the policy wrapped in grpc's client-side health checking (off unless configured). */
  @Override
  public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
    return KrpcLoadBalancers.withHealthChecking(helper, P2cLoadBalancer::new);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    return P2cConfig.parse(rawConfig);
  }
}
