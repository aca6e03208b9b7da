package io.krpc.examples.chaos;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A steady open-loop load: one async {@code SayHello} every {@code 1/rate} seconds, each with a
 * deadline, whatever the answers. Records every call (start, end, status, answering server) so a
 * scenario can count failures and latencies in any time window.
 */
final class SteadyLoad implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(SteadyLoad.class);

  /** One finished call. Times are {@link System#nanoTime()} values. */
  record Call(long startNanos, long endNanos, Status.Code code, String server, String error) {
    long latencyMicros() {
      return (endNanos - startNanos) / 1000;
    }

    boolean ok() {
      return code == Status.Code.OK;
    }
  }

  private final GreeterGrpc.GreeterStub stub;
  private final int ratePerSecond;
  private final Duration deadline;
  private final ScheduledExecutorService ticker;
  private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong sent = new AtomicLong();
  private ScheduledFuture<?> schedule;

  SteadyLoad(Channel channel, int ratePerSecond, Duration deadline) {
    this.stub = GreeterGrpc.newStub(channel);
    this.ratePerSecond = ratePerSecond;
    this.deadline = deadline;
    this.ticker =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "chaos-load");
              t.setDaemon(true);
              return t;
            });
  }

  /** Starts sending; returns at once. */
  SteadyLoad start() {
    long periodMicros = 1_000_000L / ratePerSecond;
    schedule = ticker.scheduleAtFixedRate(this::fire, 0, periodMicros, TimeUnit.MICROSECONDS);
    return this;
  }

  private void fire() {
    long start = System.nanoTime();
    long n = sent.incrementAndGet();
    inFlight.incrementAndGet();
    HelloRequest request = HelloRequest.newBuilder().setName("chaos-" + n).build();
    stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
        .sayHello(
            request,
            new StreamObserver<>() {
              private String server = "";

              @Override
              public void onNext(HelloReply reply) {
                server = reply.getServer();
              }

              @Override
              public void onError(Throwable t) {
                Status status = Status.fromThrowable(t);
                finish(
                    new Call(
                        start,
                        System.nanoTime(),
                        status.getCode(),
                        server,
                        status.getDescription()));
              }

              @Override
              public void onCompleted() {
                finish(new Call(start, System.nanoTime(), Status.Code.OK, server, null));
              }
            });
  }

  private void finish(Call call) {
    calls.add(call);
    inFlight.decrementAndGet();
    if (!call.ok()) {
      logger.debug(
          "call failed after {} us: {} {}", call.latencyMicros(), call.code(), call.error());
    }
  }

  /** Calls started and not finished yet. */
  int inFlight() {
    return inFlight.get();
  }

  /** Calls started so far. */
  long sent() {
    return sent.get();
  }

  /** Finished calls that ended OK so far. */
  long succeeded() {
    return calls.stream().filter(Call::ok).count();
  }

  /**
   * Finished calls that started before {@code nanos} and ended after it: the calls in flight at
   * that moment (exact once {@link #stop()} has returned with nothing in flight).
   */
  long inFlightAt(long nanos) {
    return calls.stream().filter(c -> c.startNanos() < nanos && c.endNanos() > nanos).count();
  }

  /**
   * Stops sending, then waits for every call to end; a call never ends only if it hangs past its
   * deadline, which the caller asserts with {@link #inFlight()}.
   */
  void stop() throws InterruptedException {
    if (schedule != null) {
      schedule.cancel(false);
    }
    ticker.shutdown();
    ticker.awaitTermination(5, TimeUnit.SECONDS);
    long waitUntil = System.nanoTime() + deadline.toNanos() + TimeUnit.SECONDS.toNanos(2);
    while (inFlight.get() > 0 && System.nanoTime() - waitUntil < 0) {
      Thread.sleep(10);
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }

  /** Whether {@code endpoint} answered a call started at or after {@code sinceNanos}. */
  boolean answeredBy(String endpoint, long sinceNanos) {
    return calls.stream()
        .anyMatch(c -> c.ok() && c.startNanos() >= sinceNanos && c.server().equals(endpoint));
  }

  /** Every finished call, in completion order. */
  List<Call> calls() {
    return new ArrayList<>(calls);
  }

  /** The figures of the calls started in {@code [fromNanos, toNanos)}. */
  Window window(long fromNanos, long toNanos) {
    List<Call> in = new ArrayList<>();
    for (Call c : calls) {
      if (c.startNanos() >= fromNanos && c.startNanos() < toNanos) {
        in.add(c);
      }
    }
    return new Window(in);
  }

  /** The figures of every finished call. */
  Window all() {
    return new Window(calls());
  }

  /** Counts and latency percentiles of a set of calls. */
  static final class Window {
    final List<Call> calls;

    Window(List<Call> calls) {
      this.calls = List.copyOf(calls);
    }

    int count() {
      return calls.size();
    }

    long failed() {
      return calls.stream().filter(c -> !c.ok()).count();
    }

    Map<Status.Code, Long> failuresByCode() {
      Map<Status.Code, Long> map = new EnumMap<>(Status.Code.class);
      calls.stream().filter(c -> !c.ok()).forEach(c -> map.merge(c.code(), 1L, Long::sum));
      return map;
    }

    Map<String, Long> okByServer() {
      Map<String, Long> map = new TreeMap<>();
      calls.stream().filter(Call::ok).forEach(c -> map.merge(c.server(), 1L, Long::sum));
      return map;
    }

    /** Latency percentile in milliseconds, {@code p} in 0..100; 0 for an empty window. */
    double percentileMillis(double p) {
      if (calls.isEmpty()) {
        return 0;
      }
      long[] micros = calls.stream().mapToLong(Call::latencyMicros).sorted().toArray();
      int index = (int) Math.ceil(p / 100.0 * micros.length) - 1;
      return micros[Math.max(0, Math.min(micros.length - 1, index))] / 1000.0;
    }

    double maxMillis() {
      return percentileMillis(100);
    }

    /** The {@code n} slowest calls, start times relative to {@code originNanos}, for the log. */
    List<String> slowest(int n, long originNanos) {
      return calls.stream()
          .sorted((a, b) -> Long.compare(b.latencyMicros(), a.latencyMicros()))
          .limit(n)
          .map(
              c ->
                  String.format(
                      java.util.Locale.ROOT,
                      "+%dms %.1fms %s %s",
                      (c.startNanos() - originNanos) / 1_000_000,
                      c.latencyMicros() / 1000.0,
                      c.code(),
                      c.ok() ? c.server() : c.error()))
          .toList();
    }

    /** The first few distinct failure descriptions, for the log. */
    List<String> sampleErrors(int max) {
      return calls.stream()
          .filter(c -> !c.ok())
          .map(c -> c.code() + ": " + c.error())
          .distinct()
          .limit(max)
          .toList();
    }
  }
}
