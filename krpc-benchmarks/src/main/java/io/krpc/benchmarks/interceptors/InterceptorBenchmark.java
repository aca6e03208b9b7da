package io.krpc.benchmarks.interceptors;

import io.grpc.CallOptions;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.KChains;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.interceptor.client.ClientMetricsInterceptor;
import io.krpc.interceptor.client.ClientTracingInterceptor;
import io.krpc.interceptor.client.TimeoutInterceptor;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import io.krpc.interceptor.server.RecoveryInterceptor;
import io.krpc.interceptor.server.ServerMetricsInterceptor;
import io.krpc.interceptor.server.ServerTracingInterceptor;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost one KRPC interceptor adds to a unary call: a unary call over the in-process transport
 * with direct executors on both sides, so that the call itself is as cheap as grpc-java allows and
 * the difference to {@code bare} is the interceptor's own work (time and allocation).
 *
 * <p>Each {@link #chain} value installs one interceptor (or a chain, outermost first):
 *
 * <ul>
 *   <li>{@code bare}: no interceptor;
 *   <li>{@code recovery}, {@code server-tracing-noop}, {@code server-tracing-sdk}, {@code
 *       server-metrics}, {@code rate-limit} (never trips), {@code bbr} (never sheds): one server
 *       interceptor;
 *   <li>{@code client-tracing-noop}, {@code client-tracing-sdk}, {@code client-metrics}, {@code
 *       breaker} (closed), {@code timeout} (adds the default deadline): one client interceptor;
 *   <li>{@code default-chain-noop} / {@code default-chain-sdk}: the built-in chains KServer and
 *       KClient install by default (through {@link KChains}, which builds them with the code
 *       KServer and KClient use): server recovery → tracing → metrics (Prometheus) → recovery,
 *       client tracing → metrics (a Prometheus registry of the client's own, as a KClient's by
 *       default), with a no-op or an SDK tracer;
 *   <li>{@code full-chain-sdk}: the built-in chains with client metrics in Prometheus too, plus
 *       every governance interceptor as user interceptors (client timeout and breaker, server rate
 *       limit and BBR limiter).
 * </ul>
 *
 * The SDK tracer samples every span and hands them to a batch processor whose exporter drops them,
 * which is what an application exporting over OTLP pays on the call path. Metrics go to a {@link
 * PrometheusMeterRegistry}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class InterceptorBenchmark {
  private static final String METHOD = SimpleServiceGrpc.getUnaryRpcMethod().getFullMethodName();

  /** The interceptor or chain under test; see the class javadoc. */
  @Param({
    "bare",
    "recovery",
    "server-tracing-noop",
    "server-tracing-sdk",
    "server-metrics",
    "rate-limit",
    "bbr",
    "client-tracing-noop",
    "client-tracing-sdk",
    "client-metrics",
    "breaker",
    "timeout",
    "default-chain-noop",
    "default-chain-sdk",
    "full-chain-sdk"
  })
  public String chain;

  private Server server;
  private ManagedChannel channel;
  private SdkTracerProvider tracerProvider;
  private PrometheusMeterRegistry meterRegistry;
  private final SimpleRequest request =
      SimpleRequest.newBuilder().setRequestMessage("hello").build();

  @Setup
  public void setUp() throws Exception {
    meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    List<ServerInterceptor> serverChain = new ArrayList<>(); // outermost first
    List<ClientInterceptor> clientChain = new ArrayList<>(); // outermost first
    OpenTelemetry builtIn = null; // KRPC's built-in chains with this OpenTelemetry, or none
    boolean clientMetricsToPrometheus = false;
    switch (chain) {
      case "bare" -> {}
      case "recovery" -> serverChain.add(RecoveryInterceptor.create());
      case "server-tracing-noop" -> serverChain.add(ServerTracingInterceptor.create(noop()));
      case "server-tracing-sdk" -> serverChain.add(ServerTracingInterceptor.create(sdk()));
      case "server-metrics" ->
          serverChain.add(ServerMetricsInterceptor.create(meterRegistry, "bench"));
      case "rate-limit" -> serverChain.add(rateLimit());
      case "bbr" -> serverChain.add(AdaptiveLimitInterceptor.create());
      case "client-tracing-noop" -> clientChain.add(ClientTracingInterceptor.create(noop()));
      case "client-tracing-sdk" -> clientChain.add(ClientTracingInterceptor.create(sdk()));
      case "client-metrics" ->
          clientChain.add(ClientMetricsInterceptor.create(meterRegistry, "bench"));
      case "breaker" -> clientChain.add(breaker());
      case "timeout" -> clientChain.add(timeout());
      case "default-chain-noop" -> builtIn = noop();
      case "default-chain-sdk" -> builtIn = sdk();
      case "full-chain-sdk" -> {
        builtIn = sdk();
        clientMetricsToPrometheus = true;
        clientChain.add(timeout());
        clientChain.add(breaker());
        serverChain.add(rateLimit());
        serverChain.add(AdaptiveLimitInterceptor.create());
      }
      default -> throw new IllegalArgumentException("chain: " + chain + " (unknown)");
    }
    String name = "interceptor-bench-" + chain;
    InProcessServerBuilder serverBuilder =
        InProcessServerBuilder.forName(name).directExecutor().addService(new EchoService());
    InProcessChannelBuilder channelBuilder = InProcessChannelBuilder.forName(name).directExecutor();
    if (builtIn != null) {
      // Exactly what KServer and KClient install, with the given interceptors as the user's. The
      // client's metrics go to a Prometheus registry of its own unless asked otherwise, as a
      // KClient's do by default with krpc-metrics-prometheus on the classpath.
      KChains.installServerChain(serverBuilder, "bench", meterRegistry, builtIn, serverChain);
      KChains.installClientChain(
          channelBuilder,
          "bench",
          clientMetricsToPrometheus
              ? meterRegistry
              : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
          builtIn,
          clientChain);
    } else {
      // ServerBuilder.intercept and ManagedChannelBuilder.intercept run the last one first.
      List<ServerInterceptor> serverInnerFirst = new ArrayList<>(serverChain);
      Collections.reverse(serverInnerFirst);
      serverInnerFirst.forEach(serverBuilder::intercept);
      List<ClientInterceptor> clientInnerFirst = new ArrayList<>(clientChain);
      Collections.reverse(clientInnerFirst);
      channelBuilder.intercept(clientInnerFirst);
    }
    server = serverBuilder.build().start();
    channel = channelBuilder.build();
  }

  @TearDown
  public void tearDown() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (tracerProvider != null) {
      tracerProvider.close();
    }
    meterRegistry.close();
  }

  /** One unary call through the chain under test. */
  @Benchmark
  public SimpleResponse unaryCall() throws Exception {
    // With direct executors on both sides the call completes inside this invocation: the future
    // is already done and get() never parks (a blocking stub would hand off to its own executor).
    return ClientCalls.futureUnaryCall(
            channel.newCall(SimpleServiceGrpc.getUnaryRpcMethod(), CallOptions.DEFAULT), request)
        .get();
  }

  private static OpenTelemetry noop() {
    return OpenTelemetry.noop();
  }

  private OpenTelemetry sdk() {
    if (tracerProvider == null) {
      tracerProvider =
          SdkTracerProvider.builder()
              .addSpanProcessor(BatchSpanProcessor.builder(new DroppingExporter()).build())
              .build();
    }
    return OpenTelemetrySdk.builder()
        .setTracerProvider(tracerProvider)
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
  }

  private static RateLimitInterceptor rateLimit() {
    // A bucket so large and fast that it never runs dry: measures the admission path only.
    return RateLimitInterceptor.of(
        Map.of(METHOD, new RateLimitConfig(1_000_000_000L, 1e12, Duration.ZERO)));
  }

  private static CircuitBreakerInterceptor breaker() {
    return CircuitBreakerInterceptor.of(
        "bench", 100, Duration.ofSeconds(10), Duration.ofSeconds(5), null);
  }

  private static TimeoutInterceptor timeout() {
    return TimeoutInterceptor.of(Duration.ofSeconds(5), Duration.ofSeconds(1));
  }

  /** Answers every unary call with a fixed reply. */
  static final class EchoService extends SimpleServiceGrpc.SimpleServiceImplBase {
    private static final SimpleResponse REPLY =
        SimpleResponse.newBuilder().setResponseMessage("hi").build();

    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> responseObserver) {
      responseObserver.onNext(REPLY);
      responseObserver.onCompleted();
    }
  }

  /** An exporter that drops every span: the cost of exporting is not the interceptor's. */
  static final class DroppingExporter implements SpanExporter {
    @Override
    public CompletableResultCode export(Collection<SpanData> spans) {
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode flush() {
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
      return CompletableResultCode.ofSuccess();
    }
  }
}
