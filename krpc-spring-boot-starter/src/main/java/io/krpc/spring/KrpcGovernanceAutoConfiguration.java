package io.krpc.spring;

import io.grpc.BindableService;
import io.grpc.ClientInterceptor;
import io.grpc.ServerInterceptor;
import io.krpc.interceptor.client.AdaptiveThrottlingInterceptor;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.interceptor.client.ClientMetricsInterceptor;
import io.krpc.interceptor.client.ClientTracingInterceptor;
import io.krpc.interceptor.client.TimeoutInterceptor;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import io.krpc.interceptor.server.ServerMetricsInterceptor;
import io.krpc.interceptor.server.ServerTracingInterceptor;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.grpc.client.GlobalClientInterceptor;
import org.springframework.grpc.server.GlobalServerInterceptor;

/**
 * KRPC's governance as Spring gRPC global interceptors, configured by {@code krpc.governance.*}.
 * Each bean backs off when the application defines one of the same name.
 *
 * <p>Order, outermost first (Spring gRPC sorts global interceptors by {@code @Order}):
 *
 * <ul>
 *   <li>server: tracing (100), prpc_server_* metrics (200), adaptive limiter (300), rate limits
 *       (400), then Spring gRPC's exception handler (innermost);
 *   <li>client: tracing (100), prpc_client_* metrics (200), default timeout and slow-call log
 *       (300), circuit breaker (400), adaptive throttling (500).
 * </ul>
 *
 * Metrics and tracing are installed only when {@code krpc.observability=krpc} (the default), in
 * which case Spring gRPC's observation interceptors are off; see {@link
 * KrpcObservabilityEnvironmentPostProcessor}. Metrics go to the application's {@link
 * MeterRegistry}, so {@code /actuator/prometheus} shows the prpc_* meters.
 */
@AutoConfiguration(after = KrpcRegistryAutoConfiguration.class)
@ConditionalOnClass({GlobalServerInterceptor.class, ServerInterceptor.class})
public class KrpcGovernanceAutoConfiguration {
  static final int TRACING_ORDER = 100;
  static final int METRICS_ORDER = 200;
  static final int ADAPTIVE_LIMIT_ORDER = 300;
  static final int RATE_LIMIT_ORDER = 400;
  static final int TIMEOUT_ORDER = 300;
  static final int CIRCUIT_BREAKER_ORDER = 400;
  static final int THROTTLING_ORDER = 500;

  private static final String KRPC_OBSERVABILITY =
      "'${krpc.observability:krpc}'.equalsIgnoreCase('krpc')";

  KrpcGovernanceAutoConfiguration(KrpcProperties properties, Environment environment) {
    if (properties.getObservability() == KrpcProperties.Observability.KRPC) {
      for (String side : new String[] {"server", "client"}) {
        String property = "spring.grpc." + side + ".observation.enabled";
        if (Boolean.TRUE.equals(environment.getProperty(property, Boolean.class))) {
          throw new IllegalStateException(
              property
                  + ": true with krpc.observability: krpc "
                  + "(expected: one of them, or every call is measured twice; set "
                  + "krpc.observability=spring to keep Spring's observation interceptors)");
        }
      }
    }
  }

  static MeterRegistry meterRegistry(ObjectProvider<MeterRegistry> meterRegistry) {
    return meterRegistry.getIfUnique(() -> Metrics.globalRegistry);
  }

  static OpenTelemetry openTelemetry(ObjectProvider<OpenTelemetry> openTelemetry) {
    return openTelemetry.getIfUnique(GlobalOpenTelemetry::get);
  }

  /** Server-side governance; only in an application that serves gRPC. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnBean(BindableService.class)
  @ConditionalOnBooleanProperty(name = "spring.grpc.server.enabled", matchIfMissing = true)
  static class Server {

    @Bean
    @GlobalServerInterceptor
    @Order(TRACING_ORDER)
    @ConditionalOnExpression(KRPC_OBSERVABILITY)
    @ConditionalOnBooleanProperty(name = "krpc.governance.tracing", matchIfMissing = true)
    @ConditionalOnMissingBean(name = "krpcServerTracingInterceptor")
    ServerInterceptor krpcServerTracingInterceptor(ObjectProvider<OpenTelemetry> openTelemetry) {
      return ServerTracingInterceptor.create(openTelemetry(openTelemetry));
    }

    @Bean
    @GlobalServerInterceptor
    @Order(METRICS_ORDER)
    @ConditionalOnExpression(KRPC_OBSERVABILITY)
    @ConditionalOnBooleanProperty(name = "krpc.governance.metrics", matchIfMissing = true)
    @ConditionalOnMissingBean(name = "krpcServerMetricsInterceptor")
    ServerInterceptor krpcServerMetricsInterceptor(
        ObjectProvider<MeterRegistry> meterRegistry,
        KrpcProperties properties,
        Environment environment) {
      String server =
          properties.getServer().getServiceName() != null
              ? properties.getServer().getServiceName()
              : environment.getProperty("spring.application.name", "unknown");
      return ServerMetricsInterceptor.create(meterRegistry(meterRegistry), server);
    }

    @Bean
    @GlobalServerInterceptor
    @Order(ADAPTIVE_LIMIT_ORDER)
    @ConditionalOnBooleanProperty(name = "krpc.governance.adaptive-limit.enabled")
    @ConditionalOnMissingBean(name = "krpcAdaptiveLimitInterceptor")
    ServerInterceptor krpcAdaptiveLimitInterceptor(
        KrpcProperties properties, ObjectProvider<MeterRegistry> meterRegistry) {
      return AdaptiveLimitInterceptor.builder()
          .cpuThreshold(properties.getGovernance().getAdaptiveLimit().getCpuThreshold())
          .meterRegistry(meterRegistry(meterRegistry))
          .build();
    }

    @Bean
    @GlobalServerInterceptor
    @Order(RATE_LIMIT_ORDER)
    @Conditional(OnRateLimits.class)
    @ConditionalOnMissingBean(name = "krpcRateLimitInterceptor")
    ServerInterceptor krpcRateLimitInterceptor(KrpcProperties properties) {
      Map<String, RateLimitConfig> perMethod = new LinkedHashMap<>();
      properties
          .getGovernance()
          .getRateLimit()
          .forEach(
              (method, limit) ->
                  perMethod.put(
                      method,
                      new RateLimitConfig(
                          limit.getCapacity(), limit.getTokensPerSecond(), limit.getMaxWait())));
      try {
        return RateLimitInterceptor.of(perMethod);
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException(
            "krpc.governance.rate-limit: "
                + perMethod.keySet()
                + " ("
                + e.getMessage()
                + "; expected keys: full method names package.Service/Method)",
            e);
      }
    }
  }

  /** Client-side governance, for every Spring gRPC channel. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(GlobalClientInterceptor.class)
  @ConditionalOnBooleanProperty(name = "spring.grpc.client.enabled", matchIfMissing = true)
  static class Client {

    @Bean
    @GlobalClientInterceptor
    @Order(TRACING_ORDER)
    @ConditionalOnExpression(KRPC_OBSERVABILITY)
    @ConditionalOnBooleanProperty(name = "krpc.governance.tracing", matchIfMissing = true)
    @ConditionalOnMissingBean(name = "krpcClientTracingInterceptor")
    ClientInterceptor krpcClientTracingInterceptor(ObjectProvider<OpenTelemetry> openTelemetry) {
      return ClientTracingInterceptor.create(openTelemetry(openTelemetry));
    }

    @Bean
    @GlobalClientInterceptor
    @Order(METRICS_ORDER)
    @ConditionalOnExpression(KRPC_OBSERVABILITY)
    @ConditionalOnBooleanProperty(name = "krpc.governance.metrics", matchIfMissing = true)
    @ConditionalOnMissingBean(name = "krpcClientMetricsInterceptor")
    ClientInterceptor krpcClientMetricsInterceptor(ObjectProvider<MeterRegistry> meterRegistry) {
      MeterRegistry registry = meterRegistry(meterRegistry);
      return new PerTargetClientInterceptor(
          "metrics", target -> ClientMetricsInterceptor.create(registry, target));
    }

    @Bean
    @GlobalClientInterceptor
    @Order(TIMEOUT_ORDER)
    @ConditionalOnExpression(
        "'${krpc.governance.timeout.default-deadline:}' != '' "
            + "or '${krpc.governance.timeout.slow-threshold:}' != ''")
    @ConditionalOnMissingBean(name = "krpcTimeoutInterceptor")
    ClientInterceptor krpcTimeoutInterceptor(KrpcProperties properties) {
      KrpcProperties.Timeout timeout = properties.getGovernance().getTimeout();
      TimeoutInterceptor.Builder builder = TimeoutInterceptor.builder();
      if (timeout.getDefaultDeadline() != null) {
        builder.defaultDeadline(timeout.getDefaultDeadline());
      }
      if (timeout.getSlowThreshold() != null) {
        builder.slowThreshold(timeout.getSlowThreshold());
      }
      return builder.build();
    }

    @Bean
    @GlobalClientInterceptor
    @Order(CIRCUIT_BREAKER_ORDER)
    @ConditionalOnBooleanProperty(name = "krpc.governance.circuit-breaker.enabled")
    @ConditionalOnMissingBean(name = "krpcCircuitBreakerInterceptor")
    ClientInterceptor krpcCircuitBreakerInterceptor(
        KrpcProperties properties, ObjectProvider<MeterRegistry> meterRegistry) {
      KrpcProperties.CircuitBreaker breaker = properties.getGovernance().getCircuitBreaker();
      MeterRegistry registry = meterRegistry(meterRegistry);
      return new PerTargetClientInterceptor(
          "circuit-breaker",
          target ->
              CircuitBreakerInterceptor.builder(target)
                  .gobreaker(
                      breaker.getMaxRequests(), breaker.getInterval(), breaker.getTimeout(), null)
                  .perMethod(breaker.isPerMethod())
                  .meterRegistry(registry)
                  .build());
    }

    @Bean
    @GlobalClientInterceptor
    @Order(THROTTLING_ORDER)
    @ConditionalOnBooleanProperty(name = "krpc.governance.throttling.enabled")
    @ConditionalOnMissingBean(name = "krpcThrottlingInterceptor")
    ClientInterceptor krpcThrottlingInterceptor(KrpcProperties properties) {
      double k = properties.getGovernance().getThrottling().getK();
      return new PerTargetClientInterceptor(
          "throttling", target -> AdaptiveThrottlingInterceptor.builder().k(k).build());
    }
  }

  /** Matches when at least one {@code krpc.governance.rate-limit.<method>} is configured. */
  static final class OnRateLimits implements Condition {
    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
      return Binder.get(context.getEnvironment())
          .bind("krpc.governance.rate-limit", Bindable.mapOf(String.class, Object.class))
          .map(map -> !map.isEmpty())
          .orElse(false);
    }
  }
}
