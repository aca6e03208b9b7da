package io.krpc.loadbalance;

import io.grpc.LoadBalancer;
import io.grpc.protobuf.services.HealthCheckingLoadBalancerUtil;
import java.util.function.Function;

/**
 * Names of the load-balancing policies this module registers with grpc-java's {@link
 * io.grpc.LoadBalancerRegistry} through {@link java.util.ServiceLoader}.
 *
 * <pre>{@code
 * ManagedChannel channel =
 *     ManagedChannelBuilder.forTarget("etcd://127.0.0.1:2379/greeter")
 *         .defaultLoadBalancingPolicy(KrpcLoadBalancers.P2C)
 *         .build();
 * }</pre>
 *
 * <p>Either policy may also be chosen, with a JSON config, from a service config: {@code
 * {"loadBalancingConfig": [{"krpc_p2c": {"decayTime": "10s", "slowStart": "30s"}}]}}.
 *
 * <p>Config keys of {@value #P2C}: {@code decayTime} (default 10 s, &gt; 0; the success rate's
 * decay and the longest latency decay), {@code forcePickInterval} (default 1 s, 0 disables) and
 * {@code slowStart} (default 0, off). Config keys of {@value #WRR}: {@code slowStart}. Durations
 * are strings such as {@code "10s"}, {@code "1.5s"} or {@code "250ms"}, or JSON numbers of seconds.
 * Unknown keys and bad values are rejected.
 *
 * <p>This class only holds constants and is safe to use from any thread.
 */
public final class KrpcLoadBalancers {

  /**
   * Power of two choices over READY endpoints, comparing a latency EWMA (decaying over ten of the
   * endpoint's own latencies, at most {@code decayTime}) × the calls in flight beyond the fleet's
   * mean per endpoint, divided by a success-rate EWMA.
   */
  public static final String P2C = "krpc_p2c";

  /**
   * Smooth (nginx-style) weighted round robin over {@link EndpointAttributes#WEIGHT}, default
   * {@value EndpointAttributes#DEFAULT_WEIGHT}.
   */
  public static final String WRR = "krpc_wrr";

  private KrpcLoadBalancers() {}

  /**
   * Wraps a policy in grpc's client-side health checking, which stays out of the way unless the
   * service config has a {@code healthCheckConfig}; then a server reporting anything but SERVING
   * counts as not READY.
   */
  static LoadBalancer withHealthChecking(
      LoadBalancer.Helper helper, Function<LoadBalancer.Helper, LoadBalancer> policy) {
    return HealthCheckingLoadBalancerUtil.newHealthCheckingLoadBalancer(
        new LoadBalancer.Factory() {
          @Override
          public LoadBalancer newLoadBalancer(LoadBalancer.Helper wrapped) {
            return policy.apply(wrapped);
          }
        },
        helper);
  }
}
