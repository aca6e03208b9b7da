package io.krpc.benchmarks.lb;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A greeter that answers each call after a delay, scheduled on a timer (a timer thread, or with
 * {@code lb --one-loop} the servers' own event loop, see {@link EventLoops}) rather than slept on a
 * thread, so that a slow server stays responsive and only its latency differs: a slow backend, not
 * an overloaded one. Its {@link Behaviour} can be changed while it serves (a backend that heals).
 *
 * <p>A timer wakes late (timer slack, the scheduler: 50-150 us here, a third of a 0.5 ms delay), so
 * each reply is scheduled early by the timer's lateness as measured so far (a moving average,
 * shared by the greeters on one {@link Lateness}); the delays actually served are recorded, from
 * the handler's start to the reply, and reported by {@link #servedDelays}.
 *
 * <p>Thread-safe.
 */
final class DelayedGreeter extends GreeterGrpc.GreeterImplBase {

  /**
   * The delay is {@code baseMicros}, except that a fraction {@code tailRatio} of the calls take
   * {@code tailMicros}; a fraction {@code failureRatio} of the calls fail with UNAVAILABLE at once.
   */
  record Behaviour(long baseMicros, double tailRatio, long tailMicros, double failureRatio) {
    static Behaviour fixed(long micros) {
      return new Behaviour(micros, 0, 0, 0);
    }

    /** What this server does, for the table: e.g. "2 ms" or "2 ms, 5% 200 ms". */
    String describe() {
      String base = formatMillis(baseMicros);
      if (tailRatio > 0) {
        base += ", " + Math.round(tailRatio * 100) + "% " + formatMillis(tailMicros);
      }
      if (failureRatio > 0) {
        base += ", " + Math.round(failureRatio * 100) + "% UNAVAILABLE";
      }
      return base;
    }
  }

  /** How late the timer fires, on average: the lead each reply is scheduled with. */
  static final class Lateness {
    private static final long MAX_LEAD_NANOS = 300_000;
    private final AtomicLong leadNanos = new AtomicLong(50_000);

    long lead() {
      return leadNanos.get();
    }

    void observe(long latenessNanos) {
      leadNanos.updateAndGet(
          lead -> Math.max(0, Math.min(MAX_LEAD_NANOS, lead + (latenessNanos - lead) / 64)));
    }
  }

  private final ScheduledExecutorService timer;
  private final Lateness lateness;
  private final Recorder served = new Recorder(3);
  private final String name;
  private volatile Behaviour behaviour;
  private final LongAdder calls = new LongAdder();
  private final LongAdder failures = new LongAdder();

  DelayedGreeter(
      ScheduledExecutorService timer, Lateness lateness, String name, Behaviour behaviour) {
    this.timer = timer;
    this.lateness = lateness;
    this.name = name;
    this.behaviour = behaviour;
  }

  void setBehaviour(Behaviour behaviour) {
    this.behaviour = behaviour;
  }

  Behaviour behaviour() {
    return behaviour;
  }

  /** Calls received so far. */
  long calls() {
    return calls.sum();
  }

  /** Calls failed on purpose so far. */
  long failures() {
    return failures.sum();
  }

  /**
   * Adds the delays served since the last call (nanoseconds, handler start to reply) to {@code
   * into}.
   */
  void servedDelays(Histogram into) {
    into.add(served.getIntervalHistogram());
  }

  static String formatMillis(long micros) {
    return micros % 1000 == 0 ? (micros / 1000) + " ms" : (micros / 1000.0) + " ms";
  }

  @Override
  public void sayHello(HelloRequest request, StreamObserver<HelloReply> responseObserver) {
    long received = System.nanoTime();
    calls.increment();
    Behaviour b = behaviour;
    ThreadLocalRandom random = ThreadLocalRandom.current();
    if (b.failureRatio > 0 && random.nextDouble() < b.failureRatio) {
      failures.increment();
      responseObserver.onError(Status.UNAVAILABLE.withDescription(name + " fails").asException());
      return;
    }
    long delay = b.tailRatio > 0 && random.nextDouble() < b.tailRatio ? b.tailMicros : b.baseMicros;
    long lead = lateness.lead();
    long wait = TimeUnit.MICROSECONDS.toNanos(delay) - lead;
    var unused =
        timer.schedule(
            () -> {
              long now = System.nanoTime();
              if (wait > 0) {
                lateness.observe(now - received - wait);
              }
              // The message carries when the call was received and answered (System.nanoTime, one
              // clock for both JVMs on one machine), so the client can tell its way there, the
              // served delay and its way back apart.
              responseObserver.onNext(
                  HelloReply.newBuilder()
                      .setMessage(received + " " + System.nanoTime())
                      .setServer(name)
                      .build());
              responseObserver.onCompleted();
              served.recordValue(Math.max(0, now - received));
            },
            Math.max(0, wait),
            TimeUnit.NANOSECONDS);
  }
}
