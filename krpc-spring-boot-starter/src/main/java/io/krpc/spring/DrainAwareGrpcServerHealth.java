package io.krpc.spring;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.grpc.server.health.GrpcServerHealth;
import org.springframework.boot.grpc.server.health.HealthCheckedGrpcComponents;
import org.springframework.boot.health.registry.HealthContributorRegistry;
import org.springframework.boot.health.registry.ReactiveHealthContributorRegistry;

/**
 * Spring gRPC's health push, except that it reports NOT_SERVING for everything while the KRPC
 * server is drained: Spring's scheduler calls {@link #update} every few seconds and would otherwise
 * turn a drained server SERVING again.
 */
final class DrainAwareGrpcServerHealth extends GrpcServerHealth {
  private final ObjectProvider<KrpcServerRegistration> registration;

  DrainAwareGrpcServerHealth(
      HealthContributorRegistry registry,
      @Nullable ReactiveHealthContributorRegistry fallbackRegistry,
      HealthCheckedGrpcComponents components,
      ObjectProvider<KrpcServerRegistration> registration) {
    super(registry, fallbackRegistry, components);
    this.registration = registration;
  }

  @Override
  public void update(BiConsumer<String, ServingStatus> updater) {
    super.update(
        (service, status) -> {
          KrpcServerRegistration server = registration.getIfAvailable();
          updater.accept(
              service, server != null && server.isDrained() ? ServingStatus.NOT_SERVING : status);
        });
  }
}
