package io.krpc.loadbalance.internal;

import com.google.errorprone.annotations.Immutable;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import io.krpc.loadbalance.KrpcLoadBalancers;
import java.util.Map;
import java.util.Set;

/**
 * The parsed JSON config of {@value KrpcLoadBalancers#WRR}: {@code slowStart}. Immutable, so safe
 * to share between threads.
 */
@Immutable
public final class WrrConfig {

  static final WrrConfig DEFAULT = new WrrConfig(0);

  private static final Set<String> KEYS = Set.of("slowStart");

  final long slowStartNanos;

  WrrConfig(long slowStartNanos) {
    this.slowStartNanos = slowStartNanos;
  }

  /**
   * Parses {@code rawConfig}; never throws. A bad value gives an {@code UNAVAILABLE} error whose
   * description names the key, the value and what was expected.
   */
  public static ConfigOrError parse(Map<String, ?> rawConfig) {
    try {
      ConfigDurations.rejectUnknownKeys(KrpcLoadBalancers.WRR, rawConfig, KEYS);
      return ConfigOrError.fromConfig(
          new WrrConfig(ConfigDurations.nanos(rawConfig, "slowStart", 0, true)));
    } catch (IllegalArgumentException | ClassCastException e) {
      return ConfigOrError.fromError(
          Status.UNAVAILABLE
              .withCause(e)
              .withDescription(
                  "Invalid "
                      + KrpcLoadBalancers.WRR
                      + " config "
                      + rawConfig
                      + ": "
                      + e.getMessage()));
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WrrConfig && ((WrrConfig) o).slowStartNanos == slowStartNanos;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(slowStartNanos);
  }

  @Override
  public String toString() {
    return "WrrConfig{slowStart=" + slowStartNanos + "ns}";
  }
}
