package io.krpc.registry;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One registered endpoint of a service: where it can be reached and how much traffic it takes.
 * Immutable and validated on construction.
 *
 * <pre>{@code
 * ServiceInstance instance =
 *     ServiceInstance.builder("greeter", "10.0.0.5", 9001).weight(200).build();
 * }</pre>
 *
 * <p>Two instances are equal when all their fields are equal; {@link #endpoint()} ({@code
 * host:port}) identifies an instance within its service.
 *
 * @param serviceName the service name, {@code [a-zA-Z0-9._-]+}
 * @param host the host name or IP literal clients dial, not empty
 * @param port the port, 1..65535
 * @param weight the load-balancing weight, 1..10000 (default 100)
 * @param metadata free-form string metadata; never carries secrets
 */
public record ServiceInstance(
    String serviceName, String host, int port, int weight, Map<String, String> metadata) {

  /** Weight of an instance that did not choose one. */
  public static final int DEFAULT_WEIGHT = 100;

  /** Smallest accepted weight. */
  public static final int MIN_WEIGHT = 1;

  /** Largest accepted weight. */
  public static final int MAX_WEIGHT = 10_000;

  private static final Pattern SERVICE_NAME = Pattern.compile("[a-zA-Z0-9._-]+");

  /** Validates every field; see the class javadoc for the accepted ranges. */
  public ServiceInstance {
    checkServiceName(serviceName);
    requireNonNull(host, "host: null (expected: not null)");
    if (host.isBlank() || host.chars().anyMatch(c -> Character.isWhitespace(c) || c == '/')) {
      throw new IllegalArgumentException(
          "host: '" + host + "' (expected: a host name or IP literal, not blank)");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    checkWeight(weight);
    requireNonNull(metadata, "metadata: null (expected: not null)");
    metadata.forEach(
        (k, v) -> {
          requireNonNull(k, "metadata key");
          requireNonNull(v, "metadata value for key " + k);
        });
    metadata = Map.copyOf(new TreeMap<>(metadata));
  }

  /** An instance with the default weight and no metadata. */
  public static ServiceInstance of(String serviceName, String host, int port) {
    return new ServiceInstance(serviceName, host, port, DEFAULT_WEIGHT, Map.of());
  }

  /** Starts a builder; weight defaults to {@value #DEFAULT_WEIGHT}, metadata to empty. */
  public static Builder builder(String serviceName, String host, int port) {
    return new Builder(serviceName, host, port);
  }

  /** A builder pre-filled with this instance's fields. */
  public Builder toBuilder() {
    return new Builder(serviceName, host, port).weight(weight).metadata(metadata);
  }

  /** {@code host:port}, with IPv6 literals in brackets. */
  public String endpoint() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  /**
   * Checks a service name and throws an {@link IllegalArgumentException} naming it when it is not
   * of the form {@code [a-zA-Z0-9._-]+}.
   */
  public static String checkServiceName(String serviceName) {
    requireNonNull(serviceName, "serviceName: null (expected: not null)");
    if (!SERVICE_NAME.matcher(serviceName).matches()) {
      throw new IllegalArgumentException(
          "serviceName: '" + serviceName + "' (expected: [a-zA-Z0-9._-]+)");
    }
    return serviceName;
  }

  /**
   * Checks a weight; throws an {@link IllegalArgumentException} naming it when outside 1..10000.
   */
  public static int checkWeight(int weight) {
    if (weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
      throw new IllegalArgumentException(
          "weight: " + weight + " (expected: " + MIN_WEIGHT + ".." + MAX_WEIGHT + ")");
    }
    return weight;
  }

  /** Mutable builder of {@link ServiceInstance}; validation happens in {@link #build()}. */
  public static final class Builder {
    private final String serviceName;
    private final String host;
    private final int port;
    private int weight = DEFAULT_WEIGHT;
    private Map<String, String> metadata = Map.of();

    private Builder(String serviceName, String host, int port) {
      this.serviceName = serviceName;
      this.host = host;
      this.port = port;
    }

    /** Load-balancing weight, 1..10000; default {@value ServiceInstance#DEFAULT_WEIGHT}. */
    public Builder weight(int weight) {
      this.weight = checkWeight(weight);
      return this;
    }

    /** Metadata; default empty. The map is copied. */
    public Builder metadata(Map<String, String> metadata) {
      this.metadata = requireNonNull(metadata, "metadata: null (expected: not null)");
      return this;
    }

    /** Builds and validates the instance. */
    public ServiceInstance build() {
      return new ServiceInstance(serviceName, host, port, weight, metadata);
    }
  }
}
