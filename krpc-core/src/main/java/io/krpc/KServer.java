package io.krpc;

import static io.krpc.common.Checks.check;
import static io.krpc.common.Checks.notNull;

import io.grpc.BindableService;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.krpc.common.Checks;
import io.krpc.common.HostAddress;
import io.krpc.internal.InterceptorChains;
import io.krpc.internal.ServerExecutors;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import io.krpc.tls.ServerTls;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running KRPC server: a grpc-java server that registers itself in a {@link Registry}, serves
 * health and reflection, and runs the built-in governance chain around its services.
 *
 * <pre>{@code
 * KServer server =
 *     KServer.builder()
 *         .serviceName("greeter")
 *         .port(9001)
 *         .registry(registry)
 *         .addService(new GreeterImpl())
 *         .start();
 * ...
 * server.close(); // graceful
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} may be called from any thread, more than once.
 */
public final class KServer implements AutoCloseable {

  private static final Logger logger = LoggerFactory.getLogger(KServer.class);

  private final Server server;
  private final int port;
  private final HealthStatusManager health;
  private final @Nullable Registry registry;
  private final ServiceInstance instance;
  private final List<String> healthNames;
  private final InterceptorChains.ChainResources resources;
  private final ServerExecutors executors;
  private final Duration deregisterDelay;
  private final Duration shutdownGracePeriod;
  private final Object closeLock = new Object();
  private @Nullable Thread shutdownHook;
  private boolean closed;

  private KServer(
      Builder builder,
      Server server,
      HealthStatusManager health,
      ServiceInstance instance,
      InterceptorChains.ChainResources resources,
      ServerExecutors executors) {
    this.server = server;
    this.port = server.getPort();
    this.health = health;
    this.registry = builder.registry;
    this.instance = instance;
    List<String> names = new ArrayList<>();
    names.add(HealthStatusManager.SERVICE_NAME_ALL_SERVICES);
    names.add(instance.serviceName());
    builder.services.forEach(s -> names.add(s.getServiceDescriptor().getName()));
    this.healthNames = List.copyOf(names);
    this.resources = resources;
    this.executors = executors;
    this.deregisterDelay = builder.deregisterDelay;
    this.shutdownGracePeriod = builder.shutdownGracePeriod;
  }

  /** Starts a builder; see the class javadoc for an example. */
  public static Builder builder() {
    return new Builder();
  }

  /** The port the server is bound to (the chosen one when the builder asked for port 0). */
  public int port() {
    return port;
  }

  /** The service name this server registered under. */
  public String serviceName() {
    return instance.serviceName();
  }

  /** The instance announced to the registry (also built when no registry is set). */
  public ServiceInstance instance() {
    return instance;
  }

  /** The registry this server's metrics go to. */
  public MeterRegistry meterRegistry() {
    return resources.meterRegistry();
  }

  /** The port of the Prometheus {@code /metrics} endpoint, or -1 when none was started. */
  public int metricsPort() {
    return resources.metricsPort();
  }

  /** Whether {@link #close()} has been called. */
  public boolean isClosed() {
    synchronized (closeLock) {
      return closed;
    }
  }

  /** Waits until the server has terminated (after {@link #close()}). */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Waits at most {@code timeout} until the server has terminated; returns whether it had. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return server.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Sets what the health service reports for the whole server ({@code ""}), its KRPC service name
   * and each of its gRPC services: SERVING, or NOT_SERVING to drain it without stopping it. Clients
   * with {@link KClient.Builder#healthCheck(String)} stop sending new calls to a NOT_SERVING server
   * and come back when it serves again; calls in flight finish. Ignored once {@link #close()} has
   * begun (health is NOT_SERVING for good then).
   */
  public void setServing(boolean serving) {
    ServingStatus status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    for (String name : healthNames) {
      health.setStatus(name, status);
    }
    logger.info("KServer {} on port {} is now {}", instance.serviceName(), port, status);
  }

  /**
   * Stops gracefully: health turns NOT_SERVING, the instance is deregistered, the server waits the
   * deregister delay so that clients see it go, stops accepting calls, lets in-flight calls finish
   * within the grace period, then cancels what is left. Registry failures are logged, never thrown.
   * Idempotent; blocks until the server has stopped.
   */
  @Override
  public void close() {
    synchronized (closeLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    removeShutdownHook();
    logger.info("Stopping KServer {} on port {}", instance.serviceName(), port());
    health.enterTerminalState();
    if (registry != null) {
      try {
        registry.deregister(instance);
      } catch (RuntimeException e) {
        logger.warn(
            "Could not deregister {} {}; its registration will expire by itself",
            instance.serviceName(),
            instance.endpoint(),
            e);
      }
      sleepQuietly(deregisterDelay);
    }
    server.shutdown();
    try {
      if (!server.awaitTermination(shutdownGracePeriod.toNanos(), TimeUnit.NANOSECONDS)) {
        logger.warn(
            "Calls still running after the grace period of {}; cancelling them",
            shutdownGracePeriod);
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    } finally {
      resources.close();
      executors.close();
    }
    logger.info("KServer {} stopped", instance.serviceName());
  }

  private void addShutdownHook() {
    Thread hook = new Thread(this::close, "krpc-shutdown-" + instance.serviceName());
    synchronized (closeLock) {
      shutdownHook = hook;
    }
    Runtime.getRuntime().addShutdownHook(hook);
  }

  private void removeShutdownHook() {
    Thread hook;
    synchronized (closeLock) {
      hook = shutdownHook;
      shutdownHook = null;
    }
    if (hook != null && hook != Thread.currentThread()) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // The JVM is already shutting down; the hook is running or ran.
      }
    }
  }

  private static void sleepQuietly(Duration duration) {
    if (duration.isZero()) {
      return;
    }
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "KServer{"
        + instance.serviceName()
        + ", port="
        + port()
        + ", closed="
        + isClosed()
        + "}";
  }

  /**
   * Builds and starts a {@link KServer}. Each setter validates its argument at once; {@link
   * #start()} checks the combination. Not thread-safe; one builder starts one server.
   */
  public static final class Builder {
    private @Nullable String serviceName;
    private int port = 0;
    private @Nullable String host;
    private int weight = ServiceInstance.DEFAULT_WEIGHT;
    private Map<String, String> metadata = Map.of();
    private @Nullable Registry registry;
    private final List<ServerServiceDefinition> services = new ArrayList<>();
    private final List<ServerInterceptor> interceptors = new ArrayList<>();
    private @Nullable Integer maxInboundMessageSize;
    private @Nullable Executor executor;
    private final Set<String> blockingServices = new LinkedHashSet<>();
    private ServerCredentials credentials = InsecureServerCredentials.create();
    private boolean healthService = true;
    private boolean reflectionService = true;
    private boolean shutdownHook;
    private Duration deregisterDelay = Duration.ofSeconds(1);
    private Duration shutdownGracePeriod = Duration.ofSeconds(30);
    private final InterceptorChains.ServerOptions chainOptions =
        new InterceptorChains.ServerOptions();
    private boolean started;
    private Duration permitKeepAliveTime = Duration.ofSeconds(5);
    private boolean permitKeepAliveWithoutCalls = true;
    private final List<Consumer<? super ServerBuilder<?>>> serverCustomizers = new ArrayList<>();

    private Builder() {}

    /** The service name to register under; required, {@code [a-zA-Z0-9._-]+}. */
    public Builder serviceName(String serviceName) {
      this.serviceName = ServiceInstance.checkServiceName(serviceName);
      return this;
    }

    /** The port to listen on, 0..65535; 0 (the default) picks a free port. */
    public Builder port(int port) {
      this.port = Checks.port(port, "port");
      return this;
    }

    /**
     * The host clients reach this server at, as registered. Default: the first non-loopback IPv4
     * address of this machine, else {@code 127.0.0.1}.
     */
    public Builder host(String host) {
      notNull(host, "host");
      check(!host.isBlank(), "host", "'" + host + "'", "a host name or IP literal");
      this.host = host;
      return this;
    }

    /** The load-balancing weight, 1..10000; default 100. */
    public Builder weight(int weight) {
      this.weight = ServiceInstance.checkWeight(weight);
      return this;
    }

    /** Metadata registered with the instance (never put secrets here); default empty. */
    public Builder metadata(Map<String, String> metadata) {
      this.metadata = Map.copyOf(notNull(metadata, "metadata"));
      return this;
    }

    /** The registry to announce this server in; default none (a standalone server). */
    public Builder registry(Registry registry) {
      this.registry = notNull(registry, "registry");
      return this;
    }

    /** Adds a service implementation; repeatable. */
    public Builder addService(BindableService service) {
      services.add(notNull(service, "service").bindService());
      return this;
    }

    /** Adds a service definition; repeatable. */
    public Builder addService(ServerServiceDefinition service) {
      services.add(notNull(service, "service"));
      return this;
    }

    /**
     * Adds a service whose handlers block (JDBC, files, blocking stubs to other services): each of
     * its calls runs on a thread of its own, a virtual thread on Java 24 and later, instead of the
     * shared pool of one thread per core that runs the other services. Without this declaration a
     * blocking handler still works, and the pool adds a thread once it has blocked 5 ms, but calls
     * queued behind it wait those milliseconds. No effect with {@link #executor}: the given
     * executor runs every call. Repeatable.
     */
    public Builder addBlockingService(BindableService service) {
      return addBlockingService(notNull(service, "service").bindService());
    }

    /**
     * Adds a service definition whose handlers block; see {@link
     * #addBlockingService(BindableService)}. Repeatable.
     */
    public Builder addBlockingService(ServerServiceDefinition service) {
      services.add(notNull(service, "service"));
      blockingServices.add(service.getServiceDescriptor().getName());
      return this;
    }

    /** Adds user interceptors; they run inside the built-in chain, the first one outermost. */
    public Builder intercept(ServerInterceptor... interceptors) {
      for (ServerInterceptor interceptor : notNull(interceptors, "interceptors")) {
        this.interceptors.add(notNull(interceptor, "interceptor"));
      }
      return this;
    }

    /**
     * Runs every handler, blocking services' included, and the governance chain around them, on
     * this executor instead of KRPC's default (a pool of one thread per core, shared by the
     * process's servers and clients, that adds a thread when one blocks; see {@link
     * #addBlockingService(BindableService)}). The caller owns it: closing the KServer does not shut
     * it down.
     */
    public Builder executor(Executor executor) {
      this.executor = notNull(executor, "executor");
      return this;
    }

    /** The largest request message accepted, in bytes; default grpc-java's 4 MiB. */
    public Builder maxInboundMessageSize(int bytes) {
      this.maxInboundMessageSize = Checks.positiveBytes(bytes, "maxInboundMessageSize");
      return this;
    }

    /**
     * Serves Prometheus text at {@code http://<host>:<port>/metrics}; 0 picks a free port (see
     * {@link KServer#metricsPort()}). Default: no endpoint. Needs the artifact {@code
     * io.krpc:krpc-metrics-prometheus} on the classpath ({@link #start()} throws
     * IllegalStateException naming it otherwise).
     */
    public Builder metricsPort(int metricsPort) {
      chainOptions.metricsPort = Checks.port(metricsPort, "metricsPort");
      return this;
    }

    /**
     * Where the server's metrics go; default a new registry for this server (see {@link
     * KServer#meterRegistry()}): a {@code PrometheusMeterRegistry} when krpc-metrics-prometheus is
     * on the classpath, else Micrometer's {@code SimpleMeterRegistry}. With {@link #metricsPort} it
     * must be a {@code PrometheusMeterRegistry}.
     */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      chainOptions.meterRegistry = notNull(meterRegistry, "meterRegistry");
      return this;
    }

    /** The OpenTelemetry the tracing interceptor uses; default {@code GlobalOpenTelemetry}. */
    public Builder openTelemetry(OpenTelemetry openTelemetry) {
      chainOptions.openTelemetry = notNull(openTelemetry, "openTelemetry");
      return this;
    }

    /** Whether the built-in recovery interceptor runs (outermost); default true. */
    public Builder recovery(boolean enabled) {
      chainOptions.recovery = enabled;
      return this;
    }

    /** Whether the built-in tracing interceptor runs; default true. */
    public Builder tracing(boolean enabled) {
      chainOptions.tracing = enabled;
      return this;
    }

    /** Whether the built-in metrics interceptor runs; default true. */
    public Builder metrics(boolean enabled) {
      chainOptions.metrics = enabled;
      return this;
    }

    /** Transport credentials (TLS, mTLS); default plaintext. */
    public Builder credentials(ServerCredentials credentials) {
      this.credentials = notNull(credentials, "credentials");
      return this;
    }

    /**
     * Serves over TLS, or mutual TLS when {@code tls} has {@link ServerTls#clientAuth(
     * java.io.File) clientAuth}; the same as {@code credentials(tls.toCredentials())}, and like it
     * replaces any earlier transport setting. Default: plaintext.
     */
    public Builder tls(ServerTls tls) {
      return credentials(notNull(tls, "tls").toCredentials());
    }

    /** Whether to serve {@code grpc.health.v1.Health}; default true. */
    public Builder healthService(boolean enabled) {
      this.healthService = enabled;
      return this;
    }

    /** Whether to serve {@code grpc.reflection.v1.ServerReflection}; default true. */
    public Builder reflectionService(boolean enabled) {
      this.reflectionService = enabled;
      return this;
    }

    /** Whether to close the server gracefully when the JVM shuts down; default false. */
    public Builder shutdownHook(boolean enabled) {
      this.shutdownHook = enabled;
      return this;
    }

    /**
     * How long {@link KServer#close()} waits after deregistering, so clients stop picking this
     * server before it stops accepting calls; default 1 s, 0 allowed.
     */
    public Builder deregisterDelay(Duration delay) {
      this.deregisterDelay = Checks.nonNegative(delay, "deregisterDelay");
      return this;
    }

    /** How long {@link KServer#close()} lets in-flight calls finish; default 30 s. */
    public Builder shutdownGracePeriod(Duration gracePeriod) {
      this.shutdownGracePeriod = Checks.nonNegative(gracePeriod, "shutdownGracePeriod");
      return this;
    }

    /**
     * The shortest interval between a client's keepalive PINGs this server accepts, >= 0; a client
     * that pings more often gets GOAWAY {@code too_many_pings}. Default 5 s, below the shortest
     * keepalive a grpc-java client can ask for (10 s), so every {@link KClient.Builder#keepAlive
     * KClient keepalive} is accepted; grpc-java's own default is 5 min.
     */
    public Builder permitKeepAliveTime(Duration time) {
      this.permitKeepAliveTime = Checks.nonNegative(time, "permitKeepAliveTime");
      return this;
    }

    /**
     * Whether clients may send keepalive PINGs while they have no call in flight ({@link
     * KClient.Builder#keepAliveWithoutCalls}); default true (grpc-java's default: false).
     */
    public Builder permitKeepAliveWithoutCalls(boolean permitted) {
      this.permitKeepAliveWithoutCalls = permitted;
      return this;
    }

    /**
     * Customises the grpc-java {@link ServerBuilder} for what KRPC does not wrap (flow control
     * windows, connection age limits, handshake timeout, ...). Runs in {@link #start()} after every
     * KRPC setting, service and interceptor has been applied to the builder, so what it sets wins
     * over KRPC's; repeatable, run in the order given. It must not call {@code build()}.
     */
    public Builder serverCustomizer(Consumer<? super ServerBuilder<?>> customizer) {
      serverCustomizers.add(notNull(customizer, "serverCustomizer"));
      return this;
    }

    /**
     * Binds, serves, then registers. Returns only once the instance is registered; when
     * registration fails, stops what it started and throws.
     *
     * @throws IllegalStateException when a required option is missing, an option combination is
     *     invalid, the builder already started a server, or registration failed
     * @throws UncheckedIOException when the port cannot be bound
     */
    public KServer start() {
      if (started) {
        throw new IllegalStateException(
            "start(): this builder already started a KServer "
                + "(expected: one start() per builder)");
      }
      if (serviceName == null) {
        throw new IllegalStateException(
            "serviceName: null (expected: a service name, required"
                + (registry != null ? " when a registry is set" : "")
                + ")");
      }
      if (chainOptions.metricsPort >= 0 && chainOptions.metricsPort == port && port != 0) {
        throw new IllegalStateException(
            "metricsPort: "
                + chainOptions.metricsPort
                + " (expected: a port other than port "
                + port
                + ")");
      }
      InterceptorChains.checkMetricsEndpoint(chainOptions.metricsPort, chainOptions.meterRegistry);
      started = true;
      // The same lookup the metrics use for their ip label, so both name the same address.
      String registeredHost = host != null ? host : HostAddress.hostIpv4().getHostAddress();

      ServerBuilder<?> serverBuilder = Grpc.newServerBuilderForPort(port, credentials);
      if (maxInboundMessageSize != null) {
        serverBuilder.maxInboundMessageSize(maxInboundMessageSize);
      }
      HealthStatusManager health = new HealthStatusManager();
      if (healthService) {
        serverBuilder.addService(health.getHealthService());
      }
      if (reflectionService) {
        serverBuilder.addService(ProtoReflectionServiceV1.newInstance());
      }
      services.forEach(serverBuilder::addService);
      InterceptorChains.ChainResources resources =
          InterceptorChains.installServerChain(
              serverBuilder, serviceName, chainOptions, interceptors);
      ServerExecutors executors =
          ServerExecutors.install(serverBuilder, executor, blockingServices, serviceName);

      serverBuilder
          .permitKeepAliveTime(permitKeepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
          .permitKeepAliveWithoutCalls(permitKeepAliveWithoutCalls);
      serverCustomizers.forEach(customizer -> customizer.accept(serverBuilder));
      Server server = serverBuilder.build();
      try {
        server.start();
      } catch (IOException e) {
        resources.close();
        executors.close();
        throw new UncheckedIOException("KServer " + serviceName + " cannot bind port " + port, e);
      }
      int boundPort = server.getPort(); // read before any shutdown: getPort() throws after it
      ServiceInstance instance;
      try {
        instance =
            ServiceInstance.builder(serviceName, registeredHost, boundPort)
                .weight(weight)
                .metadata(metadata)
                .build();
        resources.startMetricsEndpoint();
        for (ServerServiceDefinition service : services) {
          health.setStatus(service.getServiceDescriptor().getName(), ServingStatus.SERVING);
        }
        health.setStatus(serviceName, ServingStatus.SERVING);
        if (registry != null) {
          registry.register(instance);
        }
      } catch (RuntimeException e) {
        server.shutdownNow();
        resources.close();
        executors.close();
        throw new IllegalStateException(
            "KServer "
                + serviceName
                + " started on port "
                + boundPort
                + " but could not "
                + (registry != null ? "register" : "start")
                + ": "
                + e.getMessage()
                + "; it was stopped",
            e);
      }
      KServer kserver = new KServer(this, server, health, instance, resources, executors);
      if (shutdownHook) {
        kserver.addShutdownHook();
      }
      logger.info(
          "KServer {} serving on port {}{}",
          serviceName,
          boundPort,
          registry != null ? ", registered as " + instance.endpoint() : "");
      return kserver;
    }
  }
}
