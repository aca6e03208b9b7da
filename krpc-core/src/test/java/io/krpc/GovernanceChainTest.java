package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The built-in chains as KServer and KClient assemble them. */
class GovernanceChainTest {

  private static final SimpleServiceGrpc.SimpleServiceImplBase THROWING =
      new SimpleServiceGrpc.SimpleServiceImplBase() {
        @Override
        public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
          if (request.getRequestMessage().equals("boom")) {
            throw new IllegalStateException("secret detail at com.example.Handler");
          }
          observer.onNext(SimpleResponse.newBuilder().setResponseMessage("ok").build());
          observer.onCompleted();
        }
      };

  private static SimpleServiceGrpc.SimpleServiceBlockingStub stub(KClient client) {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  private static SimpleRequest request(String message) {
    return SimpleRequest.newBuilder().setRequestMessage(message).build();
  }

  @Test
  void handlerExceptionBecomesInternalAndIsCountedAsSuch() {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (KServer server =
            KServer.builder()
                .serviceName("echo")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .meterRegistry(meters)
                .addService(THROWING)
                .start();
        KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
      assertThatThrownBy(() -> stub(client).unaryRpc(request("boom")))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
                assertThat(String.valueOf(e.getStatus().getDescription()))
                    .doesNotContain("secret")
                    .doesNotContain("com.example");
              });
      // The server keeps serving.
      assertThat(stub(client).unaryRpc(request("hi")).getResponseMessage()).isEqualTo("ok");
      assertThat(
              meters
                  .get("prpc.server.req.client.handle.total")
                  .tag("code", "INTERNAL")
                  .counter()
                  .count())
          .isEqualTo(1.0);
      assertThat(
              meters.get("prpc.server.req.client.handle.total").tag("code", "OK").counter().count())
          .isEqualTo(1.0);
    }
  }

  @Test
  void userInterceptorsRunInsideTheBuiltInsInTheOrderGiven() {
    List<String> order = new CopyOnWriteArrayList<>();
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (KServer server =
            KServer.builder()
                .serviceName("echo")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .meterRegistry(meters)
                .intercept(recording("first", order, meters), recording("second", order, meters))
                .addService(THROWING)
                .start();
        KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
      stub(client).unaryRpc(request("hi"));
      // "first" sees the call after metrics started counting it (in-flight gauge is 1).
      assertThat(order).containsExactly("first:inflight=1", "second:inflight=1");
    }
  }

  private static ServerInterceptor recording(
      String name, List<String> order, SimpleMeterRegistry meters) {
    return new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
          ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        double inFlight =
            meters.find("prpc.server.req.in.flight").gauges().stream()
                .mapToDouble(g -> g.value())
                .sum();
        order.add(name + ":inflight=" + (int) inFlight);
        return next.startCall(
            new ForwardingServerCall.SimpleForwardingServerCall<>(call) {}, headers);
      }
    };
  }

  @Test
  void metricsPortServesPrometheusTextWithTheGoMetricNames() throws Exception {
    try (KServer server =
            KServer.builder()
                .serviceName("echo")
                .host("127.0.0.1")
                .port(0)
                .metricsPort(0)
                .deregisterDelay(Duration.ZERO)
                .addService(THROWING)
                .start();
        KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
      stub(client).unaryRpc(request("hi"));
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + server.metricsPort() + "/metrics"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body())
          .contains("prpc_server_req_client_handle_total{")
          .contains("prpc_server_req_client_handle_seconds_bucket{")
          .contains("code=\"OK\"")
          .contains("server=\"echo\"");
    }
  }

  @Test
  void aRateLimitedCallIsStillCountedAndTraced() {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    try (SdkTracerProvider tracerProvider =
        SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build()) {
      OpenTelemetry otel = OpenTelemetrySdk.builder().setTracerProvider(tracerProvider).build();
      try (KServer server =
              KServer.builder()
                  .serviceName("echo")
                  .host("127.0.0.1")
                  .port(0)
                  .deregisterDelay(Duration.ZERO)
                  .meterRegistry(meters)
                  .openTelemetry(otel)
                  .intercept(
                      RateLimitInterceptor.of(
                          Map.of(
                              "grpc.testing.SimpleService/UnaryRpc",
                              new RateLimitConfig(1, 0.001, Duration.ZERO))))
                  .addService(THROWING)
                  .start();
          KClient client = KClient.forTarget("127.0.0.1:" + server.port()).tracing(false).build()) {
        assertThat(stub(client).unaryRpc(request("hi")).getResponseMessage()).isEqualTo("ok");
        assertThatThrownBy(() -> stub(client).unaryRpc(request("hi")))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                  assertThat(e.getStatus().getDescription()).contains("rate limited");
                });
        assertThat(
                meters
                    .get("prpc.server.req.client.handle.total")
                    .tag("code", "RESOURCE_EXHAUSTED")
                    .counter()
                    .count())
            .isEqualTo(1.0);
        org.awaitility.Awaitility.await().until(() -> spans.getFinishedSpanItems().size() == 2);
        assertThat(spans.getFinishedSpanItems())
            .extracting(s -> s.getAttributes().get(AttributeKey.longKey("rpc.grpc.status_code")))
            .containsExactlyInAnyOrder(0L, (long) Status.Code.RESOURCE_EXHAUSTED.value());
      }
    }
  }

  @Test
  void builtInsCanBeTurnedOff() {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (KServer server =
            KServer.builder()
                .serviceName("echo")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .meterRegistry(meters)
                .metrics(false)
                .tracing(false)
                .recovery(false)
                .addService(THROWING)
                .start();
        KClient client =
            KClient.forTarget("127.0.0.1:" + server.port()).metrics(false).tracing(false).build()) {
      assertThatThrownBy(() -> stub(client).unaryRpc(request("boom")))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNKNOWN));
      assertThat(meters.getMeters()).isEmpty();
    }
  }

  @Test
  void metricsPortNeedsAPrometheusRegistry() {
    assertThatThrownBy(
            () ->
                KServer.builder()
                    .serviceName("echo")
                    .port(0)
                    .metricsPort(0)
                    .meterRegistry(new SimpleMeterRegistry())
                    .start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith(
            "metricsPort: 0 with meterRegistry: "
                + "io.micrometer.core.instrument.simple.SimpleMeterRegistry (expected: a PrometheusMeterRegistry");
  }
}
