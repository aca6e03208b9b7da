package io.krpc.spring.example;

import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.spring.example.client.GreeterClientApplication;
import io.krpc.spring.example.server.GreeterServerApplication;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two greeter server apps and one client app in one JVM: the client's calls spread over both
 * servers. Without {@code --etcd=URL} the three apps share one in-memory registry, handed to each
 * as its own {@code Registry} bean (an application's registry bean wins over the starter's); with
 * it, each app talks to that etcd as separate processes would.
 *
 * <pre>{@code ./mvnw -q -B -DskipTests -pl krpc-spring-boot-example -am package exec:java}</pre>
 */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) {
    @Nullable String etcd = null;
    int calls = 30;
    for (String arg : args) {
      if (arg.startsWith("--etcd=")) {
        etcd = arg.substring("--etcd=".length());
      } else if (arg.startsWith("--calls=")) {
        calls = Integer.parseInt(arg.substring("--calls=".length()));
      }
    }
    run(etcd, calls).values().forEach(SpringApplication::exit);
  }

  /** Starts the apps, runs the client's calls; returns the contexts, servers first. */
  public static Map<String, ConfigurableApplicationContext> run(@Nullable String etcd, int calls) {
    Registry shared = etcd == null ? new InMemoryRegistry() : null;
    Map<String, ConfigurableApplicationContext> apps = new LinkedHashMap<>();
    apps.put(
        "server-1",
        start(
            GreeterServerApplication.class,
            "greeter-server",
            shared,
            etcd,
            "spring.grpc.server.port=0",
            "server.port=0"));
    apps.put(
        "server-2",
        start(
            GreeterServerApplication.class,
            "greeter-server",
            shared,
            etcd,
            "spring.grpc.server.port=0",
            "server.port=0"));
    apps.put(
        "client",
        start(
            GreeterClientApplication.class,
            "greeter-client",
            shared,
            etcd,
            "server.port=0",
            "demo.calls=" + calls));
    return apps;
  }

  private static ConfigurableApplicationContext start(
      Class<?> app,
      String configName,
      @Nullable Registry shared,
      @Nullable String etcd,
      String... properties) {
    List<String> props = new ArrayList<>(List.of(properties));
    props.add("spring.config.name=" + configName);
    props.add("spring.main.banner-mode=off");
    props.add("krpc.server.host=127.0.0.1");
    if (etcd != null) {
      props.add("krpc.registry.etcd.endpoints=" + etcd);
    }
    // as command-line arguments, so they win over the application's properties file
    SpringApplicationBuilder builder = new SpringApplicationBuilder(app);
    if (shared != null) {
      builder.initializers(
          context -> context.getBeanFactory().registerSingleton("demoRegistry", shared));
    }
    return builder.run(props.stream().map(p -> "--" + p).toArray(String[]::new));
  }
}
