package io.krpc.interceptor.metrics.internal;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The meters of one (method, server, ip): the latency timer, the in-flight gauge and one counter
 * per status code, the counters created when a code first occurs.
 *
 * <p>Thread-safe. Creating a counter twice in a race is harmless: the registry returns the same
 * one.
 */
public final class EndpointMeters {
  /** Histogram buckets for RPC latency, 1 ms to 10 s. */
  static final Duration[] LATENCY_BUCKETS = {
    Duration.ofMillis(1), Duration.ofNanos(2_500_000), Duration.ofMillis(5),
    Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
    Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
    Duration.ofSeconds(10)
  };

  private static final Status.Code[] CODES = Status.Code.values();

  private final MeterRegistry registry;
  private final RpcMetricNames names;
  private final InetAddress ip;
  private final Tags tags;
  private final Timer timer;
  private final LongAdder inFlight;
  private final AtomicReferenceArray<Counter> counters = new AtomicReferenceArray<>(CODES.length);

  EndpointMeters(
      MeterRegistry registry, RpcMetricNames names, String method, String server, InetAddress ip) {
    this.registry = registry;
    this.names = names;
    this.ip = ip;
    this.tags = Tags.of("method", method, "server", server, "ip", ip.getHostAddress());
    this.timer =
        Timer.builder(names.timer())
            .description("Latency of " + names.side() + " RPCs, from start to close")
            .tags(tags)
            .serviceLevelObjectives(LATENCY_BUCKETS)
            .register(registry);
    this.inFlight =
        InFlightGauges.register(
            registry,
            names.inFlight(),
            "RPCs started and not yet closed on the " + names.side(),
            tags);
  }

  InetAddress ip() {
    return ip;
  }

  /** Records that a call started. */
  public void callStarted() {
    inFlight.increment();
  }

  /** Records that a call that started {@code elapsedNanos} ago ended with {@code code}. */
  public void callEnded(Status.Code code, long elapsedNanos) {
    inFlight.decrement();
    timer.record(elapsedNanos, TimeUnit.NANOSECONDS);
    counter(code).increment();
  }

  private Counter counter(Status.Code code) {
    int index = code.ordinal();
    Counter counter = counters.get(index);
    if (counter == null) {
      counter =
          Counter.builder(names.counter())
              .description("RPCs handled on the " + names.side() + ", by status code")
              .tags(tags)
              .tag("code", code.name())
              .register(registry);
      counters.set(index, counter);
    }
    return counter;
  }
}
