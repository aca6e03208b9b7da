package io.krpc;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The options {@link BuilderValidationTest} does not cover: every remaining setter of KServer,
 * KClient, RetryPolicy and HedgingPolicy refuses null and nonsense at once, naming the option.
 */
class BuilderMisuseSweepTest {

  @Test
  void serverNullsAreRefusedByName() {
    KServer.Builder b = KServer.builder();
    assertThatThrownBy(() -> b.credentials((ServerCredentials) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("credentials: null (expected: not null)");
    assertThatThrownBy(() -> b.addService((ServerServiceDefinition) null))
        .hasMessage("service: null (expected: not null)");
    assertThatThrownBy(() -> b.intercept((ServerInterceptor[]) null))
        .hasMessage("interceptors: null (expected: not null)");
    assertThatThrownBy(() -> b.deregisterDelay(null))
        .hasMessage("deregisterDelay: null (expected: not null)");
    assertThatThrownBy(() -> b.shutdownGracePeriod(Duration.ofMillis(-5)))
        .hasMessage("shutdownGracePeriod: PT-0.005S (expected: >= 0)");
    assertThatThrownBy(() -> b.metricsPort(-1))
        .hasMessage("metricsPort: -1 (expected: 0..65535, 0 picks a free port)");
    assertThatThrownBy(() -> b.maxInboundMessageSize(Integer.MIN_VALUE))
        .hasMessage("maxInboundMessageSize: -2147483648 (expected: > 0 bytes)");
  }

  @Test
  void clientNullsAndNonsenseAreRefusedByName() {
    assertThatThrownBy(() -> KClient.forTarget(null))
        .hasMessage("target: null (expected: not null)");
    assertThatThrownBy(() -> KClient.forTarget(""))
        .hasMessage("target: '' (expected: host:port or a target URI)");
    assertThatThrownBy(() -> KClient.forService(null)).isInstanceOf(NullPointerException.class);
    KClient.Builder b = KClient.forTarget("127.0.0.1:1");
    assertThatThrownBy(() -> b.registry(null)).hasMessage("registry: null (expected: not null)");
    assertThatThrownBy(() -> b.credentials((ChannelCredentials) null))
        .hasMessage("credentials: null (expected: not null)");
    assertThatThrownBy(() -> b.overrideAuthority(null))
        .hasMessage("overrideAuthority: null (expected: not null)");
    assertThatThrownBy(() -> b.overrideAuthority("  "))
        .hasMessage("overrideAuthority: '  ' (expected: not blank)");
    assertThatThrownBy(() -> b.retry(null)).hasMessage("retry: null (expected: not null)");
    assertThatThrownBy(() -> b.hedging(null)).hasMessage("hedging: null (expected: not null)");
    assertThatThrownBy(() -> b.loadBalancing(null))
        .hasMessage("loadBalancing: null (expected: not null)");
    assertThatThrownBy(() -> b.loadBalancing("round_robin", null))
        .hasMessage("loadBalancing config: null (expected: not null)");
    assertThatThrownBy(() -> b.retryThrottling(1001, 0.1))
        .hasMessage("retryThrottling maxTokens: 1001 (expected: 1..1000)");
    assertThatThrownBy(() -> b.retryThrottling(10, 0))
        .hasMessage("retryThrottling tokenRatio: 0.0 (expected: > 0 and <= 1)");
    assertThatThrownBy(() -> b.retryThrottling(10, 1.5))
        .hasMessage("retryThrottling tokenRatio: 1.5 (expected: > 0 and <= 1)");
    assertThatThrownBy(() -> b.retryThrottling(10, Double.NaN))
        .hasMessage("retryThrottling tokenRatio: NaN (expected: > 0 and <= 1)");
    assertThatThrownBy(() -> b.intercept((io.grpc.ClientInterceptor[]) null))
        .hasMessage("interceptors: null (expected: not null)");
    assertThatThrownBy(() -> b.closeTimeout(null))
        .hasMessage("closeTimeout: null (expected: not null)");
  }

  @Test
  void retryAndHedgingPolicyNonsenseIsRefusedByName() {
    RetryPolicy.Builder retry = RetryPolicy.builder();
    assertThatThrownBy(() -> retry.maxAttempts(6)).hasMessage("maxAttempts: 6 (expected: 2..5)");
    assertThatThrownBy(() -> retry.initialBackoff(null))
        .hasMessage("initialBackoff: null (expected: not null)");
    assertThatThrownBy(() -> retry.maxBackoff(Duration.ofSeconds(-1)))
        .hasMessage("maxBackoff: PT-1S (expected: > 0)");
    assertThatThrownBy(() -> retry.backoffMultiplier(0))
        .hasMessage("backoffMultiplier: 0.0 (expected: > 0)");
    assertThatThrownBy(() -> retry.backoffMultiplier(Double.POSITIVE_INFINITY))
        .hasMessage("backoffMultiplier: Infinity (expected: > 0)");
    assertThatThrownBy(() -> retry.retryableCodes())
        .hasMessage("retryableCodes: [] (expected: at least one code)");
    assertThatThrownBy(() -> retry.retryableCodes((Status.Code) null))
        .hasMessage("retryableCodes element: null (expected: not null)");
    HedgingPolicy.Builder hedging = HedgingPolicy.builder();
    assertThatThrownBy(() -> hedging.maxAttempts(1)).hasMessage("maxAttempts: 1 (expected: 2..5)");
    assertThatThrownBy(() -> hedging.hedgingDelay(Duration.ofMillis(-1)))
        .hasMessage("hedgingDelay: PT-0.001S (expected: >= 0)");
    assertThatThrownBy(() -> hedging.nonFatalCodes(Status.Code.OK))
        .hasMessage("nonFatalCodes: [OK] (expected: codes other than OK)");
  }

  @Test
  void loadBalancingConfigIsCheckedByThePolicy() {
    assertThatThrownBy(
            () ->
                KClient.forTarget("127.0.0.1:1")
                    .loadBalancing("pick_first", Map.of("shuffleAddressList", "not a boolean")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(
            "loadBalancing config of pick_first: {shuffleAddressList=not a boolean}");
  }
}
