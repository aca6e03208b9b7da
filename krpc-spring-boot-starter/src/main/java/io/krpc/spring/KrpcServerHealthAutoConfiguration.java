package io.krpc.spring;

import io.grpc.BindableService;
import io.grpc.protobuf.services.HealthStatusManager;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.grpc.server.autoconfigure.health.GrpcServerHealthAutoConfiguration;
import org.springframework.boot.grpc.server.health.GrpcServerHealth;
import org.springframework.boot.grpc.server.health.HealthCheckedGrpcComponents;
import org.springframework.boot.health.registry.HealthContributorRegistry;
import org.springframework.boot.health.registry.ReactiveHealthContributorRegistry;
import org.springframework.context.annotation.Bean;

/**
 * Spring gRPC's health push ({@link GrpcServerHealth}), made drain-aware so that its periodic
 * update cannot undo a drain. It runs before Spring's own health auto-configuration, whose
 * {@code @ConditionalOnMissingBean} then backs off, and under the same conditions; there is still
 * exactly one health service, Spring's.
 */
@AutoConfiguration(
    before = GrpcServerHealthAutoConfiguration.class,
    afterName =
        "org.springframework.boot.health.autoconfigure.registry.HealthContributorRegistryAutoConfiguration")
@ConditionalOnClass({GrpcServerHealth.class, HealthStatusManager.class})
@ConditionalOnBean({BindableService.class, HealthContributorRegistry.class})
@ConditionalOnBooleanProperty(name = "spring.grpc.server.enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = "spring.grpc.server.health.enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = "krpc.server.enabled", matchIfMissing = true)
public class KrpcServerHealthAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  GrpcServerHealth grpcServerHealth(
      HealthContributorRegistry healthContributorRegistry,
      ObjectProvider<ReactiveHealthContributorRegistry> reactiveHealthContributorRegistry,
      HealthCheckedGrpcComponents healthCheckedGrpcComponents,
      ObjectProvider<KrpcServerRegistration> registration) {
    return new DrainAwareGrpcServerHealth(
        healthContributorRegistry,
        reactiveHealthContributorRegistry.getIfAvailable(),
        healthCheckedGrpcComponents,
        registration);
  }
}
