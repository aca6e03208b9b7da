package io.krpc.interceptor.metrics.internal;

import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;

/**
 * The meters of one side (server or client) of one KRPC service, created on first use and cached
 * per full method name and local IP so that the per-call path allocates no tags and does no
 * registry lookup.
 *
 * <p>Methods are keyed by their full name rather than by the {@code MethodDescriptor} instance, so
 * a caller that builds a new descriptor per call does not grow the cache.
 *
 * <p>Thread-safe.
 */
public final class RpcMeters {
  private final MeterRegistry registry;
  private final RpcMetricNames names;
  private final String serverName;
  private final ConcurrentMap<String, MethodMeters> byMethod = new ConcurrentHashMap<>();

  public RpcMeters(MeterRegistry registry, RpcMetricNames names, String serverName) {
    this.registry = registry;
    this.names = names;
    this.serverName = serverName;
  }

  /** Returns the meters for calls of {@code fullMethodName} served on (or sent from) {@code ip}. */
  public EndpointMeters get(String fullMethodName, InetAddress ip) {
    MethodMeters method = byMethod.get(fullMethodName);
    if (method == null) {
      method = byMethod.computeIfAbsent(fullMethodName, MethodMeters::new);
    }
    return method.get(ip);
  }

  /** The meters of one method; almost always used with a single IP, hence the one-entry cache. */
  private final class MethodMeters {
    private final String fullMethodName;
    private final ConcurrentMap<InetAddress, EndpointMeters> byIp = new ConcurrentHashMap<>(2);
    private volatile @Nullable EndpointMeters last;

    MethodMeters(String fullMethodName) {
      // The label value is grpc-go's FullMethod ("/pkg.Service/Method"), as the Go KRPC exports
      // it, so that its dashboards and alerts keep working unchanged.
      this.fullMethodName = "/" + fullMethodName;
    }

    EndpointMeters get(InetAddress ip) {
      EndpointMeters cached = last;
      if (cached != null && cached.ip().equals(ip)) {
        return cached;
      }
      EndpointMeters meters =
          byIp.computeIfAbsent(
              ip, key -> new EndpointMeters(registry, names, fullMethodName, serverName, key));
      last = meters;
      return meters;
    }
  }
}
