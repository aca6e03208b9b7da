package io.krpc.loadbalance.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SmoothWeightedScheduleTest {

  @Test
  void oneTwoSevenCycleHasExactSharesAndNoBursts() {
    int[] cycle = SmoothWeightedSchedule.cycle(new int[] {1, 2, 7});

    assertThat(cycle).hasSize(10);
    assertThat(counts(cycle, 3)).containsExactly(1, 2, 7);
    // The heaviest endpoint never takes more than 3 picks in a row (7 spread over 3 gaps).
    assertThat(longestRun(cycle)).isLessThanOrEqualTo(3);
    // The light ones are never adjacent to themselves.
    for (int i = 0; i < cycle.length; i++) {
      int next = cycle[(i + 1) % cycle.length];
      if (cycle[i] != 2) {
        assertThat(next).isNotEqualTo(cycle[i]);
      }
    }
  }

  @Test
  void commonFactorIsDividedOut() {
    assertThat(SmoothWeightedSchedule.reduce(new int[] {100, 100, 300})).containsExactly(1, 1, 3);
    assertThat(SmoothWeightedSchedule.cycle(new int[] {100, 100, 100})).containsExactly(0, 1, 2);
  }

  @Test
  void largeCoprimeWeightsAreScaledToABoundedCycleKeepingShares() {
    int[] weights = {9999, 10000, 9997, 1};
    int[] cycle = SmoothWeightedSchedule.cycle(weights);

    assertThat(cycle.length).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_CYCLE + weights.length);
    int[] counts = counts(cycle, weights.length);
    double total = Arrays.stream(weights).sum();
    for (int i = 0; i < weights.length - 1; i++) {
      assertThat((double) counts[i] / cycle.length)
          .isCloseTo(weights[i] / total, org.assertj.core.data.Offset.offset(0.001));
    }
    assertThat(counts[3]).isEqualTo(1); // the tiny weight keeps at least one slot
  }

  static int[] counts(int[] cycle, int n) {
    int[] counts = new int[n];
    for (int index : cycle) {
      counts[index]++;
    }
    return counts;
  }

  static int longestRun(int[] cycle) {
    int longest = 1;
    int run = 1;
    for (int i = 1; i < cycle.length * 2; i++) {
      run = cycle[i % cycle.length] == cycle[(i - 1) % cycle.length] ? run + 1 : 1;
      longest = Math.max(longest, run);
    }
    return longest;
  }
}
