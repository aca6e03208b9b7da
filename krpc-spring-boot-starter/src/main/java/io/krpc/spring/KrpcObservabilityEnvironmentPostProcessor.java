package io.krpc.spring;

import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Makes one of KRPC and Spring gRPC measure the calls, never both. With {@code
 * krpc.observability=krpc} (the default) it switches Spring gRPC's observation interceptors off by
 * default ({@code spring.grpc.server.observation.enabled} and {@code
 * spring.grpc.client.observation.enabled} false, as the lowest-precedence property source, so an
 * explicit setting still wins and then fails start-up as a conflict). With {@code
 * krpc.observability=spring} it does nothing and KRPC installs no metrics or tracing interceptor.
 */
public final class KrpcObservabilityEnvironmentPostProcessor implements EnvironmentPostProcessor {
  static final String SOURCE_NAME = "krpcObservabilityDefaults";

  @Override
  public void postProcessEnvironment(
      ConfigurableEnvironment environment, SpringApplication application) {
    String observability = environment.getProperty("krpc.observability", "krpc");
    if (!observability.equalsIgnoreCase("krpc")
        || environment.getPropertySources().contains(SOURCE_NAME)) {
      return;
    }
    environment
        .getPropertySources()
        .addLast(
            new MapPropertySource(
                SOURCE_NAME,
                Map.of(
                    "spring.grpc.server.observation.enabled", "false",
                    "spring.grpc.client.observation.enabled", "false")));
  }
}
