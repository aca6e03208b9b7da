package io.krpc.spring.example.server;

import io.krpc.examples.GreeterService;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.grpc.server.lifecycle.GrpcServerStartedEvent;

/**
 * A greeter server on Spring gRPC. Nothing KRPC-specific in the code: the starter registers the
 * server (greeter-server.properties) once it listens, and drains it on shutdown.
 */
@SpringBootApplication
public class GreeterServerApplication {
  private final AtomicReference<String> endpoint = new AtomicReference<>("?");

  @Bean
  GreeterService greeterService() {
    return new GreeterService(endpoint::get);
  }

  @Bean
  ApplicationListener<GrpcServerStartedEvent> endpointRecorder() {
    return event -> endpoint.set("port " + event.getPort());
  }

  public static void main(String[] args) {
    SpringApplication app = new SpringApplication(GreeterServerApplication.class);
    app.setDefaultProperties(java.util.Map.of("spring.config.name", "greeter-server"));
    app.run(args);
  }
}
