package io.krpc.interceptor.tracing;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up OpenTelemetry tracing that exports spans over OTLP/gRPC, the Java form of the Go KRPC's
 * {@code trace.StartAgent}/{@code StopAgent}. Closing it flushes the spans not yet exported and
 * shuts the exporter down.
 *
 * <pre>{@code
 * try (TracingAgent agent = TracingAgent.start(TracingOptions.builder()
 *     .serviceName("greeter").endpoint("http://127.0.0.1:4317").samplingRatio(0.5).build())) {
 *   ServerInterceptor tracing = ServerTracingInterceptor.create(agent.openTelemetry());
 *   ...
 * }
 * }</pre>
 *
 * <p>Spans are batched and exported in the background; propagation is W3C {@code traceparent} and
 * {@code baggage}; sampling is parent-based with {@link TracingOptions#samplingRatio()} for new
 * traces; every span carries the resource attribute {@code service.name}.
 *
 * <p>Thread-safe; {@link #close()} may be called more than once and from any thread.
 */
public final class TracingAgent implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(TracingAgent.class);
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");

  private final OpenTelemetrySdk sdk;
  private final TracingOptions options;
  private final AtomicBoolean closed = new AtomicBoolean();

  private TracingAgent(OpenTelemetrySdk sdk, TracingOptions options) {
    this.sdk = sdk;
    this.options = options;
  }

  /**
   * Starts exporting spans as {@code options} say. No connection is made until the first export, so
   * this succeeds even if the collector is down (exports then fail and are logged by
   * OpenTelemetry).
   *
   * @throws IllegalStateException if {@code options.registerGlobal()} and a global OpenTelemetry is
   *     already set
   */
  public static TracingAgent start(TracingOptions options) {
    requireNonNull(options, "options: null (expected: not null)");
    OtlpGrpcSpanExporter exporter =
        OtlpGrpcSpanExporter.builder()
            .setEndpoint(options.endpoint())
            .setTimeout(options.exportTimeout())
            .build();
    SdkTracerProvider tracerProvider =
        SdkTracerProvider.builder()
            .setResource(
                Resource.getDefault()
                    .merge(Resource.create(Attributes.of(SERVICE_NAME, options.serviceName()))))
            .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(options.samplingRatio())))
            .addSpanProcessor(
                BatchSpanProcessor.builder(exporter)
                    .setExporterTimeout(options.exportTimeout())
                    .build())
            .build();
    var builder =
        OpenTelemetrySdk.builder()
            .setTracerProvider(tracerProvider)
            .setPropagators(
                ContextPropagators.create(
                    TextMapPropagator.composite(
                        W3CTraceContextPropagator.getInstance(),
                        W3CBaggagePropagator.getInstance())));
    OpenTelemetrySdk sdk;
    try {
      sdk = options.registerGlobal() ? builder.buildAndRegisterGlobal() : builder.build();
    } catch (RuntimeException e) {
      tracerProvider.close();
      throw e;
    }
    logger.info("Tracing started: {}", options);
    return new TracingAgent(sdk, options);
  }

  /** Returns the OpenTelemetry to pass to the tracing interceptors or to trace with directly. */
  public OpenTelemetry openTelemetry() {
    return sdk;
  }

  /** Returns the options this agent started with. */
  public TracingOptions options() {
    return options;
  }

  /**
   * Exports the spans ended so far, waiting up to {@link TracingOptions#exportTimeout()}.
   *
   * @return true if the export succeeded in time
   */
  public boolean flush() {
    CompletableResultCode result =
        sdk.getSdkTracerProvider()
            .forceFlush()
            .join(options.exportTimeout().toMillis(), TimeUnit.MILLISECONDS);
    return result.isSuccess();
  }

  /**
   * Flushes the remaining spans and shuts the exporter down, each waiting up to {@link
   * TracingOptions#exportTimeout()}; failures are logged, not thrown.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!flush()) {
      logger.warn(
          "Tracing: could not export the last spans to {} within {}",
          options.endpoint(),
          options.exportTimeout());
    }
    CompletableResultCode shutdown =
        sdk.getSdkTracerProvider()
            .shutdown()
            .join(options.exportTimeout().toMillis(), TimeUnit.MILLISECONDS);
    if (!shutdown.isSuccess()) {
      logger.warn(
          "Tracing: shutdown of the span exporter did not finish within {}",
          options.exportTimeout());
    }
  }
}
