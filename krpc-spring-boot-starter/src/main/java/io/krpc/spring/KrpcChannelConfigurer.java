package io.krpc.spring;

import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolver;
import io.krpc.HedgingPolicy;
import io.krpc.RetryPolicy;
import io.krpc.loadbalance.KrpcLoadBalancers;
import io.krpc.resolver.KrpcNameResolverProvider;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.grpc.client.autoconfigure.GrpcClientDefaultServiceConfigCustomizer;
import org.springframework.boot.grpc.client.autoconfigure.GrpcClientProperties;
import org.springframework.grpc.client.GrpcChannelBuilderCustomizer;

/**
 * Makes Spring gRPC channels KRPC channels: every channel gets the registry (so a {@code
 * krpc:///<service>} target resolves through it), and each channel named under {@code
 * krpc.client.<channel>} gets its load-balancing options, retry or hedging policy and client-side
 * health checking in its default service config.
 *
 * <p>Every {@code krpc.client.*} entry is checked when this bean is created, so a bad value fails
 * start-up even before the channel is first used; messages name the property and the value.
 */
final class KrpcChannelConfigurer<T extends ManagedChannelBuilder<T>>
    implements GrpcChannelBuilderCustomizer<T>, GrpcClientDefaultServiceConfigCustomizer {

  private final WatchedRegistry registry;
  private final GrpcClientProperties grpcClientProperties;
  private final Map<String, Map<String, Object>> serviceConfigs = new LinkedHashMap<>();
  private final Map<String, Map<String, Object>> usedChannels = new ConcurrentHashMap<>();

  KrpcChannelConfigurer(
      WatchedRegistry registry,
      KrpcProperties properties,
      GrpcClientProperties grpcClientProperties) {
    this.registry = registry;
    this.grpcClientProperties = grpcClientProperties;
    properties
        .getClient()
        .forEach(
            (channel, options) -> serviceConfigs.put(channel, serviceConfig(channel, options)));
  }

  @Override
  public void customize(String channel, T builder) {
    builder.setNameResolverArg(KrpcNameResolverProvider.REGISTRY, registry);
    Map<String, Object> described = new LinkedHashMap<>();
    described.put("target", target(channel));
    described.put("loadBalancingPolicy", policy(channel));
    Map<String, Object> config = serviceConfigs.get(channel);
    if (config != null) {
      described.put("serviceConfig", config);
      if (config.containsKey("methodConfig")) {
        builder.enableRetry();
      }
    }
    usedChannels.put(channel, described);
  }

  @Override
  public void customize(String channel, Map<String, Object> defaultServiceConfig) {
    Map<String, Object> config = serviceConfigs.get(channel);
    if (config == null) {
      return;
    }
    for (Map.Entry<String, Object> entry : config.entrySet()) {
      Object existing = defaultServiceConfig.get(entry.getKey());
      if (existing != null && !existing.equals(entry.getValue())) {
        throw new IllegalStateException(
            "krpc.client."
                + channel
                + " sets "
                + entry.getKey()
                + " to "
                + entry.getValue()
                + " but spring.grpc.client.channel."
                + channel
                + " already sets it to "
                + existing
                + " (expected: one of them)");
      }
      defaultServiceConfig.put(entry.getKey(), entry.getValue());
    }
  }

  /** The services the channels watch, with their instance counts, for the actuator. */
  Map<String, Object> watchedServices() {
    return registry.describe();
  }

  /** The channels created so far, with their target and policy, for the actuator. */
  Map<String, Object> describe() {
    return new TreeMap<>(usedChannels);
  }

  private String target(String channel) {
    GrpcClientProperties.Channel properties = grpcClientProperties.getChannel().get(channel);
    return properties != null ? properties.getTarget() : channel;
  }

  private String policy(String channel) {
    GrpcClientProperties.Channel properties = grpcClientProperties.getChannel().get(channel);
    if (properties == null) {
      properties = grpcClientProperties.getChannel().get("default");
    }
    return properties != null ? properties.getDefault().getLoadBalancingPolicy() : "round_robin";
  }

  private Map<String, Object> serviceConfig(String channel, KrpcProperties.Channel options) {
    String prefix = "krpc.client." + channel + ".";
    Map<String, Object> config = new LinkedHashMap<>();
    Map<String, Object> lbOptions = new LinkedHashMap<>();
    putDuration(lbOptions, "decayTime", options.getDecayTime());
    putDuration(lbOptions, "forcePickInterval", options.getForcePickInterval());
    putDuration(lbOptions, "slowStart", options.getSlowStart());
    if (!lbOptions.isEmpty()) {
      String policy = policy(channel);
      String policyProperty =
          "spring.grpc.client.channel."
              + channel
              + ".default.load-balancing-policy: '"
              + policy
              + "'";
      if (!policy.equals(KrpcLoadBalancers.P2C) && !policy.equals(KrpcLoadBalancers.WRR)) {
        throw new IllegalStateException(
            prefix
                + "*: "
                + lbOptions
                + " with "
                + policyProperty
                + " (expected: krpc_p2c or krpc_wrr, the policies these options belong to)");
      }
      if (policy.equals(KrpcLoadBalancers.WRR)
          && (options.getDecayTime() != null || options.getForcePickInterval() != null)) {
        throw new IllegalStateException(
            prefix
                + "decay-time / "
                + prefix
                + "force-pick-interval with "
                + policyProperty
                + " (expected: krpc_p2c; krpc_wrr "
                + "takes only slow-start)");
      }
      LoadBalancerProvider provider = LoadBalancerRegistry.getDefaultRegistry().getProvider(policy);
      if (provider == null) {
        throw new IllegalStateException(
            policyProperty
                + " is not registered (expected: "
                + "krpc-loadbalance on the class path)");
      }
      NameResolver.ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(lbOptions);
      if (parsed.getError() != null) {
        throw new IllegalStateException(
            prefix
                + "*: "
                + lbOptions
                + " do not fit "
                + policy
                + " (set by spring.grpc.client.channel."
                + channel
                + ".default.load-balancing-policy): "
                + parsed.getError().getDescription());
      }
      config.put("loadBalancingConfig", List.of(Map.of(policy, lbOptions)));
    }
    KrpcProperties.Retry retry = options.getRetry();
    KrpcProperties.Hedging hedging = options.getHedging();
    if (retry.getMaxAttempts() != null && hedging.getMaxAttempts() != null) {
      throw new IllegalStateException(
          prefix
              + "retry.max-attempts: "
              + retry.getMaxAttempts()
              + " and "
              + prefix
              + "hedging.max-attempts: "
              + hedging.getMaxAttempts()
              + " (expected: at most one of retry and hedging)");
    }
    Map<String, Object> methodConfig = new LinkedHashMap<>();
    methodConfig.put("name", List.of(Map.of()));
    if (retry.getMaxAttempts() != null) {
      RetryPolicy policy;
      try {
        policy =
            RetryPolicy.builder()
                .maxAttempts(retry.getMaxAttempts())
                .initialBackoff(retry.getInitialBackoff())
                .maxBackoff(retry.getMaxBackoff())
                .backoffMultiplier(retry.getBackoffMultiplier())
                .retryableCodes(retry.getRetryableCodes().toArray(io.grpc.Status.Code[]::new))
                .build();
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new IllegalStateException(prefix + "retry.*: " + e.getMessage(), e);
      }
      methodConfig.put("retryPolicy", policy.toServiceConfig());
      config.put("methodConfig", List.of(methodConfig));
    } else if (hedging.getMaxAttempts() != null) {
      HedgingPolicy policy;
      try {
        policy =
            HedgingPolicy.builder()
                .maxAttempts(hedging.getMaxAttempts())
                .hedgingDelay(hedging.getHedgingDelay())
                .nonFatalCodes(hedging.getNonFatalCodes().toArray(io.grpc.Status.Code[]::new))
                .build();
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new IllegalStateException(prefix + "hedging.*: " + e.getMessage(), e);
      }
      methodConfig.put("hedgingPolicy", policy.toServiceConfig());
      config.put("methodConfig", List.of(methodConfig));
    }
    if (options.getHealthCheckService() != null) {
      config.put("healthCheckConfig", Map.of("serviceName", options.getHealthCheckService()));
    }
    return config;
  }

  private static void putDuration(Map<String, Object> map, String key, @Nullable Duration value) {
    if (value != null) {
      map.put(key, value.toMillis() + "ms");
    }
  }
}
