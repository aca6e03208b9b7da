package io.krpc.examples;

import io.krpc.KClient;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.Registry;
import java.time.Duration;

/**
 * Calls the greeter found in etcd and prints each reply. Arguments: {@code --etcd=URL} (required),
 * {@code --calls=N} (default 10), {@code --lb=POLICY} (default round_robin), {@code --name=NAME}.
 */
public final class ClientMain {
  private ClientMain() {}

  /** Runs the client; see the class javadoc for its arguments. */
  public static void main(String[] args) {
    Args parsed = Args.parse(args, "etcd", "calls", "lb", "name");
    try (Registry registry = EtcdSupport.registry(parsed.require("etcd"));
        KClient client =
            KClient.forService("greeter")
                .registry(registry)
                .loadBalancing(parsed.get("lb") != null ? parsed.get("lb") : "round_robin")
                .build()) {
      GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(client.channel());
      String name = parsed.get("name") != null ? parsed.get("name") : "krpc";
      for (int i = 0; i < parsed.intValue("calls", 10); i++) {
        HelloReply reply =
            stub.withDeadlineAfter(Duration.ofSeconds(5))
                .sayHello(HelloRequest.newBuilder().setName(name).build());
        System.out.println(reply.getMessage() + " (from " + reply.getServer() + ")");
      }
    }
  }
}
