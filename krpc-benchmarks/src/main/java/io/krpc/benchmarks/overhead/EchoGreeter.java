package io.krpc.benchmarks.overhead;

import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;

/**
 * The greeter as an echo: each reply carries the request's name unchanged, so the payload size is
 * the same both ways. The stream sends {@code count} replies; a unary call with a {@code count}
 * above 0 blocks its handler thread that many milliseconds first (the blocking-handler workload).
 */
public final class EchoGreeter extends GreeterGrpc.GreeterImplBase {
  /** An echo greeter; stateless. */
  public EchoGreeter() {}

  @Override
  public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    if (request.getCount() > 0) {
      try {
        Thread.sleep(request.getCount());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    responseObserver.onNext(HelloReply.newBuilder().setMessage(request.getName()).build());
    responseObserver.onCompleted();
  }

  @Override
  public void sayHelloStream(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    HelloReply reply = HelloReply.newBuilder().setMessage(request.getName()).build();
    for (int i = 0; i < request.getCount(); i++) {
      responseObserver.onNext(reply);
    }
    responseObserver.onCompleted();
  }
}
