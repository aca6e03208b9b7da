package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A KServer and a KClient work on krpc-core's own classpath, without the optional parts: no
 * OpenTelemetry SDK or OTLP exporter, no Prometheus registry or endpoint, no Resilience4j, no
 * Bucket4j. Runs only in krpc-core's surefire execution {@code minimal-classpath}, which removes
 * those jars (test and provided dependencies of krpc-core) from the test classpath and sets {@code
 * krpc.minimalClasspath}; the default execution skips it. If a class on the default path loaded one
 * of them, the calls below would fail with NoClassDefFoundError.
 */
class MinimalClasspathTest {
  /** One class of each optional part; none may be loadable here. */
  private static final String[] OPTIONAL_CLASSES = {
    "io.opentelemetry.sdk.OpenTelemetrySdk",
    "io.opentelemetry.sdk.trace.SdkTracerProvider",
    "io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter",
    "io.micrometer.prometheusmetrics.PrometheusMeterRegistry",
    "io.prometheus.metrics.model.registry.PrometheusRegistry",
    "io.krpc.interceptor.metrics.PrometheusHttpServer",
    "io.krpc.interceptor.tracing.TracingAgent",
    "io.github.resilience4j.circuitbreaker.CircuitBreaker",
    "io.github.bucket4j.Bucket",
  };

  @BeforeAll
  static void onlyOnTheMinimalClasspath() {
    assumeTrue(
        Boolean.getBoolean("krpc.minimalClasspath"),
        "runs in krpc-core's surefire execution minimal-classpath only");
  }

  @Test
  void theOptionalPartsAreNotOnThisClasspath() {
    for (String name : OPTIONAL_CLASSES) {
      assertThatThrownBy(
              () -> Class.forName(name, false, MinimalClasspathTest.class.getClassLoader()), name)
          .isInstanceOf(ClassNotFoundException.class);
    }
  }

  @Test
  void aServerAndAClientServeCallsWithTracingAndMetricsOn() {
    try (KServer server =
        KServer.builder()
            .serviceName("echo")
            .host("127.0.0.1")
            .port(0)
            .deregisterDelay(Duration.ZERO)
            .addService(new EchoService(() -> "s"))
            .start()) {
      try (KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
        SimpleServiceGrpc.newBlockingStub(client.channel())
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .unaryRpc(SimpleRequest.getDefaultInstance());
        assertThat(client.meterRegistry()).isInstanceOf(SimpleMeterRegistry.class);
        assertThat(client.meterRegistry().get("prpc.client.req.client.handle.total").counter())
            .satisfies(counter -> assertThat(counter.count()).isEqualTo(1.0));
      }
      assertThat(server.meterRegistry()).isInstanceOf(SimpleMeterRegistry.class);
      assertThat(server.meterRegistry().get("prpc.server.req.client.handle.total").counter())
          .satisfies(counter -> assertThat(counter.count()).isEqualTo(1.0));
      assertThat(server.metricsPort()).isEqualTo(-1);
    }
  }

  @Test
  void aMetricsPortWithoutThePrometheusArtifactFailsNamingIt() {
    KServer.Builder server =
        KServer.builder()
            .serviceName("echo")
            .port(0)
            .addService(new EchoService(() -> "s"))
            .metricsPort(9464);
    assertThatThrownBy(server::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "metricsPort: 9464 needs the Prometheus endpoint, which is not on the classpath"
                + " (expected: add io.krpc:krpc-metrics-prometheus, or no metricsPort)");
    // checked before anything starts: a second start() fails the same way, not as "already started"
    assertThatThrownBy(server::start).hasMessageStartingWith("metricsPort: 9464 needs");
    assertThatThrownBy(() -> KClient.forTarget("127.0.0.1:1").metricsPort(0).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("metricsPort: 0 needs the Prometheus endpoint")
        .hasMessageContaining("io.krpc:krpc-metrics-prometheus");
  }
}
