package io.krpc.benchmarks.overhead;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.Channel;
import io.krpc.benchmarks.load.Calls;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import java.util.function.Supplier;

/** The calls every configuration serves: the same requests, the same sizes. */
public enum Workload {
  /** Unary echo of a 16-byte name. */
  UNARY_16B("unary 16 B", 16, 0),
  /** Unary echo of a 1 KiB name. */
  UNARY_1KIB("unary 1 KiB", 1024, 0),
  /** Server streaming: 100 replies of 16 bytes per call. */
  STREAM_100("stream 100 x 16 B", 16, 100);

  private final String label;
  private final int payloadBytes;
  private final int streamMessages;

  Workload(String label, int payloadBytes, int streamMessages) {
    this.label = label;
    this.payloadBytes = payloadBytes;
    this.streamMessages = streamMessages;
  }

  /** A short human name for tables. */
  public String label() {
    return label;
  }

  /** The call function of this workload on {@code channel}. */
  public Supplier<? extends ListenableFuture<?>> callOn(Channel channel) {
    HelloRequest request = HelloRequest.newBuilder()
        .setName("x".repeat(payloadBytes)).setCount(streamMessages).build();
    if (streamMessages == 0) {
      GreeterGrpc.GreeterFutureStub stub = GreeterGrpc.newFutureStub(channel);
      return () -> stub.sayHello(request);
    }
    GreeterGrpc.GreeterStub stub = GreeterGrpc.newStub(channel);
    return Calls.<HelloReply>serverStreaming(observer -> stub.sayHelloStream(request, observer));
  }
}
