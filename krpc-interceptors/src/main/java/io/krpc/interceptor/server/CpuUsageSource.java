package io.krpc.interceptor.server;

/**
 * Where {@link AdaptiveLimitInterceptor} reads the CPU usage it compares with its threshold.
 *
 * <pre>{@code
 * CpuUsageSource busy = () -> 0.95;               // tests: a CPU that is always busy
 * CpuUsageSource machine = CpuUsageSource.systemCpu(); // shared host: watch the whole machine
 * }</pre>
 *
 * <p>Implementations must be cheap and non-blocking: the limiter may call {@link #cpuUsage()} once
 * per incoming call. Sample in the background and return the latest value.
 */
@FunctionalInterface
public interface CpuUsageSource {

  /** Returns the current CPU usage as a fraction from 0 (idle) to 1 (every core busy). */
  double cpuUsage();

  /**
   * Returns the process-wide source of this JVM's CPU load: its CPU time ({@code
   * com.sun.management.OperatingSystemMXBean#getProcessCpuTime()}) as a fraction of the CPUs it may
   * use ({@link Runtime#availableProcessors()}, which follows CPU affinity and container quotas,
   * where {@code getProcessCpuLoad()} would count every core of the host), sampled every 100 ms on
   * the interceptors' shared daemon timer thread and smoothed by an exponential moving average
   * (each sample weighs 0.3, so a step from idle to busy crosses 80% within 0.5 s: every call
   * admitted before that is a burst the server must absorb). Sampling starts on the first call and
   * is shared by every limiter of the process. Reads 0 where the JVM cannot measure. The default of
   * {@link AdaptiveLimitInterceptor}.
   */
  static CpuUsageSource processCpu() {
    return SampledCpu.ProcessCpu.INSTANCE;
  }

  /**
   * Returns the same as {@link #processCpu()} for the whole machine's CPU load ({@code
   * getCpuLoad()}), for hosts where other processes compete for the CPU.
   */
  static CpuUsageSource systemCpu() {
    return SampledCpu.MachineCpu.INSTANCE;
  }
}
