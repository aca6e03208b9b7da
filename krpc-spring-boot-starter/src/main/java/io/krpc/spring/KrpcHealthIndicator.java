package io.krpc.spring;

import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The {@code krpc} health contributor: registry connectivity in the details, and OUT_OF_SERVICE
 * while the server is drained. A registry that does not answer never makes it DOWN: the server
 * keeps serving through an etcd outage (the registry re-registers once etcd is back, and clients
 * keep their last known instances), so taking the application out of service for it would turn an
 * etcd outage into an outage of every service.
 */
public class KrpcHealthIndicator implements HealthIndicator {
  private final RegistryProbe probe;
  private final ObjectProvider<KrpcServerRegistration> server;

  KrpcHealthIndicator(RegistryProbe probe, ObjectProvider<KrpcServerRegistration> server) {
    this.probe = probe;
    this.server = server;
  }

  @Override
  public Health health(boolean includeDetails) {
    return health();
  }

  @Override
  public Health health() {
    Map<String, Object> registry = probe.describe();
    KrpcServerRegistration registration = server.getIfAvailable();
    Health.Builder health =
        registration != null && registration.isDrained() ? Health.outOfService() : Health.up();
    health.withDetail("registry", registry);
    if (registration != null) {
      health.withDetail("server", registration.describe());
    }
    return health.build();
  }
}
