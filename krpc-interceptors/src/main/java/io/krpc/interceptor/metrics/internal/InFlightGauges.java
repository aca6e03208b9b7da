package io.krpc.interceptor.metrics.internal;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters behind in-flight gauges, one per registry and gauge id. A registry keeps the first
 * gauge registered under an id and ignores later ones, so two interceptors that share a registry
 * and labels (two servers of one service in one JVM) must also share the number the gauge reads.
 *
 * <p>Thread-safe. Registries are held weakly; lookups happen only when meters are first created.
 */
final class InFlightGauges {
  private static final Map<MeterRegistry, ConcurrentMap<Tags, LongAdder>> BY_REGISTRY =
      new WeakHashMap<>();

  private InFlightGauges() {}

  /** Returns the counter the gauge {@code name} with {@code tags} in {@code registry} reads. */
  static LongAdder register(MeterRegistry registry, String name, String description, Tags tags) {
    ConcurrentMap<Tags, LongAdder> gauges;
    synchronized (BY_REGISTRY) {
      gauges = BY_REGISTRY.computeIfAbsent(registry, key -> new ConcurrentHashMap<>());
    }
    return gauges.computeIfAbsent(
        tags.and("__name", name),
        key -> {
          LongAdder inFlight = new LongAdder();
          Gauge.builder(name, inFlight, LongAdder::doubleValue)
              .description(description)
              .tags(tags)
              .strongReference(true)
              .register(registry);
          return inFlight;
        });
  }
}
