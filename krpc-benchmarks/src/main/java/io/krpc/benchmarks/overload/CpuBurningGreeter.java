package io.krpc.benchmarks.overload;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A greeter whose handler burns a fixed amount of CPU time per call (measured as the thread's own
 * CPU time, so a handler that is preempted still does all its work, as real computation would). The
 * handler stops working on a call once it is cancelled (its deadline passed), as a careful
 * grpc-java server does; what it burned until then is lost. Thread-safe.
 */
final class CpuBurningGreeter extends GreeterGrpc.GreeterImplBase {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private final long burnNanos;
  private final LongAdder burned = new LongAdder();
  private volatile long sink;

  CpuBurningGreeter(long burnNanos) {
    this.burnNanos = burnNanos;
  }

  /** CPU time spent in handlers so far, finished calls or not, in nanoseconds. */
  long burnedNanos() {
    return burned.sum();
  }

  @Override
  public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    if (!burn(Context.current())) {
      responseObserver.onError(
          Status.CANCELLED.withDescription("cancelled while working").asRuntimeException());
      return;
    }
    responseObserver.onNext(
        HelloReply.newBuilder().setMessage("Hello, " + request.getName()).build());
    responseObserver.onCompleted();
  }

  /** Burns the CPU time, or less when {@code context} is cancelled; returns whether it finished. */
  private boolean burn(Context context) {
    long begin = THREADS.getCurrentThreadCpuTime();
    long end = begin + burnNanos;
    long x = sink;
    try {
      do {
        if (context.isCancelled()) {
          return false;
        }
        for (int i = 0; i < 2_000; i++) { // a few µs of work between clock reads
          x = x * 6364136223846793005L + 1442695040888963407L;
        }
      } while (THREADS.getCurrentThreadCpuTime() < end);
      sink = x;
      return true;
    } finally {
      burned.add(THREADS.getCurrentThreadCpuTime() - begin);
    }
  }
}
