package io.krpc.registry.etcd.internal;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * JSON written byte for byte as Go's {@code encoding/json} {@code Marshal} writes it (struct fields
 * in declaration order, map keys sorted, no spaces, HTML-safe string escapes), and read as its
 * {@code Unmarshal} reads it (field names matched case-insensitively, unknown fields ignored). Go
 * peers compare and parse these values, so the bytes matter.
 */
public final class GoJson {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final StringBuilder out = new StringBuilder("{");
  private boolean first = true;

  private GoJson() {}

  /** Starts an object; add fields in the Go struct's declaration order. */
  public static GoJson object() {
    return new GoJson();
  }

  /** A string field. */
  public GoJson string(String name, String value) {
    name(name);
    quote(out, value);
    return this;
  }

  /** A number field. */
  public GoJson number(String name, long value) {
    name(name);
    out.append(value);
    return this;
  }

  /** A boolean field. */
  public GoJson bool(String name, boolean value) {
    name(name);
    out.append(value);
    return this;
  }

  /** A {@code map[string]string} field: {@code null} for a nil map, keys sorted as Go does. */
  public GoJson map(String name, @Nullable Map<String, String> map) {
    name(name);
    if (map == null) {
      out.append("null");
      return this;
    }
    out.append('{');
    boolean firstEntry = true;
    for (Map.Entry<String, String> e : new TreeMap<>(map).entrySet()) {
      if (!firstEntry) {
        out.append(',');
      }
      firstEntry = false;
      quote(out, e.getKey());
      out.append(':');
      quote(out, e.getValue());
    }
    out.append('}');
    return this;
  }

  /** A {@code []string} field. */
  public GoJson strings(String name, Iterable<String> values) {
    name(name);
    out.append('[');
    boolean firstValue = true;
    for (String value : values) {
      if (!firstValue) {
        out.append(',');
      }
      firstValue = false;
      quote(out, value);
    }
    out.append(']');
    return this;
  }

  /** A field whose value is written as null. */
  public GoJson nullField(String name) {
    name(name);
    out.append("null");
    return this;
  }

  /** The UTF-8 bytes of the object. */
  public byte[] toBytes() {
    return (out + "}").getBytes(StandardCharsets.UTF_8);
  }

  private void name(String name) {
    if (!first) {
      out.append(',');
    }
    first = false;
    quote(out, name);
    out.append(':');
  }

  /** Go's string encoding with HTML escaping, which {@code json.Marshal} always applies. */
  static void quote(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029') {
            out.append("\\u")
                .append(HEX[(c >> 12) & 0xf])
                .append(HEX[(c >> 8) & 0xf])
                .append(HEX[(c >> 4) & 0xf])
                .append(HEX[c & 0xf]);
          } else if (Character.isSurrogate(c)
              && !(Character.isHighSurrogate(c)
                  && i + 1 < s.length()
                  && Character.isLowSurrogate(s.charAt(i + 1)))) {
            out.append("\\ufffd"); // Go replaces invalid UTF-8 the same way
          } else {
            out.append(c);
            if (Character.isHighSurrogate(c)) {
              out.append(s.charAt(++i));
            }
          }
        }
      }
    }
    out.append('"');
  }

  // ---- reading

  /**
   * Parses a JSON object, as {@code json.Unmarshal} into a struct would accept it.
   *
   * @throws IllegalArgumentException when the value is not a JSON object
   */
  public static JsonObject parseObject(byte[] value) {
    try {
      JsonElement element = JsonParser.parseString(new String(value, StandardCharsets.UTF_8));
      if (!element.isJsonObject()) {
        throw new IllegalArgumentException("not a JSON object");
      }
      return element.getAsJsonObject();
    } catch (JsonParseException e) {
      throw new IllegalArgumentException("not JSON (" + e.getMessage() + ")", e);
    }
  }

  /** The field {@code name}, matched exactly or else case-insensitively, as Go does; or null. */
  public static @Nullable JsonElement field(JsonObject json, String name) {
    JsonElement exact = json.get(name);
    if (exact != null) {
      return exact;
    }
    for (Map.Entry<String, JsonElement> e : json.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  /** A string field; absent or null reads as {@code ""} (Go's zero value). */
  public static String stringField(JsonObject json, String name) {
    JsonElement e = field(json, name);
    if (e == null || e.isJsonNull()) {
      return "";
    }
    if (!(e instanceof JsonPrimitive p) || !p.isString()) {
      throw new IllegalArgumentException("'" + name + "' is not a string");
    }
    return e.getAsString();
  }

  /** An integer field; absent or null reads as {@code 0} (Go's zero value). */
  public static long longField(JsonObject json, String name) {
    JsonElement e = field(json, name);
    if (e == null || e.isJsonNull()) {
      return 0;
    }
    if (!(e instanceof JsonPrimitive p) || !p.isNumber()) {
      throw new IllegalArgumentException("'" + name + "' is not a number");
    }
    double number = e.getAsDouble();
    if (number != Math.rint(number) || Math.abs(number) > 1e15) {
      throw new IllegalArgumentException("'" + name + "' is not an integer: " + e);
    }
    return (long) number;
  }

  /** A boolean field; absent or null reads as {@code false} (Go's zero value). */
  public static boolean boolField(JsonObject json, String name) {
    JsonElement e = field(json, name);
    if (e == null || e.isJsonNull()) {
      return false;
    }
    if (!(e instanceof JsonPrimitive p) || !p.isBoolean()) {
      throw new IllegalArgumentException("'" + name + "' is not a boolean");
    }
    return e.getAsBoolean();
  }

  /** A {@code map[string]string} field; absent or null reads as empty. */
  public static Map<String, String> stringMapField(JsonObject json, String name) {
    JsonElement e = field(json, name);
    Map<String, String> result = new TreeMap<>();
    if (e == null || e.isJsonNull()) {
      return result;
    }
    if (!e.isJsonObject()) {
      throw new IllegalArgumentException("'" + name + "' is not a JSON object");
    }
    for (Map.Entry<String, JsonElement> entry : e.getAsJsonObject().entrySet()) {
      if (!(entry.getValue() instanceof JsonPrimitive p) || !p.isString()) {
        throw new IllegalArgumentException(
            "'" + name + "' value of '" + entry.getKey() + "' is not a string");
      }
      result.put(entry.getKey(), entry.getValue().getAsString());
    }
    return result;
  }
}
