package io.krpc.interceptor.tracing;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The settings of a {@link TracingAgent}: where spans go (an OTLP/gRPC endpoint), the service name
 * they are reported under and the share of new traces that are sampled. Immutable.
 *
 * <pre>{@code
 * TracingOptions options = TracingOptions.builder()
 *     .serviceName("greeter")
 *     .endpoint("http://otel-collector:4317")
 *     .samplingRatio(0.1)
 *     .build();
 * }</pre>
 */
public final class TracingOptions {
  /** The OTLP/gRPC endpoint used when none is set. */
  public static final String DEFAULT_ENDPOINT = "http://127.0.0.1:4317";

  private final String endpoint;
  private final String serviceName;
  private final double samplingRatio;
  private final Duration exportTimeout;
  private final boolean registerGlobal;

  private TracingOptions(Builder builder, String serviceName) {
    this.endpoint = builder.endpoint;
    this.serviceName = serviceName;
    this.samplingRatio = builder.samplingRatio;
    this.exportTimeout = builder.exportTimeout;
    this.registerGlobal = builder.registerGlobal;
  }

  /** Returns a builder with every option at its default; {@code serviceName} must be set. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder holding these options. */
  public Builder toBuilder() {
    Builder builder = new Builder();
    builder.endpoint = endpoint;
    builder.serviceName = serviceName;
    builder.samplingRatio = samplingRatio;
    builder.exportTimeout = exportTimeout;
    builder.registerGlobal = registerGlobal;
    return builder;
  }

  /** The OTLP/gRPC collector endpoint, e.g. {@code http://127.0.0.1:4317}. */
  public String endpoint() {
    return endpoint;
  }

  /** The {@code service.name} resource attribute of every span. */
  public String serviceName() {
    return serviceName;
  }

  /** The share of new traces sampled, 0 to 1; calls with a parent follow the parent's decision. */
  public double samplingRatio() {
    return samplingRatio;
  }

  /** How long one export, and the final flush on close, may take. */
  public Duration exportTimeout() {
    return exportTimeout;
  }

  /** Whether the agent installs itself as {@code GlobalOpenTelemetry}. */
  public boolean registerGlobal() {
    return registerGlobal;
  }

  @Override
  public String toString() {
    return "TracingOptions{endpoint="
        + endpoint
        + ", serviceName="
        + serviceName
        + ", samplingRatio="
        + samplingRatio
        + ", exportTimeout="
        + exportTimeout
        + ", registerGlobal="
        + registerGlobal
        + "}";
  }

  /** Builds {@link TracingOptions}; every setter checks its value at once. Not thread-safe. */
  public static final class Builder {
    private String endpoint = DEFAULT_ENDPOINT;
    private @Nullable String serviceName;
    private double samplingRatio = 1.0;
    private Duration exportTimeout = Duration.ofSeconds(10);
    private boolean registerGlobal;

    private Builder() {}

    /**
     * Sets the OTLP/gRPC endpoint, an {@code http} or {@code https} URL with host and port.
     * Default: {@value TracingOptions#DEFAULT_ENDPOINT}.
     */
    public Builder endpoint(String endpoint) {
      requireNonNull(endpoint, "endpoint: null (expected: not null)");
      URI uri;
      try {
        uri = new URI(endpoint);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException(
            "endpoint: " + endpoint + " (expected: an http(s)://host:port URL)", e);
      }
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "endpoint: " + endpoint + " (expected: an http(s)://host:port URL)");
      }
      this.endpoint = endpoint;
      return this;
    }

    /** Sets the service name spans are reported under; required, not blank. */
    public Builder serviceName(String serviceName) {
      requireNonNull(serviceName, "serviceName: null (expected: not null)");
      if (serviceName.isBlank()) {
        throw new IllegalArgumentException(
            "serviceName: '" + serviceName + "' (expected: not blank)");
      }
      this.serviceName = serviceName;
      return this;
    }

    /**
     * Sets the share of new traces to sample, from 0 (none) to 1 (all). Calls that carry a parent
     * trace follow the parent's decision. Default: 1.
     */
    public Builder samplingRatio(double samplingRatio) {
      if (!(samplingRatio >= 0 && samplingRatio <= 1)) {
        throw new IllegalArgumentException(
            "samplingRatio: " + samplingRatio + " (expected: >= 0 and <= 1)");
      }
      this.samplingRatio = samplingRatio;
      return this;
    }

    /** Sets how long one export and the final flush may take; positive. Default: 10 seconds. */
    public Builder exportTimeout(Duration exportTimeout) {
      requireNonNull(exportTimeout, "exportTimeout: null (expected: not null)");
      if (exportTimeout.isNegative() || exportTimeout.isZero()) {
        throw new IllegalArgumentException("exportTimeout: " + exportTimeout + " (expected: > 0)");
      }
      this.exportTimeout = exportTimeout;
      return this;
    }

    /**
     * Sets whether the agent installs itself as {@code GlobalOpenTelemetry}, so that {@code
     * ServerTracingInterceptor.create()} and {@code ClientTracingInterceptor.create()} use it.
     * Fails at {@link TracingAgent#start} if a global instance is already set. Default: false.
     */
    public Builder registerGlobal(boolean registerGlobal) {
      this.registerGlobal = registerGlobal;
      return this;
    }

    /** Returns the options; fails if {@code serviceName} was not set. */
    public TracingOptions build() {
      if (serviceName == null) {
        throw new IllegalStateException("serviceName: not set (expected: a service name)");
      }
      return new TracingOptions(this, serviceName);
    }
  }
}
