package io.krpc.spring;

import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.EtcdRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Whether the registry answers, found by a lookup at most every {@link #MAX_AGE}: the health
 * indicator and the actuator endpoint share it, so a slow etcd costs one request timeout per
 * period, not one per health check.
 */
final class RegistryProbe {
  static final Duration MAX_AGE = Duration.ofSeconds(5);

  private final Registry registry;
  private final String probeService;
  private final List<String> endpoints;

  private @Nullable Instant checkedAt;
  private boolean reachable;
  private @Nullable String error;

  RegistryProbe(Registry registry, String probeService, List<String> endpoints) {
    this.registry = registry;
    this.probeService = probeService;
    this.endpoints = endpoints;
  }

  /** Looks the service up now, recording reachability; null when the registry did not answer. */
  @Nullable List<ServiceInstance> lookup(String serviceName) {
    try {
      List<ServiceInstance> instances = registry.lookup(serviceName);
      record(true, null);
      return instances;
    } catch (RuntimeException e) {
      record(false, e.getMessage());
      return null;
    }
  }

  /** Whether {@code instance} is in the registry now; null when the registry did not answer. */
  @Nullable Boolean contains(ServiceInstance instance) {
    List<ServiceInstance> instances = lookup(instance.serviceName());
    return instances == null
        ? null
        : instances.stream().anyMatch(i -> i.endpoint().equals(instance.endpoint()));
  }

  /** Reachability, probing when the last answer is older than {@link #MAX_AGE}. */
  boolean reachable() {
    boolean stale;
    synchronized (this) {
      stale = checkedAt == null || checkedAt.plus(MAX_AGE).isBefore(Instant.now());
    }
    if (stale) {
      lookup(probeService);
    }
    synchronized (this) {
      return reachable;
    }
  }

  private synchronized void record(boolean reachable, @Nullable String error) {
    this.checkedAt = Instant.now();
    this.reachable = reachable;
    this.error = error;
  }

  Map<String, Object> describe() {
    boolean up = reachable();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("type", type());
    out.put("endpoints", endpoints);
    out.put("reachable", up);
    synchronized (this) {
      out.put("checkedAt", checkedAt == null ? null : checkedAt.toString());
      out.put("error", error);
    }
    return out;
  }

  String type() {
    if (registry instanceof EtcdRegistry) {
      return "etcd";
    }
    if (registry instanceof InMemoryRegistry) {
      return "in-memory";
    }
    return registry.getClass().getName();
  }
}
