package io.krpc.spring;

import java.time.Duration;

/** Argument checks of the property setters, with messages that name the property and the value. */
final class Checks {
  private Checks() {}

  static Duration positive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
    return value;
  }

  static Integer attempts(String name, Integer value) {
    if (value < 2 || value > 5) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: 2..5)");
    }
    return value;
  }
}
