package io.krpc.interceptor.internal;

import io.krpc.interceptor.server.CpuUsageSource;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.annotation.concurrent.ThreadSafe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM process's CPU load, sampled in the background and smoothed; see
 * {@link CpuUsageSource#processCpu()}. One per process because it measures the process.
 */
@ThreadSafe
public final class ProcessCpuSampler implements CpuUsageSource {
  private static final Logger logger = LoggerFactory.getLogger(ProcessCpuSampler.class);
  private static final long PERIOD_MILLIS = 500;
  private static final double SAMPLE_WEIGHT = 0.3;

  private final OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
  private volatile double smoothed;

  private ProcessCpuSampler() {}

  /** Returns the process-wide sampler, starting its daemon thread on first use. */
  public static ProcessCpuSampler shared() {
    return Holder.INSTANCE;
  }

  @Override
  public double cpuUsage() {
    return smoothed;
  }

  private void sample() {
    double load = -1;
    if (os instanceof com.sun.management.OperatingSystemMXBean sunOs) {
      load = sunOs.getProcessCpuLoad();
    }
    if (load < 0 || Double.isNaN(load)) {
      return; // not measurable (yet): keep the last value
    }
    smoothed = smoothed * (1 - SAMPLE_WEIGHT) + Math.min(1.0, load) * SAMPLE_WEIGHT;
  }

  private static final class Holder {
    static final ProcessCpuSampler INSTANCE = start();

    private static ProcessCpuSampler start() {
      ProcessCpuSampler sampler = new ProcessCpuSampler();
      ScheduledExecutorService timer =
          Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("krpc-cpu-sampler"));
      timer.scheduleAtFixedRate(
          () -> {
            try {
              sampler.sample();
            } catch (RuntimeException e) {
              logger.warn("CPU sampling failed; keeping the last value", e);
            }
          },
          0,
          PERIOD_MILLIS,
          TimeUnit.MILLISECONDS);
      return sampler;
    }
  }
}
