package io.krpc.interceptor.tracing;

import static io.opentelemetry.sdk.testing.assertj.OpenTelemetryAssertions.assertThat;
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
import io.krpc.interceptor.client.ClientTracingInterceptor;
import io.krpc.interceptor.obstesting.CallType;
import io.krpc.interceptor.obstesting.ObservedSimpleService;
import io.krpc.interceptor.server.ServerTracingInterceptor;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TracingInterceptorsTest {
  private static final AttributeKey<Long> STATUS_CODE =
      AttributeKey.longKey("rpc.grpc.status_code");

  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  // No propagators configured, as with a bare SDK: the interceptors fall back to W3C.
  private final OpenTelemetrySdk openTelemetry =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(exporter))
                  .build())
          .build();
  private final ObservedSimpleService service = new ObservedSimpleService();
  private Server server;
  private ManagedChannel channel;
  private Channel intercepted;

  @BeforeEach
  void setUp() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(
                ServerInterceptors.intercept(
                    service, ServerTracingInterceptor.create(openTelemetry)))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    intercepted =
        ClientInterceptors.intercept(channel, ClientTracingInterceptor.create(openTelemetry));
  }

  @AfterEach
  void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
    openTelemetry.close();
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void serverSpanIsChildOfClientSpanAndCurrentInHandler(CallType type) {
    assertThat(type.call(intercepted, "a").getCode()).isEqualTo(Status.Code.OK);

    SpanData client = span(SpanKind.CLIENT);
    SpanData server = span(SpanKind.SERVER);
    String name = type.fullMethodName();
    assertThat(client)
        .hasName(name)
        .hasNoParent()
        .hasStatus(io.opentelemetry.sdk.trace.data.StatusData.unset())
        .hasAttribute(AttributeKey.stringKey("rpc.system"), "grpc")
        .hasAttribute(AttributeKey.stringKey("rpc.service"), "grpc.testing.SimpleService")
        .hasAttribute(AttributeKey.stringKey("rpc.method"), name.substring(name.indexOf('/') + 1))
        .hasAttribute(STATUS_CODE, 0L);
    assertThat(server)
        .hasName(name)
        .hasTraceId(client.getTraceId())
        .hasParentSpanId(client.getSpanId())
        .hasAttribute(AttributeKey.stringKey("rpc.system"), "grpc")
        .hasAttribute(STATUS_CODE, 0L);
    assertThat(service.lastSpanContext).isEqualTo(server.getSpanContext());
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void errorStatusMarksBothSpansAsErrors(CallType type) {
    assertThat(type.call(intercepted, ObservedSimpleService.FAIL).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);

    for (SpanKind kind : new SpanKind[] {SpanKind.CLIENT, SpanKind.SERVER}) {
      assertThat(span(kind))
          .hasStatus(
              io.opentelemetry.sdk.trace.data.StatusData.create(
                  StatusCode.ERROR, "INVALID_ARGUMENT: asked to fail"))
          .hasAttribute(STATUS_CODE, (long) Status.Code.INVALID_ARGUMENT.value());
    }
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void baggageReachesTheHandler(CallType type) {
    try (Scope ignored = Baggage.builder().put("tenant", "t-42").build().makeCurrent()) {
      type.call(intercepted, "a");
    }

    assertThat(service.lastBaggageTenant).isEqualTo("t-42");
  }

  @Test
  void clientSpanIsChildOfTheCurrentSpan() {
    Span parent = openTelemetry.getTracer("test").spanBuilder("parent").startSpan();
    try (Scope ignored = parent.makeCurrent()) {
      CallType.UNARY.call(intercepted, "a");
    } finally {
      parent.end();
    }

    assertThat(span(SpanKind.CLIENT)).hasParentSpanId(parent.getSpanContext().getSpanId());
    assertThat(span(SpanKind.SERVER)).hasTraceId(parent.getSpanContext().getTraceId());
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void cancelledCallEndsBothSpansAsCancelled(CallType type) throws Exception {
    CallType.Call call = type.start(intercepted, ObservedSimpleService.HANG);
    assertThat(service.hanging.await(10, TimeUnit.SECONDS)).isTrue();

    call.cancel();

    assertThat(call.join().getCode()).isEqualTo(Status.Code.CANCELLED);
    for (SpanKind kind : new SpanKind[] {SpanKind.CLIENT, SpanKind.SERVER}) {
      assertThat(span(kind))
          .hasAttribute(STATUS_CODE, (long) Status.Code.CANCELLED.value())
          .satisfies(s -> assertThat(s.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR));
    }
  }

  @Test
  void handlerExceptionIsRecordedOnTheServerSpan() {
    assertThat(CallType.UNARY.call(intercepted, ObservedSimpleService.THROW).getCode())
        .isEqualTo(Status.Code.UNKNOWN);

    SpanData server = span(SpanKind.SERVER);
    assertThat(server.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(server).hasAttribute(STATUS_CODE, (long) Status.Code.UNKNOWN.value());
    assertThat(server.getEvents())
        .anySatisfy(event -> assertThat(event.getName()).isEqualTo("exception"));
  }

  @Test
  void noopOpenTelemetryLeavesCallsAlone() throws Exception {
    Channel plain =
        ClientInterceptors.intercept(
            channel, ClientTracingInterceptor.create(OpenTelemetry.noop()));

    assertThat(CallType.UNARY.call(plain, "a").getCode()).isEqualTo(Status.Code.OK);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(exporter.getFinishedSpanItems()).hasSize(1));
    // only the server span: no context arrived, so it starts a trace of its own
    assertThat(exporter.getFinishedSpanItems().get(0)).hasKind(SpanKind.SERVER).hasNoParent();
  }

  /** Waits for the one finished span of {@code kind}. */
  private SpanData span(SpanKind kind) {
    await()
        .atMost(Duration.ofSeconds(10))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(10))
        .until(() -> exporter.getFinishedSpanItems().stream().anyMatch(s -> s.getKind() == kind));
    List<SpanData> spans =
        exporter.getFinishedSpanItems().stream().filter(s -> s.getKind() == kind).toList();
    assertThat(spans).hasSize(1);
    return spans.get(0);
  }
}
