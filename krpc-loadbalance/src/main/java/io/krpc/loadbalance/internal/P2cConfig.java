package io.krpc.loadbalance.internal;

import com.google.common.base.MoreObjects;
import com.google.errorprone.annotations.Immutable;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import io.krpc.loadbalance.KrpcLoadBalancers;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The parsed JSON config of {@value KrpcLoadBalancers#P2C}: {@code decayTime}, {@code
 * forcePickInterval} and {@code slowStart}. Immutable, so safe to share between threads.
 */
@Immutable
public final class P2cConfig {

  static final long DEFAULT_DECAY_NANOS = TimeUnit.SECONDS.toNanos(10);
  static final long DEFAULT_FORCE_PICK_NANOS = TimeUnit.SECONDS.toNanos(1);
  static final P2cConfig DEFAULT = new P2cConfig(DEFAULT_DECAY_NANOS, DEFAULT_FORCE_PICK_NANOS, 0);

  private static final Set<String> KEYS = Set.of("decayTime", "forcePickInterval", "slowStart");

  final long decayNanos;
  final long forcePickNanos;
  final long slowStartNanos;

  P2cConfig(long decayNanos, long forcePickNanos, long slowStartNanos) {
    this.decayNanos = decayNanos;
    this.forcePickNanos = forcePickNanos;
    this.slowStartNanos = slowStartNanos;
  }

  /**
   * Parses {@code rawConfig}; never throws. A bad value gives an {@code UNAVAILABLE} error whose
   * description names the key, the value and what was expected.
   */
  public static ConfigOrError parse(Map<String, ?> rawConfig) {
    try {
      ConfigDurations.rejectUnknownKeys(KrpcLoadBalancers.P2C, rawConfig, KEYS);
      return ConfigOrError.fromConfig(
          new P2cConfig(
              ConfigDurations.nanos(rawConfig, "decayTime", DEFAULT_DECAY_NANOS, false),
              ConfigDurations.nanos(rawConfig, "forcePickInterval", DEFAULT_FORCE_PICK_NANOS, true),
              ConfigDurations.nanos(rawConfig, "slowStart", 0, true)));
    } catch (IllegalArgumentException | ClassCastException e) {
      return ConfigOrError.fromError(
          Status.UNAVAILABLE
              .withCause(e)
              .withDescription(
                  "Invalid "
                      + KrpcLoadBalancers.P2C
                      + " config "
                      + rawConfig
                      + ": "
                      + e.getMessage()));
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof P2cConfig)) {
      return false;
    }
    P2cConfig that = (P2cConfig) o;
    return decayNanos == that.decayNanos
        && forcePickNanos == that.forcePickNanos
        && slowStartNanos == that.slowStartNanos;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(decayNanos) * 31 * 31
        + Long.hashCode(forcePickNanos) * 31
        + Long.hashCode(slowStartNanos);
  }

  @Override
  public String toString() {
    return MoreObjects.toStringHelper(this)
        .add("decayTime", decayNanos + "ns")
        .add("forcePickInterval", forcePickNanos + "ns")
        .add("slowStart", slowStartNanos + "ns")
        .toString();
  }
}
