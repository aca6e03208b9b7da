package io.krpc.spring.it;

import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.grpc.server.lifecycle.GrpcServerStartedEvent;

/**
 * A Boot greeter server for the governance test: SayHello fails or sleeps when asked to (by the
 * request's name), every reply names the server's port, spans go to memory, and the health service
 * {@code probe} reports what the {@code test.probe} property says (the test flips it).
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class GovernanceServerApp {

  @Bean
  Spans spans() {
    return new Spans();
  }

  @Bean
  OpenTelemetry openTelemetry(Spans spans) {
    return Spans.sdk(spans);
  }

  @Bean
  TestGreeter testGreeter() {
    return new TestGreeter();
  }

  @Bean
  ApplicationListener<GrpcServerStartedEvent> probeStatus(
      HealthStatusManager health, @Value("${test.probe:SERVING}") ServingStatus status) {
    return event -> health.setStatus("probe", status);
  }

  /** The greeter: "fail" fails with INTERNAL, "sleep:MS" sleeps first; replies name the port. */
  static final class TestGreeter extends GreeterGrpc.GreeterImplBase
      implements ApplicationListener<GrpcServerStartedEvent> {
    final AtomicInteger calls = new AtomicInteger();
    private volatile int port;

    @Override
    public void onApplicationEvent(GrpcServerStartedEvent event) {
      port = event.getPort();
    }

    String endpoint() {
      return "127.0.0.1:" + port;
    }

    @Override
    public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
      calls.incrementAndGet();
      String name = request.getName();
      if (name.equals("fail")) {
        responseObserver.onError(
            Status.INTERNAL.withDescription("told to fail").asRuntimeException());
        return;
      }
      if (name.startsWith("sleep:")) {
        try {
          Thread.sleep(Long.parseLong(name.substring("sleep:".length())));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      responseObserver.onNext(
          HelloReply.newBuilder().setMessage("Hello, " + name).setServer(endpoint()).build());
      responseObserver.onCompleted();
    }

    @Override
    public void sayHelloStream(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
      calls.incrementAndGet();
      responseObserver.onNext(HelloReply.newBuilder().setServer(endpoint()).build());
      responseObserver.onCompleted();
    }
  }

  /** Finished spans, kept in memory. */
  static final class Spans implements SpanExporter {
    final List<SpanData> finished = new CopyOnWriteArrayList<>();

    static OpenTelemetrySdk sdk(Spans spans) {
      return OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(spans))
                  .build())
          .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
          .build();
    }

    @Override
    public CompletableResultCode export(Collection<SpanData> spans) {
      finished.addAll(spans);
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode flush() {
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
      return CompletableResultCode.ofSuccess();
    }
  }
}
