package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.util.OutlierDetectionLoadBalancer.OutlierDetectionLoadBalancerConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OutlierDetectionTest {

  @ParameterizedTest
  @ValueSource(strings = {"round_robin", "krpc_p2c", "krpc_wrr"})
  void grpcParsesTheConfigOverEachPolicy(String policy) {
    LoadBalancerProvider provider =
        LoadBalancerRegistry.getDefaultRegistry().getProvider(OutlierDetection.POLICY);
    Map<String, Object> config =
        OutlierDetection.builder()
            .interval(Duration.ofSeconds(5))
            .maxEjectionPercent(50)
            .successRate(1.5, 4, 50)
            .build()
            .toServiceConfig(policy, Map.of());
    @SuppressWarnings("unchecked")
    Map<String, ?> raw = (Map<String, ?>) config.get(OutlierDetection.POLICY);
    ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(raw);
    assertThat(parsed.getError()).isNull();
    OutlierDetectionLoadBalancerConfig od = (OutlierDetectionLoadBalancerConfig) parsed.getConfig();
    assertThat(od.intervalNanos).isEqualTo(5_000_000_000L);
    assertThat(od.baseEjectionTimeNanos).isEqualTo(30_000_000_000L);
    assertThat(od.maxEjectionTimeNanos).isEqualTo(300_000_000_000L);
    assertThat(od.maxEjectionPercent).isEqualTo(50);
    assertThat(od.successRateEjection.stdevFactor).isEqualTo(1500);
    assertThat(od.successRateEjection.minimumHosts).isEqualTo(4);
    assertThat(od.successRateEjection.requestVolume).isEqualTo(50);
    assertThat(od.failurePercentageEjection.threshold).isEqualTo(40);
    assertThat(od.failurePercentageEjection.minimumHosts).isEqualTo(3);
    assertThat(od.failurePercentageEjection.requestVolume).isEqualTo(20);
    assertThat(od.childConfig.toString()).contains(policy);
  }

  @Test
  void clientBuildsWithOutlierDetection() {
    KClient client =
        KClient.forTarget("127.0.0.1:1")
            .loadBalancing("krpc_p2c")
            .outlierDetection(OutlierDetection.builder().build())
            .build();
    client.close();
  }

  @Test
  void invalidOptionsNameTheOptionAndTheValue() {
    assertThatThrownBy(() -> OutlierDetection.builder().interval(Duration.ZERO))
        .hasMessageContaining("interval: PT0S (expected: > 0");
    assertThatThrownBy(() -> OutlierDetection.builder().maxEjectionPercent(0))
        .hasMessageContaining("maxEjectionPercent: 0 (expected: 1..100)");
    assertThatThrownBy(() -> OutlierDetection.builder().failurePercentage(101, 3, 10))
        .hasMessageContaining("failurePercentage threshold: 101");
    assertThatThrownBy(() -> OutlierDetection.builder().successRate(0, 3, 10))
        .hasMessageContaining("successRate stdevFactor: 0.0");
    assertThatThrownBy(
            () ->
                OutlierDetection.builder()
                    .baseEjectionTime(Duration.ofSeconds(60))
                    .maxEjectionTime(Duration.ofSeconds(10))
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("maxEjectionTime: PT10S (expected: >= baseEjectionTime PT1M)");
    assertThatThrownBy(
            () -> OutlierDetection.builder().noFailurePercentage().noSuccessRate().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("at least one detector");
    assertThatThrownBy(() -> KClient.forTarget("127.0.0.1:1").outlierDetection(null))
        .hasMessageContaining("outlierDetection");
  }
}
