package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** KChains installs KServer's and KClient's built-in chains on builders of the user's own. */
class KChainsTest {

  private static final SimpleServiceGrpc.SimpleServiceImplBase THROWING =
      new SimpleServiceGrpc.SimpleServiceImplBase() {
        @Override
        public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
          if (request.getRequestMessage().equals("boom")) {
            throw new IllegalStateException("secret detail");
          }
          observer.onNext(SimpleResponse.newBuilder().setResponseMessage("ok").build());
          observer.onCompleted();
        }
      };

  /** Records its name, and whether a span (the tracing interceptor's) is current around it. */
  private static ServerInterceptor recording(String name, List<String> seen) {
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        seen.add(name + (Span.current().getSpanContext().isValid() ? " in span" : " no span"));
        return next.startCall(call, headers);
      }
    };
  }

  private static ClientInterceptor recordingClient(String name, List<String> seen) {
    return new ClientInterceptor() {
      @Override
      public <Q, A> ClientCall<Q, A> interceptCall(
          MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        seen.add(name);
        return next.newCall(method, options);
      }
    };
  }

  @Test
  void chainsRunInKServerAndKClientOrderAroundTheUsersInterceptors() throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    OpenTelemetry otel =
        OpenTelemetrySdk.builder()
            .setTracerProvider(
                SdkTracerProvider.builder()
                    .addSpanProcessor(SimpleSpanProcessor.create(spans))
                    .build())
            .build();
    List<String> seen = new CopyOnWriteArrayList<>();
    String name = InProcessServerBuilder.generateName();
    InProcessServerBuilder serverBuilder =
        InProcessServerBuilder.forName(name).directExecutor().addService(THROWING);
    KChains.installServerChain(
        serverBuilder,
        "echo",
        meters,
        otel,
        List.of(recording("server a", seen), recording("server b", seen)));
    InProcessChannelBuilder channelBuilder = InProcessChannelBuilder.forName(name).directExecutor();
    KChains.installClientChain(
        channelBuilder,
        "echo",
        meters,
        otel,
        List.of(recordingClient("client a", seen), recordingClient("client b", seen)));
    Server server = serverBuilder.build().start();
    ManagedChannel channel = channelBuilder.build();
    try {
      SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(channel);
      assertThat(stub.unaryRpc(request("hi")).getResponseMessage()).isEqualTo("ok");
      // the user's interceptors run in the order given; the server's inside tracing (a span is
      // current there)
      assertThat(seen)
          .containsExactly("client a", "client b", "server a in span", "server b in span");

      // the handler's exception ends INTERNAL (no detail leaks) and the metrics count it so: the
      // second recovery sits inside metrics, around the user's interceptors and the handler
      assertThatThrownBy(() -> stub.unaryRpc(request("boom")))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
                assertThat(String.valueOf(e.getStatus().getDescription())).doesNotContain("secret");
              });
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
      assertThat(
              meters
                  .get("prpc.client.req.client.handle.total")
                  .tag("code", "INTERNAL")
                  .counter()
                  .count())
          .isEqualTo(1.0);
      // one client and one server span per call
      assertThat(spans.getFinishedSpanItems()).hasSize(4);
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void nullArgumentsAreNamed() {
    InProcessServerBuilder builder = InProcessServerBuilder.forName("unused");
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    List<ServerInterceptor> withNull = new ArrayList<>();
    withNull.add(null);
    assertThatThrownBy(
            () ->
                KChains.installServerChain(builder, "echo", null, OpenTelemetry.noop(), List.of()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("meterRegistry: null (expected: not null)");
    assertThatThrownBy(
            () ->
                KChains.installServerChain(builder, "echo", meters, OpenTelemetry.noop(), withNull))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("interceptors: [null] (expected: no null)");
  }

  private static SimpleRequest request(String message) {
    return SimpleRequest.newBuilder().setRequestMessage(message).build();
  }
}
