package io.krpc.benchmarks.discovery;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.benchmarks.overhead.EchoGreeter;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.Registry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Time from {@code KServer.start()} to a client's first successful call to that server, through a
 * registry. Two cases: a client that was already waiting for the service (a call with
 * wait-for-ready in flight), and a client built only after {@code start()} returned.
 */
final class StartToFirstCall {
  private static final HelloRequest REQUEST = HelloRequest.newBuilder().setName("ping").build();

  private final Registry registry;
  private final String prefix;
  private long lastStartNanos;

  StartToFirstCall(Registry registry, String prefix) {
    this.registry = registry;
    this.prefix = prefix;
  }

  /** Nanoseconds from the call to {@code start()} to the first reply, a waiting client. */
  long waitingClient(int run) throws Exception {
    String service = prefix + "-waiting-" + run;
    try (KClient client =
        KClient.forService(service).registry(registry).closeTimeout(Duration.ZERO).build()) {
      ListenableFuture<HelloReply> reply =
          GreeterGrpc.newFutureStub(client.channel())
              .withWaitForReady()
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .sayHello(REQUEST);
      long start = System.nanoTime();
      try (KServer server = startServer(service)) {
        lastStartNanos = System.nanoTime() - start;
        reply.get(30, TimeUnit.SECONDS);
        return System.nanoTime() - start;
      }
    }
  }

  /** How long {@code start()} itself took in the last {@link #waitingClient} run. */
  long lastStartNanos() {
    return lastStartNanos;
  }

  /** Nanoseconds from the call to {@code start()} to the first reply, a client built after it. */
  long newClient(int run) throws Exception {
    String service = prefix + "-new-" + run;
    long start = System.nanoTime();
    try (KServer server = startServer(service);
        KClient client =
            KClient.forService(service).registry(registry).closeTimeout(Duration.ZERO).build()) {
      GreeterGrpc.newFutureStub(client.channel())
          .withWaitForReady()
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .sayHello(REQUEST)
          .get(30, TimeUnit.SECONDS);
      return System.nanoTime() - start;
    }
  }

  /**
   * The baseline without discovery: nanoseconds from building a plain grpc-java channel to an
   * already running server to its first reply (connect, HTTP/2 handshake, first call).
   */
  static long rawNewChannel(int port) throws Exception {
    long start = System.nanoTime();
    ManagedChannel channel =
        Grpc.newChannelBuilder("127.0.0.1:" + port, InsecureChannelCredentials.create()).build();
    try {
      GreeterGrpc.newFutureStub(channel)
          .withWaitForReady()
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .sayHello(REQUEST)
          .get(30, TimeUnit.SECONDS);
      return System.nanoTime() - start;
    } finally {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private KServer startServer(String service) {
    return KServer.builder()
        .serviceName(service)
        .host("127.0.0.1")
        .port(0)
        .registry(registry)
        .addService(new EchoGreeter())
        .healthService(false)
        .reflectionService(false)
        .deregisterDelay(Duration.ZERO)
        .shutdownGracePeriod(Duration.ZERO)
        .start();
  }
}
