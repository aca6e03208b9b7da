package io.krpc.examples.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.KServer;
import io.krpc.examples.GreeterService;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Trace context across languages: a Node client starts a span with the OpenTelemetry JS SDK and
 * sends it in a W3C {@code traceparent} header injected by OpenTelemetry JS's own propagator; the
 * KServer's server span carries the same trace id, with the Node span as its remote parent.
 */
class NodeTraceContextIT {

  @BeforeAll
  static void install() throws Exception {
    NodeClientIT.npmCi();
  }

  @Test
  void theKServerSpanContinuesTheNodeClientsTrace() throws Exception {
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    try (OpenTelemetrySdk otel =
        OpenTelemetrySdk.builder()
            .setTracerProvider(
                SdkTracerProvider.builder()
                    .addSpanProcessor(SimpleSpanProcessor.create(spans))
                    .build())
            .build()) {
      int[] port = new int[1];
      try (KServer server =
          KServer.builder()
              .serviceName("greeter")
              .host("127.0.0.1")
              .port(0)
              .deregisterDelay(Duration.ZERO)
              .openTelemetry(otel)
              .addService(new GreeterService(() -> "127.0.0.1:" + port[0]))
              .start()) {
        port[0] = server.port();
        ExternalProcess.Result result =
            ExternalProcess.run(
                NodeClientIT.DIR,
                Map.of(),
                Duration.ofSeconds(60),
                "node",
                "trace_client.js",
                "127.0.0.1:" + server.port(),
                GreeterUnderTest.greeterProto().toString());
        Map<String, String> printed = result.values();
        assertThat(printed).as(result.toString()).containsEntry("reply", "Hello, node-traced");
        String traceId = printed.get("trace_id");
        assertThat(traceId).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));
        assertThat(printed.get("traceparent"))
            .isEqualTo("00-" + traceId + "-" + printed.get("span_id") + "-01");

        List<SpanData> serverSpans =
            spans.getFinishedSpanItems().stream()
                .filter(s -> s.getKind() == SpanKind.SERVER)
                .toList();
        assertThat(serverSpans).hasSize(1);
        SpanData span = serverSpans.get(0);
        assertThat(span.getName()).isEqualTo("greeter.Greeter/SayHello");
        assertThat(span.getTraceId()).as("the server span's trace id").isEqualTo(traceId);
        assertThat(span.getParentSpanId())
            .as("its parent: the Node span")
            .isEqualTo(printed.get("span_id"));
        assertThat(span.getParentSpanContext().isRemote()).isTrue();
      }
    }
  }
}
