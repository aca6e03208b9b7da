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
import io.krpc.interceptor.tracing.internal.HostAndPort;
import io.krpc.interceptor.tracing.internal.MetadataCarrier;
import io.krpc.interceptor.tracing.internal.RpcTracing;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import org.jspecify.annotations.Nullable;

/**
 * Traces every call a client makes with one OpenTelemetry span of kind {@link SpanKind#CLIENT} and
 * propagates the trace context and baggage to the server in the call's gRPC metadata (W3C {@code
 * traceparent}/{@code tracestate} and {@code baggage} unless the OpenTelemetry instance configures
 * other propagators).
 *
 * <pre>{@code
 * Channel channel = ClientInterceptors.intercept(managedChannel,
 *     ClientTracingInterceptor.create(openTelemetry));
 * }</pre>
 *
 * <p>The span is named {@code package.Service/Method}, is a child of the OpenTelemetry context
 * current when the call starts, and carries {@code rpc.system=grpc}, {@code rpc.service}, {@code
 * rpc.method}, {@code server.address} and {@code server.port} (from the channel's authority) and,
 * when the call closes, {@code rpc.grpc.status_code}. Every status but {@code OK} (including {@code
 * CANCELLED}) sets the span status to {@code ERROR}. The response listener's callbacks run with the
 * span current. Works for unary and all streaming call types.
 *
 * <p>Thread-safe. With {@link OpenTelemetry#noop()} it adds nothing to a call.
 */
public final class ClientTracingInterceptor implements ClientInterceptor {
  private final RpcTracing tracing;
  private volatile @Nullable AuthorityCache lastAuthority;

  private ClientTracingInterceptor(RpcTracing tracing) {
    this.tracing = tracing;
  }

  /** Returns an interceptor that traces with {@code openTelemetry}. */
  public static ClientTracingInterceptor create(OpenTelemetry openTelemetry) {
    return new ClientTracingInterceptor(RpcTracing.of(notNull(openTelemetry, "openTelemetry")));
  }

  /**
   * Returns an interceptor that traces with {@link GlobalOpenTelemetry}, as installed at the time
   * of this call (or by the OpenTelemetry agent).
   */
  public static ClientTracingInterceptor create() {
    return create(GlobalOpenTelemetry.get());
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    ClientCall<ReqT, RespT> call = next.newCall(method, callOptions);
    if (tracing.isNoop()) {
      return call;
    }
    return new TracingClientCall<>(call, method, serverOf(next.authority()));
  }

  /** Parses the authority once per channel rather than once per call. */
  private @Nullable HostAndPort serverOf(String authority) {
    AuthorityCache cached = lastAuthority;
    if (cached != null && cached.authority.equals(authority)) {
      return cached.server;
    }
    HostAndPort server = HostAndPort.parseAuthority(authority);
    if (authority != null) {
      lastAuthority = new AuthorityCache(authority, server);
    }
    return server;
  }

  private record AuthorityCache(String authority, @Nullable HostAndPort server) {}

  private final class TracingClientCall<ReqT, RespT>
      extends SimpleForwardingClientCall<ReqT, RespT> {
    private final MethodDescriptor<ReqT, RespT> method;
    private final @Nullable HostAndPort server;

    TracingClientCall(
        ClientCall<ReqT, RespT> delegate,
        MethodDescriptor<ReqT, RespT> method,
        @Nullable HostAndPort server) {
      super(delegate);
      this.method = method;
      this.server = server;
    }

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
      Context parent = Context.current();
      Span span = tracing.startSpan(method, SpanKind.CLIENT, parent, server, null);
      Context context = parent.with(span);
      tracing.propagator().inject(context, headers, MetadataCarrier.INSTANCE);
      try {
        super.start(new TracingListener<>(responseListener, span, context), headers);
      } catch (RuntimeException | Error e) {
        RpcTracing.endWithException(span, e);
        throw e;
      }
    }
  }

  /** Ends the span when the call closes; runs the application's callbacks inside the span. */
  private static final class TracingListener<RespT>
      extends SimpleForwardingClientCallListener<RespT> {
    private final Span span;
    private final Context context;

    TracingListener(ClientCall.Listener<RespT> delegate, Span span, Context context) {
      super(delegate);
      this.span = span;
      this.context = context;
    }

    @Override
    public void onHeaders(Metadata headers) {
      try (Scope ignored = context.makeCurrent()) {
        super.onHeaders(headers);
      }
    }

    @Override
    public void onMessage(RespT message) {
      try (Scope ignored = context.makeCurrent()) {
        super.onMessage(message);
      }
    }

    @Override
    public void onReady() {
      try (Scope ignored = context.makeCurrent()) {
        super.onReady();
      }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      RpcTracing.end(span, status);
      try (Scope ignored = context.makeCurrent()) {
        super.onClose(status, trailers);
      }
    }
  }
}
