package io.krpc.benchmarks.load;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Status;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives asynchronous calls against a server for a bounded time and measures them with
 * HdrHistogram. The server is expected on loopback, in this JVM or another.
 *
 * <pre>{@code
 * LoadResult result =
 *     LoadGenerator.builder(() -> futureStub.sayHello(request))
 *         .name("raw unary 16B")
 *         .concurrency(64) // or .rate(20_000) for an open-loop run
 *         .warmup(Duration.ofSeconds(5))
 *         .duration(Duration.ofSeconds(10))
 *         .build()
 *         .run();
 * System.out.println(result.summary());
 * }</pre>
 *
 * <p>Two modes:
 *
 * <ul>
 *   <li><b>fixed concurrency</b> (closed loop): {@code N} calls are always in flight; each one that
 *       completes starts the next. Latency runs from the call's start to its completion.
 *   <li><b>fixed rate</b> (open loop): calls start on a schedule of {@code rate} per second whether
 *       or not earlier ones finished (at most {@code maxOutstanding} in flight; beyond that the
 *       schedule waits). Latency runs from each call's <em>intended</em> start time, so a server
 *       that stalls shows up in the percentiles instead of slowing the generator down (no
 *       coordinated omission).
 * </ul>
 *
 * <p>Every second a progress line (phase, calls, rate, p99, errors) goes to the progress stream,
 * {@code System.out} by default. Only the measurement window, after the warm-up, counts in the
 * {@link LoadResult}. Calls are issued and completed on the threads that complete their futures
 * (the transport's), so keep call functions non-blocking.
 *
 * <p>A generator may be {@link #run() run} several times, one run at a time.
 */
public final class LoadGenerator {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final Supplier<? extends ListenableFuture<?>> call;
  private final String name;
  private final int concurrency;
  private final double rate;
  private final int maxOutstanding;
  private final Duration warmup;
  private final Duration duration;
  private final Duration drainTimeout;
  private final PrintStream progress;

  private LoadGenerator(Builder b) {
    this.call = b.call;
    this.name = b.name;
    this.concurrency = b.concurrency;
    this.rate = b.rate;
    this.maxOutstanding = b.maxOutstanding;
    this.warmup = b.warmup;
    this.duration = b.duration;
    this.drainTimeout = b.drainTimeout;
    this.progress = b.progress;
  }

  /**
   * A builder of a generator that starts one call per {@code call.get()}; each future completes
   * when its call ends, failed with a {@code StatusRuntimeException} (or any throwable) when the
   * call failed.
   */
  public static Builder builder(Supplier<? extends ListenableFuture<?>> call) {
    return new Builder(call);
  }

  /** {@code "concurrency=N"} or {@code "rate=R/s"}. */
  public String mode() {
    return rate > 0 ? String.format("rate=%.0f/s", rate) : "concurrency=" + concurrency;
  }

  /**
   * Runs the warm-up, then the measurement window, then waits (at most the drain timeout) for the
   * calls still in flight. Blocks for about {@code warmup + duration}.
   */
  public LoadResult run() throws InterruptedException {
    return new Run().execute();
  }

  /** The state of one run. */
  private final class Run {
    final Recorder recorder = new Recorder(3);
    final AtomicInteger outstanding = new AtomicInteger();
    final LongAdder intervalErrors = new LongAdder();
    volatile LongAdder[] errors = newErrorCounters();
    volatile boolean stopping;
    final AllocationMeter allocation = AllocationMeter.createOrNull();
    Thread loadThread;

    LoadResult execute() throws InterruptedException {
      long start = System.nanoTime();
      long warmupEnd = start + warmup.toNanos();
      long end = warmupEnd + duration.toNanos();
      startLoad();
      Histogram total = new Histogram(3);
      Histogram interval = null;
      Map<Long, Long> allocStart = null;
      long measureStart = 0;
      long cpuStart = -1;
      LongAdder[] measuredErrors = null;
      boolean measuring = false;
      long nextTick = start + SECOND;
      long lastTick = start;
      try {
        while (true) {
          long now = System.nanoTime();
          if (!measuring && now >= warmupEnd) {
            interval = recorder.getIntervalHistogram(interval);
            intervalErrors.reset();
            measuredErrors = newErrorCounters();
            errors = measuredErrors;
            allocStart = allocation != null ? allocation.snapshot() : null;
            cpuStart = processCpuNanos();
            measureStart = System.nanoTime();
            lastTick = measureStart;
            measuring = true;
            continue;
          }
          if (measuring && now >= end) {
            errors = newErrorCounters();
            interval = recorder.getIntervalHistogram(interval);
            total.add(interval);
            break;
          }
          if (now >= nextTick) {
            interval = recorder.getIntervalHistogram(interval);
            if (measuring) {
              total.add(interval);
            }
            printProgress(measuring ? "run   " : "warmup", now - start, now - lastTick, interval);
            lastTick = now;
            nextTick += SECOND;
            continue;
          }
          long wake = Math.min(nextTick, measuring ? end : warmupEnd);
          TimeUnit.NANOSECONDS.sleep(Math.max(wake - now, 0));
        }
      } finally {
        stopping = true;
      }
      long measureEnd = System.nanoTime();
      long cpuEnd = processCpuNanos();
      Map<Long, Long> allocEnd = allocation != null ? allocation.snapshot() : null;
      drain();

      Map<Status.Code, Long> errorsByCode = new EnumMap<>(Status.Code.class);
      long errorCount = 0;
      for (Status.Code code : Status.Code.values()) {
        long n = measuredErrors[code.ordinal()].sum();
        if (n > 0) {
          errorsByCode.put(code, n);
          errorCount += n;
        }
      }
      long calls = total.getTotalCount() + errorCount;
      double allocPerCall =
          allocStart == null || calls == 0
              ? -1
              : (double) AllocationMeter.allocatedBetween(allocStart, allocEnd) / calls;
      double cpuPerCall =
          cpuStart < 0 || cpuEnd < 0 || calls == 0 ? -1 : (double) (cpuEnd - cpuStart) / calls;
      return new LoadResult(
          name,
          mode(),
          calls,
          errorsByCode,
          Duration.ofNanos(measureEnd - measureStart),
          total,
          allocPerCall,
          cpuPerCall);
    }

    void startLoad() {
      // A thread of its own, so that call functions whose futures complete inline (which then
      // loop in issueClosedLoop) cannot hold up the clock of this run.
      Runnable load =
          rate > 0
              ? this::issueAtRate
              : () -> {
                for (int i = 0; i < concurrency && !stopping; i++) {
                  issueClosedLoop();
                }
              };
      loadThread = new Thread(load, "loadgen-" + name);
      loadThread.setDaemon(true);
      loadThread.start();
    }

    /** Starts calls one after another until one is still in flight, then lets it continue. */
    void issueClosedLoop() {
      while (!stopping) {
        long start = System.nanoTime();
        ListenableFuture<?> future = start();
        if (future.isDone()) {
          complete(future, start);
          continue; // completed inline: loop rather than recurse
        }
        future.addListener(
            () -> {
              complete(future, start);
              issueClosedLoop();
            },
            MoreExecutors.directExecutor());
        return;
      }
    }

    void issueAtRate() {
      long period = Math.max(1, Math.round(SECOND / rate));
      long intended = System.nanoTime();
      while (!stopping) {
        long now = System.nanoTime();
        if (now < intended || outstanding.get() >= maxOutstanding) {
          // Behind the limit the schedule waits, but latency still counts from `intended`.
          LockSupport.parkNanos(now < intended ? intended - now : 20_000);
          continue;
        }
        long start = intended;
        intended += period;
        ListenableFuture<?> future = start();
        future.addListener(() -> complete(future, start), MoreExecutors.directExecutor());
      }
    }

    ListenableFuture<?> start() {
      outstanding.incrementAndGet();
      try {
        return Objects.requireNonNull(call.get(), "call function returned null");
      } catch (RuntimeException e) {
        return Futures.immediateFailedFuture(e);
      }
    }

    void complete(ListenableFuture<?> future, long startNanos) {
      long latency = System.nanoTime() - startNanos;
      outstanding.decrementAndGet();
      Throwable failure = failureOf(future);
      if (failure == null) {
        recorder.recordValue(Math.max(latency, 0));
      } else {
        Status.Code code =
            failure instanceof CancellationException
                ? Status.Code.CANCELLED
                : Status.fromThrowable(failure).getCode();
        errors[code.ordinal()].increment();
        intervalErrors.increment();
      }
    }

    void drain() throws InterruptedException {
      loadThread.join(drainTimeout.toMillis() + 1);
      long deadline = System.nanoTime() + drainTimeout.toNanos();
      while (outstanding.get() > 0 && System.nanoTime() < deadline) {
        TimeUnit.MILLISECONDS.sleep(5);
      }
      if (outstanding.get() > 0 && progress != null) {
        progress.printf(
            "%s: %d calls still in flight after the drain timeout of %s%n",
            name, outstanding.get(), drainTimeout);
      }
    }

    void printProgress(String phase, long sinceStart, long intervalNanos, Histogram interval) {
      long errorsNow = intervalErrors.sumThenReset();
      if (progress == null) {
        return;
      }
      long calls = interval.getTotalCount() + errorsNow;
      progress.printf(
          "%-30s %s %5.1fs calls=%-8d rate=%8.0f/s p99=%8.3fms errors=%d%n",
          name,
          phase,
          sinceStart / 1e9,
          calls,
          calls * 1e9 / Math.max(intervalNanos, 1),
          interval.getTotalCount() == 0 ? 0 : interval.getValueAtPercentile(99) / 1e6,
          errorsNow);
    }
  }

  /** CPU time of this process so far, in nanoseconds; -1 when the JVM cannot tell. */
  private static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }

  private static LongAdder[] newErrorCounters() {
    LongAdder[] counters = new LongAdder[Status.Code.values().length];
    for (int i = 0; i < counters.length; i++) {
      counters[i] = new LongAdder();
    }
    return counters;
  }

  private static Throwable failureOf(ListenableFuture<?> future) {
    try {
      Futures.getDone(future);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (CancellationException e) {
      return e;
    }
  }

  /**
   * Builds a {@link LoadGenerator}. Setters validate at once. Default: concurrency 16, warm-up 2 s,
   * duration 10 s, progress on {@code System.out}.
   */
  public static final class Builder {
    private final Supplier<? extends ListenableFuture<?>> call;
    private String name = "load";
    private int concurrency = 16;
    private double rate;
    private int maxOutstanding = 10_000;
    private Duration warmup = Duration.ofSeconds(2);
    private Duration duration = Duration.ofSeconds(10);
    private Duration drainTimeout = Duration.ofSeconds(10);
    private PrintStream progress = System.out;

    private Builder(Supplier<? extends ListenableFuture<?>> call) {
      this.call = Objects.requireNonNull(call, "call");
    }

    /** The name shown in progress lines and the result; default {@code "load"}. */
    public Builder name(String name) {
      this.name = Objects.requireNonNull(name, "name");
      return this;
    }

    /** Fixed-concurrency (closed-loop) mode with {@code n} calls in flight; the default, 16. */
    public Builder concurrency(int n) {
      if (n < 1 || n > 100_000) {
        throw new IllegalArgumentException("concurrency: " + n + " (expected: 1..100000)");
      }
      this.concurrency = n;
      this.rate = 0;
      return this;
    }

    /** Fixed-rate (open-loop) mode: {@code callsPerSecond} calls start per second. */
    public Builder rate(double callsPerSecond) {
      if (!(callsPerSecond > 0 && callsPerSecond <= 10_000_000)) {
        throw new IllegalArgumentException(
            "rate: " + callsPerSecond + " (expected: > 0 and <= 10000000)");
      }
      this.rate = callsPerSecond;
      return this;
    }

    /** In fixed-rate mode, the most calls in flight before the schedule waits; default 10000. */
    public Builder maxOutstanding(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxOutstanding: " + n + " (expected: >= 1)");
      }
      this.maxOutstanding = n;
      return this;
    }

    /** Load before the measurement window, not counted; default 2 s, 0 allowed. */
    public Builder warmup(Duration warmup) {
      this.warmup = checkNonNegative(warmup, "warmup");
      return this;
    }

    /** The measurement window; default 10 s, must be > 0. */
    public Builder duration(Duration duration) {
      checkNonNegative(duration, "duration");
      if (duration.isZero()) {
        throw new IllegalArgumentException("duration: PT0S (expected: > 0)");
      }
      this.duration = duration;
      return this;
    }

    /** How long {@code run()} waits for calls still in flight at the end; default 10 s. */
    public Builder drainTimeout(Duration drainTimeout) {
      this.drainTimeout = checkNonNegative(drainTimeout, "drainTimeout");
      return this;
    }

    /** Where progress lines go, or {@code null} for none; default {@code System.out}. */
    public Builder progress(PrintStream progress) {
      this.progress = progress;
      return this;
    }

    /** The generator. */
    public LoadGenerator build() {
      return new LoadGenerator(this);
    }

    private static Duration checkNonNegative(Duration d, String option) {
      Objects.requireNonNull(d, option);
      if (d.isNegative()) {
        throw new IllegalArgumentException(option + ": " + d + " (expected: >= 0)");
      }
      return d;
    }
  }
}
