package io.krpc.interceptor.obstesting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.krpc.interceptor.client.ClientMetricsInterceptor;
import io.krpc.interceptor.client.ClientTracingInterceptor;
import io.krpc.interceptor.server.ServerMetricsInterceptor;
import io.krpc.interceptor.server.ServerTracingInterceptor;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tracing and metrics stacked as KRPC stacks them (tracing outside metrics on both sides), with a
 * non-Prometheus registry: each call is both counted and traced, whatever its outcome.
 */
class ObservabilityChainTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final OpenTelemetrySdk openTelemetry =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(exporter))
                  .build())
          .build();
  private Server server;
  private ManagedChannel channel;
  private Channel intercepted;

  @BeforeEach
  void setUp() throws Exception {
    String name = InProcessServerBuilder.generateName();
    // ServerInterceptors.intercept runs the last interceptor first: tracing is outermost.
    server =
        InProcessServerBuilder.forName(name)
            .addService(
                ServerInterceptors.intercept(
                    new ObservedSimpleService(),
                    ServerMetricsInterceptor.create(registry, "simple"),
                    ServerTracingInterceptor.create(openTelemetry)))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    intercepted =
        ClientInterceptors.intercept(
            channel,
            ClientMetricsInterceptor.create(registry, "simple"),
            ClientTracingInterceptor.create(openTelemetry));
  }

  @AfterEach
  void tearDown() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    openTelemetry.close();
    registry.close();
  }

  @Test
  void everyCallIsCountedAndTraced() {
    assertThat(CallType.UNARY.call(intercepted, "a").getCode()).isEqualTo(Status.Code.OK);
    assertThat(CallType.SERVER_STREAMING.call(intercepted, ObservedSimpleService.FAIL).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(CallType.UNARY.call(intercepted, ObservedSimpleService.THROW).getCode())
        .isEqualTo(Status.Code.UNKNOWN);

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(exporter.getFinishedSpanItems()).hasSize(6);
              for (String side : new String[] {"server", "client"}) {
                assertThat(count(side, "OK")).as(side).isEqualTo(1.0);
                assertThat(count(side, "INVALID_ARGUMENT")).as(side).isEqualTo(1.0);
                assertThat(count(side, "UNKNOWN")).as(side).isEqualTo(1.0);
              }
            });
    assertThat(
            exporter.getFinishedSpanItems().stream()
                .filter(span -> span.getStatus().getStatusCode() == StatusCode.ERROR)
                .map(SpanData::getKind))
        .containsExactlyInAnyOrder(
            SpanKind.CLIENT, SpanKind.CLIENT, SpanKind.SERVER, SpanKind.SERVER);
  }

  private double count(String side, String code) {
    return registry
        .find("prpc." + side + ".req.client.handle.total")
        .tag("code", code)
        .counters()
        .stream()
        .mapToDouble(c -> c.count())
        .sum();
  }
}
