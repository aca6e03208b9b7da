package io.krpc.spring.example;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.registry.Registry;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/** The demo as the README runs it: both Boot servers registered, the client's calls reach both. */
class DemoTest {

  @Test
  void clientCallsSpreadOverBothServers() {
    Map<String, ConfigurableApplicationContext> apps = Demo.run(null, 20);
    try {
      Registry registry = apps.get("client").getBean(Registry.class);
      assertThat(registry.lookup("greeter")).hasSize(2);
      io.krpc.examples.greeter.GreeterGrpc.GreeterBlockingStub greeter =
          apps.get("client")
              .getBean(io.krpc.examples.greeter.GreeterGrpc.GreeterBlockingStub.class);
      java.util.Set<String> servers = new java.util.HashSet<>();
      // krpc_p2c favours the faster server, but forces a pick of one left alone for 1 s
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
      while (servers.size() < 2 && System.nanoTime() < deadline) {
        servers.add(
            greeter
                .sayHello(
                    io.krpc.examples.greeter.HelloRequest.newBuilder().setName("test").build())
                .getServer());
      }
      assertThat(servers).hasSize(2);
    } finally {
      apps.values().forEach(SpringApplication::exit);
    }
  }
}
