package io.krpc.spring;

import io.grpc.BindableService;
import io.grpc.protobuf.services.HealthStatusManager;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.grpc.server.autoconfigure.GrpcServerAutoConfiguration;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.grpc.server.lifecycle.GrpcServerStartedEvent;

/**
 * Registers the Spring gRPC server in the registry as {@code krpc.server.service-name} (default
 * {@code spring.application.name}) and drains it on shutdown; see {@link KrpcServerRegistration}.
 */
@AutoConfiguration(after = {KrpcRegistryAutoConfiguration.class, GrpcServerAutoConfiguration.class})
@ConditionalOnClass({GrpcServerStartedEvent.class, BindableService.class})
@ConditionalOnBean(BindableService.class)
@ConditionalOnBooleanProperty(name = "spring.grpc.server.enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = "krpc.server.enabled", matchIfMissing = true)
public class KrpcServerAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  KrpcServerRegistration krpcServerRegistration(
      ApplicationContext context,
      Registry registry,
      KrpcProperties properties,
      Environment environment,
      ObjectProvider<HealthStatusManager> healthStatusManager) {
    String serviceName = serviceName(properties, environment);
    return new KrpcServerRegistration(
        context, registry, properties.getServer(), serviceName, healthStatusManager);
  }

  static String serviceName(KrpcProperties properties, Environment environment) {
    String name = properties.getServer().getServiceName();
    if (name != null) {
      return name;
    }
    String application = environment.getProperty("spring.application.name");
    if (application == null || application.isBlank()) {
      throw new IllegalStateException(
          "krpc.server.service-name: not set and "
              + "spring.application.name: not set (expected: one of them, the name clients "
              + "discover this server by; or krpc.server.enabled=false)");
    }
    try {
      return ServiceInstance.checkServiceName(application);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          "spring.application.name: '"
              + application
              + "' is not a valid KRPC service name ("
              + e.getMessage()
              + "); set krpc.server.service-name",
          e);
    }
  }
}
