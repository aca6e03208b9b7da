package io.krpc.benchmarks.lb;

import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A greeter that answers each call after a delay, scheduled on a timer rather than slept on a
 * thread, so that a slow server stays responsive and only its latency differs: a slow backend, not
 * an overloaded one.
 *
 * <p>The delay is {@code baseMicros}, except that a fraction {@code tailRatio} of the calls take
 * {@code tailMicros} instead. Thread-safe.
 */
final class DelayedGreeter extends GreeterGrpc.GreeterImplBase {
  private final ScheduledExecutorService timer;
  private final long baseMicros;
  private final double tailRatio;
  private final long tailMicros;
  private final String name;
  private final LongAdder calls = new LongAdder();

  DelayedGreeter(ScheduledExecutorService timer, String name, long baseMicros, double tailRatio,
      long tailMicros) {
    this.timer = timer;
    this.name = name;
    this.baseMicros = baseMicros;
    this.tailRatio = tailRatio;
    this.tailMicros = tailMicros;
  }

  /** Calls answered so far. */
  long calls() {
    return calls.sum();
  }

  /** What this server does, for the table: e.g. "2 ms" or "2 ms, 5% 100 ms". */
  String describe() {
    String base = formatMillis(baseMicros);
    return tailRatio > 0 ? base + ", " + Math.round(tailRatio * 100) + "% " + formatMillis(tailMicros)
        : base;
  }

  private static String formatMillis(long micros) {
    return micros % 1000 == 0 ? (micros / 1000) + " ms" : (micros / 1000.0) + " ms";
  }

  @Override
  public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    calls.increment();
    long delay = tailRatio > 0 && ThreadLocalRandom.current().nextDouble() < tailRatio
        ? tailMicros : baseMicros;
    HelloReply reply = HelloReply.newBuilder().setMessage("Hello, " + request.getName())
        .setServer(name).build();
    var unused = timer.schedule(() -> {
      responseObserver.onNext(reply);
      responseObserver.onCompleted();
    }, delay, TimeUnit.MICROSECONDS);
  }
}
