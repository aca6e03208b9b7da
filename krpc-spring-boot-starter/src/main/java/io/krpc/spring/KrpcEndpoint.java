package io.krpc.spring;

import io.krpc.registry.Registry;
import io.krpc.registry.etcd.EtcdRegistry;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * {@code /actuator/krpc}: the registry, this server's registration (with the etcd lease it lives
 * under: id, TTL, time since etcd last confirmed it and until it expires), the watched services
 * with their instance counts and each channel's target and policy. Write operations {@code POST
 * /actuator/krpc/drain} and {@code POST /actuator/krpc/undrain} drain the server (NOT_SERVING and
 * deregistered; calls that reach it are still served) and bring it back.
 */
@Endpoint(id = "krpc")
public class KrpcEndpoint {
  private final Registry registry;
  private final RegistryProbe probe;
  private final ObjectProvider<KrpcServerRegistration> server;
  private final ObjectProvider<KrpcChannelConfigurer<?>> channels;

  KrpcEndpoint(
      Registry registry,
      RegistryProbe probe,
      ObjectProvider<KrpcServerRegistration> server,
      ObjectProvider<KrpcChannelConfigurer<?>> channels) {
    this.registry = registry;
    this.probe = probe;
    this.server = server;
    this.channels = channels;
  }

  @ReadOperation
  public Map<String, Object> krpc() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("registry", probe.describe());
    KrpcServerRegistration registration = server.getIfAvailable();
    out.put("server", registration == null ? null : serverState(registration));
    KrpcChannelConfigurer<?> configurer = channels.getIfAvailable();
    out.put("watchedServices", configurer == null ? Map.of() : configurer.watchedServices());
    out.put("channels", configurer == null ? Map.of() : configurer.describe());
    return out;
  }

  private Map<String, Object> serverState(KrpcServerRegistration registration) {
    Map<String, Object> state = registration.describe();
    var instance = registration.instance();
    if (instance != null) {
      // whether the record is really in the registry (attached to a live lease, for etcd)
      state.put("inRegistry", probe.contains(instance));
    }
    if (registry instanceof EtcdRegistry etcd) {
      state.put("lease", lease(etcd.leaseInfo()));
    }
    return state;
  }

  /** The etcd lease the registration lives under, or null while none is held. */
  static @Nullable Map<String, Object> lease(EtcdRegistry.@Nullable LeaseInfo lease) {
    if (lease == null) {
      return null;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", lease.idHex());
    out.put("ttl", lease.ttl().toString());
    out.put("sinceKeepAlive", lease.sinceKeepAlive().toString());
    out.put("expiresIn", lease.expiresIn().toString());
    out.put("lastKeepAlive", Instant.now().minus(lease.sinceKeepAlive()).toString());
    return out;
  }

  /** {@code drain} or {@code undrain} the server. */
  @WriteOperation
  public Map<String, Object> serving(@Selector String action) {
    KrpcServerRegistration registration = server.getIfAvailable();
    if (registration == null) {
      return Map.of("error", "this application registers no gRPC server");
    }
    switch (action) {
      case "drain" -> registration.drain();
      case "undrain" -> registration.undrain();
      default -> {
        return Map.of("error", "action: '" + action + "' (expected: drain or undrain)");
      }
    }
    return registration.describe();
  }

  @Nullable Registry registry() {
    return registry;
  }
}
