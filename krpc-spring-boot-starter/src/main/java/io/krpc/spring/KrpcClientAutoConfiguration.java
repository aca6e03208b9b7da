package io.krpc.spring;

import io.grpc.ManagedChannelBuilder;
import io.krpc.registry.Registry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.grpc.client.autoconfigure.GrpcClientAutoConfiguration;
import org.springframework.boot.grpc.client.autoconfigure.GrpcClientProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.grpc.client.GrpcChannelBuilderCustomizer;

/**
 * Lets Spring gRPC channels discover through the registry bean: a channel whose target is {@code
 * krpc:///<service>} (for example {@code spring.grpc.client.channel.greeter.target}) resolves
 * through it, with the options of {@code krpc.client.<channel>.*}; see {@link
 * KrpcChannelConfigurer}.
 */
@AutoConfiguration(after = {KrpcRegistryAutoConfiguration.class, GrpcClientAutoConfiguration.class})
@ConditionalOnClass({GrpcChannelBuilderCustomizer.class, GrpcClientProperties.class})
@ConditionalOnBooleanProperty(name = "spring.grpc.client.enabled", matchIfMissing = true)
public class KrpcClientAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  <T extends ManagedChannelBuilder<T>> KrpcChannelConfigurer<T> krpcChannelConfigurer(
      Registry registry, KrpcProperties properties, GrpcClientProperties grpcClientProperties) {
    return new KrpcChannelConfigurer<>(
        new WatchedRegistry(registry), properties, grpcClientProperties);
  }
}
