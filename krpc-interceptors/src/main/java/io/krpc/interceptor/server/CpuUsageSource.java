package io.krpc.interceptor.server;

import io.krpc.interceptor.internal.ProcessCpuSampler;

/**
 * Where {@link AdaptiveLimitInterceptor} reads the CPU usage it compares with its threshold.
 *
 * <pre>{@code
 * CpuUsageSource fixed = () -> 0.95;   // tests: a CPU that is always busy
 * }</pre>
 *
 * <p>Implementations must be cheap and non-blocking: the limiter calls {@link #cpuUsage()} once per
 * incoming call. Sample in the background and return the latest value.
 */
@FunctionalInterface
public interface CpuUsageSource {

  /** Returns the current CPU usage as a fraction from 0 (idle) to 1 (every core busy). */
  double cpuUsage();

  /**
   * Returns the process-wide source: the JVM process's CPU load
   * ({@code com.sun.management.OperatingSystemMXBean#getProcessCpuLoad()}, a fraction of all cores)
   * sampled every 500 ms on one daemon thread and smoothed by an exponential moving average
   * (each sample weighs 0.3, so a step change shows after 1 to 2 s). The thread starts on the first
   * call and is shared by every limiter of the process. Reports 0 where the JVM cannot measure.
   */
  static CpuUsageSource processCpu() {
    return ProcessCpuSampler.shared();
  }
}
