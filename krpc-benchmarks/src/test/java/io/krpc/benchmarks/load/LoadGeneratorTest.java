package io.krpc.benchmarks.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  private ListenableFuture<String> delayed(long micros) {
    SettableFuture<String> future = SettableFuture.create();
    var unused = timer.schedule(() -> future.set("ok"), micros, TimeUnit.MICROSECONDS);
    return future;
  }

  @Test
  void closedLoopCountsCallsAndCompletesInlineFuturesWithoutRecursion() throws Exception {
    LoadResult result =
        LoadGenerator.builder(() -> Futures.immediateFuture("ok"))
            .name("inline")
            .concurrency(4)
            .warmup(Duration.ofMillis(50))
            .duration(Duration.ofMillis(200))
            .progress(null)
            .build()
            .run();

    assertThat(result.calls()).isPositive();
    assertThat(result.errors()).isZero();
    assertThat(result.throughput()).isPositive();
    assertThat(result.mode()).isEqualTo("concurrency=4");
    assertThat(result.allocatedBytesPerCall()).isGreaterThanOrEqualTo(0);
  }

  @Test
  void closedLoopKeepsConcurrencyCallsInFlight() throws Exception {
    LoadResult result =
        LoadGenerator.builder(() -> delayed(1000))
            .concurrency(8)
            .warmup(Duration.ZERO)
            .duration(Duration.ofMillis(300))
            .progress(null)
            .build()
            .run();

    // 8 in flight, ~1 ms each (timer resolution makes it longer): far more than 300 calls / 8.
    assertThat(result.calls()).isGreaterThan(100);
    assertThat(result.p50Micros()).isGreaterThanOrEqualTo(900);
  }

  @Test
  void errorsAreCountedByStatusCode() throws Exception {
    AtomicLong n = new AtomicLong();
    LoadResult result =
        LoadGenerator.builder(
                () ->
                    n.incrementAndGet() % 2 == 0
                        ? Futures.immediateFuture("ok")
                        : Futures.immediateFailedFuture(Status.UNAVAILABLE.asRuntimeException()))
            .concurrency(1)
            .warmup(Duration.ZERO)
            .duration(Duration.ofMillis(100))
            .progress(null)
            .build()
            .run();

    assertThat(result.errorsByCode()).containsOnlyKeys(Status.Code.UNAVAILABLE);
    // Every other call fails; the window edges may cut a few pairs.
    assertThat((double) result.errors() / result.calls()).isBetween(0.45, 0.55);
  }

  @Test
  void openLoopMeasuresFromIntendedStartTime() throws Exception {
    LoadResult result =
        LoadGenerator.builder(() -> delayed(200))
            .rate(500)
            .warmup(Duration.ZERO)
            .duration(Duration.ofMillis(400))
            .progress(null)
            .build()
            .run();

    assertThat(result.mode()).isEqualTo("rate=500/s");
    // 200 scheduled; a loaded machine may complete some after the window closes.
    assertThat(result.calls()).isBetween(50L, 260L);
    assertThat(result.errors()).isZero();
  }

  @Test
  void buildersRejectNonsenseNamingOptionAndValue() {
    LoadGenerator.Builder builder = LoadGenerator.builder(() -> Futures.immediateFuture(1));
    assertThatThrownBy(() -> builder.concurrency(0))
        .hasMessage("concurrency: 0 (expected: 1..100000)");
    assertThatThrownBy(() -> builder.rate(-1)).hasMessageStartingWith("rate: -1.0");
    assertThatThrownBy(() -> builder.warmup(Duration.ofSeconds(-1)))
        .hasMessage("warmup: PT-1S (expected: >= 0)");
    assertThatThrownBy(() -> builder.duration(Duration.ZERO))
        .hasMessage("duration: PT0S (expected: > 0)");
  }
}
