package io.krpc.interceptor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.grpc.Status;
import io.krpc.interceptor.client.AdaptiveThrottlingInterceptor;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.interceptor.client.TimeoutInterceptor;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import io.krpc.interceptor.server.ServerMetricsInterceptor;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The builder conventions of CONTRIBUTING.md across this module: a null names the option ({@code
 * option: null (expected: not null)}), a bad pair in {@code build()} names both options and their
 * values, and a builder whose {@code build()} failed can be corrected and built again.
 */
class BuilderMessagesTest {

  @Test
  void aNullArgumentNamesTheOption() {
    assertThatThrownBy(() -> TimeoutInterceptor.builder().ticker(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("ticker: null (expected: not null)");
    assertThatThrownBy(() -> TimeoutInterceptor.builder().defaultDeadline(null))
        .hasMessage("defaultDeadline: null (expected: not null)");
    assertThatThrownBy(() -> RateLimitInterceptor.builder().executor(null))
        .hasMessage("executor: null (expected: not null)");
    assertThatThrownBy(
            () ->
                RateLimitInterceptor.builder()
                    .method(null, new RateLimitConfig(1, 1, Duration.ZERO)))
        .hasMessage("fullMethodName: null (expected: not null)");
    assertThatThrownBy(() -> new RateLimitConfig(1, 1, null))
        .hasMessage("maxWait: null (expected: not null)");
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().window(null))
        .hasMessage("window: null (expected: not null)");
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().recoveryWindow(null))
        .hasMessage("recoveryWindow: null (expected: not null)");
    assertThatThrownBy(() -> CircuitBreakerInterceptor.builder("b").failureCodes(null))
        .hasMessage("failureCodes: null (expected: not null)");
    assertThatThrownBy(() -> ServerMetricsInterceptor.create(null, "greeter"))
        .hasMessage("registry: null (expected: not null)");
  }

  @Test
  void aNullElementNamesTheOptionAndItsValue() {
    assertThatThrownBy(
            () ->
                AdaptiveThrottlingInterceptor.builder()
                    .rejectionCodes(Status.Code.RESOURCE_EXHAUSTED, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("rejectionCodes: [RESOURCE_EXHAUSTED, null] (expected: no null)");
  }

  @Test
  void bothBreakerConfigurationsNameBothOptionsAndTheBuilderCanBeCorrected() {
    CircuitBreakerInterceptor.Builder builder =
        CircuitBreakerInterceptor.builder("b")
            .gobreaker(1, Duration.ofSeconds(10), Duration.ofSeconds(30), null)
            .config(CircuitBreakerConfig.ofDefaults());
    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("config and gobreaker: both set, config: ")
        .hasMessageEndingWith(
            ", gobreaker: gobreaker(1, PT10S, PT30S, null) (expected: at most one of them)");
    // a failed build() left nothing behind: the builder still holds both, and fails the same way
    assertThatThrownBy(builder::build).hasMessageEndingWith("(expected: at most one of them)");
  }

  @Test
  void aSecondBuildMakesAnIndependentEqualProduct() {
    AdaptiveLimitInterceptor.Builder builder =
        AdaptiveLimitInterceptor.builder()
            .cpuThreshold(0.5)
            .window(Duration.ofSeconds(5))
            .cpuUsageSource(() -> 0.25);
    AdaptiveLimitInterceptor first = builder.build();
    AdaptiveLimitInterceptor second = builder.build();
    assertThat(second).isNotSameAs(first);
    assertThat(second).hasToString(first.toString());
    assertThat(second.toString()).contains("cpu=0.25, threshold=0.50");
  }
}
