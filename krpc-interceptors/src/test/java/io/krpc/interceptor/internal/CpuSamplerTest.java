package io.krpc.interceptor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.krpc.interceptor.internal.CpuSampler.ProcessCpuShare;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CpuSamplerTest {
  private final AtomicLong cpu = new AtomicLong();
  private final AtomicLong wall = new AtomicLong();
  private final AtomicInteger processors = new AtomicInteger(1);
  private final ProcessCpuShare share = new ProcessCpuShare(cpu::get, wall::get, processors::get);

  @Test
  void firstReadingHasNoIntervalYet() {
    assertThat(share.getAsDouble()).isEqualTo(-1);
  }

  @Test
  void oneBusyCoreOfOneUsableReadsFull() {
    // A JVM pinned to one core of a two-core host: getProcessCpuLoad() would say 0.5 here.
    share.getAsDouble();
    advance(500, 500);
    assertThat(share.getAsDouble()).isCloseTo(1.0, within(1e-9));
  }

  @Test
  void dividesByTheProcessorsUsableAtEachSample() {
    processors.set(4);
    share.getAsDouble();
    advance(500, 1000); // 2 of 4 cores busy
    assertThat(share.getAsDouble()).isCloseTo(0.5, within(1e-9));
    processors.set(2); // the container's quota shrank
    advance(500, 1000);
    assertThat(share.getAsDouble()).isCloseTo(1.0, within(1e-9));
  }

  @Test
  void clampsToZeroAndOne() {
    share.getAsDouble();
    advance(100, 300); // threads counted late: more CPU than wall time allows
    assertThat(share.getAsDouble()).isEqualTo(1.0);
    advance(100, 0);
    assertThat(share.getAsDouble()).isEqualTo(0.0);
  }

  @Test
  void unmeasurableCpuTimeReadsMinusOne() {
    share.getAsDouble();
    cpu.set(-1);
    advance(100, 0);
    assertThat(share.getAsDouble()).isEqualTo(-1);
  }

  @Test
  void noElapsedTimeReadsMinusOne() {
    share.getAsDouble();
    assertThat(share.getAsDouble()).isEqualTo(-1);
  }

  private void advance(long wallMillis, long cpuMillis) {
    wall.addAndGet(TimeUnit.MILLISECONDS.toNanos(wallMillis));
    if (cpu.get() >= 0) {
      cpu.addAndGet(TimeUnit.MILLISECONDS.toNanos(cpuMillis));
    }
  }
}
