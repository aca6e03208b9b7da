package io.krpc.interceptor.internal;

import io.krpc.interceptor.server.CpuUsageSource;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import javax.annotation.concurrent.ThreadSafe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CPU load reading sampled in the background and smoothed by an exponential moving average; see
 * {@link CpuUsageSource#processCpu()} and {@link CpuUsageSource#systemCpu()}. One per reading per
 * process, because each measures the process or the machine.
 */
@ThreadSafe
public final class CpuSampler implements CpuUsageSource {
  private static final Logger logger = LoggerFactory.getLogger(CpuSampler.class);
  private static final long PERIOD_MILLIS = 500;
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

  @Override
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
      return process ? os::getProcessCpuLoad : os::getCpuLoad;
    }
    logger.warn("this JVM does not report CPU load; the adaptive limiter will read 0");
    return () -> -1;
  }

  private static final class ProcessHolder {
    static final CpuSampler INSTANCE = start("process", osReading(true));
  }

  private static final class SystemHolder {
    static final CpuSampler INSTANCE = start("system", osReading(false));
  }
}
