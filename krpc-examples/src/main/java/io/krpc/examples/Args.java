package io.krpc.examples;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Parses {@code --name=value} arguments of the example mains, refusing unknown names. */
final class Args {
  private final Map<String, String> values;

  private Args(Map<String, String> values) {
    this.values = values;
  }

  static Args parse(String[] args, String... known) {
    Set<String> names = Set.of(known);
    Map<String, String> values = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      String name = arg.startsWith("--") && eq > 2 ? arg.substring(2, eq) : null;
      if (name == null || !names.contains(name)) {
        throw new IllegalArgumentException(
            "unknown argument: "
                + arg
                + " (expected: --NAME=VALUE"
                + " with NAME one of "
                + names
                + ")");
      }
      values.put(name, arg.substring(eq + 1));
    }
    return new Args(values);
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  @Nullable String get(String name) {
    return values.get(name);
  }

  String get(String name, String defaultValue) {
    return values.getOrDefault(name, defaultValue);
  }

  String require(String name) {
    String value = values.get(name);
    if (value == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }

  int intValue(String name, int defaultValue) {
    String value = values.get(name);
    try {
      return value == null ? defaultValue : Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + ": '" + value + "' (expected: a number)", e);
    }
  }
}
