package io.krpc;

import static io.krpc.common.Checks.check;
import static io.krpc.common.Checks.notNull;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Outlier ejection for a {@link KClient}, under whichever load-balancing policy it uses
 * (round_robin, krpc_p2c, krpc_wrr, ...): every {@code interval} each server's failure rate over
 * the last interval is compared with its peers', and a server that fails well above them is ejected
 * (no new calls) for {@code baseEjectionTime x} the number of times it was ejected before, at most
 * {@code maxEjectionTime}; at most {@code maxEjectionPercent} of the servers are out at once
 * (always at least one). The semantics are gRPC's and Envoy's outlier detection (gRFC A50): KRPC
 * composes grpc-java's {@code outlier_detection_experimental} policy as the parent of the chosen
 * one.
 *
 * <p>Two detectors, each off unless configured, and both on by default: <b>failure percentage</b>
 * ejects a server whose calls failed above {@code threshold}% (with at least {@code minimumHosts}
 * servers having {@code requestVolume} calls in the interval); <b>success rate</b> ejects a server
 * whose success rate is below the mean minus {@code stdevFactor} standard deviations (which needs
 * about five or more servers to single one out).
 *
 * <p>grpc-java counts every call that does not end OK as a failure, including a caller's mistakes
 * (INVALID_ARGUMENT, NOT_FOUND) and calls the client cancelled; keep the failure threshold above
 * the share of such answers a healthy server gives.
 *
 * <pre>{@code
 * KClient.forService("greeter")
 *     .registry(registry)
 *     .loadBalancing("krpc_p2c")
 *     .outlierDetection(
 *         OutlierDetection.builder()
 *             .interval(Duration.ofSeconds(5))
 *             .failurePercentage(30, 3, 20)
 *             .build())
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class OutlierDetection {

  /** grpc-java's name of the outlier detection policy. */
  public static final String POLICY = "outlier_detection_experimental";

  private final Duration interval;
  private final Duration baseEjectionTime;
  private final Duration maxEjectionTime;
  private final int maxEjectionPercent;
  private final @Nullable Map<String, Object> failurePercentage;
  private final @Nullable Map<String, Object> successRate;

  private OutlierDetection(Builder b) {
    this.interval = b.interval;
    this.baseEjectionTime = b.baseEjectionTime;
    this.maxEjectionTime = b.maxEjectionTime;
    this.maxEjectionPercent = b.maxEjectionPercent;
    this.failurePercentage = b.failurePercentage;
    this.successRate = b.successRate;
  }

  /**
   * A builder with the defaults: interval 10 s, base ejection time 30 s, max ejection time 300 s,
   * at most 10% of the servers ejected (at least one), failure percentage 40% over at least 3
   * servers with 20 calls each, success rate 1.9 standard deviations over at least 5 servers with
   * 100 calls each.
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The service-config entry of {@code outlier_detection_experimental} over the child policy {@code
   * policy} with its JSON {@code config}.
   */
  Map<String, Object> toServiceConfig(String policy, Map<String, ?> config) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("interval", RetryPolicy.seconds(interval));
    map.put("baseEjectionTime", RetryPolicy.seconds(baseEjectionTime));
    map.put("maxEjectionTime", RetryPolicy.seconds(maxEjectionTime));
    map.put("maxEjectionPercentage", (double) maxEjectionPercent);
    if (successRate != null) {
      map.put("successRateEjection", successRate);
    }
    if (failurePercentage != null) {
      map.put("failurePercentageEjection", failurePercentage);
    }
    map.put("childPolicy", List.of(Map.of(policy, config)));
    return Map.of(POLICY, map);
  }

  @Override
  public String toString() {
    return "OutlierDetection" + toServiceConfig("child", Map.of()).get(POLICY);
  }

  /** Builds an {@link OutlierDetection}; each setter validates at once, {@link #build} the rest. */
  public static final class Builder {
    private Duration interval = Duration.ofSeconds(10);
    private Duration baseEjectionTime = Duration.ofSeconds(30);
    private Duration maxEjectionTime = Duration.ofSeconds(300);
    private int maxEjectionPercent = 10;
    private @Nullable Map<String, Object> failurePercentage = detector("threshold", 40, 3, 20);
    private @Nullable Map<String, Object> successRate = detector("stdevFactor", 1900, 5, 100);

    private Builder() {}

    /** How often failure rates are compared, > 0; default 10 s. */
    public Builder interval(Duration interval) {
      this.interval = positive(interval, "interval");
      return this;
    }

    /** Ejection time of a first ejection, > 0; it grows with each further one. Default 30 s. */
    public Builder baseEjectionTime(Duration baseEjectionTime) {
      this.baseEjectionTime = positive(baseEjectionTime, "baseEjectionTime");
      return this;
    }

    /** The longest ejection, >= baseEjectionTime (checked by build); default 300 s. */
    public Builder maxEjectionTime(Duration maxEjectionTime) {
      this.maxEjectionTime = positive(maxEjectionTime, "maxEjectionTime");
      return this;
    }

    /** At most this share of the servers is ejected at once (always one), 1..100; default 10. */
    public Builder maxEjectionPercent(int percent) {
      check(percent >= 1 && percent <= 100, "maxEjectionPercent", percent, "1..100");
      this.maxEjectionPercent = percent;
      return this;
    }

    /**
     * Ejects a server whose failed calls exceed {@code thresholdPercent} (1..100) of its calls in
     * an interval, once at least {@code minimumHosts} (>= 1) servers had {@code requestVolume} (>=
     * 1) calls in it. Default 40, 3, 20.
     */
    public Builder failurePercentage(int thresholdPercent, int minimumHosts, int requestVolume) {
      check(
          thresholdPercent >= 1 && thresholdPercent <= 100,
          "failurePercentage threshold",
          thresholdPercent,
          "1..100");
      check(minimumHosts >= 1, "failurePercentage minimumHosts", minimumHosts, ">= 1");
      check(requestVolume >= 1, "failurePercentage requestVolume", requestVolume, ">= 1");
      this.failurePercentage = detector("threshold", thresholdPercent, minimumHosts, requestVolume);
      return this;
    }

    /** Turns failure-percentage ejection off. */
    public Builder noFailurePercentage() {
      this.failurePercentage = null;
      return this;
    }

    /**
     * Ejects a server whose success rate in an interval is below the mean of the servers' minus
     * {@code stdevFactor} (> 0, for example 1.9) standard deviations, once at least {@code
     * minimumHosts} (>= 1) servers had {@code requestVolume} (>= 1) calls in it. Default 1.9, 5,
     * 100.
     */
    public Builder successRate(double stdevFactor, int minimumHosts, int requestVolume) {
      check(
          stdevFactor > 0 && stdevFactor <= 1000,
          "successRate stdevFactor",
          stdevFactor,
          "> 0 and <= 1000");
      check(minimumHosts >= 1, "successRate minimumHosts", minimumHosts, ">= 1");
      check(requestVolume >= 1, "successRate requestVolume", requestVolume, ">= 1");
      // gRFC A50 states the factor in thousandths.
      this.successRate =
          detector(
              "stdevFactor", (int) Math.round(stdevFactor * 1000), minimumHosts, requestVolume);
      return this;
    }

    /** Turns success-rate ejection off. */
    public Builder noSuccessRate() {
      this.successRate = null;
      return this;
    }

    /**
     * Builds the options.
     *
     * @throws IllegalStateException when maxEjectionTime is below baseEjectionTime, or both
     *     detectors are off
     */
    public OutlierDetection build() {
      if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
        throw new IllegalStateException(
            "maxEjectionTime: "
                + maxEjectionTime
                + " (expected: >= baseEjectionTime "
                + baseEjectionTime
                + ")");
      }
      if (failurePercentage == null && successRate == null) {
        throw new IllegalStateException(
            "failurePercentage: off and successRate: off"
                + " (expected: at least one detector on)");
      }
      return new OutlierDetection(this);
    }

    private static Duration positive(Duration d, String option) {
      notNull(d, option);
      check(
          !d.isNegative() && !d.isZero() && d.compareTo(Duration.ofDays(1)) <= 0,
          option,
          d,
          "> 0 and <= 1 day");
      return d;
    }

    private static Map<String, Object> detector(
        String key, int value, int minimumHosts, int requestVolume) {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put(key, (double) value);
      map.put("enforcementPercentage", 100.0);
      map.put("minimumHosts", (double) minimumHosts);
      map.put("requestVolume", (double) requestVolume);
      return Map.copyOf(map);
    }
  }
}
