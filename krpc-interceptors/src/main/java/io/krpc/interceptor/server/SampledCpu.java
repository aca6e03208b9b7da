package io.krpc.interceptor.server;

import io.krpc.interceptor.internal.CpuSampler;

/**
 * The process-wide {@link CpuUsageSource}s over the internal samplers, one instance each (so that
 * every limiter of the process shares one), created on first use.
 */
final class SampledCpu {
  private SampledCpu() {}

  static final class Process {
    static final CpuUsageSource INSTANCE = CpuSampler.process()::cpuUsage;

    private Process() {}
  }

  static final class Machine {
    static final CpuUsageSource INSTANCE = CpuSampler.system()::cpuUsage;

    private Machine() {}
  }
}
