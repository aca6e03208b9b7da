package io.krpc.interceptor.server;

import static io.krpc.common.Checks.notNull;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.krpc.common.HostAddress;
import io.krpc.interceptor.metrics.internal.EndpointMeters;
import io.krpc.interceptor.metrics.internal.RpcMeters;
import io.krpc.interceptor.metrics.internal.RpcMetricNames;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * Counts and times the calls a server handles, with the metric names of the Go KRPC.
 *
 * <pre>{@code
 * PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
 * Server server = ServerBuilder.forPort(9001)
 *     .addService(ServerInterceptors.intercept(new GreeterImpl(),
 *         ServerMetricsInterceptor.create(registry, "greeter")))
 *     .build();
 * }</pre>
 *
 * <p>Meters, as rendered by a {@code PrometheusMeterRegistry}:
 *
 * <ul>
 *   <li>{@code prpc_server_req_client_handle_total} counter, labels {@code method, server, code,
 *       ip};
 *   <li>{@code prpc_server_req_client_handle_seconds} histogram (buckets 1 ms to 10 s), labels
 *       {@code method, server, ip};
 *   <li>{@code prpc_server_req_in_flight} gauge of calls started and not yet closed, labels {@code
 *       method, server, ip}.
 * </ul>
 *
 * {@code method} is the full method name ({@code package.Service/Method}), {@code server} the KRPC
 * service name given here, {@code code} the gRPC status name ({@code OK}, {@code CANCELLED}, ...)
 * and {@code ip} the host part of the local address of the call's transport ({@link
 * Grpc#TRANSPORT_ATTR_LOCAL_ADDR}); for transports without an IP address (in-process) it is the
 * host's first non-loopback IPv4 address.
 *
 * <p>A call is recorded once, when it ends: when the handler closes it (with the code it closes
 * with), when the client cancels it or its deadline passes ({@code CANCELLED}), or when a handler
 * callback throws ({@code UNKNOWN}, the code grpc-java itself sends for an uncaught exception).
 * This holds for unary and all streaming call types.
 *
 * <p>Thread-safe; one instance serves any number of services and calls. Meters are created once per
 * (method, ip, code) and cached, so the per-call path allocates no tags.
 */
public final class ServerMetricsInterceptor implements ServerInterceptor {
  private final RpcMeters meters;

  private ServerMetricsInterceptor(RpcMeters meters) {
    this.meters = meters;
  }

  /**
   * Returns an interceptor that records into {@code registry}, labelling every meter with {@code
   * server=serverName}.
   *
   * @param registry where the meters go; a {@code PrometheusMeterRegistry} gives the names above
   * @param serverName the KRPC service name of this server, e.g. {@code "greeter"}
   */
  public static ServerMetricsInterceptor create(MeterRegistry registry, String serverName) {
    notNull(registry, "registry");
    notNull(serverName, "serverName");
    return new ServerMetricsInterceptor(new RpcMeters(registry, RpcMetricNames.SERVER, serverName));
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    EndpointMeters endpoint =
        meters.get(
            call.getMethodDescriptor().getFullMethodName(),
            HostAddress.ipOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR)));
    MeteredServerCall<ReqT, RespT> metered = new MeteredServerCall<>(call, endpoint);
    ServerCall.Listener<ReqT> listener;
    try {
      listener = next.startCall(metered, headers);
    } catch (RuntimeException | Error e) {
      metered.end(Status.Code.UNKNOWN);
      throw e;
    }
    return new MeteredListener<>(listener, metered);
  }

  /** Records the call when the handler closes it. */
  private static final class MeteredServerCall<ReqT, RespT>
      extends SimpleForwardingServerCall<ReqT, RespT> {
    private static final AtomicIntegerFieldUpdater<MeteredServerCall<?, ?>> ENDED =
        newEndedUpdater();

    private final EndpointMeters endpoint;
    private final long startNanos;

    @SuppressWarnings("UnusedVariable") // read and written through ENDED
    private volatile int ended;

    MeteredServerCall(ServerCall<ReqT, RespT> delegate, EndpointMeters endpoint) {
      super(delegate);
      this.endpoint = endpoint;
      this.startNanos = System.nanoTime();
      endpoint.callStarted();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static AtomicIntegerFieldUpdater<MeteredServerCall<?, ?>> newEndedUpdater() {
      return (AtomicIntegerFieldUpdater)
          AtomicIntegerFieldUpdater.newUpdater(MeteredServerCall.class, "ended");
    }

    @Override
    public void close(Status status, Metadata trailers) {
      // Record before the status leaves, so a client that sees the response also sees the count.
      end(status.getCode());
      super.close(status, trailers);
    }

    void end(Status.Code code) {
      if (ENDED.compareAndSet(this, 0, 1)) {
        endpoint.callEnded(code, System.nanoTime() - startNanos);
      }
    }
  }

  /** Records cancellations and calls whose handler threw. */
  private static final class MeteredListener<ReqT>
      extends SimpleForwardingServerCallListener<ReqT> {
    private final MeteredServerCall<ReqT, ?> call;

    MeteredListener(ServerCall.Listener<ReqT> delegate, MeteredServerCall<ReqT, ?> call) {
      super(delegate);
      this.call = call;
    }

    @Override
    public void onMessage(ReqT message) {
      try {
        super.onMessage(message);
      } catch (RuntimeException | Error e) {
        call.end(Status.Code.UNKNOWN);
        throw e;
      }
    }

    @Override
    public void onHalfClose() {
      try {
        super.onHalfClose();
      } catch (RuntimeException | Error e) {
        call.end(Status.Code.UNKNOWN);
        throw e;
      }
    }

    @Override
    public void onCancel() {
      call.end(Status.Code.CANCELLED);
      super.onCancel();
    }

    @Override
    public void onComplete() {
      try {
        super.onComplete();
      } catch (RuntimeException | Error e) {
        call.end(Status.Code.UNKNOWN);
        throw e;
      }
    }

    @Override
    public void onReady() {
      try {
        super.onReady();
      } catch (RuntimeException | Error e) {
        call.end(Status.Code.UNKNOWN);
        throw e;
      }
    }
  }
}
