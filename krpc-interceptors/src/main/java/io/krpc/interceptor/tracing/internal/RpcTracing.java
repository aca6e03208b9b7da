package io.krpc.interceptor.tracing.internal;

import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.jspecify.annotations.Nullable;

/**
 * What the client and server tracing interceptors share: the tracer, the propagator, the span
 * attributes of the OpenTelemetry RPC semantic conventions and the mapping of gRPC status to span
 * status (every code but {@code OK} is an error).
 *
 * <p>Thread-safe and immutable.
 */
public final class RpcTracing {
  /** Instrumentation scope name of KRPC's spans. */
  public static final String INSTRUMENTATION_NAME = "io.krpc.interceptor";

  public static final AttributeKey<String> RPC_SYSTEM = AttributeKey.stringKey("rpc.system");
  public static final AttributeKey<String> RPC_SERVICE = AttributeKey.stringKey("rpc.service");
  public static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
  public static final AttributeKey<Long> RPC_GRPC_STATUS_CODE =
      AttributeKey.longKey("rpc.grpc.status_code");
  public static final AttributeKey<String> SERVER_ADDRESS =
      AttributeKey.stringKey("server.address");
  public static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  public static final AttributeKey<String> CLIENT_ADDRESS =
      AttributeKey.stringKey("client.address");
  public static final AttributeKey<Long> CLIENT_PORT = AttributeKey.longKey("client.port");

  private static final TextMapPropagator W3C_DEFAULT =
      TextMapPropagator.composite(
          W3CTraceContextPropagator.getInstance(), W3CBaggagePropagator.getInstance());

  private final Tracer tracer;
  private final TextMapPropagator propagator;
  private final boolean noop;

  private RpcTracing(Tracer tracer, TextMapPropagator propagator, boolean noop) {
    this.tracer = tracer;
    this.propagator = propagator;
    this.noop = noop;
  }

  /**
   * Uses the tracer and propagators of {@code openTelemetry}; when it has no text propagator
   * configured (the SDK's default), W3C {@code traceparent} and {@code baggage} are used, so
   * propagation works with a bare {@code OpenTelemetrySdk}.
   */
  public static RpcTracing of(OpenTelemetry openTelemetry) {
    TextMapPropagator configured = openTelemetry.getPropagators().getTextMapPropagator();
    TextMapPropagator propagator = configured.fields().isEmpty() ? W3C_DEFAULT : configured;
    return new RpcTracing(
        openTelemetry.getTracer(INSTRUMENTATION_NAME),
        propagator,
        isNoop(openTelemetry, configured));
  }

  /**
   * {@link OpenTelemetry#noop()} itself, or any wrapper of it: {@code GlobalOpenTelemetry.get()}
   * with nothing installed returns the no-op behind an obfuscating wrapper, which an identity check
   * misses, and then every call paid for context extraction, a non-recording span, attribute
   * building and a context attach per callback. A no-op tracer provider with no propagator can
   * record nothing and pass nothing on, so the interceptors may step aside.
   */
  private static boolean isNoop(OpenTelemetry openTelemetry, TextMapPropagator configured) {
    return openTelemetry == OpenTelemetry.noop()
        || (openTelemetry.getTracerProvider() == TracerProvider.noop()
            && configured == TextMapPropagator.noop());
  }

  /**
   * True when the OpenTelemetry given is {@link OpenTelemetry#noop()} or wraps it: interceptors
   * step aside.
   */
  public boolean isNoop() {
    return noop;
  }

  public TextMapPropagator propagator() {
    return propagator;
  }

  /** Starts the span of one call, named {@code package.Service/Method}, with the rpc attributes. */
  public Span startSpan(
      MethodDescriptor<?, ?> method,
      SpanKind kind,
      Context parent,
      @Nullable HostAndPort server,
      @Nullable SocketAddress clientAddress) {
    SpanBuilder builder =
        tracer
            .spanBuilder(method.getFullMethodName())
            .setSpanKind(kind)
            .setParent(parent)
            .setAttribute(RPC_SYSTEM, "grpc");
    String service = method.getServiceName();
    if (service != null) {
      builder.setAttribute(RPC_SERVICE, service);
    }
    String bareMethod = method.getBareMethodName();
    if (bareMethod != null) {
      builder.setAttribute(RPC_METHOD, bareMethod);
    }
    if (server != null) {
      builder.setAttribute(SERVER_ADDRESS, server.host());
      if (server.port() >= 0) {
        builder.setAttribute(SERVER_PORT, (long) server.port());
      }
    }
    if (clientAddress instanceof InetSocketAddress) {
      InetSocketAddress address = (InetSocketAddress) clientAddress;
      builder.setAttribute(CLIENT_ADDRESS, address.getHostString());
      builder.setAttribute(CLIENT_PORT, (long) address.getPort());
    }
    return builder.startSpan();
  }

  /** Records {@code status} on {@code span} and ends it. */
  public static void end(Span span, Status status) {
    if (span.isRecording()) {
      span.setAttribute(RPC_GRPC_STATUS_CODE, (long) status.getCode().value());
      if (!status.isOk()) {
        String description = status.getDescription();
        span.setStatus(
            StatusCode.ERROR,
            description == null ? status.getCode().name() : status.getCode() + ": " + description);
        if (status.getCause() != null) {
          span.recordException(status.getCause());
        }
      }
    }
    span.end();
  }

  /** Records that a handler or listener threw {@code error} and ends {@code span} as UNKNOWN. */
  public static void endWithException(Span span, Throwable error) {
    if (span.isRecording()) {
      span.recordException(error);
    }
    end(span, Status.UNKNOWN.withDescription("handler threw " + error.getClass().getName()));
  }
}
