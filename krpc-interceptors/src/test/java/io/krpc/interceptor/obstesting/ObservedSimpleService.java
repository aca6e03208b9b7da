package io.krpc.interceptor.obstesting;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import java.util.concurrent.CountDownLatch;

/**
 * The four call types of {@code grpc.testing.SimpleService}, steered by the request text: {@code
 * "fail"} ends the call with INVALID_ARGUMENT, {@code "throw"} throws from the handler, {@code
 * "hang"} never ends the call (for cancellation tests), anything else is echoed. Remembers the span
 * and baggage current while the handler ran.
 */
public final class ObservedSimpleService extends SimpleServiceGrpc.SimpleServiceImplBase {
  public static final String FAIL = "fail";
  public static final String THROW = "throw";
  public static final String HANG = "hang";

  /** Counted down each time a handler starts handling a {@code "hang"} request. */
  public final CountDownLatch hanging = new CountDownLatch(1);

  public volatile SpanContext lastSpanContext;
  public volatile String lastBaggageTenant;

  private void observe() {
    lastSpanContext = Span.current().getSpanContext();
    lastBaggageTenant = Baggage.current().getEntryValue("tenant");
  }

  private static SimpleResponse reply(String text) {
    return SimpleResponse.newBuilder().setResponseMessage(text).build();
  }

  private boolean steer(String text, StreamObserver<SimpleResponse> responses) {
    switch (text) {
      case FAIL:
        responses.onError(
            Status.INVALID_ARGUMENT.withDescription("asked to fail").asRuntimeException());
        return true;
      case THROW:
        throw new IllegalStateException("asked to throw");
      case HANG:
        hanging.countDown();
        return true;
      default:
        return false;
    }
  }

  @Override
  public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> responses) {
    observe();
    if (!steer(request.getRequestMessage(), responses)) {
      responses.onNext(reply(request.getRequestMessage()));
      responses.onCompleted();
    }
  }

  @Override
  public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> responses) {
    observe();
    responses.onNext(reply("first"));
    if (!steer(request.getRequestMessage(), responses)) {
      responses.onNext(reply(request.getRequestMessage()));
      responses.onCompleted();
    }
  }

  @Override
  public StreamObserver<SimpleRequest> clientStreamingRpc(
      StreamObserver<SimpleResponse> responses) {
    return new StreamObserver<>() {
      private final StringBuilder received = new StringBuilder();
      private boolean ended;

      @Override
      public void onNext(SimpleRequest request) {
        observe();
        if (!ended) {
          ended = steer(request.getRequestMessage(), responses);
          received.append(request.getRequestMessage());
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (!ended) {
          responses.onNext(reply(received.toString()));
          responses.onCompleted();
        }
      }
    };
  }

  @Override
  public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> responses) {
    return new StreamObserver<>() {
      private boolean ended;

      @Override
      public void onNext(SimpleRequest request) {
        observe();
        if (!ended) {
          ended = steer(request.getRequestMessage(), responses);
          if (!ended) {
            responses.onNext(reply(request.getRequestMessage()));
          }
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (!ended) {
          responses.onCompleted();
        }
      }
    };
  }
}
