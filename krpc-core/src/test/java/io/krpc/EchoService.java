package io.krpc;

import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Test service: answers with a server id; "slow:N" requests take N milliseconds, every unary call
 * at least the delay it was made with.
 */
final class EchoService extends SimpleServiceGrpc.SimpleServiceImplBase {
  private final Supplier<String> id;
  final AtomicInteger calls = new AtomicInteger();

  private final Duration unaryDelay;

  EchoService(Supplier<String> id) {
    this(id, Duration.ZERO);
  }

  EchoService(Supplier<String> id, Duration unaryDelay) {
    this.id = id;
    this.unaryDelay = unaryDelay;
  }

  @Override
  public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
    calls.incrementAndGet();
    String message = request.getRequestMessage();
    if (message.startsWith("slow:")) {
      sleep(Duration.ofMillis(Long.parseLong(message.substring(5))));
    }
    if (!unaryDelay.isZero()) {
      sleep(unaryDelay);
    }
    observer.onNext(SimpleResponse.newBuilder().setResponseMessage(id.get()).build());
    observer.onCompleted();
  }

  @Override
  public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
    for (int i = 0; i < 3; i++) {
      observer.onNext(SimpleResponse.newBuilder().setResponseMessage(id.get() + "#" + i).build());
    }
    observer.onCompleted();
  }

  // A handler that works for a while, as real handlers do; the time is the point of the test.
  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
