package io.krpc.common;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/** Argument checks whose messages name the option, the value and what was expected. */
public final class Checks {
  private Checks() {}

  /** Throws {@link IllegalArgumentException} "{@code option: value (expected: expected)}". */
  public static void check(boolean ok, String option, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(option + ": " + value + " (expected: " + expected + ")");
    }
  }

  /** Checks that {@code value} is not null, naming the option. */
  public static <T> T notNull(T value, String option) {
    return Objects.requireNonNull(value, option + ": null (expected: not null)");
  }

  /**
   * Checks that {@code values} and each of its elements are not null, naming the option and the
   * values ({@code "option: [a, null] (expected: no null)"}); returns an unmodifiable copy.
   */
  public static <T> List<T> noNullElements(Collection<? extends T> values, String option) {
    notNull(values, option);
    for (T value : values) {
      if (value == null) {
        throw new NullPointerException(option + ": " + values + " (expected: no null)");
      }
    }
    return List.copyOf(values);
  }

  /** Same as {@link #noNullElements(Collection, String)}, for an array. */
  @SafeVarargs
  public static <T> List<T> noNullElements(String option, T... values) {
    notNull(values, option);
    return noNullElements(Arrays.asList(values), option);
  }

  /** Checks a port in 0..65535 (0 picks a free port). */
  public static int port(int port, String option) {
    check(port >= 0 && port <= 65_535, option, port, "0..65535, 0 picks a free port");
    return port;
  }

  /** Checks a strictly positive size in bytes. */
  public static int positiveBytes(int bytes, String option) {
    check(bytes > 0, option, bytes, "> 0 bytes");
    return bytes;
  }

  /** Checks a non-negative duration. */
  public static Duration nonNegative(Duration duration, String option) {
    notNull(duration, option);
    check(!duration.isNegative(), option, duration, ">= 0");
    return duration;
  }
}
