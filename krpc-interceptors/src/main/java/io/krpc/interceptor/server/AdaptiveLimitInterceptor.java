package io.krpc.interceptor.server;

import static io.krpc.common.Checks.notNull;

import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.krpc.common.RollingWindow;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * A BBR-style adaptive limiter (after go-kratos/aegis {@code ratelimit/bbr}): sheds calls only when
 * the server is overloaded, whatever its capacity, so it needs no per-service tuning.
 *
 * <pre>{@code
 * AdaptiveLimitInterceptor limiter = AdaptiveLimitInterceptor.builder()
 *     .cpuThreshold(0.8)
 *     .meterRegistry(registry)
 *     .build();
 * Server server = ServerBuilder.forPort(9001)
 *     .addService(ServerInterceptors.intercept(new GreeterImpl(), limiter))
 *     .build();
 * }</pre>
 *
 * <h2>The rule</h2>
 *
 * Completed calls and their response times are kept over a rolling window ({@code window}, 10 s, in
 * {@code buckets}, 100, of 100 ms each). The estimated capacity is {@code maxPass × minRT /
 * bucketLength}, that is the most calls completed per bucket times the lowest mean response time of
 * a bucket times buckets per second (Little's law: the concurrency the server sustained at its best
 * throughput and best latency), rounded, at least {@code minCapacity} (4); the bucket still filling
 * is left out. Unlike go-kratos, {@code maxPass} is averaged over {@code maxPassSpan} (1 s) of
 * consecutive buckets: calls admitted in a burst before the CPU reading rose finish together on a
 * busy CPU, and one bucket's count of them would pass for throughput and let in more of the
 * overload. With no completed call in the window the capacity is {@code minCapacity}. The floor is
 * new too (go-kratos's is 1): on a server with a core or two and CPU-bound handlers Little's
 * estimate is 1, and under overload so few handlers left a larger share of the CPU to the transport
 * threads receiving and refusing the excess (see {@link Builder#minCapacity(int)}).
 *
 * <p>A new call is shed when
 *
 * <ul>
 *   <li>the CPU usage is at or above {@code cpuThreshold} (0.8) and the number in flight exceeds
 *       the capacity; or
 *   <li>a call was shed less than {@code coolOff} (1 s) ago and in-flight exceeds the capacity,
 *       even if the CPU usage has dropped meanwhile (it lags, and the load that raised it has not
 *       left).
 * </ul>
 *
 * A shed call ends at once with {@code RESOURCE_EXHAUSTED} and a description that starts with
 * {@code "server overloaded, load shed"}; the handler never sees it. A client breaker counts {@code
 * RESOURCE_EXHAUSTED} as a failure, so callers back off a shedding server.
 *
 * <p>Streams count as in flight from the start until they complete or are cancelled, and their
 * whole duration is their response time. Given a {@link Builder#meterRegistry(MeterRegistry)}, it
 * exports the gauges {@code krpc_server_limiter_inflight} and {@code
 * krpc_server_limiter_estimated_capacity} and the counter {@code krpc_server_limiter_shed} ({@code
 * krpc_server_limiter_shed_total} in Prometheus).
 *
 * <p>Use one instance per server: it measures the whole server. Thread-safe; admission costs two
 * atomic reads and, only while the CPU is high, one pass over the buckets.
 */
@ThreadSafe
public final class AdaptiveLimitInterceptor implements ServerInterceptor {
  /** The start of every shed call's description. */
  public static final String SHED_DESCRIPTION = "server overloaded, load shed";

  /** The lowest estimated capacity by default; see {@link Builder#minCapacity(int)}. */
  public static final int DEFAULT_MIN_CAPACITY = 4;

  private static final long NO_DROP = Long.MIN_VALUE;

  private final double cpuThreshold;
  private final long coolOffNanos;
  private final CpuUsageSource cpu;
  private final Deadline.Ticker ticker;
  private final RollingWindow window;
  private final int spanBuckets;
  private final long minCapacity;
  private final AtomicLong inFlight = new AtomicLong();
  private final AtomicLong lastDropNanos = new AtomicLong(NO_DROP);
  @Nullable private final Counter shedCounter;

  private AdaptiveLimitInterceptor(Builder builder) {
    this.cpuThreshold = builder.cpuThreshold;
    this.coolOffNanos = builder.coolOff.toNanos();
    this.cpu = builder.cpu != null ? builder.cpu : CpuUsageSource.processCpu();
    this.ticker = builder.ticker;
    this.window = new RollingWindow(builder.buckets, builder.window.toNanos() / builder.buckets);
    this.spanBuckets = builder.spanBuckets();
    this.minCapacity = builder.minCapacity;
    if (builder.meterRegistry != null) {
      MeterRegistry registry = builder.meterRegistry;
      Gauge.builder("krpc_server_limiter_inflight", inFlight, AtomicLong::get)
          .description("Calls in flight as the adaptive limiter counts them")
          .register(registry);
      Gauge.builder("krpc_server_limiter_estimated_capacity", this, l -> l.estimatedCapacity())
          .description("The adaptive limiter's estimated capacity: maxPass x minRT x buckets/s")
          .register(registry);
      this.shedCounter =
          Counter.builder("krpc_server_limiter_shed")
              .description("Calls shed by the adaptive limiter")
              .register(registry);
    } else {
      this.shedCounter = null;
    }
  }

  /** Returns a limiter with every default (process CPU, 80%, 10 s in 100 buckets, 1 s cool-off). */
  public static AdaptiveLimitInterceptor create() {
    return builder().build();
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the number of calls in flight. */
  public long inFlight() {
    return inFlight.get();
  }

  /**
   * Returns the current estimated capacity ({@code maxPass × minRT / bucketLength}, at least {@code
   * minCapacity}).
   */
  public long estimatedCapacity() {
    long now = ticker.nanoTime();
    double maxPass = window.maxPassPerBucket(now, spanBuckets);
    long minRt = window.minRtNanos(now);
    if (maxPass == 0 || minRt < 0) {
      return minCapacity;
    }
    return Math.max(minCapacity, Math.round(maxPass * minRt / window.bucketNanos()));
  }

  /**
   * Describes the limiter's current state for logs: calls in flight, the window's most calls per
   * bucket and lowest mean response time, the capacity they give, the CPU usage and the threshold.
   */
  @Override
  public String toString() {
    long now = ticker.nanoTime();
    return String.format(
        Locale.ROOT,
        "AdaptiveLimitInterceptor{inFlight=%d, maxPass=%.1f per %.0f ms, minRt=%.2f ms,"
            + " capacity=%d, cpu=%.2f, threshold=%.2f}",
        inFlight.get(),
        window.maxPassPerBucket(now, spanBuckets),
        window.bucketNanos() / 1e6,
        window.minRtNanos(now) / 1e6,
        estimatedCapacity(),
        cpu.cpuUsage(),
        cpuThreshold);
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    long startNanos = ticker.nanoTime();
    String refusal = refusal(startNanos);
    if (refusal != null) {
      if (shedCounter != null) {
        shedCounter.increment();
      }
      call.close(Status.RESOURCE_EXHAUSTED.withDescription(refusal), new Metadata());
      return new ServerCall.Listener<ReqT>() {};
    }
    inFlight.incrementAndGet();
    Completion completion = new Completion(startNanos);
    // The call leaves flight when the handler closes it: that is when the server's work on it
    // ends. Waiting for onComplete, which follows the transport's write of the trailers and one
    // more hop to this call's executor, kept finished calls "in flight" for milliseconds on a
    // saturated CPU and shed calls the server had room for.
    ServerCall<ReqT, RespT> tracked =
        new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            try {
              super.close(status, trailers);
            } finally {
              completion.finish(!isCancelled());
            }
          }
        };
    ServerCall.Listener<ReqT> delegate;
    try {
      delegate = next.startCall(tracked, headers);
    } catch (RuntimeException | Error e) {
      completion.finish(false);
      throw e;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<ReqT>(delegate) {
      @Override
      public void onComplete() {
        try {
          super.onComplete();
        } finally {
          completion.finish(true);
        }
      }

      @Override
      public void onCancel() {
        try {
          super.onCancel();
        } finally {
          completion.finish(false);
        }
      }
    };
  }

  /** Returns why a call arriving now must be shed, or null to admit it. */
  @Nullable
  private String refusal(long now) {
    long calls = inFlight.get();
    if (calls <= minCapacity) {
      return null;
    }
    double usage = cpu.cpuUsage();
    if (usage < cpuThreshold) {
      long lastDrop = lastDropNanos.get();
      if (lastDrop == NO_DROP) {
        return null;
      }
      if (now - lastDrop > coolOffNanos) {
        lastDropNanos.compareAndSet(lastDrop, NO_DROP);
        return null;
      }
      long capacity = estimatedCapacity();
      return calls > capacity ? describe(calls, capacity, usage, " (cooling off)") : null;
    }
    long capacity = estimatedCapacity();
    if (calls <= capacity) {
      return null;
    }
    lastDropNanos.set(now);
    return describe(calls, capacity, usage, "");
  }

  private String describe(long calls, long capacity, double usage, String suffix) {
    return String.format(
        Locale.ROOT,
        "%s: %d calls in flight > estimated capacity %d, CPU %.0f%% (threshold %.0f%%)%s",
        SHED_DESCRIPTION,
        calls,
        capacity,
        usage * 100,
        cpuThreshold * 100,
        suffix);
  }

  /** Ends one admitted call exactly once: out of flight, into the window. */
  private final class Completion {
    private final long startNanos;
    private final AtomicBoolean done = new AtomicBoolean();

    Completion(long startNanos) {
      this.startNanos = startNanos;
    }

    /**
     * Leaves flight once: when the handler closes the call, or when the transport completes or
     * cancels it without that. Only completed calls feed the window: a call cancelled by its
     * deadline or its client (even if its handler closes it afterwards) says nothing about the
     * server's capacity, and its long response time would inflate minRT so that the limiter
     * admitted too much right when it is overloaded.
     */
    void finish(boolean completed) {
      if (done.compareAndSet(false, true)) {
        if (completed) {
          long now = ticker.nanoTime();
          window.add(now, now - startNanos);
        }
        inFlight.decrementAndGet();
      }
    }
  }

  /** Builds an {@link AdaptiveLimitInterceptor}; every setter validates its argument at once. */
  public static final class Builder {
    private double cpuThreshold = 0.8;
    private Duration window = Duration.ofSeconds(10);
    private int buckets = 100;
    private Duration coolOff = Duration.ofSeconds(1);
    private int minCapacity = DEFAULT_MIN_CAPACITY;
    @Nullable private Duration maxPassSpan;
    @Nullable private CpuUsageSource cpu;
    private Deadline.Ticker ticker = Deadline.getSystemTicker();
    @Nullable private MeterRegistry meterRegistry;

    private Builder() {}

    /** CPU usage (0 to 1) at and above which calls over capacity are shed. Default: 0.8. */
    public Builder cpuThreshold(double cpuThreshold) {
      if (!(cpuThreshold > 0 && cpuThreshold <= 1)) {
        throw new IllegalArgumentException(
            "cpuThreshold: " + cpuThreshold + " (expected: > 0 and <= 1)");
      }
      this.cpuThreshold = cpuThreshold;
      return this;
    }

    /** The span of history the capacity is estimated from. Default: 10 s. */
    public Builder window(Duration window) {
      notNull(window, "window");
      if (window.isNegative() || window.isZero()) {
        throw new IllegalArgumentException("window: " + window + " (expected: > 0)");
      }
      this.window = window;
      return this;
    }

    /** How many buckets the window is cut into. Default: 100. */
    public Builder buckets(int buckets) {
      if (buckets < 2) {
        // the bucket still filling never counts, so one bucket would never hold data
        throw new IllegalArgumentException("buckets: " + buckets + " (expected: >= 2)");
      }
      this.buckets = buckets;
      return this;
    }

    /** How long after a shed call in-flight stays checked although the CPU is low. Default: 1 s. */
    public Builder coolOff(Duration coolOff) {
      notNull(coolOff, "coolOff");
      if (coolOff.isNegative()) {
        throw new IllegalArgumentException("coolOff: " + coolOff + " (expected: >= 0)");
      }
      this.coolOff = coolOff;
      return this;
    }

    /**
     * The lowest the estimated capacity goes: however small Little's estimate, this many calls
     * (plus the one arriving) are always admitted. On a server with few cores and CPU-bound
     * handlers the estimate is 1 or 2, and under overload those few handler threads share the CPU
     * with the transport threads receiving and refusing the excess; admitting a few more lets the
     * handlers keep most of the CPU while the refusals are batched. 1 gives go-kratos's rule (at
     * least two calls in flight). Default: {@value AdaptiveLimitInterceptor#DEFAULT_MIN_CAPACITY}.
     */
    public Builder minCapacity(int minCapacity) {
      if (minCapacity < 1) {
        throw new IllegalArgumentException("minCapacity: " + minCapacity + " (expected: >= 1)");
      }
      this.minCapacity = minCapacity;
      return this;
    }

    /**
     * The span {@code maxPass} is averaged over: the capacity uses the most calls completed per
     * bucket over this many consecutive buckets' worth of time, so that a backlog finishing at once
     * (the calls admitted before the CPU reading rose, which a busy CPU completes together) does
     * not pass for throughput and raise the capacity right when the server is overloaded. One
     * bucket's length gives go-kratos's per-bucket maximum. Default: 1 s (or the window, if
     * shorter); must be at least one bucket and at most the window.
     */
    public Builder maxPassSpan(Duration maxPassSpan) {
      notNull(maxPassSpan, "maxPassSpan");
      if (maxPassSpan.isNegative() || maxPassSpan.isZero()) {
        throw new IllegalArgumentException("maxPassSpan: " + maxPassSpan + " (expected: > 0)");
      }
      this.maxPassSpan = maxPassSpan;
      return this;
    }

    private int spanBuckets() {
      long bucketNanos = window.toNanos() / buckets;
      Duration span =
          maxPassSpan != null
              ? maxPassSpan
              : window.compareTo(Duration.ofSeconds(1)) < 0 ? window : Duration.ofSeconds(1);
      return (int) Math.max(1, Math.round((double) span.toNanos() / bucketNanos));
    }

    /** Where CPU usage is read. Default: {@link CpuUsageSource#processCpu()}. */
    public Builder cpuUsageSource(CpuUsageSource cpu) {
      this.cpu = notNull(cpu, "cpu");
      return this;
    }

    /** The time source of the window and cool-off. Default: the system ticker; for tests. */
    public Builder ticker(Deadline.Ticker ticker) {
      this.ticker = notNull(ticker, "ticker");
      return this;
    }

    /** Exports in-flight, estimated capacity and shed calls to this registry. Default: none. */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = notNull(meterRegistry, "meterRegistry");
      return this;
    }

    /** Returns the limiter. */
    public AdaptiveLimitInterceptor build() {
      if (window.toNanos() / buckets < 1_000_000) {
        throw new IllegalStateException(
            "window: "
                + window
                + ", buckets: "
                + buckets
                + " (expected: buckets of at least 1 ms)");
      }
      if (maxPassSpan != null
          && (maxPassSpan.compareTo(window) > 0
              || maxPassSpan.toNanos() < window.toNanos() / buckets)) {
        throw new IllegalStateException(
            "maxPassSpan: "
                + maxPassSpan
                + ", window: "
                + window
                + ", buckets: "
                + buckets
                + " (expected: at least one bucket and at most the window)");
      }
      return new AdaptiveLimitInterceptor(this);
    }
  }
}
