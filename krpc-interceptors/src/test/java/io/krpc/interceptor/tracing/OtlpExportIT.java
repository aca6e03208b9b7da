package io.krpc.interceptor.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.krpc.interceptor.client.ClientTracingInterceptor;
import io.krpc.interceptor.obstesting.CallType;
import io.krpc.interceptor.obstesting.ObservedSimpleService;
import io.krpc.interceptor.server.ServerTracingInterceptor;
import io.krpc.interceptor.tracing.OtlpTraceReceiver.ReceivedSpan;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Spans travel from {@link TracingAgent} over OTLP/gRPC (a real socket and the exporter's own
 * HTTP/2 client) to a receiver that implements the OTLP TraceService.
 */
class OtlpExportIT {
  private OtlpTraceReceiver receiver;
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void startReceiver() throws Exception {
    receiver = new OtlpTraceReceiver();
  }

  @AfterEach
  void stopAll() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    receiver.close();
  }

  @Test
  void spansReachOtlpReceiverAndServerSpanIsChildOfClientSpan() throws Exception {
    TracingOptions options =
        TracingOptions.builder().serviceName("obs-it").endpoint(receiver.endpoint()).build();
    try (TracingAgent agent = TracingAgent.start(options)) {
      String name = InProcessServerBuilder.generateName();
      server =
          InProcessServerBuilder.forName(name)
              .addService(
                  ServerInterceptors.intercept(
                      new ObservedSimpleService(),
                      ServerTracingInterceptor.create(agent.openTelemetry())))
              .build()
              .start();
      channel = InProcessChannelBuilder.forName(name).build();
      Channel traced =
          ClientInterceptors.intercept(
              channel, ClientTracingInterceptor.create(agent.openTelemetry()));

      assertThat(CallType.UNARY.call(traced, "a").getCode()).isEqualTo(Status.Code.OK);
      assertThat(CallType.BIDI_STREAMING.call(traced, "b").getCode()).isEqualTo(Status.Code.OK);
    } // close flushes the batch

    List<ReceivedSpan> spans = receiver.spans();
    assertThat(spans)
        .hasSize(4)
        .allSatisfy(
            span -> {
              assertThat(span.serviceName()).isEqualTo("obs-it");
              assertThat(span.scopeName()).isEqualTo("io.krpc.interceptor");
            });
    for (CallType type : List.of(CallType.UNARY, CallType.BIDI_STREAMING)) {
      ReceivedSpan client = find(spans, type, ReceivedSpan.KIND_CLIENT);
      ReceivedSpan server = find(spans, type, ReceivedSpan.KIND_SERVER);
      assertThat(client.parentSpanId()).isEmpty();
      assertThat(server.traceId()).isEqualTo(client.traceId()).hasSize(32);
      assertThat(server.parentSpanId()).isEqualTo(client.spanId()).hasSize(16);
    }
  }

  @Test
  void samplingRatioZeroExportsNoNewTraces() throws Exception {
    TracingOptions options =
        TracingOptions.builder()
            .serviceName("obs-it")
            .endpoint(receiver.endpoint())
            .samplingRatio(0)
            .build();
    try (TracingAgent agent = TracingAgent.start(options)) {
      agent.openTelemetry().getTracer("test").spanBuilder("unsampled").startSpan().end();
      assertThat(agent.flush()).isTrue();
    }

    assertThat(receiver.spans()).isEmpty();
  }

  private static ReceivedSpan find(List<ReceivedSpan> spans, CallType type, int kind) {
    List<ReceivedSpan> matching =
        spans.stream()
            .filter(span -> span.name().equals(type.fullMethodName()) && span.kind() == kind)
            .toList();
    assertThat(matching).as("kind %s spans of %s", kind, type).hasSize(1);
    return matching.get(0);
  }
}
