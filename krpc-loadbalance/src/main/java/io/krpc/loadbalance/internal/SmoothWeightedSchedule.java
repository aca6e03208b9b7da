package io.krpc.loadbalance.internal;

import com.google.common.math.IntMath;

/**
 * Builds one cycle of nginx's smooth weighted round robin: at each step every endpoint's current
 * weight grows by its weight, the largest is chosen and lowered by the total. Over a cycle each
 * endpoint appears exactly weight/gcd times, spread evenly (1:2:7 gives {@code c b c a c c b c c
 * c}-like orders, never a burst of one endpoint's whole share).
 *
 * <p>The cycle has sum(weights)/gcd steps; above {@value #MAX_CYCLE} steps the weights are scaled
 * down proportionally (each at least 1) first, which keeps shares to within a fraction of a
 * percent.
 *
 * <p>Stateless; safe from any thread.
 */
final class SmoothWeightedSchedule {

  static final int MAX_CYCLE = 1 << 14;

  private SmoothWeightedSchedule() {}

  /** Returns the endpoint index for each step of one cycle; {@code weights} are all positive. */
  static int[] cycle(int[] weights) {
    int[] reduced = reduce(weights);
    long total = 0;
    for (int w : reduced) {
      total += w;
    }
    int[] order = new int[Math.toIntExact(total)];
    long[] current = new long[reduced.length];
    for (int step = 0; step < order.length; step++) {
      int best = 0;
      for (int i = 0; i < reduced.length; i++) {
        current[i] += reduced[i];
        if (current[i] > current[best]) {
          best = i;
        }
      }
      current[best] -= total;
      order[step] = best;
    }
    return order;
  }

  /** Divides by the gcd and, when the cycle would still be too long, scales down. */
  static int[] reduce(int[] weights) {
    long total = 0;
    for (int w : weights) {
      total += w;
    }
    int[] scaled = weights.clone();
    if (total > MAX_CYCLE) {
      double scale = (double) MAX_CYCLE / total;
      for (int i = 0; i < scaled.length; i++) {
        scaled[i] = Math.max(1, (int) Math.round(weights[i] * scale));
      }
    }
    int gcd = 0;
    for (int w : scaled) {
      gcd = IntMath.gcd(gcd, w);
    }
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] /= gcd;
    }
    return scaled;
  }
}
