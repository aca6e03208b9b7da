package io.krpc.spring;

import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * The registry handed to Spring gRPC channels: the application's {@link Registry}, with the last
 * snapshot size and error of each watched service remembered for the actuator endpoint. Closing it
 * does nothing: the application's registry bean owns the connection.
 *
 * <p>Thread-safe; listeners are wrapped, never blocked.
 */
final class WatchedRegistry implements Registry {
  private final Registry delegate;
  private final Map<String, WatchedService> watched = new ConcurrentHashMap<>();

  WatchedRegistry(Registry delegate) {
    this.delegate = delegate;
  }

  Registry delegate() {
    return delegate;
  }

  @Override
  public void register(ServiceInstance instance) {
    delegate.register(instance);
  }

  @Override
  public void deregister(ServiceInstance instance) {
    delegate.deregister(instance);
  }

  @Override
  public Watch watch(String serviceName, Listener listener) {
    WatchedService service = watched.computeIfAbsent(serviceName, n -> new WatchedService());
    service.watches.incrementAndGet();
    Watch watch =
        delegate.watch(
            serviceName,
            new Listener() {
              @Override
              public void onUpdate(List<ServiceInstance> instances) {
                service.instances = instances.size();
                service.updatedAt = Instant.now();
                service.lastError = null;
                listener.onUpdate(instances);
              }

              @Override
              public void onError(RegistryException error) {
                service.lastError = error.getMessage();
                listener.onError(error);
              }
            });
    return () -> {
      watch.cancel();
      service.watches.decrementAndGet();
    };
  }

  @Override
  public List<ServiceInstance> lookup(String serviceName) {
    return delegate.lookup(serviceName);
  }

  @Override
  public void close() {
    // the registry bean is closed by Spring
  }

  /** Watched services: instance count, open watches, last update and error. */
  Map<String, Object> describe() {
    Map<String, Object> out = new TreeMap<>();
    watched.forEach(
        (name, service) -> {
          Map<String, Object> entry = new LinkedHashMap<>();
          entry.put("instances", service.instances);
          entry.put("watches", service.watches.get());
          Instant updatedAt = service.updatedAt;
          entry.put("updatedAt", updatedAt == null ? null : updatedAt.toString());
          entry.put("lastError", service.lastError);
          out.put(name, entry);
        });
    return out;
  }

  @Override
  public String toString() {
    return delegate.toString();
  }

  private static final class WatchedService {
    final AtomicInteger watches = new AtomicInteger();
    volatile int instances = -1;
    volatile @Nullable Instant updatedAt;
    volatile @Nullable String lastError;
  }
}
