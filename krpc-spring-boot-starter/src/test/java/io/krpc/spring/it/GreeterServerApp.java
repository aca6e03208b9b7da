package io.krpc.spring.it;

import io.grpc.Server;
import io.krpc.examples.GreeterService;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.grpc.server.lifecycle.GrpcServerStartedEvent;

/** A Boot greeter server: the examples' GreeterService as a Spring gRPC service, nothing else. */
@SpringBootConfiguration
@EnableAutoConfiguration
public class GreeterServerApp {

  @Bean
  StartedServer startedServer() {
    return new StartedServer();
  }

  @Bean
  GreeterService greeterService(StartedServer started) {
    return new GreeterService(started::endpoint);
  }

  /** The server Spring gRPC started, as its started event reported it. */
  static final class StartedServer implements ApplicationListener<GrpcServerStartedEvent> {
    private volatile Server server;
    private volatile String endpoint = "?";

    @Override
    public void onApplicationEvent(GrpcServerStartedEvent event) {
      server = event.getServer();
      endpoint = "127.0.0.1:" + event.getPort();
    }

    Server server() {
      return server;
    }

    String endpoint() {
      return endpoint;
    }
  }
}
