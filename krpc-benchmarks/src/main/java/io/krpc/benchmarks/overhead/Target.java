package io.krpc.benchmarks.overhead;

import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.grpc.GrpcService;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.interceptor.client.TimeoutInterceptor;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * One server-and-client configuration under test, serving {@link EchoGreeter} on loopback. Every
 * configuration builds its grpc-java channel and server through the same {@code Grpc.new*Builder}
 * calls with their default executors, so that KRPC's chains are the only difference.
 */
public abstract class Target implements AutoCloseable {
  private final String key;
  private final String label;

  private Target(String key, String label) {
    this.key = key;
    this.label = label;
  }

  /** The short key of the table columns: a to g. */
  public String key() {
    return key;
  }

  /** What this configuration is. */
  public String label() {
    return label;
  }

  /** The client channel to call through. */
  public abstract ManagedChannel channel();

  @Override
  public abstract void close();

  /** The configurations in the order of the table; each is started at once. */
  public enum Kind {
    RAW,
    KRPC_DEFAULT,
    KRPC_GOVERNED,
    ARMERIA,
    /**
     * Not in the default set: raw grpc-java with handlers and callbacks on the transport threads.
     */
    RAW_DIRECT,
    /** KRPC's default chains on grpc-java's default executor, a cached pool: KRPC before #20. */
    KRPC_CACHED_POOL,
    /** KRPC's default chains with the service declared blocking (a thread per call). */
    KRPC_DECLARED_BLOCKING;

    /** Starts this configuration. */
    public Target start() {
      switch (this) {
        case RAW:
          return raw();
        case KRPC_DEFAULT:
          return krpc(false);
        case KRPC_GOVERNED:
          return krpc(true);
        case RAW_DIRECT:
          return rawDirect();
        case KRPC_CACHED_POOL:
          return krpcOnCachedPool();
        case KRPC_DECLARED_BLOCKING:
          return krpcDeclaredBlocking();
        default:
          return armeria();
      }
    }
  }

  private static ManagedChannel plainChannel(int port) {
    return Grpc.newChannelBuilder("127.0.0.1:" + port, InsecureChannelCredentials.create()).build();
  }

  private static void closeChannel(ManagedChannel channel) {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** (a) grpc-java server and channel, nothing else. */
  static Target raw() {
    io.grpc.Server server;
    try {
      server =
          Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
              .addService(new EchoGreeter())
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ManagedChannel channel = plainChannel(server.getPort());
    return new Target("a", "raw grpc-java") {
      @Override
      public ManagedChannel channel() {
        return channel;
      }

      @Override
      public void close() {
        closeChannel(channel);
        server.shutdownNow();
      }
    };
  }

  /**
   * (e) grpc-java with {@code directExecutor()} on server and channel: handlers run on the Netty
   * event loops, as Armeria runs them by default. Shows what the default executor hop costs.
   */
  static Target rawDirect() {
    io.grpc.Server server;
    try {
      server =
          Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
              .directExecutor()
              .addService(new EchoGreeter())
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ManagedChannel channel =
        Grpc.newChannelBuilder("127.0.0.1:" + server.getPort(), InsecureChannelCredentials.create())
            .directExecutor()
            .build();
    return new Target("e", "raw grpc-java, direct executor") {
      @Override
      public ManagedChannel channel() {
        return channel;
      }

      @Override
      public void close() {
        closeChannel(channel);
        server.shutdownNow();
      }
    };
  }

  /** (b) KServer and KClient with the default chains, or (c) with every governance interceptor. */
  static Target krpc(boolean governed) {
    KServer.Builder serverBuilder =
        KServer.builder()
            .serviceName("greeter")
            .host("127.0.0.1")
            .port(0)
            .addService(new EchoGreeter())
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ZERO);
    if (governed) {
      // Set so as never to trip: the table measures their cost, not their effect.
      RateLimitConfig unlimited = new RateLimitConfig(1_000_000_000L, 1e9, Duration.ZERO);
      serverBuilder.intercept(
          AdaptiveLimitInterceptor.builder().cpuThreshold(1.0).build(),
          RateLimitInterceptor.of(
              Map.of(
                  "greeter.Greeter/SayHello", unlimited,
                  "greeter.Greeter/SayHelloStream", unlimited)));
    }
    KServer server = serverBuilder.start();
    KClient.Builder clientBuilder =
        KClient.forTarget("127.0.0.1:" + server.port()).closeTimeout(Duration.ZERO);
    if (governed) {
      clientBuilder.intercept(
          CircuitBreakerInterceptor.of(
              "greeter", 100, Duration.ofSeconds(10), Duration.ofSeconds(5), null),
          TimeoutInterceptor.of(Duration.ofSeconds(5), Duration.ofSeconds(1)));
    }
    KClient client = clientBuilder.build();
    String label = governed ? "KRPC, all governance" : "KRPC, default chains";
    return new Target(governed ? "c" : "b", label) {
      @Override
      public ManagedChannel channel() {
        return client.channel();
      }

      @Override
      public void close() {
        client.close();
        server.close();
      }
    };
  }

  /**
   * (f) KRPC's default chains on grpc-java's default executor, on both sides: a cached pool of
   * daemon threads, as {@code GrpcUtil.SHARED_CHANNEL_EXECUTOR} is. What KRPC did before it had a
   * default of its own.
   */
  static Target krpcOnCachedPool() {
    ExecutorService cached =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "grpc-default-executor-like");
              t.setDaemon(true);
              return t;
            });
    KServer server =
        KServer.builder()
            .serviceName("greeter")
            .host("127.0.0.1")
            .port(0)
            .addService(new EchoGreeter())
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ZERO)
            .executor(cached)
            .start();
    KClient client =
        KClient.forTarget("127.0.0.1:" + server.port())
            .closeTimeout(Duration.ZERO)
            .executor(cached)
            .build();
    return new Target("f", "KRPC, grpc-java's default executor") {
      @Override
      public ManagedChannel channel() {
        return client.channel();
      }

      @Override
      public void close() {
        client.close();
        server.close();
        cached.shutdownNow();
      }
    };
  }

  /**
   * (g) KRPC's default chains, the greeter declared blocking: a thread (virtual on 24+) per call.
   */
  static Target krpcDeclaredBlocking() {
    KServer server =
        KServer.builder()
            .serviceName("greeter")
            .host("127.0.0.1")
            .port(0)
            .addBlockingService(new EchoGreeter())
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ZERO)
            .start();
    KClient client =
        KClient.forTarget("127.0.0.1:" + server.port()).closeTimeout(Duration.ZERO).build();
    return new Target("g", "KRPC, service declared blocking") {
      @Override
      public ManagedChannel channel() {
        return client.channel();
      }

      @Override
      public void close() {
        client.close();
        server.close();
      }
    };
  }

  /** (d) an Armeria gRPC server with its defaults, called through the same grpc-java channel. */
  static Target armeria() {
    Server server =
        Server.builder()
            .http(new InetSocketAddress("127.0.0.1", 0))
            .service(GrpcService.builder().addService(new EchoGreeter()).build())
            .build();
    server.start().join();
    ManagedChannel channel = plainChannel(server.activeLocalPort());
    return new Target("d", "Armeria server") {
      @Override
      public ManagedChannel channel() {
        return channel;
      }

      @Override
      public void close() {
        closeChannel(channel);
        server.stop().join();
      }
    };
  }
}
