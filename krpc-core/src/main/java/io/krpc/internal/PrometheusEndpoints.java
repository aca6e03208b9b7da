package io.krpc.internal;

import io.krpc.interceptor.metrics.PrometheusHttpServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;

/**
 * KServer's and KClient's way to the optional artifact krpc-metrics-prometheus (the {@code
 * /metrics} endpoint and Micrometer's Prometheus registry). krpc-core compiles against it with
 * scope {@code provided}: it is not on an application's classpath unless the application adds it.
 *
 * <p>This class names no Prometheus type in its own signatures or bodies: those live in {@link
 * Present}, a separate class file the JVM loads (and verifies) only when one of the methods below
 * that need it runs, which {@link InterceptorChains} does only after {@link #onClasspath()} said
 * yes. An application without the artifact therefore never loads a Prometheus class.
 */
final class PrometheusEndpoints {
  /** The Maven coordinates an application adds for {@code metricsPort}. */
  static final String ARTIFACT = "io.krpc:krpc-metrics-prometheus";

  private static final boolean ON_CLASSPATH =
      present("io.krpc.interceptor.metrics.PrometheusHttpServer")
          && present("io.micrometer.prometheusmetrics.PrometheusMeterRegistry");

  private PrometheusEndpoints() {}

  /** Whether krpc-metrics-prometheus and the Micrometer Prometheus registry can be loaded. */
  static boolean onClasspath() {
    return ON_CLASSPATH;
  }

  /** Whether {@code registry} is a Prometheus registry; false when the artifact is absent. */
  static boolean isPrometheus(MeterRegistry registry) {
    return ON_CLASSPATH && Present.isPrometheus(registry);
  }

  /** A new Prometheus registry; call only when {@link #onClasspath()}. */
  static MeterRegistry newRegistry() {
    return Present.newRegistry();
  }

  /**
   * Serves {@code registry}, a Prometheus registry, at {@code http://<host>:<port>/metrics}; call
   * only when {@link #onClasspath()}.
   */
  static Endpoint start(MeterRegistry registry, int port) {
    return Present.start(registry, port);
  }

  /** A running {@code /metrics} endpoint, without its Prometheus type. */
  static final class Endpoint {
    private final int port;
    private final Runnable close;

    Endpoint(int port, Runnable close) {
      this.port = port;
      this.close = close;
    }

    int port() {
      return port;
    }

    void close() {
      close.run();
    }
  }

  private static boolean present(String className) {
    try {
      Class.forName(className, false, PrometheusEndpoints.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /** The code that names Prometheus types; loaded only when they are on the classpath. */
  private static final class Present {
    private Present() {}

    static boolean isPrometheus(MeterRegistry registry) {
      return registry instanceof PrometheusMeterRegistry;
    }

    static MeterRegistry newRegistry() {
      return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    static Endpoint start(MeterRegistry registry, int port) {
      PrometheusHttpServer server =
          PrometheusHttpServer.start(
              (PrometheusMeterRegistry) registry, new InetSocketAddress(port));
      return new Endpoint(server.port(), server::close);
    }
  }
}
