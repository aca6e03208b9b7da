package io.krpc.benchmarks.load;

import io.grpc.Status;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import org.HdrHistogram.Histogram;

/**
 * What one {@link LoadGenerator#run()} measured, over the measurement window only (warm-up
 * excluded).
 *
 * @param name the run's name
 * @param mode {@code "concurrency=N"} or {@code "rate=R/s"}
 * @param calls calls that completed in the window, successes and errors
 * @param errorsByCode failed calls per status code; empty when every call succeeded
 * @param elapsed the length of the measurement window
 * @param latency latency of the successful calls in nanoseconds; in fixed-rate mode measured from
 *     each call's intended start time, so that a stalled server is not hidden (no coordinated
 *     omission)
 * @param allocatedBytesPerCall bytes allocated by every thread of this JVM (client and server when
 *     both run here) during the window, divided by {@code calls}; -1 when the JVM cannot measure it
 * @param cpuNanosPerCall CPU time of this whole process (client, server, load generator, JIT and
 *     GC) during the window, divided by {@code calls}; -1 when the JVM cannot measure it
 */
public record LoadResult(
    String name,
    String mode,
    long calls,
    Map<Status.Code, Long> errorsByCode,
    Duration elapsed,
    Histogram latency,
    double allocatedBytesPerCall,
    double cpuNanosPerCall) {

  /** A result whose CPU time was not measured. */
  public LoadResult(
      String name,
      String mode,
      long calls,
      Map<Status.Code, Long> errorsByCode,
      Duration elapsed,
      Histogram latency,
      double allocatedBytesPerCall) {
    this(name, mode, calls, errorsByCode, elapsed, latency, allocatedBytesPerCall, -1);
  }

  /** Copies the map and checks the arguments. */
  public LoadResult {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(mode, "mode");
    errorsByCode = Map.copyOf(errorsByCode);
    Objects.requireNonNull(elapsed, "elapsed");
    Objects.requireNonNull(latency, "latency");
  }

  /** Failed calls, all codes together. */
  public long errors() {
    return errorsByCode.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Successful calls. */
  public long successes() {
    return calls - errors();
  }

  /** Completed calls per second over the window. */
  public double throughput() {
    double seconds = elapsed.toNanos() / 1e9;
    return seconds > 0 ? calls / seconds : 0;
  }

  /** The latency at {@code percentile} (0..100) in microseconds; 0 when nothing succeeded. */
  public double percentileMicros(double percentile) {
    return latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(percentile) / 1000.0;
  }

  /** Median latency in microseconds. */
  public double p50Micros() {
    return percentileMicros(50);
  }

  /** 99th percentile latency in microseconds. */
  public double p99Micros() {
    return percentileMicros(99);
  }

  /** 99.9th percentile latency in microseconds. */
  public double p999Micros() {
    return percentileMicros(99.9);
  }

  /** Largest latency in microseconds. */
  public double maxMicros() {
    return latency.getTotalCount() == 0 ? 0 : latency.getMaxValue() / 1000.0;
  }

  /**
   * This result and {@code other} as one window: calls, errors and elapsed time add up, the latency
   * histograms merge, allocation is weighted by calls. For runs repeated in rounds.
   */
  public LoadResult merge(LoadResult other) {
    Map<Status.Code, Long> errors = new EnumMap<>(Status.Code.class);
    errors.putAll(errorsByCode);
    other.errorsByCode.forEach((code, n) -> errors.merge(code, n, Long::sum));
    Histogram latency = this.latency.copy();
    latency.add(other.latency);
    long totalCalls = calls + other.calls;
    return new LoadResult(
        name,
        mode,
        totalCalls,
        errors,
        elapsed.plus(other.elapsed),
        latency,
        weighted(allocatedBytesPerCall, other.allocatedBytesPerCall, other.calls),
        weighted(cpuNanosPerCall, other.cpuNanosPerCall, other.calls));
  }

  /** A per-call figure of this result and {@code other} over both, weighted by calls. */
  private double weighted(double mine, double theirs, long theirCalls) {
    long total = calls + theirCalls;
    return mine < 0 || theirs < 0 || total == 0 ? -1 : (mine * calls + theirs * theirCalls) / total;
  }

  /** CPU time of the process per call in microseconds; -1 when not measured. */
  public double cpuMicrosPerCall() {
    return cpuNanosPerCall < 0 ? -1 : cpuNanosPerCall / 1000.0;
  }

  /** One line for logs: calls, throughput, percentiles, errors and allocation. */
  public String summary() {
    return String.format(
        "%s [%s] calls=%d rate=%.0f/s p50=%.0fus p99=%.0fus p99.9=%.0fus max=%.0fus"
            + " alloc=%.0fB/call cpu=%.1fus/call errors=%s",
        name,
        mode,
        calls,
        throughput(),
        p50Micros(),
        p99Micros(),
        p999Micros(),
        maxMicros(),
        allocatedBytesPerCall,
        cpuMicrosPerCall(),
        errorsByCode.isEmpty() ? "0" : errorsByCode.toString());
  }
}
