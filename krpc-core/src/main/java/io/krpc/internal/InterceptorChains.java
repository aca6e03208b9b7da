package io.krpc.internal;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The one place where KServer and KClient assemble their built-in interceptor chains, in the order
 * API.md fixes. Server, outermost first: recovery, tracing, metrics, then the user's interceptors.
 * Client, outermost first: tracing, metrics, then the user's interceptors.
 */
public final class InterceptorChains {
  private InterceptorChains() {}

  /** Options of the built-in server chain, filled in by {@code KServer.Builder}. */
  public static final class ServerOptions {
    /** Port of the Prometheus endpoint; -1 for none. */
    public int metricsPort = -1;
  }

  /** Options of the built-in client chain, filled in by {@code KClient.Builder}. */
  public static final class ClientOptions {}

  /** What a server chain holds that must be started after binding and closed with the server. */
  public static final class ServerResources implements AutoCloseable {
    private int metricsPort = -1;

    /** Starts the metrics endpoint, when one was asked for. */
    public void startMetricsEndpoint() {}

    /** The bound metrics port, or -1. */
    public int metricsPort() {
      return metricsPort;
    }

    @Override
    public void close() {}
  }

  /**
   * Installs the server chain on {@code builder}: outermost first, the built-in interceptors, then
   * {@code userInterceptors} in the order given.
   */
  public static ServerResources installServerChain(ServerBuilder<?> builder, String serviceName,
      ServerOptions options, List<ServerInterceptor> userInterceptors) {
    List<ServerInterceptor> outerFirst = new ArrayList<>();
    outerFirst.addAll(userInterceptors);
    // ServerBuilder.intercept: the interceptor added last runs first.
    List<ServerInterceptor> reversed = new ArrayList<>(outerFirst);
    Collections.reverse(reversed);
    reversed.forEach(builder::intercept);
    return new ServerResources();
  }

  /**
   * Installs the client chain on {@code builder}: outermost first, the built-in interceptors, then
   * {@code userInterceptors} in the order given.
   */
  public static void installClientChain(ManagedChannelBuilder<?> builder, String target,
      ClientOptions options, List<ClientInterceptor> userInterceptors) {
    List<ClientInterceptor> outerFirst = new ArrayList<>();
    outerFirst.addAll(userInterceptors);
    // ManagedChannelBuilder.intercept(List): the last interceptor in the list runs first.
    List<ClientInterceptor> reversed = new ArrayList<>(outerFirst);
    Collections.reverse(reversed);
    builder.intercept(reversed);
  }
}
