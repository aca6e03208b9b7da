package io.krpc.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RollingWindowTest {
  private static final long MS = 1_000_000L;
  private final RollingWindow window = new RollingWindow(10, 100 * MS); // 1 s in 100 ms buckets

  @Test
  void leavesTheBucketStillFillingOut() {
    window.add(0, 20 * MS);
    window.add(10 * MS, 40 * MS);

    assertThat(window.maxPass(50 * MS)).isZero();
    assertThat(window.minRtNanos(50 * MS)).isEqualTo(-1);

    assertThat(window.maxPass(100 * MS)).isEqualTo(2);
    assertThat(window.minRtNanos(100 * MS)).isEqualTo(30 * MS); // the bucket's mean
  }

  @Test
  void maxPassAndMinRtMayComeFromDifferentBuckets() {
    window.add(0, 10 * MS);
    for (int i = 0; i < 3; i++) {
      window.add(150 * MS, 50 * MS);
    }

    assertThat(window.maxPass(250 * MS)).isEqualTo(3);
    assertThat(window.minRtNanos(250 * MS)).isEqualTo(10 * MS);
  }

  @Test
  void bucketsOlderThanTheWindowAreForgottenAndSlotsReused() {
    window.add(0, 10 * MS);
    assertThat(window.maxPass(999 * MS)).isEqualTo(1);
    assertThat(window.maxPass(1_000 * MS)).as("the bucket at 0 left the window").isZero();

    window.add(1_000 * MS, 70 * MS); // same slot as the bucket at 0, a new epoch
    assertThat(window.maxPass(1_100 * MS)).isEqualTo(1);
    assertThat(window.minRtNanos(1_100 * MS)).isEqualTo(70 * MS);
  }

  @Test
  void validatesItsShape() {
    assertThatThrownBy(() -> new RollingWindow(1, 1)).hasMessage("buckets: 1 (expected: >= 2)");
    assertThatThrownBy(() -> new RollingWindow(2, 0)).hasMessage("bucketNanos: 0 (expected: >= 1)");
    assertThatThrownBy(() -> window.maxPassPerBucket(0, 0))
        .hasMessage("spanBuckets: 0 (expected: >= 1)");
  }

  @Test
  void maxPassPerBucketAveragesOverTheSpan() {
    // buckets 0..3 of 100 ms: 2, 2, 20 (a burst), 2 completions
    int[] passes = {2, 2, 20, 2};
    for (int b = 0; b < passes.length; b++) {
      for (int i = 0; i < passes[b]; i++) {
        window.add(b * 100 * MS, 10 * MS);
      }
    }
    long now = 400 * MS; // buckets 0..3 are full

    assertThat(window.maxPassPerBucket(now, 1)).isEqualTo(20.0).isEqualTo(window.maxPass(now));
    assertThat(window.maxPassPerBucket(now, 2)).isEqualTo(11.0); // (2 + 20) / 2
    // Five buckets: the span reaches back before the first data, which counts 0.
    assertThat(window.maxPassPerBucket(now, 5)).isEqualTo(26.0 / 5);
  }

  @Test
  void aSpanLongerThanTheFullBucketsIsCutToThem() {
    window.add(0, 10 * MS);
    window.add(0, 10 * MS);
    // 10 buckets: 9 full at most, so a span of 50 averages over 9.
    assertThat(window.maxPassPerBucket(900 * MS, 50)).isEqualTo(2.0 / 9);
    assertThat(window.maxPassPerBucket(50 * MS, 3)).isZero();
  }

  // Counter columns (AdaptiveThrottlingInterceptor's use): sums include the bucket still filling.

  private static final int REQUESTS = 0;
  private static final int ACCEPTS = 1;
  private final RollingWindow counters = new RollingWindow(2, 10, 100 * MS);

  @Test
  void sumsCountTheBucketStillFilling() {
    counters.add(0, REQUESTS, 3);
    counters.add(50 * MS, REQUESTS, 2);
    counters.add(50 * MS, ACCEPTS, 1);

    assertThat(counters.sum(99 * MS, REQUESTS)).isEqualTo(5);
    assertThat(counters.sum(99 * MS, ACCEPTS)).isEqualTo(1);
    assertThat(counters.sum(99 * MS, REQUESTS, 1)).isEqualTo(5);
  }

  @Test
  void aSumOverASpanTakesTheNewestBuckets() {
    for (int b = 0; b < 10; b++) { // bucket b gets b + 1: 1, 2, ..., 10
      counters.add(b * 100 * MS, REQUESTS, b + 1);
    }
    long now = 950 * MS; // bucket 9 still filling

    assertThat(counters.sum(now, REQUESTS)).isEqualTo(55);
    assertThat(counters.sum(now, REQUESTS, 1)).isEqualTo(10);
    assertThat(counters.sum(now, REQUESTS, 3)).isEqualTo(10 + 9 + 8);
    assertThat(counters.sum(now, REQUESTS, 10)).isEqualTo(55);
    assertThat(counters.sum(now, REQUESTS, 50)).as("cut to the window").isEqualTo(55);
    assertThat(counters.sum(now, ACCEPTS)).isZero();
  }

  @Test
  void rotatingForgetsOneBucketAtATime() {
    for (int b = 0; b < 10; b++) {
      counters.add(b * 100 * MS, REQUESTS, 1L << b); // one bit per bucket: the sum says which
    }
    assertThat(counters.sum(999 * MS, REQUESTS)).isEqualTo(0b11_1111_1111);
    assertThat(counters.sum(1_000 * MS, REQUESTS)).as("bucket 0 left").isEqualTo(0b11_1111_1110);
    assertThat(counters.sum(1_099 * MS, REQUESTS)).isEqualTo(0b11_1111_1110);
    assertThat(counters.sum(1_100 * MS, REQUESTS)).as("bucket 1 left").isEqualTo(0b11_1111_1100);

    counters.add(1_150 * MS, REQUESTS, 1L << 10); // bucket 11: bucket 1's slot, a new bucket
    assertThat(counters.sum(1_150 * MS, REQUESTS)).isEqualTo(0b111_1111_1100);
    assertThat(counters.sum(1_150 * MS, REQUESTS, 2)).isEqualTo(1L << 10); // buckets 10 and 11

    assertThat(counters.sum(1_900 * MS, REQUESTS)).as("only bucket 11 left").isEqualTo(1L << 10);
    assertThat(counters.sum(2_100 * MS, REQUESTS)).as("bucket 11 left too").isZero();
  }

  @Test
  void aLongSilenceEmptiesTheWindowAndItFillsAgain() {
    counters.add(0, REQUESTS, 7);
    counters.add(0, ACCEPTS, 4);

    long later = 3_600_000 * MS; // an hour: far more than one window
    assertThat(counters.sum(later, REQUESTS)).isZero();
    assertThat(counters.sum(later, ACCEPTS)).isZero();
    counters.add(later, REQUESTS, 2);
    assertThat(counters.sum(later, REQUESTS)).isEqualTo(2);
    assertThat(counters.sum(later + 1_000 * MS, REQUESTS)).isZero();
  }

  @Test
  void aLateAddLandsInItsOwnBucketOrIsDroppedOnceThatLeftTheWindow() {
    counters.add(500 * MS, REQUESTS, 1); // the window has moved to bucket 5

    counters.add(250 * MS, REQUESTS, 10); // read its time a little earlier: bucket 2, in the window
    assertThat(counters.sum(500 * MS, REQUESTS)).isEqualTo(11);
    assertThat(counters.sum(500 * MS, REQUESTS, 3)).as("buckets 3..5").isEqualTo(1);
    assertThat(counters.sum(500 * MS, REQUESTS, 4)).as("buckets 2..5").isEqualTo(11);

    counters.add(1_200 * MS, REQUESTS, 100); // bucket 12: buckets up to 2 left
    counters.add(250 * MS, REQUESTS, 1_000); // bucket 2 is gone: dropped, bucket 12 untouched
    assertThat(counters.sum(1_200 * MS, REQUESTS)).isEqualTo(101);
    assertThat(counters.sum(1_200 * MS, REQUESTS, 1)).isEqualTo(100);
    assertThat(counters.sum(2_099 * MS, REQUESTS)).as("only bucket 12").isEqualTo(100);
  }

  @Test
  void aWindowOfOneBucketHoldsTheBucketStillFilling() {
    RollingWindow one = new RollingWindow(1, 1, 100 * MS);
    one.add(0, 0, 3);
    assertThat(one.sum(99 * MS, 0)).isEqualTo(3);
    assertThat(one.sum(100 * MS, 0)).isZero();
  }

  @Test
  void theBbrViewAndTheSumsReadTheSameBuckets() {
    window.add(0, 20 * MS);
    window.add(50 * MS, 40 * MS);
    window.add(150 * MS, 30 * MS);

    assertThat(window.sum(150 * MS, 0)).as("calls").isEqualTo(3);
    assertThat(window.sum(150 * MS, 1)).as("response times").isEqualTo(90 * MS);
    assertThat(window.maxPass(150 * MS)).isEqualTo(2);
    assertThat(window.minRtNanos(150 * MS)).isEqualTo(30 * MS);
    assertThat(window.sum(1_050 * MS, 0)).as("bucket 0 left").isEqualTo(1);
    assertThat(window.maxPass(1_050 * MS)).isEqualTo(1);
  }

  @Test
  void concurrentAddsAreAllCounted() throws Exception {
    int threads = 4;
    int addsPerThread = 10_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> done = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < addsPerThread; i++) {
                    long now = (i % 5) * 100 * MS; // buckets 0..4, all in the window
                    counters.add(now, REQUESTS, 1);
                    counters.add(now, ACCEPTS, 2);
                    window.add(now, 10 * MS);
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    long now = 499 * MS;
    assertThat(counters.sum(now, REQUESTS)).isEqualTo((long) threads * addsPerThread);
    assertThat(counters.sum(now, ACCEPTS)).isEqualTo(2L * threads * addsPerThread);
    assertThat(counters.sum(now, REQUESTS, 1)).isEqualTo((long) threads * addsPerThread / 5);
    assertThat(window.maxPass(500 * MS)).isEqualTo((long) threads * addsPerThread / 5);
    assertThat(window.minRtNanos(500 * MS)).isEqualTo(10 * MS);
  }

  @Test
  void validatesColumnsAndSpans() {
    assertThatThrownBy(() -> new RollingWindow(0, 1, 1)).hasMessage("columns: 0 (expected: >= 1)");
    assertThatThrownBy(() -> new RollingWindow(1, 0, 1)).hasMessage("buckets: 0 (expected: >= 1)");
    assertThatThrownBy(() -> new RollingWindow(1, 1, 0))
        .hasMessage("bucketNanos: 0 (expected: >= 1)");
    assertThatThrownBy(() -> counters.add(0, 2, 1)).hasMessage("column: 2 (expected: 0..1)");
    assertThatThrownBy(() -> counters.sum(0, -1)).hasMessage("column: -1 (expected: 0..1)");
    assertThatThrownBy(() -> counters.sum(0, 0, 0)).hasMessage("spanBuckets: 0 (expected: >= 1)");
    RollingWindow oneColumn = new RollingWindow(1, 10, 100 * MS);
    assertThatThrownBy(() -> oneColumn.add(0, 10 * MS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("columns: 1 (expected: >= 2, calls and response times, for the BBR view)");
  }
}
