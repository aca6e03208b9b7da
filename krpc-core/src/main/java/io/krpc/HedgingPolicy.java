package io.krpc;

import static io.krpc.common.Checks.check;
import static io.krpc.common.Checks.notNull;

import io.grpc.Status;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A hedging policy for every method of a {@link KClient}: when a call has not answered within the
 * hedging delay, send the same request again to another server and take the first answer. Cuts tail
 * latency for idempotent calls; bounded by the retry throttling of {@link
 * KClient.Builder#retryThrottling}.
 *
 * <pre>{@code
 * KClient.forService("greeter")
 *     .registry(registry)
 *     .hedging(HedgingPolicy.builder().maxAttempts(2).hedgingDelay(Duration.ofMillis(20)).build())
 *     .build();
 * }</pre>
 */
public final class HedgingPolicy {
  private final int maxAttempts;
  private final Duration hedgingDelay;
  private final Set<Status.Code> nonFatalCodes;

  private HedgingPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.hedgingDelay = b.hedgingDelay;
    this.nonFatalCodes = Set.copyOf(b.nonFatalCodes);
  }

  /** A builder with the defaults: 2 attempts, 50 ms delay, UNAVAILABLE non-fatal. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * This policy as a grpc-java service-config {@code hedgingPolicy} object (a fresh, mutable map),
   * for channels built without {@code KClient}, such as Spring gRPC's.
   */
  public Map<String, Object> toServiceConfig() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("maxAttempts", (double) maxAttempts);
    map.put("hedgingDelay", RetryPolicy.seconds(hedgingDelay));
    map.put("nonFatalStatusCodes", RetryPolicy.codeNames(nonFatalCodes));
    return map;
  }

  @Override
  public String toString() {
    return "HedgingPolicy" + toServiceConfig();
  }

  /** Builds a {@link HedgingPolicy}; each setter validates at once. */
  public static final class Builder {
    private int maxAttempts = 2;
    private Duration hedgingDelay = Duration.ofMillis(50);
    private Set<Status.Code> nonFatalCodes = EnumSet.of(Status.Code.UNAVAILABLE);

    private Builder() {}

    /** Requests in all, 2..5; default 2. */
    public Builder maxAttempts(int maxAttempts) {
      check(maxAttempts >= 2 && maxAttempts <= 5, "maxAttempts", maxAttempts, "2..5");
      this.maxAttempts = maxAttempts;
      return this;
    }

    /** Delay before each extra request, >= 0; default 50 ms. */
    public Builder hedgingDelay(Duration hedgingDelay) {
      notNull(hedgingDelay, "hedgingDelay");
      check(!hedgingDelay.isNegative(), "hedgingDelay", hedgingDelay, ">= 0");
      this.hedgingDelay = hedgingDelay;
      return this;
    }

    /** Codes after which the other requests go on (others end the call); default UNAVAILABLE. */
    public Builder nonFatalCodes(Status.Code... codes) {
      notNull(codes, "nonFatalCodes");
      EnumSet<Status.Code> set = EnumSet.noneOf(Status.Code.class);
      for (Status.Code code : codes) {
        set.add(notNull(code, "nonFatalCodes element"));
      }
      check(!set.contains(Status.Code.OK), "nonFatalCodes", set, "codes other than OK");
      this.nonFatalCodes = set;
      return this;
    }

    /** Builds the policy. */
    public HedgingPolicy build() {
      return new HedgingPolicy(this);
    }
  }
}
