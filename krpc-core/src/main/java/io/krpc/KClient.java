package io.krpc;

import static io.krpc.common.Checks.check;
import static io.krpc.common.Checks.notNull;

import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolver;
import io.krpc.common.Checks;
import io.krpc.internal.DefaultExecutor;
import io.krpc.internal.InterceptorChains;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import io.krpc.resolver.KrpcNameResolverProvider;
import io.krpc.tls.ClientTls;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KRPC client: a grpc-java {@link ManagedChannel} that finds a service through a {@link
 * Registry}, balances calls over its instances and runs the built-in governance chain.
 *
 * <pre>{@code
 * KClient client =
 *     KClient.forService("greeter").registry(registry).loadBalancing("krpc_p2c").build();
 * GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(client.channel());
 * ...
 * client.close();
 * }</pre>
 *
 * <p>Thread-safe; share one client per target service.
 */
public final class KClient implements AutoCloseable {

  private static final Logger logger = LoggerFactory.getLogger(KClient.class);

  /** The shortest keepalive time grpc-java honours; it raises shorter ones to this. */
  static final Duration MIN_KEEPALIVE_TIME = Duration.ofSeconds(10);

  /** KClient's default keepalive: a PING after 30 s without reads, dead after 10 s more. */
  static final Duration DEFAULT_KEEPALIVE_TIME = Duration.ofSeconds(30);

  static final Duration DEFAULT_KEEPALIVE_TIMEOUT = Duration.ofSeconds(10);

  private final ManagedChannel channel;
  private final String target;
  private final Duration closeTimeout;
  private final InterceptorChains.ChainResources resources;
  // The shared default executor until close() gives it back; null with the user's executor.
  private final AtomicReference<Executor> sharedExecutor;

  private KClient(
      ManagedChannel channel,
      String target,
      Duration closeTimeout,
      InterceptorChains.ChainResources resources,
      @Nullable Executor sharedExecutor) {
    this.channel = channel;
    this.target = target;
    this.closeTimeout = closeTimeout;
    this.resources = resources;
    this.sharedExecutor = new AtomicReference<>(sharedExecutor);
  }

  /** A client of {@code serviceName}, found through the {@link Builder#registry registry}. */
  public static Builder forService(String serviceName) {
    return new Builder(ServiceInstance.checkServiceName(serviceName), null);
  }

  /**
   * A client of a fixed target with no registry: {@code host:port}, or any grpc-java target URI
   * ({@code dns:///host:port}, {@code etcd://127.0.0.1:2379/greeter}).
   */
  public static Builder forTarget(String target) {
    notNull(target, "target");
    check(!target.isBlank(), "target", "'" + target + "'", "host:port or a target URI");
    return new Builder(null, target);
  }

  /** The channel; make stubs on it. It carries the whole interceptor chain. */
  public ManagedChannel channel() {
    return channel;
  }

  /** The target URI the channel resolves. */
  public String target() {
    return target;
  }

  /** The registry this client's {@code prpc_client_*} metrics go to. */
  public MeterRegistry meterRegistry() {
    return resources.meterRegistry();
  }

  /** The port of the client's Prometheus {@code /metrics} endpoint, or -1 when none was started. */
  public int metricsPort() {
    return resources.metricsPort();
  }

  /**
   * Shuts the channel down gracefully: new calls are refused, calls in flight finish within the
   * close timeout, then what is left is cancelled. Idempotent; blocks until done.
   */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(closeTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
        logger.warn("Calls to {} still running after {}; cancelling them", target, closeTimeout);
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      channel.shutdownNow();
    } finally {
      resources.close();
      Executor shared = sharedExecutor.getAndSet(null);
      if (shared != null) {
        DefaultExecutor.release(shared);
      }
    }
  }

  @Override
  public String toString() {
    return "KClient{" + target + "}";
  }

  /** Builds a {@link KClient}. Setters validate at once; {@link #build()} checks combinations. */
  public static final class Builder {
    private final @Nullable String serviceName;
    private final @Nullable String fixedTarget;
    private @Nullable Registry registry;
    private String loadBalancingPolicy = "round_robin";
    private Map<String, ?> loadBalancingConfig = Map.of();
    private @Nullable OutlierDetection outlierDetection;
    private final List<ClientInterceptor> interceptors = new ArrayList<>();
    private @Nullable Integer maxInboundMessageSize;
    private ChannelCredentials credentials = InsecureChannelCredentials.create();
    private @Nullable String overrideAuthority;
    private Duration closeTimeout = Duration.ofSeconds(30);
    private @Nullable RetryPolicy retryPolicy;
    private @Nullable HedgingPolicy hedgingPolicy;
    private @Nullable String healthCheckService;
    private @Nullable Executor executor;
    private int throttlingMaxTokens = 100;
    private double throttlingTokenRatio = 0.1;
    private final InterceptorChains.ClientOptions chainOptions =
        new InterceptorChains.ClientOptions();
    private @Nullable Duration timeout;
    private final List<MethodPolicy> methodPolicies = new ArrayList<>();
    private @Nullable Duration keepAliveTime = DEFAULT_KEEPALIVE_TIME;
    private @Nullable Duration keepAliveTimeout = DEFAULT_KEEPALIVE_TIMEOUT;
    private boolean keepAliveWithoutCalls;
    private final List<Consumer<? super ManagedChannelBuilder<?>>> channelCustomizers =
        new ArrayList<>();

    private Builder(@Nullable String serviceName, @Nullable String fixedTarget) {
      this.serviceName = serviceName;
      this.fixedTarget = fixedTarget;
    }

    /** The registry to discover the service in; required with {@link KClient#forService}. */
    public Builder registry(Registry registry) {
      this.registry = notNull(registry, "registry");
      return this;
    }

    /**
     * The load-balancing policy: {@code round_robin} (default), {@code krpc_p2c}, {@code krpc_wrr},
     * {@code pick_first} or any policy registered with grpc-java.
     */
    public Builder loadBalancing(String policy) {
      return loadBalancing(policy, Map.of());
    }

    /**
     * The load-balancing policy with its JSON config as a map, for example {@code
     * loadBalancing("krpc_p2c", Map.of("decayTime", "10s"))}. Checked at once by the policy.
     */
    public Builder loadBalancing(String policy, Map<String, ?> config) {
      notNull(policy, "loadBalancing");
      notNull(config, "loadBalancing config");
      LoadBalancerProvider provider = LoadBalancerRegistry.getDefaultRegistry().getProvider(policy);
      check(
          provider != null,
          "loadBalancing",
          "'" + policy + "'",
          "a registered load-balancing policy such as round_robin, krpc_p2c or krpc_wrr");
      NameResolver.ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(config);
      if (parsed.getError() != null) {
        throw new IllegalArgumentException(
            "loadBalancing config of "
                + policy
                + ": "
                + config
                + " ("
                + parsed.getError().getDescription()
                + ")");
      }
      this.loadBalancingPolicy = policy;
      this.loadBalancingConfig = Map.copyOf(config);
      return this;
    }

    /**
     * Ejects servers that fail well above their peers, under the chosen load-balancing policy; see
     * {@link OutlierDetection}. Default: off.
     */
    public Builder outlierDetection(OutlierDetection outlierDetection) {
      this.outlierDetection = notNull(outlierDetection, "outlierDetection");
      return this;
    }

    /** Adds user interceptors; they run inside the built-in chain, the first one outermost. */
    public Builder intercept(ClientInterceptor... interceptors) {
      for (ClientInterceptor interceptor : notNull(interceptors, "interceptors")) {
        this.interceptors.add(notNull(interceptor, "interceptor"));
      }
      return this;
    }

    /** The largest response message accepted, in bytes; default grpc-java's 4 MiB. */
    public Builder maxInboundMessageSize(int bytes) {
      this.maxInboundMessageSize = Checks.positiveBytes(bytes, "maxInboundMessageSize");
      return this;
    }

    /**
     * Where the client's {@code prpc_client_*} metrics go; default a new registry for this client
     * (see {@link KClient#meterRegistry()}), read through {@link #metricsPort} or your own scrape:
     * a {@code PrometheusMeterRegistry} when krpc-metrics-prometheus is on the classpath, else
     * Micrometer's {@code SimpleMeterRegistry}. Pass a server's {@link KServer#meterRegistry()} to
     * serve client and server metrics on one endpoint. With {@link #metricsPort} it must be a
     * {@code PrometheusMeterRegistry}.
     */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      chainOptions.meterRegistry = notNull(meterRegistry, "meterRegistry");
      return this;
    }

    /**
     * Serves the client's metrics as Prometheus text at {@code http://<host>:<port>/metrics},
     * started by {@link #build()} and stopped by {@link KClient#close()}; 0 picks a free port (see
     * {@link KClient#metricsPort()}). Default: no endpoint. Needs the artifact {@code
     * io.krpc:krpc-metrics-prometheus} on the classpath ({@link #build()} throws
     * IllegalStateException naming it otherwise).
     */
    public Builder metricsPort(int metricsPort) {
      chainOptions.metricsPort = Checks.port(metricsPort, "metricsPort");
      return this;
    }

    /**
     * HTTP/2 keepalive: after {@code time} without reading anything from a connection that has
     * calls in flight, send a PING; when no answer comes within {@code timeout}, close the
     * connection, failing its calls with UNAVAILABLE, and stop picking that server until it
     * connects again. This is what routes around a server that froze (a paused VM, SIGSTOP, a
     * half-open connection) in seconds, where TCP alone takes minutes. {@code time} >= 10 s
     * (grpc-java's floor), {@code timeout} > 0. Default 30 s and 10 s. A KServer accepts pings this
     * often by default (see {@link KServer.Builder#permitKeepAliveTime}); other servers answer
     * pings sent more often than they permit (grpc-java and grpc-go: every 5 min) with GOAWAY
     * {@code too_many_pings}.
     */
    public Builder keepAlive(Duration time, Duration timeout) {
      notNull(time, "keepAlive time");
      notNull(timeout, "keepAlive timeout");
      check(
          time.compareTo(MIN_KEEPALIVE_TIME) >= 0,
          "keepAlive time",
          time,
          ">= 10 s; grpc-java raises shorter times to 10 s");
      check(!timeout.isNegative() && !timeout.isZero(), "keepAlive timeout", timeout, "> 0");
      this.keepAliveTime = time;
      this.keepAliveTimeout = timeout;
      return this;
    }

    /** Turns keepalive off: a frozen server keeps its connection until TCP gives up. */
    public Builder noKeepAlive() {
      this.keepAliveTime = null;
      this.keepAliveTimeout = null;
      return this;
    }

    /**
     * Whether keepalive PINGs go out also while a connection has no call in flight, so an idle
     * connection to a dead server is found before the next call needs it; default false. A KServer
     * permits this by default ({@link KServer.Builder#permitKeepAliveWithoutCalls}).
     */
    public Builder keepAliveWithoutCalls(boolean enabled) {
      this.keepAliveWithoutCalls = enabled;
      return this;
    }

    /**
     * Customises the grpc-java {@link ManagedChannelBuilder} for what KRPC does not wrap (flow
     * control windows, user agent, idle timeout, ...). Runs in {@link #build()} after every KRPC
     * setting has been applied to the builder, so what it sets wins over KRPC's; repeatable, run in
     * the order given. It must not call {@code build()}.
     */
    public Builder channelCustomizer(Consumer<? super ManagedChannelBuilder<?>> customizer) {
      channelCustomizers.add(notNull(customizer, "channelCustomizer"));
      return this;
    }

    /**
     * The default deadline of calls of every method, > 0 (a call's own earlier deadline wins);
     * default none. {@link #methodPolicy} sets it per service or method.
     */
    public Builder timeout(Duration timeout) {
      notNull(timeout, "timeout");
      check(!timeout.isNegative() && !timeout.isZero(), "timeout", timeout, "> 0");
      this.timeout = timeout;
      return this;
    }

    /**
     * Retry, hedging and timeout for one gRPC service or method, replacing the client-wide {@link
     * #retry}, {@link #hedging} and {@link #timeout} for it (the most specific policy applies
     * whole, as in grpc's method config); repeatable, one policy per service or method.
     */
    public Builder methodPolicy(MethodPolicy policy) {
      methodPolicies.add(notNull(policy, "methodPolicy"));
      return this;
    }

    /** The OpenTelemetry the tracing interceptor uses; default {@code GlobalOpenTelemetry}. */
    public Builder openTelemetry(OpenTelemetry openTelemetry) {
      chainOptions.openTelemetry = notNull(openTelemetry, "openTelemetry");
      return this;
    }

    /** Whether the built-in tracing interceptor runs (outermost); default true. */
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
    public Builder credentials(ChannelCredentials credentials) {
      this.credentials = notNull(credentials, "credentials");
      return this;
    }

    /**
     * Calls over TLS, presenting a client certificate when {@code tls} has a {@link
     * ClientTls#keyManager(java.io.File, java.io.File) keyManager} (mutual TLS); the same as {@code
     * credentials(tls.toCredentials())}, and like it replaces any earlier transport setting.
     * Default: plaintext.
     */
    public Builder tls(ClientTls tls) {
      return credentials(notNull(tls, "tls").toCredentials());
    }

    /** The authority (and TLS server name) to use instead of the service name. */
    public Builder overrideAuthority(String authority) {
      notNull(authority, "overrideAuthority");
      check(!authority.isBlank(), "overrideAuthority", "'" + authority + "'", "not blank");
      this.overrideAuthority = authority;
      return this;
    }

    /**
     * Retries failed calls of every method without a {@link #methodPolicy} per {@code policy};
     * default: no retries.
     */
    public Builder retry(RetryPolicy policy) {
      this.retryPolicy = notNull(policy, "retry");
      return this;
    }

    /**
     * Client-side health checking: each connection watches {@code grpc.health.v1.Health} for {@code
     * serviceName} on its server, and the load balancer (round_robin, krpc_p2c and krpc_wrr alike)
     * sends no new call to a server that reports anything but SERVING, whether it drains ({@link
     * KServer#setServing(boolean)}) or is shutting down, before discovery even sees it go. {@code
     * ""} asks about the whole server; a KServer also answers for its KRPC service name and each
     * gRPC service. A server without the health service counts as healthy. Default: off.
     */
    public Builder healthCheck(String serviceName) {
      this.healthCheckService = notNull(serviceName, "healthCheck");
      return this;
    }

    /**
     * Runs call callbacks (responses, stream observers, interceptors' listeners) on this executor
     * instead of KRPC's default, the pool of one thread per core shared with the process's servers
     * that adds a thread when a callback blocks. Blocking stubs are not concerned: their calls
     * complete on the calling thread. The caller owns it: closing the KClient does not shut it
     * down.
     */
    public Builder executor(Executor executor) {
      this.executor = notNull(executor, "executor");
      return this;
    }

    /**
     * Hedges calls of every method without a {@link #methodPolicy} per {@code policy}; default: no
     * hedging.
     */
    public Builder hedging(HedgingPolicy policy) {
      this.hedgingPolicy = notNull(policy, "hedging");
      return this;
    }

    /**
     * Retry throttling, in force whenever retries or hedging are on, so that they cannot amplify an
     * outage: each failed call takes a token, each success gives back {@code tokenRatio}, and
     * retries stop while fewer than half of {@code maxTokens} are left. Default 100 and 0.1: about
     * 50 failures in a row stop retries, and ten successes earn back one token. (10 tokens, as some
     * examples use, stop retries after 5 failures: a crashed server under load then loses calls the
     * retry policy should have saved.)
     */
    public Builder retryThrottling(int maxTokens, double tokenRatio) {
      check(maxTokens >= 1 && maxTokens <= 1000, "retryThrottling maxTokens", maxTokens, "1..1000");
      check(
          tokenRatio > 0 && tokenRatio <= 1,
          "retryThrottling tokenRatio",
          tokenRatio,
          "> 0 and <= 1");
      this.throttlingMaxTokens = maxTokens;
      this.throttlingTokenRatio = tokenRatio;
      return this;
    }

    /** How long {@link KClient#close()} lets calls in flight finish; default 30 s. */
    public Builder closeTimeout(Duration closeTimeout) {
      this.closeTimeout = Checks.nonNegative(closeTimeout, "closeTimeout");
      return this;
    }

    /**
     * Builds the client and its channel. The channel connects lazily, on the first call.
     *
     * @throws IllegalStateException when {@code forService} was used without a registry
     */
    public KClient build() {
      InterceptorChains.checkMetricsEndpoint(chainOptions.metricsPort, chainOptions.meterRegistry);
      String target;
      if (serviceName != null) {
        if (registry == null) {
          throw new IllegalStateException(
              "registry: null (expected: a Registry to discover '"
                  + serviceName
                  + "' in; use KClient.forTarget(address) for a fixed address)");
        }
        target = KrpcNameResolverProvider.target(serviceName);
      } else {
        if (registry != null) {
          throw new IllegalStateException(
              "registry: "
                  + registry
                  + " (expected: none with "
                  + "forTarget("
                  + fixedTarget
                  + "); use forService(name) for discovery)");
        }
        // forTarget() set it: exactly one of serviceName and fixedTarget is set
        target = Objects.requireNonNull(fixedTarget, "fixedTarget");
      }
      ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, credentials);
      if (registry != null) {
        builder.setNameResolverArg(KrpcNameResolverProvider.REGISTRY, registry);
      }
      Map<String, Object> serviceConfig = new LinkedHashMap<>();
      serviceConfig.put(
          "loadBalancingConfig",
          List.of(
              outlierDetection == null
                  ? Map.of(loadBalancingPolicy, loadBalancingConfig)
                  : outlierDetection.toServiceConfig(loadBalancingPolicy, loadBalancingConfig)));
      if (retryPolicy != null && hedgingPolicy != null) {
        throw new IllegalStateException(
            "retry: "
                + retryPolicy
                + " and hedging: "
                + hedgingPolicy
                + " (expected: at most one of retry and hedging)");
      }
      List<Map<String, Object>> methodConfigs =
          MethodPolicy.methodConfigs(methodPolicies, retryPolicy, hedgingPolicy, timeout);
      if (!methodConfigs.isEmpty()) {
        serviceConfig.put("methodConfig", methodConfigs);
      }
      if (retryPolicy != null
          || hedgingPolicy != null
          || methodPolicies.stream().anyMatch(MethodPolicy::retriesOrHedges)) {
        serviceConfig.put(
            "retryThrottling",
            Map.of("maxTokens", (double) throttlingMaxTokens, "tokenRatio", throttlingTokenRatio));
        builder.enableRetry();
      }
      if (healthCheckService != null) {
        serviceConfig.put("healthCheckConfig", Map.of("serviceName", healthCheckService));
      }
      builder.defaultServiceConfig(serviceConfig);
      if (maxInboundMessageSize != null) {
        builder.maxInboundMessageSize(maxInboundMessageSize);
      }
      if (overrideAuthority != null) {
        builder.overrideAuthority(overrideAuthority);
      }
      if (keepAliveTime != null && keepAliveTimeout != null) { // set and cleared together
        builder
            .keepAliveTime(keepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
            .keepAliveTimeout(keepAliveTimeout.toNanos(), TimeUnit.NANOSECONDS)
            .keepAliveWithoutCalls(keepAliveWithoutCalls);
      }
      InterceptorChains.ChainResources resources =
          InterceptorChains.installClientChain(
              builder, serviceName != null ? serviceName : target, chainOptions, interceptors);
      Executor shared = executor == null ? DefaultExecutor.acquire() : null;
      builder.executor(executor != null ? executor : shared);
      ManagedChannel channel;
      try {
        channelCustomizers.forEach(customizer -> customizer.accept(builder));
        channel = builder.build();
      } catch (RuntimeException e) {
        if (shared != null) {
          DefaultExecutor.release(shared);
        }
        throw e;
      }
      try {
        resources.startMetricsEndpoint();
      } catch (RuntimeException e) {
        channel.shutdownNow();
        if (shared != null) {
          DefaultExecutor.release(shared);
        }
        throw e;
      }
      return new KClient(channel, target, closeTimeout, resources, shared);
    }
  }
}
