package io.krpc;

import static io.krpc.common.Checks.noNullElements;
import static io.krpc.common.Checks.notNull;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.krpc.internal.InterceptorChains;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.util.List;

/**
 * KServer's and KClient's built-in interceptor chains for a grpc-java builder of your own, e.g. an
 * in-process server and channel in a test, so that calls there go through exactly the governance
 * chain a KServer or KClient installs.
 *
 * <p>Server, outermost first: recovery, tracing, metrics, a second recovery, then {@code
 * interceptors} in the order given. Client, outermost first: tracing, metrics, then {@code
 * interceptors}. The order is the one KServer and KClient use (the same code builds both).
 *
 * <pre>{@code
 * SimpleMeterRegistry meters = new SimpleMeterRegistry();
 * InProcessServerBuilder server = InProcessServerBuilder.forName("test").addService(impl);
 * KChains.installServerChain(server, "greeter", meters, OpenTelemetry.noop(), List.of());
 * InProcessChannelBuilder channel = InProcessChannelBuilder.forName("test");
 * KChains.installClientChain(channel, "greeter", meters, OpenTelemetry.noop(), List.of());
 * }</pre>
 *
 * <p>Call each method once per builder: a second call wraps a second chain around the first.
 */
public final class KChains {
  private KChains() {}

  /**
   * Installs KServer's built-in server chain on {@code builder}, with {@code interceptors} (the
   * user's, outermost first) inside it, as {@code KServer.Builder.intercept} places them.
   *
   * @param serviceName the service name the metrics are tagged with
   * @param meterRegistry where the server metrics go
   * @param openTelemetry the tracing API the server spans come from
   */
  public static void installServerChain(
      ServerBuilder<?> builder,
      String serviceName,
      MeterRegistry meterRegistry,
      OpenTelemetry openTelemetry,
      List<? extends ServerInterceptor> interceptors) {
    notNull(builder, "builder");
    notNull(serviceName, "serviceName");
    InterceptorChains.ServerOptions options = new InterceptorChains.ServerOptions();
    options.meterRegistry = notNull(meterRegistry, "meterRegistry");
    options.openTelemetry = notNull(openTelemetry, "openTelemetry");
    InterceptorChains.installServerChain(
        builder, serviceName, options, noNullElements(interceptors, "interceptors"));
  }

  /**
   * Installs KClient's built-in client chain on {@code builder}, with {@code interceptors} (the
   * user's, outermost first) inside it, as {@code KClient.Builder.intercept} places them.
   *
   * @param serviceName the service name the metrics are tagged with
   * @param meterRegistry where the client metrics go
   * @param openTelemetry the tracing API the client spans come from
   */
  public static void installClientChain(
      ManagedChannelBuilder<?> builder,
      String serviceName,
      MeterRegistry meterRegistry,
      OpenTelemetry openTelemetry,
      List<? extends ClientInterceptor> interceptors) {
    notNull(builder, "builder");
    notNull(serviceName, "serviceName");
    InterceptorChains.ClientOptions options = new InterceptorChains.ClientOptions();
    options.meterRegistry = notNull(meterRegistry, "meterRegistry");
    options.openTelemetry = notNull(openTelemetry, "openTelemetry");
    InterceptorChains.installClientChain(
        builder, serviceName, options, noNullElements(interceptors, "interceptors"));
  }
}
