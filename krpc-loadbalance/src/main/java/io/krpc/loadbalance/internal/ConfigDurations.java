package io.krpc.loadbalance.internal;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Reads duration values from a policy's JSON config map. A duration is a JSON number of seconds
 * ({@code 1.5}) or a string of a decimal number with the unit {@code s} or {@code ms} ({@code
 * "10s"}, {@code "0.5s"}, {@code "250ms"}), the first form being protobuf's JSON {@code Duration}.
 *
 * <p>Stateless; safe from any thread. Errors are thrown as {@link IllegalArgumentException} whose
 * message names the key, the value and what was expected; the config parsers turn them into a
 * {@code ConfigOrError}.
 */
final class ConfigDurations {

  /** Upper bound for every duration, so that nanosecond arithmetic never overflows. */
  static final long MAX_NANOS = TimeUnit.DAYS.toNanos(1);

  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s)");
  private static final BigDecimal NANOS_PER_SECOND = BigDecimal.valueOf(1_000_000_000L);
  private static final BigDecimal NANOS_PER_MILLI = BigDecimal.valueOf(1_000_000L);

  private ConfigDurations() {}

  /** Fails when {@code raw} holds a key outside {@code allowed}, naming the policy and the key. */
  static void rejectUnknownKeys(String policy, Map<String, ?> raw, Set<String> allowed) {
    for (String key : raw.keySet()) {
      if (!allowed.contains(key)) {
        throw new IllegalArgumentException(
            policy
                + " config: unknown key \""
                + key
                + "\" (expected one of: "
                + String.join(", ", new TreeSet<>(allowed))
                + ")");
      }
    }
  }

  /**
   * Returns {@code raw[key]} in nanoseconds, or {@code defaultNanos} when absent.
   *
   * @param allowZero whether {@code 0} is accepted (it means "off"); otherwise the value must be
   *     positive
   */
  static long nanos(Map<String, ?> raw, String key, long defaultNanos, boolean allowZero) {
    Object value = raw.get(key);
    if (value == null) {
      return defaultNanos;
    }
    BigDecimal nanos = toNanos(value);
    if (nanos == null
        || nanos.signum() < 0
        || (!allowZero && nanos.signum() == 0)
        || nanos.compareTo(BigDecimal.valueOf(MAX_NANOS)) > 0) {
      throw new IllegalArgumentException(
          key
              + ": "
              + describe(value)
              + " (expected: a duration "
              + (allowZero ? ">= 0" : "> 0")
              + " and <= 1 day, such as \"10s\", \"250ms\" or a"
              + " number of seconds)");
    }
    return nanos.setScale(0, RoundingMode.HALF_UP).longValueExact();
  }

  private static @Nullable BigDecimal toNanos(Object value) {
    if (value instanceof Number) {
      double seconds = ((Number) value).doubleValue();
      if (!Double.isFinite(seconds)) {
        return null;
      }
      return BigDecimal.valueOf(seconds).multiply(NANOS_PER_SECOND);
    }
    if (value instanceof String) {
      Matcher m = DURATION.matcher(((String) value).trim());
      if (!m.matches()) {
        return null;
      }
      BigDecimal unit = m.group(2).equals("s") ? NANOS_PER_SECOND : NANOS_PER_MILLI;
      return new BigDecimal(m.group(1)).multiply(unit);
    }
    return null;
  }

  private static String describe(Object value) {
    return value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
  }
}
