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
  UNARY_16B("unary 16 B", "unary16", 16, 0, 0),
  /** Unary echo of a 1 KiB name. */
  UNARY_1KIB("unary 1 KiB", "unary1k", 1024, 0, 0),
  /** Server streaming: 100 replies of 16 bytes per call. */
  STREAM_100("stream 100 x 16 B", "stream", 16, 100, 0),
  /** Unary echo of 16 bytes whose handler blocks 20 ms first, as a JDBC call would. */
  BLOCKING_20MS("unary, handler blocks 20 ms", "blocking", 16, 0, 20);

  private final String label;
  private final String key;
  private final int payloadBytes;
  private final int streamMessages;
  private final int blockMillis;

  Workload(String label, String key, int payloadBytes, int streamMessages, int blockMillis) {
    this.label = label;
    this.key = key;
    this.payloadBytes = payloadBytes;
    this.streamMessages = streamMessages;
    this.blockMillis = blockMillis;
  }

  /** The name of this workload in {@code --workloads}. */
  public String key() {
    return key;
  }

  /** Whether the handler blocks (this workload runs at its own concurrency). */
  public boolean blocks() {
    return blockMillis > 0;
  }

  /** A short human name for tables. */
  public String label() {
    return label;
  }

  /** The call function of this workload on {@code channel}. */
  public Supplier<? extends ListenableFuture<?>> callOn(Channel channel) {
    // EchoGreeter reads count as the number of replies of a stream, or a unary handler's block.
    HelloRequest request =
        HelloRequest.newBuilder()
            .setName("x".repeat(payloadBytes))
            .setCount(streamMessages + blockMillis)
            .build();
    if (streamMessages == 0) {
      GreeterGrpc.GreeterFutureStub stub = GreeterGrpc.newFutureStub(channel);
      return () -> stub.sayHello(request);
    }
    GreeterGrpc.GreeterStub stub = GreeterGrpc.newStub(channel);
    return Calls.<HelloReply>serverStreaming(observer -> stub.sayHelloStream(request, observer));
  }
}
