package io.krpc.examples.chaos;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.krpc.examples.GreeterService;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The example {@link GreeterService} with two chaos switches: a handler delay (so that calls are in
 * flight long enough to be caught by a fault) and a failure switch (the handler answers {@code
 * UNAVAILABLE}, as a server whose dependency broke). Counts the calls it received.
 */
final class ChaosGreeter extends GreeterGrpc.GreeterImplBase {
  private final GreeterService delegate;
  private final long delayMillis;
  final AtomicBoolean failing = new AtomicBoolean();
  final AtomicLong received = new AtomicLong();

  ChaosGreeter(Supplier<String> endpoint, Duration delay) {
    this.delegate = new GreeterService(endpoint);
    this.delayMillis = delay.toMillis();
  }

  @Override
  public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    received.incrementAndGet();
    if (failing.get()) {
      responseObserver.onError(
          Status.UNAVAILABLE.withDescription("chaos: handler failing").asRuntimeException());
      return;
    }
    if (delayMillis > 0) {
      try {
        Thread.sleep(delayMillis); // a handler doing work; runs on the server's executor
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        responseObserver.onError(Status.CANCELLED.asRuntimeException());
        return;
      }
    }
    delegate.sayHello(request, responseObserver);
  }
}
