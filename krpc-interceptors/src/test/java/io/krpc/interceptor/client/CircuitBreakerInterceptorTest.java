package io.krpc.interceptor.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.grpc.Status;
import io.krpc.interceptor.testing.CallType;
import io.krpc.interceptor.testing.EchoService;
import io.krpc.interceptor.testing.FakeTicker;
import io.krpc.interceptor.testing.InProcessHarness;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CircuitBreakerInterceptorTest {
  private final FakeTicker ticker = new FakeTicker();
  private final EchoService service = new EchoService();
  private InProcessHarness harness;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (harness != null) {
      harness.close();
    }
  }

  private CircuitBreakerInterceptor startWith(CircuitBreakerInterceptor breaker) {
    harness = InProcessHarness.start(service, List.of(), List.of(breaker));
    return breaker;
  }

  private CircuitBreakerInterceptor gobreaker(int maxRequests, Duration interval) {
    return CircuitBreakerInterceptor.builder("greeter")
        .gobreaker(maxRequests, interval, Duration.ofSeconds(5), null)
        .ticker(ticker)
        .build();
  }

  private void fail(CallType type, int times, String code) {
    for (int i = 0; i < times; i++) {
      assertThat(harness.call(type, "fail:" + code).status().getCode().name()).isEqualTo(code);
    }
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void opensAfterSixFailuresAndThenFailsFastNamingTheBreaker(CallType type) {
    CircuitBreakerInterceptor breaker = startWith(gobreaker(1, Duration.ofSeconds(10)));

    fail(type, 5, "UNAVAILABLE");
    assertThat(breaker.circuitBreaker(type.fullMethodName()).getState())
        .isEqualTo(CircuitBreaker.State.CLOSED);
    fail(type, 1, "INTERNAL");
    int started = service.started.get();

    Status refused = harness.call(type, "hello").status();

    assertThat(refused.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(refused.getDescription()).isEqualTo("circuit breaker 'greeter' is OPEN");
    assertThat(service.started).hasValue(started);
  }

  @Test
  void buildLeavesTheBuilderAsItWas() {
    CircuitBreakerInterceptor.Builder builder = CircuitBreakerInterceptor.builder("reused");
    CircuitBreakerInterceptor first = builder.build(); // gobreaker's defaults
    // before the fix, build() stored those defaults in the builder: config() then clashed
    CircuitBreakerConfig custom = CircuitBreakerConfig.custom().minimumNumberOfCalls(7).build();
    CircuitBreakerInterceptor second = builder.config(custom).build();

    assertThat(second.circuitBreaker("m").getCircuitBreakerConfig().getMinimumNumberOfCalls())
        .isEqualTo(7);
    assertThat(first.circuitBreaker("m").getCircuitBreakerConfig().getMinimumNumberOfCalls())
        .isNotEqualTo(7);
  }

  @Test
  void callerErrorsNeverTrip() {
    CircuitBreakerInterceptor breaker = startWith(gobreaker(1, Duration.ofSeconds(10)));

    fail(CallType.UNARY, 10, "INVALID_ARGUMENT");
    fail(CallType.UNARY, 10, "NOT_FOUND");

    assertThat(breaker.circuitBreaker(CallType.UNARY.fullMethodName()).getState())
        .isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(harness.call(CallType.UNARY, "hello").status().isOk()).isTrue();
  }

  @Test
  void halfOpensAfterTheTimeoutAndClosesAfterMaxRequestsSuccesses() {
    CircuitBreakerInterceptor breaker = startWith(gobreaker(2, Duration.ofSeconds(10)));
    CircuitBreaker cb = breaker.circuitBreaker(CallType.UNARY.fullMethodName());
    fail(CallType.UNARY, 6, "UNAVAILABLE");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.OPEN);

    ticker.advance(Duration.ofSeconds(4));
    assertThat(harness.call(CallType.UNARY, "early").status().getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    ticker.advance(Duration.ofMillis(1001)); // Resilience4j waits strictly longer than the timeout

    assertThat(harness.call(CallType.UNARY, "trial1").status().isOk()).isTrue();
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    assertThat(harness.call(CallType.SERVER_STREAMING, "trial2").status().isOk()).isTrue();
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void anyFailureInHalfOpenOpensAgainAsInGobreaker() {
    CircuitBreakerInterceptor breaker = startWith(gobreaker(3, Duration.ofSeconds(10)));
    CircuitBreaker cb = breaker.circuitBreaker(CallType.UNARY.fullMethodName());
    fail(CallType.UNARY, 6, "UNAVAILABLE");
    ticker.advance(Duration.ofMillis(5001));

    assertThat(harness.call(CallType.UNARY, "trial").status().isOk()).isTrue();
    fail(CallType.UNARY, 1, "DEADLINE_EXCEEDED");

    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void theTimeWindowForgetsOldFailures() {
    CircuitBreakerInterceptor breaker = startWith(gobreaker(1, Duration.ofSeconds(10)));
    CircuitBreaker cb = breaker.circuitBreaker(CallType.UNARY.fullMethodName());

    fail(CallType.UNARY, 5, "UNAVAILABLE");
    ticker.advance(Duration.ofSeconds(11));
    fail(CallType.UNARY, 5, "UNAVAILABLE");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.CLOSED);

    fail(CallType.UNARY, 1, "UNAVAILABLE");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void zeroIntervalMeansSixConsecutiveFailuresExactly() {
    CircuitBreakerInterceptor breaker = startWith(gobreaker(1, Duration.ZERO));
    CircuitBreaker cb = breaker.circuitBreaker(CallType.UNARY.fullMethodName());

    fail(CallType.UNARY, 5, "UNAVAILABLE");
    assertThat(harness.call(CallType.UNARY, "ok").status().isOk()).isTrue();
    fail(CallType.UNARY, 5, "UNAVAILABLE");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    fail(CallType.UNARY, 1, "UNAVAILABLE");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void aCustomReadyToTripSeesGobreakerCountsResetEveryInterval() {
    CircuitBreakerInterceptor breaker =
        startWith(
            CircuitBreakerInterceptor.builder("greeter")
                .gobreaker(
                    1, Duration.ofSeconds(10), Duration.ofSeconds(5), c -> c.totalFailures() >= 3)
                .ticker(ticker)
                .build());
    CircuitBreaker cb = breaker.circuitBreaker(CallType.UNARY.fullMethodName());

    fail(CallType.UNARY, 2, "UNAVAILABLE");
    ticker.advance(Duration.ofSeconds(10));
    fail(CallType.UNARY, 2, "UNAVAILABLE");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.CLOSED);

    assertThat(harness.call(CallType.UNARY, "ok").status().isOk()).isTrue();
    fail(CallType.UNARY, 1, "UNAVAILABLE");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void perMethodBreakersAreIndependent() {
    CircuitBreakerInterceptor breaker =
        startWith(
            CircuitBreakerInterceptor.builder("greeter")
                .gobreaker(1, Duration.ofSeconds(10), Duration.ofSeconds(5), null)
                .perMethod(true)
                .ticker(ticker)
                .build());

    fail(CallType.UNARY, 6, "UNAVAILABLE");

    Status refused = harness.call(CallType.UNARY, "x").status();
    assertThat(refused.getDescription())
        .isEqualTo("circuit breaker 'greeter/grpc.testing.SimpleService/UnaryRpc' is OPEN");
    assertThat(harness.call(CallType.BIDI_STREAMING, "x").status().isOk()).isTrue();
    assertThat(breaker.circuitBreaker(CallType.BIDI_STREAMING.fullMethodName()).getState())
        .isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void acceptsAResilience4jConfigAndAConfigurableFailureSet() {
    CircuitBreakerConfig config =
        CircuitBreakerConfig.custom()
            .slidingWindow(4, 4, CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .failureRateThreshold(50)
            .build();
    CircuitBreakerInterceptor breaker =
        startWith(
            CircuitBreakerInterceptor.builder("greeter")
                .config(config)
                .failureCodes(Set.of(Status.Code.NOT_FOUND))
                .build());
    CircuitBreaker cb = breaker.circuitBreaker(CallType.UNARY.fullMethodName());

    fail(CallType.UNARY, 2, "UNAVAILABLE"); // not in the configured set: successes
    fail(CallType.UNARY, 1, "NOT_FOUND");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    fail(CallType.UNARY, 1, "NOT_FOUND");
    assertThat(cb.getState()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(CircuitBreakerInterceptor.of("x", config)).isNotNull();
  }

  @Test
  void exportsStateTransitionsAndRefusals() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    startWith(
        CircuitBreakerInterceptor.builder("greeter")
            .gobreaker(1, Duration.ofSeconds(10), Duration.ofSeconds(5), null)
            .ticker(ticker)
            .meterRegistry(registry)
            .build());

    fail(CallType.UNARY, 6, "UNAVAILABLE");
    harness.call(CallType.UNARY, "refused");
    harness.call(CallType.UNARY, "refused");

    assertThat(
            registry
                .get("krpc_client_circuit_breaker_state")
                .tag("name", "greeter")
                .gauge()
                .value())
        .isEqualTo(1.0);
    assertThat(
            registry
                .get("krpc_client_circuit_breaker_transitions")
                .tags("name", "greeter", "from", "CLOSED", "to", "OPEN")
                .counter()
                .count())
        .isEqualTo(1.0);
    assertThat(registry.get("krpc_client_circuit_breaker_not_permitted").counter().count())
        .isEqualTo(2.0);
  }

  @Test
  void validatesArguments() {
    assertThatThrownBy(
            () -> CircuitBreakerInterceptor.of("g", -1, Duration.ZERO, Duration.ZERO, null))
        .hasMessage("maxRequests: -1 (expected: >= 0)");
    assertThatThrownBy(
            () -> CircuitBreakerInterceptor.of("g", 1, Duration.ofSeconds(-1), Duration.ZERO, null))
        .hasMessage("interval: PT-1S (expected: >= 0)");
    assertThatThrownBy(() -> CircuitBreakerInterceptor.builder(" "))
        .hasMessage("name: ' ' (expected: not blank)");
    assertThatThrownBy(
            () -> CircuitBreakerInterceptor.builder("g").failureCodes(Set.of(Status.Code.OK)))
        .hasMessageStartingWith("failureCodes: [OK]");
    assertThatThrownBy(
            () ->
                CircuitBreakerInterceptor.builder("g")
                    .config(CircuitBreakerConfig.ofDefaults())
                    .gobreaker(1, Duration.ZERO, Duration.ZERO, null)
                    .build())
        .hasMessageContaining("config and gobreaker");
  }
}
