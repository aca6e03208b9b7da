package io.krpc.interceptor.client;

import static io.krpc.common.Checks.notNull;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.krpc.common.HostAddress;
import io.krpc.interceptor.metrics.internal.EndpointMeters;
import io.krpc.interceptor.metrics.internal.RpcMeters;
import io.krpc.interceptor.metrics.internal.RpcMetricNames;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;

/**
 * Counts and times the calls a client makes, with the metric names of the Go KRPC.
 *
 * <pre>{@code
 * Channel channel = ClientInterceptors.intercept(managedChannel,
 *     ClientMetricsInterceptor.create(registry, "greeter"));
 * }</pre>
 *
 * <p>Meters, as rendered by a {@code PrometheusMeterRegistry}:
 *
 * <ul>
 *   <li>{@code prpc_client_req_client_handle_total} counter, labels {@code method, server, code,
 *       ip};
 *   <li>{@code prpc_client_req_client_handle_seconds} histogram (buckets 1 ms to 10 s), labels
 *       {@code method, server, ip};
 *   <li>{@code prpc_client_req_in_flight} gauge of calls started and not yet closed, labels {@code
 *       method, server, ip}.
 * </ul>
 *
 * {@code method} is the full method name ({@code package.Service/Method}), {@code server} the
 * target KRPC service name given here and {@code code} the gRPC status name the call closed with (a
 * call the client cancels counts as {@code CANCELLED}).
 *
 * <p>{@code ip} is the host's first non-loopback IPv4 address (the client's own address, as in the
 * Go KRPC), not the address of the connection: a channel balances over many connections, the
 * address is known only once a transport is picked, and a fixed value keeps the per-call path free
 * of lookups.
 *
 * <p>Thread-safe; one instance serves any number of channels. Meters are created once per (method,
 * code) and cached, so the per-call path allocates no tags.
 */
public final class ClientMetricsInterceptor implements ClientInterceptor {
  private final RpcMeters meters;
  private final InetAddress ip;

  private ClientMetricsInterceptor(RpcMeters meters, InetAddress ip) {
    this.meters = meters;
    this.ip = ip;
  }

  /**
   * Returns an interceptor that records into {@code registry}, labelling every meter with {@code
   * server=serverName}.
   *
   * @param registry where the meters go; a {@code PrometheusMeterRegistry} gives the names above
   * @param serverName the KRPC service name of the target, e.g. {@code "greeter"}
   */
  public static ClientMetricsInterceptor create(MeterRegistry registry, String serverName) {
    notNull(registry, "registry");
    notNull(serverName, "serverName");
    return new ClientMetricsInterceptor(
        new RpcMeters(registry, RpcMetricNames.CLIENT, serverName), HostAddress.hostIpv4());
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    EndpointMeters endpoint = meters.get(method.getFullMethodName(), ip);
    return new MeteredClientCall<>(next.newCall(method, callOptions), endpoint);
  }

  /** Starts the clock on {@code start} and records the call when it closes. */
  private static final class MeteredClientCall<ReqT, RespT>
      extends SimpleForwardingClientCall<ReqT, RespT> {
    private final EndpointMeters endpoint;

    MeteredClientCall(ClientCall<ReqT, RespT> delegate, EndpointMeters endpoint) {
      super(delegate);
      this.endpoint = endpoint;
    }

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
      long startNanos = System.nanoTime();
      endpoint.callStarted();
      try {
        super.start(new MeteredListener<>(responseListener, endpoint, startNanos), headers);
      } catch (RuntimeException | Error e) {
        endpoint.callEnded(Status.Code.UNKNOWN, System.nanoTime() - startNanos);
        throw e;
      }
    }
  }

  /** Records the call's status; grpc-java calls {@code onClose} exactly once per started call. */
  private static final class MeteredListener<RespT>
      extends SimpleForwardingClientCallListener<RespT> {
    private final EndpointMeters endpoint;
    private final long startNanos;

    MeteredListener(ClientCall.Listener<RespT> delegate, EndpointMeters endpoint, long startNanos) {
      super(delegate);
      this.endpoint = endpoint;
      this.startNanos = startNanos;
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      // Record before the application sees the result, so what it observes next is counted.
      endpoint.callEnded(status.getCode(), System.nanoTime() - startNanos);
      super.onClose(status, trailers);
    }
  }
}
