package io.krpc.examples;

import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The KRPC demo: starts three greeter KServers registered in a registry, calls them through one
 * KClient, prints how the calls spread over the servers, and shuts everything down gracefully.
 *
 * <p>Needs nothing installed: by default it uses the in-memory registry. With {@code
 * --etcd=http://127.0.0.1:2379} it uses a running etcd instead. Other options: {@code --calls=N}
 * (default 300), {@code --lb=POLICY} (default round_robin).
 */
public final class Demo {
  private Demo() {}

  /** Runs the demo; see the class javadoc for its options. */
  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    try (Registry registry = options.registry()) {
      List<KServer> servers = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          servers.add(startServer(registry, i));
        }
        System.out.printf(
            "Started %d greeter servers on ports %s (registry: %s)%n",
            servers.size(), servers.stream().map(KServer::port).toList(), options.registryName());
        try (KClient client =
            KClient.forService("greeter").registry(registry).loadBalancing(options.lb).build()) {
          callAndPrintSpread(client, options.calls);
        }
      } finally {
        System.out.println("Shutting down the servers gracefully...");
        servers.forEach(KServer::close);
      }
    }
    System.out.println("Done.");
  }

  private static KServer startServer(Registry registry, int index) {
    // Port 0 picks a free port; the greeter learns its endpoint once bound, so it reads it lazily.
    EndpointHolder endpoint = new EndpointHolder();
    KServer server =
        KServer.builder()
            .serviceName("greeter")
            .host("127.0.0.1")
            .port(0)
            .weight(100)
            .metadata(Map.of("zone", "demo-" + index))
            .registry(registry)
            .deregisterDelay(Duration.ofMillis(200))
            .addService(new GreeterService(() -> endpoint.value))
            .start();
    endpoint.value = server.instance().endpoint();
    return server;
  }

  private static void callAndPrintSpread(KClient client, int calls) {
    GreeterGrpc.GreeterBlockingStub stub =
        GreeterGrpc.newBlockingStub(client.channel()).withDeadlineAfter(Duration.ofSeconds(30));
    Map<String, Integer> spread = new TreeMap<>();
    int step = Math.max(1, calls / 10);
    for (int i = 1; i <= calls; i++) {
      HelloReply reply =
          stub.withDeadlineAfter(Duration.ofSeconds(5))
              .sayHello(HelloRequest.newBuilder().setName("krpc-" + i).build());
      spread.merge(reply.getServer(), 1, Integer::sum);
      if (i % step == 0) {
        System.out.printf("  %d/%d calls done%n", i, calls);
      }
    }
    System.out.println("Calls per server:");
    spread.forEach(
        (server, count) ->
            System.out.printf(
                "  %-22s %5d  %s%n", server, count, "#".repeat(Math.max(1, count * 40 / calls))));
    Iterator<HelloReply> stream =
        stub.sayHelloStream(HelloRequest.newBuilder().setName("stream").setCount(3).build());
    stream.forEachRemaining(
        r -> System.out.println("  stream: " + r.getMessage() + " (from " + r.getServer() + ")"));
  }

  private static final class EndpointHolder {
    volatile String value = "?";
  }

  private record Options(@Nullable String etcd, int calls, String lb) {
    static Options parse(String[] args) {
      Args parsed = Args.parse(args, "etcd", "calls", "lb");
      int calls = parsed.intValue("calls", 300);
      if (calls < 1) {
        throw new IllegalArgumentException("--calls: " + calls + " (expected: >= 1)");
      }
      return new Options(parsed.get("etcd"), calls, parsed.get("lb", "round_robin"));
    }

    Registry registry() {
      return etcd == null ? new InMemoryRegistry() : EtcdSupport.registry(etcd);
    }

    String registryName() {
      return etcd == null ? "in-memory" : "etcd " + etcd;
    }
  }
}
