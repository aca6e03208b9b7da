package io.krpc.examples.tour;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.opentelemetry.api.trace.Span;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The tour's greeter, with the switches the tour needs: a handler delay, a failure switch, a
 * request that makes the handler throw, and one that answers with the trace id the server saw.
 */
final class TourGreeter extends GreeterGrpc.GreeterImplBase {
  /** A request with this name makes the handler throw, as a bug would. */
  static final String THROW = "throw";

  /** A request with this name is answered with the server span's trace id. */
  static final String TRACE = "trace";

  /** A request named {@code sleep:N} takes N milliseconds. */
  static final String SLEEP = "sleep:";

  private volatile String endpoint = "?";
  volatile long delayMillis;
  volatile boolean failing;
  final AtomicLong received = new AtomicLong();

  void endpoint(String endpoint) {
    this.endpoint = endpoint;
  }

  @Override
  public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    received.incrementAndGet();
    String name = request.getName();
    if (name.equals(THROW)) {
      throw new IllegalStateException("tour: a bug in the handler (this text stays on the server)");
    }
    long sleep =
        name.startsWith(SLEEP) ? Long.parseLong(name.substring(SLEEP.length())) : delayMillis;
    if (sleep > 0) {
      try {
        Thread.sleep(sleep); // the handler "works"; what the tour shows is how callers cope
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        responseObserver.onError(Status.CANCELLED.asRuntimeException());
        return;
      }
    }
    if (failing) {
      responseObserver.onError(
          Status.UNAVAILABLE.withDescription("tour: handler failing").asRuntimeException());
      return;
    }
    String message =
        name.equals(TRACE) ? Span.current().getSpanContext().getTraceId() : "Hello, " + name;
    responseObserver.onNext(
        HelloReply.newBuilder().setMessage(message).setServer(endpoint).build());
    responseObserver.onCompleted();
  }
}
