package io.krpc.benchmarks.load;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import io.grpc.stub.StreamObserver;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Adapters from grpc-java async stubs to the call functions {@link LoadGenerator} drives. Unary
 * future stubs need none: {@code () -> futureStub.sayHello(request)} already is one.
 */
public final class Calls {
  private Calls() {}

  /**
   * A server-streaming call as a future of the number of messages received, complete when the
   * stream ends, failed with the stream's error. {@code start} starts one call, for example {@code
   * observer -> asyncStub.sayHelloStream(request, observer)}.
   */
  public static <T> Supplier<ListenableFuture<Long>> serverStreaming(
      Consumer<StreamObserver<T>> start) {
    Objects.requireNonNull(start, "start");
    return () -> {
      CountingObserver<T> observer = new CountingObserver<>();
      start.accept(observer);
      return observer.done;
    };
  }

  private static final class CountingObserver<T> implements StreamObserver<T> {
    final SettableFuture<Long> done = SettableFuture.create();
    long messages;

    @Override
    public void onNext(T value) {
      messages++;
    }

    @Override
    public void onError(Throwable t) {
      done.setException(t);
    }

    @Override
    public void onCompleted() {
      done.set(messages);
    }
  }
}
