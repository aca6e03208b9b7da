package io.krpc.loadbalance;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProvidersTest {

  private final LoadBalancerRegistry registry = LoadBalancerRegistry.getDefaultRegistry();

  @Test
  void bothPoliciesAreFoundByTheDefaultRegistry() {
    LoadBalancerProvider p2c = registry.getProvider(KrpcLoadBalancers.P2C);
    LoadBalancerProvider wrr = registry.getProvider(KrpcLoadBalancers.WRR);

    assertThat(p2c).isInstanceOf(P2cLoadBalancerProvider.class);
    assertThat(wrr).isInstanceOf(WrrLoadBalancerProvider.class);
    assertThat(KrpcLoadBalancers.P2C).isEqualTo("krpc_p2c");
    assertThat(KrpcLoadBalancers.WRR).isEqualTo("krpc_wrr");
  }

  @Test
  void validP2cConfigParses() {
    ConfigOrError parsed =
        registry
            .getProvider("krpc_p2c")
            .parseLoadBalancingPolicyConfig(
                Map.of("decayTime", "5s", "forcePickInterval", 0.5, "slowStart", "250ms"));

    assertThat(parsed.getError()).isNull();
    assertThat(parsed.getConfig())
        .hasToString(
            "P2cConfig{decayTime=5000000000ns, forcePickInterval=500000000ns, slowStart=250000000ns}");
    assertThat(
            registry.getProvider("krpc_p2c").parseLoadBalancingPolicyConfig(Map.of()).getConfig())
        .hasToString(
            "P2cConfig{decayTime=10000000000ns, forcePickInterval=1000000000ns, slowStart=0ns}");
  }

  @Test
  void validWrrConfigParses() {
    ConfigOrError parsed =
        registry
            .getProvider("krpc_wrr")
            .parseLoadBalancingPolicyConfig(Map.of("slowStart", "1.5s"));

    assertThat(parsed.getError()).isNull();
    assertThat(parsed.getConfig()).hasToString("WrrConfig{slowStart=1500000000ns}");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1s", "0s", "ten seconds", "10", "2d", "1e3s"})
  void badDecayTimeIsAClearError(String value) {
    Status error = p2cError(Map.of("decayTime", value));

    assertThat(error.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(error.getDescription())
        .contains("krpc_p2c", "decayTime: \"" + value + "\"", "expected: a duration > 0");
  }

  @Test
  void otherBadValuesAreClearErrors() {
    assertThat(p2cError(Map.of("forcePickInterval", -1.0)).getDescription())
        .contains("forcePickInterval: -1.0 (expected: a duration >= 0");
    assertThat(p2cError(Map.of("slowStart", 100_000.0)).getDescription())
        .contains("slowStart: 100000.0", "<= 1 day");
    assertThat(p2cError(Map.of("slowStart", true)).getDescription()).contains("slowStart: true");
    assertThat(p2cError(Map.of("decaytime", "10s")).getDescription())
        .contains("unknown key \"decaytime\"", "decayTime, forcePickInterval, slowStart");
    ConfigOrError wrr =
        registry.getProvider("krpc_wrr").parseLoadBalancingPolicyConfig(Map.of("decayTime", "10s"));
    assertThat(wrr.getError().getDescription())
        .contains("krpc_wrr", "unknown key \"decayTime\"", "expected one of: slowStart");
  }

  private Status p2cError(Map<String, ?> raw) {
    ConfigOrError parsed = registry.getProvider("krpc_p2c").parseLoadBalancingPolicyConfig(raw);
    assertThat(parsed.getError()).as("error for %s", raw).isNotNull();
    return parsed.getError();
  }
}
