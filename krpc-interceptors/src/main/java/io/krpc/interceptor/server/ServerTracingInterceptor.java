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
import io.krpc.interceptor.tracing.internal.HostAndPort;
import io.krpc.interceptor.tracing.internal.MetadataCarrier;
import io.krpc.interceptor.tracing.internal.RpcTracing;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * Traces every call a server handles with one OpenTelemetry span of kind {@link SpanKind#SERVER},
 * the child of the client span whose context arrived in the call's gRPC metadata (W3C {@code
 * traceparent}; {@code baggage} is restored too), unless the OpenTelemetry instance configures
 * other propagators.
 *
 * <pre>{@code
 * Server server = ServerBuilder.forPort(9001)
 *     .addService(ServerInterceptors.intercept(new GreeterImpl(),
 *         ServerTracingInterceptor.create(openTelemetry)))
 *     .build();
 * }</pre>
 *
 * <p>The span is named {@code package.Service/Method} and carries {@code rpc.system=grpc}, {@code
 * rpc.service}, {@code rpc.method}, {@code server.address}/{@code server.port} (the local address
 * of the call's transport), {@code client.address}/{@code client.port} (the peer) and {@code
 * rpc.grpc.status_code}. Every status but {@code OK} sets the span status to {@code ERROR}; a call
 * the client cancels ends as {@code CANCELLED}, a call whose handler throws as {@code UNKNOWN} with
 * the exception recorded. The span's context (with the baggage) is current while the handler's
 * listener callbacks run, so {@code Span.current()} and {@code Baggage.current()} work in service
 * code. Works for unary and all streaming call types.
 *
 * <p>Thread-safe. With {@link OpenTelemetry#noop()} it adds nothing to a call.
 */
public final class ServerTracingInterceptor implements ServerInterceptor {
  private final RpcTracing tracing;

  private ServerTracingInterceptor(RpcTracing tracing) {
    this.tracing = tracing;
  }

  /** Returns an interceptor that traces with {@code openTelemetry}. */
  public static ServerTracingInterceptor create(OpenTelemetry openTelemetry) {
    return new ServerTracingInterceptor(RpcTracing.of(notNull(openTelemetry, "openTelemetry")));
  }

  /**
   * Returns an interceptor that traces with {@link GlobalOpenTelemetry}, as installed at the time
   * of this call (or by the OpenTelemetry agent).
   */
  public static ServerTracingInterceptor create() {
    return create(GlobalOpenTelemetry.get());
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    if (tracing.isNoop()) {
      return next.startCall(call, headers);
    }
    Context parent =
        tracing.propagator().extract(Context.current(), headers, MetadataCarrier.INSTANCE);
    Span span =
        tracing.startSpan(
            call.getMethodDescriptor(),
            SpanKind.SERVER,
            parent,
            HostAndPort.of(call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR)),
            call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    Context context = parent.with(span);
    TracingServerCall<ReqT, RespT> traced = new TracingServerCall<>(call, span);
    ServerCall.Listener<ReqT> listener;
    try (Scope ignored = context.makeCurrent()) {
      listener = next.startCall(traced, headers);
    } catch (RuntimeException | Error e) {
      traced.endWithException(e);
      throw e;
    }
    return new TracingListener<>(listener, traced, context);
  }

  /** Ends the span when the handler closes the call. */
  private static final class TracingServerCall<ReqT, RespT>
      extends SimpleForwardingServerCall<ReqT, RespT> {
    private static final AtomicIntegerFieldUpdater<TracingServerCall<?, ?>> ENDED =
        newEndedUpdater();

    private final Span span;

    @SuppressWarnings("UnusedVariable") // read and written through ENDED
    private volatile int ended;

    TracingServerCall(ServerCall<ReqT, RespT> delegate, Span span) {
      super(delegate);
      this.span = span;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static AtomicIntegerFieldUpdater<TracingServerCall<?, ?>> newEndedUpdater() {
      return (AtomicIntegerFieldUpdater)
          AtomicIntegerFieldUpdater.newUpdater(TracingServerCall.class, "ended");
    }

    @Override
    public void close(Status status, Metadata trailers) {
      end(status);
      super.close(status, trailers);
    }

    void end(Status status) {
      if (ENDED.compareAndSet(this, 0, 1)) {
        RpcTracing.end(span, status);
      }
    }

    void endWithException(Throwable error) {
      if (ENDED.compareAndSet(this, 0, 1)) {
        RpcTracing.endWithException(span, error);
      }
    }
  }

  /** Runs the handler's callbacks with the span current; ends it on cancel or handler failure. */
  private static final class TracingListener<ReqT>
      extends SimpleForwardingServerCallListener<ReqT> {
    private final TracingServerCall<ReqT, ?> call;
    private final Context context;

    TracingListener(
        ServerCall.Listener<ReqT> delegate, TracingServerCall<ReqT, ?> call, Context context) {
      super(delegate);
      this.call = call;
      this.context = context;
    }

    @Override
    public void onMessage(ReqT message) {
      try (Scope ignored = context.makeCurrent()) {
        super.onMessage(message);
      } catch (RuntimeException | Error e) {
        call.endWithException(e);
        throw e;
      }
    }

    @Override
    public void onHalfClose() {
      try (Scope ignored = context.makeCurrent()) {
        super.onHalfClose();
      } catch (RuntimeException | Error e) {
        call.endWithException(e);
        throw e;
      }
    }

    @Override
    public void onCancel() {
      call.end(Status.CANCELLED.withDescription("call cancelled by the client or its deadline"));
      try (Scope ignored = context.makeCurrent()) {
        super.onCancel();
      }
    }

    @Override
    public void onComplete() {
      try (Scope ignored = context.makeCurrent()) {
        super.onComplete();
      } catch (RuntimeException | Error e) {
        call.endWithException(e);
        throw e;
      }
    }

    @Override
    public void onReady() {
      try (Scope ignored = context.makeCurrent()) {
        super.onReady();
      } catch (RuntimeException | Error e) {
        call.endWithException(e);
        throw e;
      }
    }
  }
}
