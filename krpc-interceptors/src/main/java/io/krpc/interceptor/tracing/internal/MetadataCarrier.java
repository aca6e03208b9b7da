package io.krpc.interceptor.tracing.internal;

import io.grpc.Metadata;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;

/**
 * Reads and writes OpenTelemetry propagation fields ({@code traceparent}, {@code tracestate},
 * {@code baggage}, ...) as ASCII gRPC metadata. Binary ({@code -bin}) keys are neither read nor
 * written: text propagators never use them.
 *
 * <p>Thread-safe, stateless apart from a bounded cache of {@link Metadata.Key}s.
 */
public final class MetadataCarrier implements TextMapGetter<Metadata>, TextMapSetter<Metadata> {
  /** The one carrier; its key cache is shared. */
  public static final MetadataCarrier INSTANCE = new MetadataCarrier();

  /** Propagators use a handful of fields; the bound only guards against odd getters. */
  private static final int MAX_CACHED_KEYS = 64;

  private final ConcurrentMap<String, Metadata.Key<String>> keys = new ConcurrentHashMap<>();

  private MetadataCarrier() {}

  @Override
  public Iterable<String> keys(Metadata carrier) {
    return carrier.keys();
  }

  @Override
  public @Nullable String get(@Nullable Metadata carrier, String key) {
    if (carrier == null || key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
      return null;
    }
    return carrier.get(keyOf(key));
  }

  @Override
  public void set(@Nullable Metadata carrier, String key, String value) {
    if (carrier == null || key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
      return;
    }
    Metadata.Key<String> metadataKey = keyOf(key);
    carrier.removeAll(metadataKey);
    carrier.put(metadataKey, value);
  }

  private Metadata.Key<String> keyOf(String name) {
    Metadata.Key<String> key = keys.get(name);
    if (key == null) {
      key = Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
      if (keys.size() < MAX_CACHED_KEYS) {
        keys.putIfAbsent(name, key);
      }
    }
    return key;
  }
}
