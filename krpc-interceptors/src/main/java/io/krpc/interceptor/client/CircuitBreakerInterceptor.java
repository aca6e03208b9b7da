package io.krpc.interceptor.client;

import static io.krpc.common.Checks.notNull;

import com.google.errorprone.annotations.ThreadSafe;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.event.CircuitBreakerOnStateTransitionEvent;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Deadline;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krpc.interceptor.StatusClassification;
import io.krpc.interceptor.internal.RefusableClientCall;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Resilience4j circuit breaker in front of the calls of a channel: while the breaker is open,
 * calls fail at once with {@code UNAVAILABLE} instead of reaching an unhealthy server.
 *
 * <pre>{@code
 * // The Go KRPC's parameters: name, maxRequests (half-open), interval, timeout (open), readyToTrip
 * ClientInterceptor breaker =
 *     CircuitBreakerInterceptor.of("greeter", 100, Duration.ofSeconds(10), Duration.ofSeconds(5), null);
 *
 * // Or any Resilience4j configuration, one breaker per method, with metrics
 * ClientInterceptor perMethod = CircuitBreakerInterceptor.builder("greeter")
 *     .config(CircuitBreakerConfig.custom().failureRateThreshold(50).build())
 *     .perMethod(true)
 *     .meterRegistry(registry)
 *     .build();
 * }</pre>
 *
 * <h2>Scope</h2>
 *
 * By default one breaker, named {@code name}, guards every call through this interceptor: the
 * target service the channel talks to (give each channel its own interceptor). With {@link
 * Builder#perMethod(boolean) perMethod(true)} each full method name gets its own breaker, named
 * {@code name + "/" + fullMethodName}.
 *
 * <h2>Outcomes</h2>
 *
 * A call takes a permission when it starts and records its outcome when it closes, so streams are
 * judged by their final status. A status in {@link Builder#failureCodes(Set) failureCodes} (default
 * {@link StatusClassification#SERVER_FAILURE_CODES}) is a failure; {@code CANCELLED} (the caller
 * gave up) is not recorded at all; any other status, including caller errors such as {@code
 * INVALID_ARGUMENT} or {@code NOT_FOUND}, is a success because the server answered. A call refused
 * by an open breaker ends with {@code UNAVAILABLE} and the description {@code "circuit breaker
 * 'greeter' is OPEN"}; it never reaches the transport.
 *
 * <h2>How the gobreaker parameters map onto Resilience4j</h2>
 *
 * <ul>
 *   <li>{@code maxRequests} becomes {@code permittedNumberOfCallsInHalfOpenState} (gobreaker's 0
 *       means 1). As in gobreaker, the breaker closes once that many trial calls succeed, and any
 *       failing trial call opens it again (a rule this class adds; Resilience4j alone would wait
 *       for all trial calls and compare a failure rate).
 *   <li>{@code timeout} becomes {@code waitDurationInOpenState} (gobreaker's 0 means 60 s). The
 *       move to half-open happens on the next call after the wait, as in gobreaker.
 *   <li>{@code interval} becomes a time-based sliding window of that many seconds (rounded up to
 *       whole seconds, Resilience4j's granularity). gobreaker clears its counts at fixed interval
 *       boundaries; the sliding window forgets each outcome {@code interval} after it happened. An
 *       interval of 0 (gobreaker: never clear while closed) becomes a count-based window.
 *   <li>{@code readyToTrip == null} stands for gobreaker's default "more than 5 consecutive
 *       failures": {@code failureRateThreshold(100)} with {@code minimumNumberOfCalls(6)}, that is
 *       at least 6 calls in the window and all of them failed. With interval 0 the window is the
 *       last 6 calls, which is exactly gobreaker's rule; with an interval, one success in the
 *       window holds the breaker closed until it ages out, where gobreaker would have reset the
 *       streak.
 *   <li>A custom {@code readyToTrip} has no Resilience4j equivalent: this class keeps gobreaker's
 *       {@link Counts} (cleared every interval and on each state change), asks the predicate after
 *       each failure and opens the breaker with {@code transitionToOpenState()}. Resilience4j's own
 *       failure-rate rule is switched off in that case.
 *   <li>Not mapped: gobreaker's {@code OnStateChange} (use the logs, the metrics or {@link
 *       #circuitBreaker(String)} and Resilience4j's event publisher) and {@code IsSuccessful} (use
 *       {@link Builder#failureCodes(Set)}).
 * </ul>
 *
 * <p>State changes are logged (WARN when a breaker opens, INFO otherwise) and, given a {@link
 * Builder#meterRegistry(MeterRegistry) MeterRegistry}, exported as the gauge {@code
 * krpc_client_circuit_breaker_state} (0 closed, 1 open, 2 half-open, 3 other; tag {@code name}) and
 * the counters {@code krpc_client_circuit_breaker_transitions} (tags {@code name}, {@code from},
 * {@code to}) and {@code krpc_client_circuit_breaker_not_permitted} (tag {@code name}); a
 * Prometheus registry adds {@code _total} to counters.
 */
@ThreadSafe
public final class CircuitBreakerInterceptor implements ClientInterceptor {
  private static final Logger logger = LoggerFactory.getLogger(CircuitBreakerInterceptor.class);

  private final String name;
  private final CircuitBreakerConfig config;
  private final boolean perMethod;
  private final Set<Status.Code> failureCodes;
  @Nullable private final MeterRegistry meterRegistry;
  @Nullable private final GobreakerSettings gobreaker;
  private final Deadline.Ticker ticker;
  private final Map<String, Guard> guards = new ConcurrentHashMap<>();

  private CircuitBreakerInterceptor(Builder builder, @Nullable GobreakerSettings gobreaker) {
    this.name = builder.name;
    this.perMethod = builder.perMethod;
    this.failureCodes = Set.copyOf(builder.failureCodes);
    this.meterRegistry = builder.meterRegistry;
    this.ticker = builder.ticker;
    this.gobreaker = gobreaker;
    this.config =
        gobreaker != null
            ? gobreaker.toConfig(builder.ticker)
            : Objects.requireNonNull(builder.config, "config: null (expected: not null)");
  }

  /**
   * Returns an interceptor with the Go KRPC's (sony/gobreaker) parameters; see the class javadoc
   * for how each maps onto Resilience4j.
   *
   * @param name the breaker's name, used in logs, metrics and the refusal description
   * @param maxRequests trial calls allowed in half-open; 0 means 1
   * @param interval the closed state's counting window; {@link Duration#ZERO} means no time limit
   * @param timeout how long the breaker stays open; {@link Duration#ZERO} means 60 s
   * @param readyToTrip decides from the counts after a failure whether to open; {@code null} means
   *     more than 5 consecutive failures
   */
  public static CircuitBreakerInterceptor of(
      String name,
      int maxRequests,
      Duration interval,
      Duration timeout,
      @Nullable Predicate<Counts> readyToTrip) {
    return builder(name).gobreaker(maxRequests, interval, timeout, readyToTrip).build();
  }

  /** Returns an interceptor whose breakers use a Resilience4j configuration as it is. */
  public static CircuitBreakerInterceptor of(String name, CircuitBreakerConfig config) {
    return builder(name).config(config).build();
  }

  /** Returns a builder for breakers named {@code name}. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /**
   * Returns the breaker that guards {@code fullMethodName}, creating it if needed; for state
   * inspection and Resilience4j events.
   */
  public CircuitBreaker circuitBreaker(String fullMethodName) {
    return guardFor(fullMethodName).breaker;
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    return new GuardedCall<>(
        next.newCall(method, callOptions), guardFor(method.getFullMethodName()));
  }

  private Guard guardFor(String fullMethodName) {
    String breakerName = perMethod ? name + "/" + fullMethodName : name;
    return guards.computeIfAbsent(breakerName, this::newGuard);
  }

  private Guard newGuard(String breakerName) {
    CircuitBreaker breaker = CircuitBreaker.of(breakerName, config);
    breaker.getEventPublisher().onStateTransition(this::logTransition);
    GobreakerRule rule =
        gobreaker == null
            ? null
            : new GobreakerRule(
                breaker, gobreaker.readyToTrip(), gobreaker.intervalNanos(), ticker);
    Counter notPermitted = null;
    if (meterRegistry != null) {
      MeterRegistry registry = meterRegistry;
      Gauge.builder("krpc_client_circuit_breaker_state", breaker, b -> stateValue(b.getState()))
          .description("Circuit breaker state: 0 closed, 1 open, 2 half-open, 3 other")
          .tag("name", breakerName)
          .register(registry);
      notPermitted =
          Counter.builder("krpc_client_circuit_breaker_not_permitted")
              .description("Calls refused by an open circuit breaker")
              .tag("name", breakerName)
              .register(registry);
      breaker
          .getEventPublisher()
          .onStateTransition(
              event ->
                  Counter.builder("krpc_client_circuit_breaker_transitions")
                      .description("Circuit breaker state transitions")
                      .tag("name", breakerName)
                      .tag("from", event.getStateTransition().getFromState().name())
                      .tag("to", event.getStateTransition().getToState().name())
                      .register(registry)
                      .increment());
    }
    return new Guard(breaker, rule, notPermitted);
  }

  private static double stateValue(CircuitBreaker.State state) {
    switch (state) {
      case CLOSED:
        return 0;
      case OPEN:
        return 1;
      case HALF_OPEN:
        return 2;
      default:
        return 3;
    }
  }

  private void logTransition(CircuitBreakerOnStateTransitionEvent event) {
    CircuitBreaker.StateTransition transition = event.getStateTransition();
    if (transition.getToState() == CircuitBreaker.State.OPEN) {
      logger.warn(
          "circuit breaker '{}' {} -> OPEN: calls fail fast with UNAVAILABLE",
          event.getCircuitBreakerName(),
          transition.getFromState());
    } else {
      logger.info(
          "circuit breaker '{}' {} -> {}",
          event.getCircuitBreakerName(),
          transition.getFromState(),
          transition.getToState());
    }
  }

  /**
   * gobreaker's counts of the current generation, handed to a custom {@code readyToTrip}.
   *
   * @param requests outcomes recorded in this generation
   * @param totalSuccesses successes in this generation
   * @param totalFailures failures in this generation
   * @param consecutiveSuccesses successes since the last failure
   * @param consecutiveFailures failures since the last success
   */
  public record Counts(
      long requests,
      long totalSuccesses,
      long totalFailures,
      long consecutiveSuccesses,
      long consecutiveFailures) {
    static final Counts ZERO = new Counts(0, 0, 0, 0, 0);

    Counts withSuccess() {
      return new Counts(
          requests + 1, totalSuccesses + 1, totalFailures, consecutiveSuccesses + 1, 0);
    }

    Counts withFailure() {
      return new Counts(
          requests + 1, totalSuccesses, totalFailures + 1, 0, consecutiveFailures + 1);
    }
  }

  private record Guard(
      CircuitBreaker breaker, @Nullable GobreakerRule rule, @Nullable Counter notPermitted) {}

  private final class GuardedCall<ReqT, RespT> extends RefusableClientCall<ReqT, RespT> {
    private final Guard guard;

    GuardedCall(ClientCall<ReqT, RespT> delegate, Guard guard) {
      super(delegate);
      this.guard = guard;
    }

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
      CircuitBreaker breaker = guard.breaker;
      if (!breaker.tryAcquirePermission()) {
        if (guard.notPermitted != null) {
          guard.notPermitted.increment();
        }
        refuse(
            responseListener,
            Status.UNAVAILABLE.withDescription(
                "circuit breaker '" + breaker.getName() + "' is " + breaker.getState()));
        return;
      }
      long startNanos = ticker.nanoTime();
      try {
        super.start(
            new ForwardingClientCallListener.SimpleForwardingClientCallListener<RespT>(
                responseListener) {
              @Override
              public void onClose(Status status, Metadata trailers) {
                record(status, ticker.nanoTime() - startNanos);
                super.onClose(status, trailers);
              }
            },
            headers);
      } catch (RuntimeException | Error e) {
        breaker.releasePermission();
        throw e;
      }
    }

    private void record(Status status, long durationNanos) {
      CircuitBreaker breaker = guard.breaker;
      if (status.getCode() == Status.Code.CANCELLED) {
        breaker.releasePermission();
        return;
      }
      boolean failure = failureCodes.contains(status.getCode());
      if (failure) {
        breaker.onError(durationNanos, TimeUnit.NANOSECONDS, new StatusRuntimeException(status));
      } else {
        breaker.onSuccess(durationNanos, TimeUnit.NANOSECONDS);
      }
      if (guard.rule != null) {
        guard.rule.onOutcome(failure);
      }
    }
  }

  /** Builds a {@link CircuitBreakerInterceptor}; every setter validates its argument at once. */
  public static final class Builder {
    private final String name;
    @Nullable private CircuitBreakerConfig config;
    @Nullable private GobreakerSettings gobreaker;
    private boolean perMethod;
    private Set<Status.Code> failureCodes = StatusClassification.SERVER_FAILURE_CODES;
    @Nullable private MeterRegistry meterRegistry;
    private Deadline.Ticker ticker = Deadline.getSystemTicker();

    private Builder(String name) {
      notNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name: '" + name + "' (expected: not blank)");
      }
      this.name = name;
    }

    /**
     * Configures the breakers with the Go KRPC's (sony/gobreaker) parameters; see the class
     * javadoc. Exclusive with {@link #config(CircuitBreakerConfig)}.
     */
    public Builder gobreaker(
        int maxRequests,
        Duration interval,
        Duration timeout,
        @Nullable Predicate<Counts> readyToTrip) {
      this.gobreaker = new GobreakerSettings(maxRequests, interval, timeout, readyToTrip);
      return this;
    }

    /**
     * Configures the breakers with a Resilience4j configuration, used as it is (its own clock
     * included). Exclusive with {@link #gobreaker}. Default: {@code gobreaker(0, 0s, 60s, null)},
     * gobreaker's defaults.
     */
    public Builder config(CircuitBreakerConfig config) {
      this.config = notNull(config, "config");
      return this;
    }

    /** One breaker per full method name instead of one for the whole target. Default: false. */
    public Builder perMethod(boolean perMethod) {
      this.perMethod = perMethod;
      return this;
    }

    /**
     * The status codes that count as failures. Default: {@link
     * StatusClassification#SERVER_FAILURE_CODES}. {@code OK} and {@code CANCELLED} are not
     * accepted.
     */
    public Builder failureCodes(Set<Status.Code> failureCodes) {
      notNull(failureCodes, "failureCodes");
      if (failureCodes.isEmpty()
          || failureCodes.contains(Status.Code.OK)
          || failureCodes.contains(Status.Code.CANCELLED)) {
        throw new IllegalArgumentException(
            "failureCodes: " + failureCodes + " (expected: not empty, without OK and CANCELLED)");
      }
      this.failureCodes = EnumSet.copyOf(failureCodes);
      return this;
    }

    /** Exports breaker states and transitions to this registry. Default: no metrics. */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = notNull(meterRegistry, "meterRegistry");
      return this;
    }

    /**
     * The time source of gobreaker-style breakers (their Resilience4j clock, interval and call
     * durations). Default: {@link Deadline#getSystemTicker()}; for tests.
     */
    public Builder ticker(Deadline.Ticker ticker) {
      this.ticker = notNull(ticker, "ticker");
      return this;
    }

    /**
     * Returns the interceptor. The builder is left as it was: a second {@code build()} makes an
     * equal, independent interceptor.
     */
    public CircuitBreakerInterceptor build() {
      if (config != null && gobreaker != null) {
        throw new IllegalStateException(
            "config and gobreaker: both set, config: "
                + config
                + ", gobreaker: "
                + gobreaker.describe()
                + " (expected: at most one of them)");
      }
      GobreakerSettings settings =
          config == null && gobreaker == null
              ? new GobreakerSettings(0, Duration.ZERO, Duration.ZERO, null)
              : gobreaker;
      return new CircuitBreakerInterceptor(this, settings);
    }
  }
}
