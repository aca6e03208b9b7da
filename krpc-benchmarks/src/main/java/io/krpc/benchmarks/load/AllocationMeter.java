package io.krpc.benchmarks.load;

import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;

/**
 * Bytes allocated by every live thread of this JVM, through {@code
 * com.sun.management.ThreadMXBean#getThreadAllocatedBytes}. A snapshot per thread id, so that
 * threads started in between count from zero; allocation of threads that ended in between is lost
 * (benchmark threads are long-lived pools, so this is small).
 */
final class AllocationMeter {
  private final com.sun.management.ThreadMXBean threads;

  private AllocationMeter(com.sun.management.ThreadMXBean threads) {
    this.threads = threads;
  }

  /** A meter, or {@code null} when this JVM cannot count allocated bytes per thread. */
  static AllocationMeter createOrNull() {
    if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean bean)) {
      return null;
    }
    try {
      if (!bean.isThreadAllocatedMemorySupported()) {
        return null;
      }
      bean.setThreadAllocatedMemoryEnabled(true);
      return new AllocationMeter(bean);
    } catch (UnsupportedOperationException e) {
      return null;
    }
  }

  /** Allocated bytes per live thread id, now. */
  Map<Long, Long> snapshot() {
    long[] ids = threads.getAllThreadIds();
    long[] bytes = threads.getThreadAllocatedBytes(ids);
    Map<Long, Long> snapshot = new HashMap<>(ids.length * 2);
    for (int i = 0; i < ids.length; i++) {
      if (bytes[i] >= 0) {
        snapshot.put(ids[i], bytes[i]);
      }
    }
    return snapshot;
  }

  /** Bytes allocated between two snapshots, summed over the threads alive at {@code end}. */
  static long allocatedBetween(Map<Long, Long> start, Map<Long, Long> end) {
    long total = 0;
    for (Map.Entry<Long, Long> e : end.entrySet()) {
      total += Math.max(0, e.getValue() - start.getOrDefault(e.getKey(), 0L));
    }
    return total;
  }
}
