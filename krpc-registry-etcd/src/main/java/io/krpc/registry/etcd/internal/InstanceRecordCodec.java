package io.krpc.registry.etcd.internal;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.krpc.registry.ServiceInstance;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one place that knows the etcd record format of a {@link ServiceInstance}.
 *
 * <p>Key: {@code <prefix><service>/<host>:<port>} (IPv6 hosts in brackets). Value, UTF-8 JSON:
 * {@code {"version":1,"host":"10.0.0.5","port":9001,"weight":100,"metadata":{"zone":"a"}}}.
 * Decoding is strict: a value that is not such an object (unknown version, wrong types, port out of
 * range, empty host, weight out of range) is rejected with a {@link MalformedRecordException} that
 * says why, so that one bad record never hides the others.
 */
public final class InstanceRecordCodec {

  /** The only format version written and accepted. */
  public static final int VERSION = 1;

  private final String keyPrefix;

  /** A codec for keys under {@code keyPrefix}, which ends with {@code /}. */
  public InstanceRecordCodec(String keyPrefix) {
    this.keyPrefix = keyPrefix;
  }

  /** The prefix under which all instances of {@code serviceName} live (ends with {@code /}). */
  public String servicePrefix(String serviceName) {
    return keyPrefix + serviceName + "/";
  }

  /** The key of {@code instance}. */
  public String key(ServiceInstance instance) {
    return servicePrefix(instance.serviceName()) + instance.endpoint();
  }

  /** The JSON value of {@code instance}. */
  public byte[] encode(ServiceInstance instance) {
    JsonObject json = new JsonObject();
    json.addProperty("version", VERSION);
    json.addProperty("host", instance.host());
    json.addProperty("port", instance.port());
    json.addProperty("weight", instance.weight());
    JsonObject metadata = new JsonObject();
    new TreeMap<>(instance.metadata()).forEach(metadata::addProperty);
    json.add("metadata", metadata);
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Decodes the record stored under {@code key} for {@code serviceName}.
   *
   * @throws MalformedRecordException when the value is not a valid version-1 record or does not
   *     match its key
   */
  public ServiceInstance decode(String serviceName, String key, byte[] value) {
    JsonObject json;
    try {
      JsonElement element = JsonParser.parseString(new String(value, StandardCharsets.UTF_8));
      if (!element.isJsonObject()) {
        throw new MalformedRecordException("not a JSON object");
      }
      json = element.getAsJsonObject();
    } catch (JsonParseException e) {
      throw new MalformedRecordException("not JSON (" + e.getMessage() + ")");
    }
    int version = intField(json, "version");
    if (version != VERSION) {
      throw new MalformedRecordException(
          "unknown format version " + version + " (expected: " + VERSION + ")");
    }
    String host = stringField(json, "host");
    int port = intField(json, "port");
    int weight = json.has("weight") ? intField(json, "weight") : ServiceInstance.DEFAULT_WEIGHT;
    Map<String, String> metadata = new TreeMap<>();
    JsonElement meta = json.get("metadata");
    if (meta != null && !meta.isJsonNull()) {
      if (!meta.isJsonObject()) {
        throw new MalformedRecordException("metadata is not a JSON object");
      }
      for (Map.Entry<String, JsonElement> entry : meta.getAsJsonObject().entrySet()) {
        if (!isString(entry.getValue())) {
          throw new MalformedRecordException(
              "metadata value of '" + entry.getKey() + "' is not a string");
        }
        metadata.put(entry.getKey(), entry.getValue().getAsString());
      }
    }
    ServiceInstance instance;
    try {
      instance = new ServiceInstance(serviceName, host, port, weight, metadata);
    } catch (IllegalArgumentException e) {
      throw new MalformedRecordException(String.valueOf(e.getMessage()));
    }
    if (!key.equals(key(instance))) {
      throw new MalformedRecordException(
          "key does not match the record's endpoint " + instance.endpoint());
    }
    return instance;
  }

  private static boolean isString(JsonElement element) {
    return element instanceof JsonPrimitive && ((JsonPrimitive) element).isString();
  }

  private static String stringField(JsonObject json, String name) {
    JsonElement element = json.get(name);
    if (!isString(element)) {
      throw new MalformedRecordException("'" + name + "' is missing or not a string");
    }
    return element.getAsString();
  }

  private static int intField(JsonObject json, String name) {
    JsonElement element = json.get(name);
    if (!(element instanceof JsonPrimitive) || !((JsonPrimitive) element).isNumber()) {
      throw new MalformedRecordException("'" + name + "' is missing or not a number");
    }
    double number = element.getAsDouble();
    if (number != Math.rint(number) || number < Integer.MIN_VALUE || number > Integer.MAX_VALUE) {
      throw new MalformedRecordException("'" + name + "' is not an integer: " + element);
    }
    return (int) number;
  }

  /** A stored value that is not a valid instance record. */
  public static final class MalformedRecordException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    MalformedRecordException(String reason) {
      super(reason);
    }
  }
}
