package io.krpc.examples.chaos;

import io.krpc.KServer;
import io.krpc.registry.etcd.EtcdRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A greeter KServer in its own JVM, for the faults one JVM cannot inflict on itself (kill -9,
 * SIGSTOP). Arguments: etcd endpoints (comma separated), lease TTL in seconds, handler delay in
 * milliseconds. Prints {@code PORT <port>} once registered; stops gracefully when its standard
 * input says {@code stop} or closes (so it never outlives the test JVM).
 */
public final class ChildServerMain {
  private ChildServerMain() {}

  /** Starts the server; see the class javadoc for the arguments. */
  public static void main(String[] args) throws IOException {
    String endpoints = args[0];
    Duration leaseTtl = Duration.ofSeconds(Long.parseLong(args[1]));
    Duration delay = Duration.ofMillis(Long.parseLong(args[2]));
    EtcdRegistry registry =
        EtcdRegistry.builder()
            .endpoints(endpoints.split(","))
            .leaseTtl(leaseTtl)
            .requestTimeout(ChaosRig.REQUEST_TIMEOUT)
            .build();
    int[] port = new int[1];
    KServer server =
        KServer.builder()
            .serviceName(ChaosRig.SERVICE)
            .host("127.0.0.1")
            .port(0)
            .registry(registry)
            .addService(new ChaosGreeter(() -> "127.0.0.1:" + port[0], delay))
            .deregisterDelay(Duration.ofMillis(500))
            .shutdownGracePeriod(Duration.ofSeconds(5))
            .start();
    port[0] = server.port();
    System.out.println("PORT " + server.port());
    System.out.flush();
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
        // wait for "stop" or the end of input
      }
    } finally {
      server.close();
      registry.close();
      System.out.println("STOPPED");
      System.out.flush();
    }
  }
}
