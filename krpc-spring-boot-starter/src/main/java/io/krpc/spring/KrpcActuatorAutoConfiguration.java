package io.krpc.spring;

import io.krpc.registry.Registry;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** The {@code /actuator/krpc} endpoint and the {@code krpc} health indicator. */
@AutoConfiguration(
    after = {
      KrpcRegistryAutoConfiguration.class,
      KrpcServerAutoConfiguration.class,
      KrpcClientAutoConfiguration.class
    })
public class KrpcActuatorAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  RegistryProbe krpcRegistryProbe(
      Registry registry, KrpcProperties properties, Environment environment) {
    List<String> endpoints =
        registry instanceof io.krpc.registry.etcd.EtcdRegistry
            ? properties.getRegistry().getEtcd().getEndpoints()
            : List.of();
    String probeService =
        properties.getServer().getServiceName() != null
            ? properties.getServer().getServiceName()
            : environment.getProperty("spring.application.name", "krpc-probe");
    if (!probeService.matches("[a-zA-Z0-9._-]+")) {
      probeService = "krpc-probe";
    }
    return new RegistryProbe(registry, probeService, endpoints);
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(Endpoint.class)
  static class EndpointConfiguration {
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnAvailableEndpoint
    KrpcEndpoint krpcEndpoint(
        Registry registry,
        RegistryProbe probe,
        ObjectProvider<KrpcServerRegistration> server,
        ObjectProvider<KrpcChannelConfigurer<?>> channels) {
      return new KrpcEndpoint(registry, probe, server, channels);
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthIndicator.class)
  static class HealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "krpcHealthIndicator")
    @ConditionalOnEnabledHealthIndicator("krpc")
    KrpcHealthIndicator krpcHealthIndicator(
        RegistryProbe probe, ObjectProvider<KrpcServerRegistration> server) {
      return new KrpcHealthIndicator(probe, server);
    }
  }
}
