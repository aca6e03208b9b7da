package io.krpc.spring;

import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.krpc.common.HostAddress;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.grpc.server.lifecycle.GrpcServerStartedEvent;

/**
 * Registers the Spring gRPC server in the {@link Registry} once it has started on its real port,
 * and drains it before Spring stops it.
 *
 * <p>Start: on {@link GrpcServerStartedEvent} (the bound port is known only then) the instance is
 * registered; a failure fails start-up, as {@code KServer.start()} does. Shutdown: on {@link
 * ContextClosedEvent}, which Spring publishes before it stops any lifecycle bean (the gRPC server
 * among them), the server turns NOT_SERVING on Spring's own {@link HealthStatusManager},
 * deregisters and waits {@code krpc.server.deregister-delay}; only then does Spring stop the server
 * and let in-flight calls finish. {@link #drain()} and {@link #undrain()} do the same at run time
 * (the actuator endpoint's write operations). While drained, {@link DrainAwareGrpcServerHealth}
 * keeps Spring's periodic health push from turning it SERVING again.
 *
 * <p>Thread-safe: events arrive on Spring's threads, drain and undrain on actuator threads.
 */
public final class KrpcServerRegistration implements ApplicationListener<ApplicationEvent> {
  private static final Logger logger = LoggerFactory.getLogger(KrpcServerRegistration.class);

  private final ApplicationContext context;
  private final Registry registry;
  private final KrpcProperties.Server properties;
  private final String serviceName;
  private final ObjectProvider<HealthStatusManager> healthStatusManager;

  private @Nullable ServiceInstance instance;
  private List<String> grpcServices = List.of();
  private boolean registered;
  private volatile boolean drained;
  private boolean closing;
  private @Nullable Instant registeredAt;
  private @Nullable String lastError;

  KrpcServerRegistration(
      ApplicationContext context,
      Registry registry,
      KrpcProperties.Server properties,
      String serviceName,
      ObjectProvider<HealthStatusManager> healthStatusManager) {
    this.context = context;
    this.registry = registry;
    this.properties = properties;
    this.serviceName = serviceName;
    this.healthStatusManager = healthStatusManager;
  }

  @Override
  public void onApplicationEvent(ApplicationEvent event) {
    if (event instanceof GrpcServerStartedEvent started) {
      onStarted(started);
    } else if (event instanceof ContextClosedEvent closed
        && closed.getApplicationContext() == context) {
      onClosing();
    }
  }

  @Override
  public boolean supportsAsyncExecution() {
    return false;
  }

  /** The service name this server registers as. */
  public String serviceName() {
    return serviceName;
  }

  /** Whether the server is drained (NOT_SERVING and deregistered). */
  public boolean isDrained() {
    return drained;
  }

  private void onStarted(GrpcServerStartedEvent event) {
    Server server = event.getServer();
    List<String> names = new ArrayList<>();
    for (ServerServiceDefinition service : server.getServices()) {
      names.add(service.getServiceDescriptor().getName());
    }
    String host = properties.getHost() != null ? properties.getHost() : advertisedHost(event);
    ServiceInstance self =
        ServiceInstance.builder(serviceName, host, event.getPort())
            .weight(properties.getWeight())
            .metadata(properties.getMetadata())
            .build();
    synchronized (this) {
      this.instance = self;
      this.grpcServices = List.copyOf(names);
    }
    try {
      registry.register(self);
    } catch (RuntimeException e) {
      synchronized (this) {
        lastError = e.toString();
      }
      throw new IllegalStateException(
          "KRPC could not register "
              + self.serviceName()
              + " at "
              + self.endpoint()
              + " in "
              + registry
              + ": "
              + e.getMessage(),
          e);
    }
    synchronized (this) {
      registered = true;
      registeredAt = Instant.now();
      lastError = null;
    }
    logger.info("Registered {} at {} (weight {})", serviceName, self.endpoint(), self.weight());
  }

  /**
   * The address Spring gRPC bound, when it is a specific one ({@code spring.grpc.server.address});
   * for a wildcard bind the host's first non-loopback IPv4, as KServer registers.
   */
  private static String advertisedHost(GrpcServerStartedEvent event) {
    for (SocketAddress socket : event.getServer().getListenSockets()) {
      if (socket instanceof InetSocketAddress inet
          && inet.getAddress() != null
          && !inet.getAddress().isAnyLocalAddress()) {
        return inet.getAddress().getHostAddress();
      }
    }
    return HostAddress.hostIpv4().getHostAddress();
  }

  private void onClosing() {
    ServiceInstance self;
    synchronized (this) {
      if (closing || instance == null) {
        return;
      }
      closing = true;
      self = instance;
    }
    drain();
    Duration delay = properties.getDeregisterDelay();
    if (!delay.isZero()) {
      logger.info(
          "Deregistered {} at {}; waiting {} before the server stops",
          serviceName,
          self.endpoint(),
          delay);
      try {
        Thread.sleep(delay.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Turns the server NOT_SERVING and withdraws it from the registry; it keeps serving calls that
   * reach it. Idempotent.
   */
  public void drain() {
    ServiceInstance self;
    synchronized (this) {
      drained = true;
      self = instance;
    }
    setServing(false);
    if (self == null) {
      return;
    }
    try {
      registry.deregister(self);
      synchronized (this) {
        registered = false;
      }
    } catch (RuntimeException e) {
      // the lease (or close()) removes the record later; a drain must not fail on etcd
      synchronized (this) {
        lastError = e.toString();
      }
      logger.warn("Could not deregister {} at {}: {}", serviceName, self.endpoint(), e.toString());
    }
  }

  /**
   * Turns the server SERVING again and registers it.
   *
   * @throws IllegalStateException when the application is shutting down
   * @throws io.krpc.registry.RegistryException when the registry refuses
   */
  public void undrain() {
    ServiceInstance self;
    synchronized (this) {
      if (closing) {
        throw new IllegalStateException("the application is shutting down");
      }
      self = instance;
    }
    if (self != null) {
      registry.register(self);
      synchronized (this) {
        registered = true;
        registeredAt = Instant.now();
        lastError = null;
      }
    }
    drained = false;
    setServing(true);
  }

  private void setServing(boolean serving) {
    HealthStatusManager health = healthStatusManager.getIfAvailable();
    if (health == null) {
      return;
    }
    ServingStatus status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    List<String> services;
    synchronized (this) {
      services = grpcServices;
    }
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
    for (String service : services) {
      health.setStatus(service, status);
    }
  }

  /** What the actuator endpoint shows. */
  synchronized Map<String, Object> describe() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("serviceName", serviceName);
    out.put("endpoint", instance == null ? null : instance.endpoint());
    out.put("weight", properties.getWeight());
    out.put("metadata", properties.getMetadata());
    out.put(
        "state",
        instance == null
            ? "NOT_STARTED"
            : drained ? "DRAINED" : registered ? "REGISTERED" : "NOT_REGISTERED");
    out.put("registeredAt", registeredAt == null ? null : registeredAt.toString());
    out.put("lastError", lastError);
    return out;
  }

  synchronized @Nullable ServiceInstance instance() {
    return instance;
  }
}
