package io.krpc;

import static io.krpc.common.Checks.check;
import static io.krpc.common.Checks.notNull;

import io.grpc.MethodDescriptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Retry, hedging and a default timeout for one gRPC service or one method of a {@link KClient},
 * with grpc-java's service-config ("method config") semantics.
 *
 * <pre>{@code
 * KClient.forService("greeter")
 *     .registry(registry)
 *     .retry(RetryPolicy.builder().build()) // every other method
 *     .methodPolicy(
 *         MethodPolicy.forService("greeter.Greeter") // every Greeter method
 *             .timeout(Duration.ofSeconds(2))
 *             .retry(RetryPolicy.builder().maxAttempts(4).build())
 *             .build())
 *     .methodPolicy(
 *         MethodPolicy.forMethod("greeter.Greeter/SayHello") // this one method
 *             .hedging(HedgingPolicy.builder().hedgingDelay(Duration.ofMillis(20)).build())
 *             .build())
 *     .build();
 * }</pre>
 *
 * <p><b>The most specific policy applies, whole.</b> A call of {@code service/method} takes the
 * policy for that method if there is one, else the one for its service, else the client-wide {@link
 * KClient.Builder#retry retry}, {@link KClient.Builder#hedging hedging} and {@link
 * KClient.Builder#timeout timeout}. Nothing is merged between levels: a method policy without a
 * retry means no retries for that method even when the client retries everything else, which is how
 * a non-idempotent method is exempted ({@code MethodPolicy.forMethod("shop.Cart/Pay").build()}).
 *
 * <p>The timeout is a default: a call that sets its own deadline keeps the earlier of the two.
 */
public final class MethodPolicy {
  private static final Pattern SERVICE = Pattern.compile("[A-Za-z0-9_.]+");
  private static final Pattern METHOD = Pattern.compile("[A-Za-z0-9_]+");

  private final String service;
  private final @Nullable String method;
  private final @Nullable RetryPolicy retry;
  private final @Nullable HedgingPolicy hedging;
  private final @Nullable Duration timeout;

  private MethodPolicy(Builder b) {
    this.service = b.service;
    this.method = b.method;
    this.retry = b.retry;
    this.hedging = b.hedging;
    this.timeout = b.timeout;
  }

  /**
   * A policy for every method of a gRPC service, by its full name as in the {@code .proto} ({@code
   * package.Service}, e.g. {@code greeter.Greeter}).
   */
  public static Builder forService(String service) {
    notNull(service, "service");
    check(
        SERVICE.matcher(service).matches(),
        "service",
        "'" + service + "'",
        "a full gRPC service name such as greeter.Greeter");
    return new Builder(service, null);
  }

  /**
   * A policy for one method, by its full name {@code package.Service/Method} (e.g. {@code
   * greeter.Greeter/SayHello}, as {@link MethodDescriptor#getFullMethodName()} gives it).
   */
  public static Builder forMethod(String fullMethodName) {
    notNull(fullMethodName, "method");
    int slash = fullMethodName.indexOf('/');
    check(
        slash > 0
            && SERVICE.matcher(fullMethodName.substring(0, slash)).matches()
            && METHOD.matcher(fullMethodName.substring(slash + 1)).matches(),
        "method",
        "'" + fullMethodName + "'",
        "package.Service/Method such as " + "greeter.Greeter/SayHello");
    return new Builder(fullMethodName.substring(0, slash), fullMethodName.substring(slash + 1));
  }

  /** A policy for one method, e.g. {@code forMethod(GreeterGrpc.getSayHelloMethod())}. */
  public static Builder forMethod(MethodDescriptor<?, ?> method) {
    return forMethod(notNull(method, "method").getFullMethodName());
  }

  /** What the policy applies to: {@code package.Service} or {@code package.Service/Method}. */
  public String name() {
    return method == null ? service : service + "/" + method;
  }

  /** Whether this policy retries or hedges (so the channel needs retries enabled). */
  boolean retriesOrHedges() {
    return retry != null || hedging != null;
  }

  /** This policy as a grpc-java service-config {@code methodConfig} entry. */
  Map<String, Object> toServiceConfig() {
    Map<String, Object> name = new LinkedHashMap<>();
    name.put("service", service);
    if (method != null) {
      name.put("method", method);
    }
    return methodConfig(List.of(name), retry, hedging, timeout);
  }

  /** A {@code methodConfig} entry; {@code names} empty-map for the client-wide default. */
  static Map<String, Object> methodConfig(
      List<Map<String, Object>> names,
      @Nullable RetryPolicy retry,
      @Nullable HedgingPolicy hedging,
      @Nullable Duration timeout) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("name", List.copyOf(names));
    if (retry != null) {
      config.put("retryPolicy", retry.toServiceConfig());
    }
    if (hedging != null) {
      config.put("hedgingPolicy", hedging.toServiceConfig());
    }
    if (timeout != null) {
      config.put("timeout", RetryPolicy.seconds(timeout));
    }
    return config;
  }

  /**
   * The {@code methodConfig} list of a client: its per-service and per-method policies, then the
   * client-wide default (when it sets anything).
   *
   * @throws IllegalStateException when two policies name the same service or method
   */
  static List<Map<String, Object>> methodConfigs(
      List<MethodPolicy> policies,
      @Nullable RetryPolicy retry,
      @Nullable HedgingPolicy hedging,
      @Nullable Duration timeout) {
    Map<String, MethodPolicy> byName = new HashMap<>();
    List<Map<String, Object>> configs = new ArrayList<>();
    for (MethodPolicy policy : policies) {
      MethodPolicy earlier = byName.putIfAbsent(policy.name(), policy);
      if (earlier != null) {
        throw new IllegalStateException(
            "methodPolicy: "
                + policy
                + " and "
                + earlier
                + " (expected: at most one policy per service or method)");
      }
      configs.add(policy.toServiceConfig());
    }
    if (retry != null || hedging != null || timeout != null) {
      configs.add(methodConfig(List.of(Map.of()), retry, hedging, timeout));
    }
    return configs;
  }

  @Override
  public String toString() {
    return "MethodPolicy{"
        + name()
        + (retry != null ? ", " + retry : "")
        + (hedging != null ? ", " + hedging : "")
        + (timeout != null ? ", timeout=" + timeout : "")
        + "}";
  }

  /** Builds a {@link MethodPolicy}; setters validate at once, {@link #build()} the combination. */
  public static final class Builder {
    private final String service;
    private final @Nullable String method;
    private @Nullable RetryPolicy retry;
    private @Nullable HedgingPolicy hedging;
    private @Nullable Duration timeout;

    private Builder(String service, @Nullable String method) {
      this.service = service;
      this.method = method;
    }

    /** Retries failed calls per {@code policy}; default none. At most one of retry and hedging. */
    public Builder retry(RetryPolicy policy) {
      this.retry = notNull(policy, "retry");
      return this;
    }

    /** Hedges calls per {@code policy}; default none. At most one of retry and hedging. */
    public Builder hedging(HedgingPolicy policy) {
      this.hedging = notNull(policy, "hedging");
      return this;
    }

    /**
     * The deadline of calls that set none (or a later one), > 0; default none. It covers every
     * attempt of a retried or hedged call together.
     */
    public Builder timeout(Duration timeout) {
      notNull(timeout, "timeout");
      check(!timeout.isNegative() && !timeout.isZero(), "timeout", timeout, "> 0");
      this.timeout = timeout;
      return this;
    }

    /**
     * Builds the policy.
     *
     * @throws IllegalStateException when both retry and hedging are set
     */
    public MethodPolicy build() {
      if (retry != null && hedging != null) {
        throw new IllegalStateException(
            "retry: "
                + retry
                + " and hedging: "
                + hedging
                + " for "
                + (method == null ? service : service + "/" + method)
                + " (expected: at most one of retry and hedging)");
      }
      return new MethodPolicy(this);
    }
  }
}
