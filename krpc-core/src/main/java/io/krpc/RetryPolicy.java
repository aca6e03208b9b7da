package io.krpc;

import static io.krpc.common.Checks.check;
import static io.krpc.common.Checks.notNull;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A retry policy for every method of a {@link KClient}, applied through grpc-java's service config
 * (so it composes with transparent retries and the retry throttling of {@link
 * KClient.Builder#retryThrottling}).
 *
 * <pre>{@code
 * KClient.forService("greeter")
 *     .registry(registry)
 *     .retry(RetryPolicy.builder().maxAttempts(3).initialBackoff(Duration.ofMillis(50)).build())
 *     .build();
 * }</pre>
 *
 * <p>Only calls that end with one of the retryable codes (default: UNAVAILABLE) are retried, and
 * only before the first response message arrived. Retry only idempotent methods, or methods whose
 * servers deduplicate.
 */
public final class RetryPolicy {
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final double backoffMultiplier;
  private final Set<Status.Code> retryableCodes;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.backoffMultiplier = b.backoffMultiplier;
    this.retryableCodes = Set.copyOf(b.retryableCodes);
  }

  /** A builder with the defaults: 3 attempts, 100 ms to 1 s backoff, x2, UNAVAILABLE. */
  public static Builder builder() {
    return new Builder();
  }

  /** Attempts in all, the first included. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** The codes that make a call retryable. */
  public Set<Status.Code> retryableCodes() {
    return retryableCodes;
  }

  /**
   * This policy as a grpc-java service-config {@code retryPolicy} object (a fresh, mutable map),
   * for channels built without {@code KClient}, such as Spring gRPC's.
   */
  public Map<String, Object> toServiceConfig() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("maxAttempts", (double) maxAttempts);
    map.put("initialBackoff", seconds(initialBackoff));
    map.put("maxBackoff", seconds(maxBackoff));
    map.put("backoffMultiplier", backoffMultiplier);
    map.put("retryableStatusCodes", codeNames(retryableCodes));
    return map;
  }

  static String seconds(Duration duration) {
    return duration.toNanos() / 1e9 + "s";
  }

  static List<Object> codeNames(Set<Status.Code> codes) {
    List<Object> names = new ArrayList<>();
    EnumSet.copyOf(codes).forEach(code -> names.add(code.name()));
    return names;
  }

  @Override
  public String toString() {
    return "RetryPolicy" + toServiceConfig();
  }

  /** Builds a {@link RetryPolicy}; each setter validates at once. */
  public static final class Builder {
    private int maxAttempts = 3;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(1);
    private double backoffMultiplier = 2.0;
    private Set<Status.Code> retryableCodes = EnumSet.of(Status.Code.UNAVAILABLE);

    private Builder() {}

    /** Attempts in all, 2..5 (grpc-java caps at 5); default 3. */
    public Builder maxAttempts(int maxAttempts) {
      check(maxAttempts >= 2 && maxAttempts <= 5, "maxAttempts", maxAttempts, "2..5");
      this.maxAttempts = maxAttempts;
      return this;
    }

    /** Backoff before the first retry, > 0; default 100 ms (randomised by grpc-java). */
    public Builder initialBackoff(Duration initialBackoff) {
      notNull(initialBackoff, "initialBackoff");
      check(
          !initialBackoff.isNegative() && !initialBackoff.isZero(),
          "initialBackoff",
          initialBackoff,
          "> 0");
      this.initialBackoff = initialBackoff;
      return this;
    }

    /** Largest backoff, > 0; default 1 s. */
    public Builder maxBackoff(Duration maxBackoff) {
      notNull(maxBackoff, "maxBackoff");
      check(!maxBackoff.isNegative() && !maxBackoff.isZero(), "maxBackoff", maxBackoff, "> 0");
      this.maxBackoff = maxBackoff;
      return this;
    }

    /** Backoff growth per attempt, > 0; default 2. */
    public Builder backoffMultiplier(double multiplier) {
      check(multiplier > 0 && Double.isFinite(multiplier), "backoffMultiplier", multiplier, "> 0");
      this.backoffMultiplier = multiplier;
      return this;
    }

    /** The codes to retry, not empty and not OK; default UNAVAILABLE. */
    public Builder retryableCodes(Status.Code... codes) {
      notNull(codes, "retryableCodes");
      check(codes.length > 0, "retryableCodes", "[]", "at least one code");
      EnumSet<Status.Code> set = EnumSet.noneOf(Status.Code.class);
      for (Status.Code code : codes) {
        set.add(notNull(code, "retryableCodes element"));
      }
      check(!set.contains(Status.Code.OK), "retryableCodes", set, "codes other than OK");
      this.retryableCodes = set;
      return this;
    }

    /**
     * Builds the policy; checks that {@code maxBackoff >= initialBackoff}.
     *
     * @throws IllegalStateException naming both options when they do not fit together
     */
    public RetryPolicy build() {
      if (maxBackoff.compareTo(initialBackoff) < 0) {
        throw new IllegalStateException(
            "maxBackoff: "
                + maxBackoff
                + " and initialBackoff: "
                + initialBackoff
                + " (expected: maxBackoff >= initialBackoff)");
      }
      return new RetryPolicy(this);
    }
  }
}
