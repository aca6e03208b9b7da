package io.krpc.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
