package io.krpc.spring.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/** Starts Boot applications on loopback with free ports, and talks HTTP to their actuators. */
final class Apps {
  private static final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private Apps() {}

  /** Properties every test app shares: free ports, loopback, fast health push, actuator open. */
  static List<String> common(String etcdEndpoints) {
    List<String> props =
        new ArrayList<>(
            List.of(
                "server.port=0",
                "server.address=127.0.0.1",
                "spring.grpc.server.port=0",
                "spring.grpc.server.address=127.0.0.1",
                "spring.grpc.server.health.schedule.period=200ms",
                "spring.grpc.server.health.schedule.delay=0s",
                "management.endpoints.web.exposure.include=health,krpc,prometheus",
                "management.endpoint.health.show-details=always",
                "krpc.server.host=127.0.0.1",
                "krpc.registry.etcd.request-timeout=2s",
                "krpc.registry.etcd.dial-timeout=2s"));
    if (etcdEndpoints != null) {
      props.add("krpc.registry.etcd.endpoints=" + etcdEndpoints);
    }
    return props;
  }

  static ConfigurableApplicationContext server(String etcd, String... extra) {
    List<String> props = common(etcd);
    props.add("spring.application.name=greeter");
    props.addAll(List.of(extra));
    return new SpringApplicationBuilder(GreeterServerApp.class)
        .properties(props.toArray(String[]::new))
        .run();
  }

  static ConfigurableApplicationContext client(String etcd, String... extra) {
    List<String> props = common(etcd);
    props.add("spring.application.name=greeter-client");
    props.add("spring.grpc.client.channel.greeter.target=krpc:///greeter");
    props.addAll(List.of(extra));
    return new SpringApplicationBuilder(GreeterClientApp.class)
        .properties(props.toArray(String[]::new))
        .run();
  }

  static int grpcPort(ConfigurableApplicationContext context) {
    return context.getBeansOfType(GrpcServerLifecycle.class).values().iterator().next().getPort();
  }

  static int httpPort(ConfigurableApplicationContext context) {
    return Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
  }

  static HttpResponse<String> get(ConfigurableApplicationContext context, String path)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(url(context, path)).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(ConfigurableApplicationContext context, String path)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(url(context, path))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static URI url(ConfigurableApplicationContext context, String path) {
    return URI.create("http://127.0.0.1:" + httpPort(context) + path);
  }

  static void close(ConfigurableApplicationContext context) {
    if (context != null) {
      SpringApplication.exit(context);
    }
  }
}
