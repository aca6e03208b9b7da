package io.krpc.internal;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.krpc.interceptor.client.ClientMetricsInterceptor;
import io.krpc.interceptor.client.ClientTracingInterceptor;
import io.krpc.interceptor.server.RecoveryInterceptor;
import io.krpc.interceptor.server.ServerMetricsInterceptor;
import io.krpc.interceptor.server.ServerTracingInterceptor;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The one place where KServer and KClient assemble their built-in interceptor chains, in the order
 * API.md fixes. Server, outermost first: recovery, tracing, metrics, then the user's interceptors
 * in the order given. Client, outermost first: tracing, metrics, then the user's interceptors.
 *
 * <p>Recovery is outermost so that an exception thrown anywhere inside, a built-in interceptor
 * included, still ends the call with INTERNAL. A second recovery runs just inside metrics, around
 * the user's interceptors and the handler: it turns their exceptions into an INTERNAL close that
 * goes through the tracing and metrics wrappers, so that spans and metrics record the INTERNAL the
 * client sees (the outer one closes the raw call, which the inner wrappers never see). Tracing
 * wraps metrics so that the span covers the whole call as the metrics see it.
 *
 * <p>The Prometheus parts (the default {@code PrometheusMeterRegistry}, the {@code /metrics}
 * endpoint) live in the optional artifact io.krpc:krpc-metrics-prometheus; this class reaches them
 * only through {@code PrometheusEndpoints}, after checking that they are on the classpath, so that
 * an application without them never loads a Prometheus class.
 */
public final class InterceptorChains {
  private InterceptorChains() {}

  /** Options of the built-in server chain, filled in by {@code KServer.Builder}. */
  public static final class ServerOptions {
    /** Port of the Prometheus endpoint; -1 for none. */
    public int metricsPort = -1;

    /** Where server metrics go; null for a new registry per server (see {@link #meterRegistry}). */
    public @Nullable MeterRegistry meterRegistry;

    /** Tracing API; null for {@link GlobalOpenTelemetry}. */
    public @Nullable OpenTelemetry openTelemetry;

    /** Whether each built-in interceptor is on. */
    public boolean recovery = true;

    public boolean tracing = true;
    public boolean metrics = true;
  }

  /** Options of the built-in client chain, filled in by {@code KClient.Builder}. */
  public static final class ClientOptions {
    /** Port of the Prometheus endpoint; -1 for none. */
    public int metricsPort = -1;

    /** Where client metrics go; null for a new registry per client (see {@link #meterRegistry}). */
    public @Nullable MeterRegistry meterRegistry;

    /** Tracing API; null for {@link GlobalOpenTelemetry}. */
    public @Nullable OpenTelemetry openTelemetry;

    /** Whether each built-in interceptor is on. */
    public boolean tracing = true;

    public boolean metrics = true;
  }

  /**
   * What a chain holds that must be started once the server or channel exists and closed with it:
   * the meter registry and its Prometheus endpoint.
   */
  public static final class ChainResources implements AutoCloseable {
    private final MeterRegistry meterRegistry;
    private final int requestedMetricsPort;
    private PrometheusEndpoints.@Nullable Endpoint metricsServer;

    ChainResources(MeterRegistry meterRegistry, int requestedMetricsPort) {
      this.meterRegistry = meterRegistry;
      this.requestedMetricsPort = requestedMetricsPort;
    }

    /** The registry the metrics go to. */
    public MeterRegistry meterRegistry() {
      return meterRegistry;
    }

    /** Starts the metrics endpoint, when one was asked for. */
    public void startMetricsEndpoint() {
      if (requestedMetricsPort >= 0) {
        metricsServer = PrometheusEndpoints.start(meterRegistry, requestedMetricsPort);
      }
    }

    /** The bound metrics port, or -1. */
    public int metricsPort() {
      return metricsServer == null ? -1 : metricsServer.port();
    }

    @Override
    public void close() {
      if (metricsServer != null) {
        metricsServer.close();
      }
    }
  }

  /**
   * Installs the server chain on {@code builder}: outermost first, the built-in interceptors, then
   * {@code userInterceptors} in the order given.
   *
   * @throws IllegalStateException when a metrics port is asked for without krpc-metrics-prometheus
   *     on the classpath or with a meter registry that is not a Prometheus one (see {@link
   *     #checkMetricsEndpoint})
   */
  public static ChainResources installServerChain(
      ServerBuilder<?> builder,
      String serviceName,
      ServerOptions options,
      List<ServerInterceptor> userInterceptors) {
    MeterRegistry meterRegistry = meterRegistry(options.meterRegistry, options.metricsPort);
    List<ServerInterceptor> outerFirst = new ArrayList<>();
    if (options.recovery) {
      outerFirst.add(RecoveryInterceptor.create());
    }
    if (options.tracing) {
      outerFirst.add(ServerTracingInterceptor.create(openTelemetry(options.openTelemetry)));
    }
    if (options.metrics) {
      outerFirst.add(ServerMetricsInterceptor.create(meterRegistry, serviceName));
    }
    if (options.recovery && (options.tracing || options.metrics)) {
      outerFirst.add(RecoveryInterceptor.create());
    }
    outerFirst.addAll(userInterceptors);
    // ServerBuilder.intercept: the interceptor added last runs first.
    List<ServerInterceptor> reversed = new ArrayList<>(outerFirst);
    Collections.reverse(reversed);
    reversed.forEach(builder::intercept);
    return new ChainResources(meterRegistry, options.metricsPort);
  }

  /**
   * Installs the client chain on {@code builder}: outermost first, the built-in interceptors, then
   * {@code userInterceptors} in the order given.
   *
   * @throws IllegalStateException when a metrics port is asked for without krpc-metrics-prometheus
   *     on the classpath or with a meter registry that is not a Prometheus one (see {@link
   *     #checkMetricsEndpoint})
   */
  public static ChainResources installClientChain(
      ManagedChannelBuilder<?> builder,
      String serviceName,
      ClientOptions options,
      List<ClientInterceptor> userInterceptors) {
    MeterRegistry meterRegistry = meterRegistry(options.meterRegistry, options.metricsPort);
    List<ClientInterceptor> outerFirst = new ArrayList<>();
    if (options.tracing) {
      outerFirst.add(ClientTracingInterceptor.create(openTelemetry(options.openTelemetry)));
    }
    if (options.metrics) {
      outerFirst.add(ClientMetricsInterceptor.create(meterRegistry, serviceName));
    }
    outerFirst.addAll(userInterceptors);
    // ManagedChannelBuilder.intercept(List): the last interceptor in the list runs first.
    List<ClientInterceptor> reversed = new ArrayList<>(outerFirst);
    Collections.reverse(reversed);
    builder.intercept(reversed);
    return new ChainResources(meterRegistry, options.metricsPort);
  }

  /**
   * Checks, before anything is built, that a requested metrics endpoint can be served: {@code
   * metricsPort} needs krpc-metrics-prometheus on the classpath, and a configured registry that is
   * a {@code PrometheusMeterRegistry}.
   *
   * @throws IllegalStateException naming the option and, when missing, the artifact to add
   */
  public static void checkMetricsEndpoint(int metricsPort, @Nullable MeterRegistry configured) {
    if (metricsPort < 0) {
      return;
    }
    if (!PrometheusEndpoints.onClasspath()) {
      throw new IllegalStateException(
          "metricsPort: "
              + metricsPort
              + " needs the Prometheus endpoint, which is not on the classpath (expected: add "
              + PrometheusEndpoints.ARTIFACT
              + ", or no metricsPort)");
    }
    if (configured != null && !PrometheusEndpoints.isPrometheus(configured)) {
      throw new IllegalStateException(
          "metricsPort: "
              + metricsPort
              + " with meterRegistry: "
              + configured.getClass().getName()
              + " (expected: a PrometheusMeterRegistry, or no "
              + "metricsPort and a /metrics endpoint of your own)");
    }
  }

  /**
   * The configured registry, else a new one of its own, so that a server's or client's meters
   * always reach something a scrape or the application can read (Micrometer's global registry has
   * no backend unless the application adds one): a {@code PrometheusMeterRegistry} when
   * krpc-metrics-prometheus is on the classpath, else Micrometer's {@link SimpleMeterRegistry}.
   */
  private static MeterRegistry meterRegistry(@Nullable MeterRegistry configured, int metricsPort) {
    checkMetricsEndpoint(metricsPort, configured);
    if (configured != null) {
      return configured;
    }
    return PrometheusEndpoints.onClasspath()
        ? PrometheusEndpoints.newRegistry()
        : new SimpleMeterRegistry();
  }

  private static OpenTelemetry openTelemetry(@Nullable OpenTelemetry configured) {
    return configured != null ? configured : GlobalOpenTelemetry.get();
  }
}
