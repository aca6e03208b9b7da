package io.krpc.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void growsWithJitterUpToTheCapAndResets() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1));
    assertThat(millis(backoff.nextDelayNanos())).isBetween(80L, 120L);
    assertThat(millis(backoff.nextDelayNanos())).isBetween(160L, 240L);
    assertThat(millis(backoff.nextDelayNanos())).isBetween(320L, 480L);
    for (int i = 0; i < 20; i++) {
      assertThat(millis(backoff.nextDelayNanos())).isBetween(640L, 1000L);
    }
    backoff.reset();
    assertThat(millis(backoff.nextDelayNanos())).isBetween(80L, 120L);
  }

  private static long millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
