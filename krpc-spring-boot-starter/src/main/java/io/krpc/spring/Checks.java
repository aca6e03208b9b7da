package io.krpc.spring;

import static io.krpc.common.Checks.check;

import java.time.Duration;

/**
 * Argument checks of the property setters, with messages that name the property and the value (the
 * message form is krpc-common's {@link io.krpc.common.Checks}).
 */
final class Checks {
  private Checks() {}

  static Duration positive(String name, Duration value) {
    check(!value.isNegative() && !value.isZero(), name, value, "> 0");
    return value;
  }

  static Integer attempts(String name, Integer value) {
    check(value >= 2 && value <= 5, name, value, "2..5");
    return value;
  }
}
