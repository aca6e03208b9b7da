package io.krpc.examples;

import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import java.util.function.Supplier;

/** The example greeter: answers with a greeting and the endpoint of the server that answered. */
public final class GreeterService extends GreeterGrpc.GreeterImplBase {
  private final Supplier<String> endpoint;

  /**
   * A greeter that names the endpoint ({@code host:port}) {@code endpoint} supplies in its replies;
   * a supplier because a server started on port 0 learns its endpoint only once bound.
   */
  public GreeterService(Supplier<String> endpoint) {
    this.endpoint = endpoint;
  }

  @Override
  public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    responseObserver.onNext(reply("Hello, " + request.getName()));
    responseObserver.onCompleted();
  }

  @Override
  public void sayHelloStream(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    int count = request.getCount() > 0 ? request.getCount() : 3;
    for (int i = 1; i <= count; i++) {
      responseObserver.onNext(reply("Hello #" + i + ", " + request.getName()));
    }
    responseObserver.onCompleted();
  }

  private HelloReply reply(String message) {
    return HelloReply.newBuilder().setMessage(message).setServer(endpoint.get()).build();
  }
}
