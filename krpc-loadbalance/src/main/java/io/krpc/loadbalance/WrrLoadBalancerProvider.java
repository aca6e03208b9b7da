package io.krpc.loadbalance;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.NameResolver.ConfigOrError;
import io.krpc.loadbalance.internal.WrrConfig;
import io.krpc.loadbalance.internal.WrrLoadBalancer;
import java.util.Map;

/**
 * Provides the {@value KrpcLoadBalancers#WRR} policy: smooth (nginx-style) weighted round robin
 * over the weight each address group carries in {@link EndpointAttributes#WEIGHT} (default {@value
 * EndpointAttributes#DEFAULT_WEIGHT}). Found by {@link java.util.ServiceLoader}; users select it by
 * name and never construct it.
 *
 * <pre>{@code
 * ManagedChannelBuilder.forTarget(target).defaultLoadBalancingPolicy("krpc_wrr");
 * }</pre>
 *
 * <p>JSON config keys (all optional): {@code slowStart} (default {@code 0}, off). See {@link
 * KrpcLoadBalancers} for the duration syntax.
 *
 * <p>Thread-safe and stateless; each {@link #newLoadBalancer} result follows grpc-java's {@link
 * LoadBalancer} threading contract (it is driven from the channel's SynchronizationContext).
 */
public final class WrrLoadBalancerProvider extends LoadBalancerProvider {

  /** Called by {@link java.util.ServiceLoader}. */
  public WrrLoadBalancerProvider() {}

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
    return KrpcLoadBalancers.WRR;
  }

  /** Returns the policy wrapped in grpc's client-side health checking (off unless configured). */
  @Override
  public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
    return KrpcLoadBalancers.withHealthChecking(helper, WrrLoadBalancer::new);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    return WrrConfig.parse(rawConfig);
  }
}
