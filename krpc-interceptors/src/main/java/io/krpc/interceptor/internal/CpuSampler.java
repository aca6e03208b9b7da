package io.krpc.interceptor.internal;

import com.google.errorprone.annotations.ThreadSafe;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CPU load reading sampled in the background and smoothed by an exponential moving average,
 * behind {@code CpuUsageSource.processCpu()} and {@code systemCpu()}. One per reading per process,
 * because each measures the process or the machine. It knows nothing of the public {@code
 * CpuUsageSource} (which reads it through {@link #cpuUsage()}), so the packages form no cycle.
 */
@ThreadSafe
public final class CpuSampler {
  private static final Logger logger = LoggerFactory.getLogger(CpuSampler.class);
  private static final long PERIOD_MILLIS = 100;
  private static final double SAMPLE_WEIGHT = 0.3;

  private final String what;
  private final DoubleSupplier reading;
  private volatile double smoothed;

  private CpuSampler(String what, DoubleSupplier reading) {
    this.what = what;
    this.reading = reading;
  }

  /** Returns the sampler of the JVM process's CPU load, starting it on first use. */
  public static CpuSampler process() {
    return ProcessHolder.INSTANCE;
  }

  /** Returns the sampler of the whole machine's CPU load, starting it on first use. */
  public static CpuSampler system() {
    return SystemHolder.INSTANCE;
  }

  /** The latest smoothed reading, from 0 (idle) to 1 (every core busy). */
  public double cpuUsage() {
    return smoothed;
  }

  private void sample() {
    double load = reading.getAsDouble();
    if (load < 0 || Double.isNaN(load)) {
      return; // not measurable (yet): keep the last value
    }
    smoothed = smoothed * (1 - SAMPLE_WEIGHT) + Math.min(1.0, load) * SAMPLE_WEIGHT;
  }

  private static CpuSampler start(String what, DoubleSupplier reading) {
    CpuSampler sampler = new CpuSampler(what, reading);
    var unused =
        SharedExecutors.timer()
            .scheduleAtFixedRate(
                () -> {
                  try {
                    sampler.sample();
                  } catch (RuntimeException e) {
                    logger.warn("{} CPU sampling failed; keeping the last value", sampler.what, e);
                  }
                },
                0,
                PERIOD_MILLIS,
                TimeUnit.MILLISECONDS);
    return sampler;
  }

  private static DoubleSupplier osReading(boolean process) {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      if (!process) {
        return os::getCpuLoad;
      }
      Runtime runtime = Runtime.getRuntime();
      return new ProcessCpuShare(
          os::getProcessCpuTime, System::nanoTime, runtime::availableProcessors);
    }
    logger.warn("this JVM does not report CPU load; the adaptive limiter will read 0");
    return () -> -1;
  }

  /**
   * The process's CPU time between two readings over the wall time between them times the CPUs this
   * JVM may use. {@code getProcessCpuLoad()} divides by every CPU of the host instead, so a JVM
   * pinned to one core of two (taskset, a Kubernetes cpuset) or given a CPU quota would never read
   * above 50% and its limiter would never shed. {@link Runtime#availableProcessors()} follows the
   * affinity mask and the container's quota, and is read again at each sample.
   */
  static final class ProcessCpuShare implements DoubleSupplier {
    private final LongSupplier cpuTimeNanos;
    private final LongSupplier wallNanos;
    private final IntSupplier processors;
    private long lastCpu = -1;
    private long lastWall;

    ProcessCpuShare(LongSupplier cpuTimeNanos, LongSupplier wallNanos, IntSupplier processors) {
      this.cpuTimeNanos = cpuTimeNanos;
      this.wallNanos = wallNanos;
      this.processors = processors;
    }

    /** Returns the share since the last call, or -1 on the first call or when unmeasurable. */
    @Override
    public synchronized double getAsDouble() {
      long cpu = cpuTimeNanos.getAsLong();
      long wall = wallNanos.getAsLong();
      if (cpu < 0) {
        return -1;
      }
      long previousCpu = lastCpu;
      long previousWall = lastWall;
      lastCpu = cpu;
      lastWall = wall;
      long elapsed = wall - previousWall;
      if (previousCpu < 0 || elapsed <= 0) {
        return -1;
      }
      double share = (double) (cpu - previousCpu) / ((double) elapsed * processors.getAsInt());
      return Math.max(0, Math.min(1, share));
    }
  }

  private static final class ProcessHolder {
    static final CpuSampler INSTANCE = start("process", osReading(true));
  }

  private static final class SystemHolder {
    static final CpuSampler INSTANCE = start("system", osReading(false));
  }
}
