package io.krpc.examples;

import io.krpc.KServer;
import io.krpc.registry.Registry;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs one greeter server registered in etcd until the JVM is stopped (Ctrl-C closes it
 * gracefully). Arguments: {@code --etcd=URL} (required), {@code --port=N} (default 9001), {@code
 * --host=ADDRESS} (default: the first non-loopback IPv4), {@code --weight=N} (default 100).
 */
public final class ServerMain {
  private ServerMain() {}

  /** Starts the server; see the class javadoc for its arguments. */
  public static void main(String[] args) throws Exception {
    Args parsed = Args.parse(args, "etcd", "port", "host", "weight");
    Registry registry = EtcdSupport.registry(parsed.require("etcd"));
    AtomicReference<String> endpoint = new AtomicReference<>("?");
    KServer.Builder builder =
        KServer.builder()
            .serviceName("greeter")
            .port(parsed.intValue("port", 9001))
            .weight(parsed.intValue("weight", 100))
            .registry(registry)
            .shutdownHook(true)
            .addService(new GreeterService(endpoint::get));
    if (parsed.has("host")) {
      builder.host(parsed.require("host"));
    }
    KServer server = builder.start();
    endpoint.set(server.instance().endpoint());
    System.out.println("greeter serving at " + server.instance().endpoint());
    server.awaitTermination();
    registry.close();
  }
}
