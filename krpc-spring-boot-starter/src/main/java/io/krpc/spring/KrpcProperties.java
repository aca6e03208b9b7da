package io.krpc.spring;

import io.krpc.registry.ServiceInstance;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Every {@code krpc.*} property of the starter. Each setter checks its value at once, so a bad
 * value fails start-up with Spring's binding report, which names the property and the value.
 */
@ConfigurationProperties("krpc")
public class KrpcProperties {

  /**
   * Who measures gRPC calls: {@code krpc} (KRPC's prpc_* meters and OpenTelemetry spans; Spring
   * gRPC's observation interceptors are switched off) or {@code spring} (Spring gRPC's observation
   * interceptors; KRPC installs no metrics or tracing interceptor).
   */
  private Observability observability = Observability.KRPC;

  private final Registry registry = new Registry();
  private final Server server = new Server();

  /**
   * Per-channel options, keyed by the Spring gRPC channel name (spring.grpc.client.channel.NAME).
   */
  private final Map<String, Channel> client = new LinkedHashMap<>();

  private final Governance governance = new Governance();

  public Observability getObservability() {
    return observability;
  }

  public void setObservability(Observability observability) {
    this.observability = observability;
  }

  public Registry getRegistry() {
    return registry;
  }

  public Server getServer() {
    return server;
  }

  public Map<String, Channel> getClient() {
    return client;
  }

  public Governance getGovernance() {
    return governance;
  }

  /** Who measures gRPC calls; see {@link #getObservability()}. */
  public enum Observability {
    /** KRPC's prpc_* meters and OpenTelemetry interceptors. */
    KRPC,
    /** Spring gRPC's observation interceptors. */
    SPRING
  }

  /** {@code krpc.registry.*}. */
  public static class Registry {
    private final Etcd etcd = new Etcd();

    public Etcd getEtcd() {
      return etcd;
    }
  }

  /** {@code krpc.registry.etcd.*}: with no endpoints the in-memory registry serves. */
  public static class Etcd {
    /** etcd endpoints, e.g. http://127.0.0.1:2379; none means the in-memory registry. */
    private List<String> endpoints = new ArrayList<>();

    /** How long to wait for a connection to etcd. */
    private Duration dialTimeout = Duration.ofSeconds(5);

    /** TTL of the registry's lease; an instance disappears this long after its process died. */
    private Duration leaseTtl = Duration.ofSeconds(10);

    /** Timeout of each etcd request (register, deregister, lookup). */
    private @Nullable Duration requestTimeout;

    /** Prefix of every key; an instance lives at PREFIX + service + "/" + host:port. */
    private String keyPrefix = "/krpc/services/";

    /** etcd user name (etcd authentication). */
    private @Nullable String username;

    /** etcd password (etcd authentication). */
    private @Nullable String password;

    /** PEM file of the CA certificates that sign etcd's server certificate (etcd over TLS). */
    private @Nullable Path trustCertificates;

    /** PEM certificate chain for client authentication to etcd (mTLS). */
    private @Nullable Path clientCertificate;

    /** PEM private key matching client-certificate. */
    private @Nullable Path clientKey;

    /**
     * Record formats every instance is written in, and read and merged from (Java and Go services
     * of one fleet); default krpc alone.
     */
    private List<RecordFormatName> recordFormats = new ArrayList<>(List.of(RecordFormatName.KRPC));

    /** Key prefix per record format, overriding the format's default (krpc: key-prefix). */
    private Map<RecordFormatName, String> recordFormatPrefixes = new LinkedHashMap<>();

    public List<String> getEndpoints() {
      return endpoints;
    }

    public void setEndpoints(List<String> endpoints) {
      for (String endpoint : endpoints) {
        if (endpoint == null || !endpoint.matches("(?i)https?://[^/\\s]+/?")) {
          throw new IllegalArgumentException(
              "endpoint: '" + endpoint + "' (expected: http://host:port or https://host:port)");
        }
      }
      this.endpoints = endpoints;
    }

    public Duration getDialTimeout() {
      return dialTimeout;
    }

    public void setDialTimeout(Duration dialTimeout) {
      this.dialTimeout = Checks.positive("dial-timeout", dialTimeout);
    }

    public Duration getLeaseTtl() {
      return leaseTtl;
    }

    public void setLeaseTtl(Duration leaseTtl) {
      if (leaseTtl.compareTo(Duration.ofSeconds(2)) < 0) {
        throw new IllegalArgumentException("lease-ttl: " + leaseTtl + " (expected: >= 2s)");
      }
      this.leaseTtl = leaseTtl;
    }

    public @Nullable Duration getRequestTimeout() {
      return requestTimeout;
    }

    public void setRequestTimeout(Duration requestTimeout) {
      this.requestTimeout = Checks.positive("request-timeout", requestTimeout);
    }

    public String getKeyPrefix() {
      return keyPrefix;
    }

    public void setKeyPrefix(String keyPrefix) {
      if (!keyPrefix.startsWith("/") || !keyPrefix.endsWith("/")) {
        throw new IllegalArgumentException(
            "key-prefix: '" + keyPrefix + "' (expected: starts and ends with '/')");
      }
      this.keyPrefix = keyPrefix;
    }

    public @Nullable String getUsername() {
      return username;
    }

    public void setUsername(String username) {
      this.username = username;
    }

    public @Nullable String getPassword() {
      return password;
    }

    public void setPassword(String password) {
      this.password = password;
    }

    public @Nullable Path getTrustCertificates() {
      return trustCertificates;
    }

    public void setTrustCertificates(Path trustCertificates) {
      this.trustCertificates = trustCertificates;
    }

    public @Nullable Path getClientCertificate() {
      return clientCertificate;
    }

    public void setClientCertificate(Path clientCertificate) {
      this.clientCertificate = clientCertificate;
    }

    public @Nullable Path getClientKey() {
      return clientKey;
    }

    public void setClientKey(Path clientKey) {
      this.clientKey = clientKey;
    }

    public List<RecordFormatName> getRecordFormats() {
      return recordFormats;
    }

    public void setRecordFormats(List<RecordFormatName> recordFormats) {
      if (recordFormats.isEmpty()) {
        throw new IllegalArgumentException("record-formats: [] (expected: at least one format)");
      }
      this.recordFormats = recordFormats;
    }

    public Map<RecordFormatName, String> getRecordFormatPrefixes() {
      return recordFormatPrefixes;
    }

    public void setRecordFormatPrefixes(Map<RecordFormatName, String> recordFormatPrefixes) {
      this.recordFormatPrefixes = recordFormatPrefixes;
    }
  }

  /** The etcd record formats by name; see {@code io.krpc.registry.etcd.RecordFormat}. */
  public enum RecordFormatName {
    /** KRPC for Java's own format (prefix /krpc/services/). */
    KRPC,
    /** The Go KRPC's (wsx864321/kim, prefix /kim/prpc/). */
    KRPC_GO,
    /** etcd's gRPC naming (client/v3/naming/endpoints, no prefix). */
    ETCD_NAMING,
    /** go-zero's core/discov (no prefix). */
    GO_ZERO,
    /** Kratos' contrib/registry/etcd (prefix /microservices/). */
    KRATOS
  }

  /** {@code krpc.server.*}: how the Spring gRPC server registers itself. */
  public static class Server {
    /** Whether the Spring gRPC server registers in the registry. */
    private boolean enabled = true;

    /** The service name clients discover; default: spring.application.name. */
    private @Nullable String serviceName;

    /** Weight for krpc_wrr, 1..10000. */
    private int weight = 100;

    /** Host clients reach this server at; default: the first non-loopback IPv4, else loopback. */
    private @Nullable String host;

    /** Metadata carried by the registry record. */
    private Map<String, String> metadata = new LinkedHashMap<>();

    /**
     * How long to wait on shutdown after turning NOT_SERVING and deregistering, before Spring stops
     * the server, so clients stop picking it.
     */
    private Duration deregisterDelay = Duration.ofSeconds(1);

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public @Nullable String getServiceName() {
      return serviceName;
    }

    public void setServiceName(String serviceName) {
      this.serviceName = ServiceInstance.checkServiceName(serviceName);
    }

    public int getWeight() {
      return weight;
    }

    public void setWeight(int weight) {
      this.weight = ServiceInstance.checkWeight(weight);
    }

    public @Nullable String getHost() {
      return host;
    }

    public void setHost(String host) {
      if (host.isBlank()) {
        throw new IllegalArgumentException("host: '" + host + "' (expected: a host name or IP)");
      }
      this.host = host;
    }

    public Map<String, String> getMetadata() {
      return metadata;
    }

    public void setMetadata(Map<String, String> metadata) {
      this.metadata = metadata;
    }

    public Duration getDeregisterDelay() {
      return deregisterDelay;
    }

    public void setDeregisterDelay(Duration deregisterDelay) {
      if (deregisterDelay.isNegative()) {
        throw new IllegalArgumentException(
            "deregister-delay: " + deregisterDelay + " (expected: >= 0)");
      }
      this.deregisterDelay = deregisterDelay;
    }
  }

  /**
   * {@code krpc.client.<channel>.*}: options of one Spring gRPC channel. The policy itself is
   * Spring's {@code spring.grpc.client.channel.<channel>.default-load-balancing-policy}.
   */
  public static class Channel {
    /** krpc_p2c: how fast the peak-EWMA latency decays (default 10s). */
    private @Nullable Duration decayTime;

    /** krpc_p2c: an endpoint not picked this long is forced once (default 1s). */
    private @Nullable Duration forcePickInterval;

    /** krpc_p2c and krpc_wrr: how long a new endpoint's share ramps up (default off). */
    private @Nullable Duration slowStart;

    /** Client-side health checking: the grpc.health.v1 service name to watch ("" = server). */
    private @Nullable String healthCheckService;

    private final Retry retry = new Retry();
    private final Hedging hedging = new Hedging();

    public @Nullable Duration getDecayTime() {
      return decayTime;
    }

    public void setDecayTime(Duration decayTime) {
      this.decayTime = Checks.positive("decay-time", decayTime);
    }

    public @Nullable Duration getForcePickInterval() {
      return forcePickInterval;
    }

    public void setForcePickInterval(Duration forcePickInterval) {
      this.forcePickInterval = Checks.positive("force-pick-interval", forcePickInterval);
    }

    public @Nullable Duration getSlowStart() {
      return slowStart;
    }

    public void setSlowStart(Duration slowStart) {
      if (slowStart.isNegative()) {
        throw new IllegalArgumentException("slow-start: " + slowStart + " (expected: >= 0)");
      }
      this.slowStart = slowStart;
    }

    public @Nullable String getHealthCheckService() {
      return healthCheckService;
    }

    public void setHealthCheckService(String healthCheckService) {
      this.healthCheckService = healthCheckService;
    }

    public Retry getRetry() {
      return retry;
    }

    public Hedging getHedging() {
      return hedging;
    }
  }

  /** {@code krpc.client.<channel>.retry.*}: set max-attempts to turn retries on. */
  public static class Retry {
    /** Attempts including the first, 2..5; unset means no retry policy. */
    private @Nullable Integer maxAttempts;

    /** Backoff before the first retry. */
    private Duration initialBackoff = Duration.ofMillis(100);

    /** Largest backoff. */
    private Duration maxBackoff = Duration.ofSeconds(1);

    /** Growth of the backoff per retry. */
    private double backoffMultiplier = 2.0;

    /** Status codes that are retried. */
    private List<io.grpc.Status.Code> retryableCodes =
        new ArrayList<>(List.of(io.grpc.Status.Code.UNAVAILABLE));

    public @Nullable Integer getMaxAttempts() {
      return maxAttempts;
    }

    public void setMaxAttempts(Integer maxAttempts) {
      this.maxAttempts = Checks.attempts("max-attempts", maxAttempts);
    }

    public Duration getInitialBackoff() {
      return initialBackoff;
    }

    public void setInitialBackoff(Duration initialBackoff) {
      this.initialBackoff = Checks.positive("initial-backoff", initialBackoff);
    }

    public Duration getMaxBackoff() {
      return maxBackoff;
    }

    public void setMaxBackoff(Duration maxBackoff) {
      this.maxBackoff = Checks.positive("max-backoff", maxBackoff);
    }

    public double getBackoffMultiplier() {
      return backoffMultiplier;
    }

    public void setBackoffMultiplier(double backoffMultiplier) {
      if (!(backoffMultiplier > 0) || Double.isInfinite(backoffMultiplier)) {
        throw new IllegalArgumentException(
            "backoff-multiplier: " + backoffMultiplier + " (expected: > 0 and finite)");
      }
      this.backoffMultiplier = backoffMultiplier;
    }

    public List<io.grpc.Status.Code> getRetryableCodes() {
      return retryableCodes;
    }

    public void setRetryableCodes(List<io.grpc.Status.Code> retryableCodes) {
      if (retryableCodes.isEmpty()) {
        throw new IllegalArgumentException("retryable-codes: [] (expected: at least one code)");
      }
      this.retryableCodes = retryableCodes;
    }
  }

  /** {@code krpc.client.<channel>.hedging.*}: set max-attempts to turn hedging on. */
  public static class Hedging {
    /** Copies sent at most, including the first, 2..5; unset means no hedging policy. */
    private @Nullable Integer maxAttempts;

    /** Delay between copies. */
    private Duration hedgingDelay = Duration.ofMillis(100);

    /** Status codes after which the remaining copies are still sent. */
    private List<io.grpc.Status.Code> nonFatalCodes = new ArrayList<>();

    public @Nullable Integer getMaxAttempts() {
      return maxAttempts;
    }

    public void setMaxAttempts(Integer maxAttempts) {
      this.maxAttempts = Checks.attempts("max-attempts", maxAttempts);
    }

    public Duration getHedgingDelay() {
      return hedgingDelay;
    }

    public void setHedgingDelay(Duration hedgingDelay) {
      if (hedgingDelay.isNegative()) {
        throw new IllegalArgumentException("hedging-delay: " + hedgingDelay + " (expected: >= 0)");
      }
      this.hedgingDelay = hedgingDelay;
    }

    public List<io.grpc.Status.Code> getNonFatalCodes() {
      return nonFatalCodes;
    }

    public void setNonFatalCodes(List<io.grpc.Status.Code> nonFatalCodes) {
      this.nonFatalCodes = nonFatalCodes;
    }
  }

  /** {@code krpc.governance.*}: KRPC's interceptors as Spring gRPC global interceptors. */
  public static class Governance {
    /** Whether KRPC's tracing interceptors run (when observability is krpc). */
    private boolean tracing = true;

    /** Whether KRPC's prpc_* metrics interceptors run (when observability is krpc). */
    private boolean metrics = true;

    /** Server: token bucket per full method name (package.Service/Method). */
    private final Map<String, RateLimit> rateLimit = new LinkedHashMap<>();

    private final AdaptiveLimit adaptiveLimit = new AdaptiveLimit();
    private final CircuitBreaker circuitBreaker = new CircuitBreaker();
    private final Timeout timeout = new Timeout();
    private final Throttling throttling = new Throttling();

    public boolean isTracing() {
      return tracing;
    }

    public void setTracing(boolean tracing) {
      this.tracing = tracing;
    }

    public boolean isMetrics() {
      return metrics;
    }

    public void setMetrics(boolean metrics) {
      this.metrics = metrics;
    }

    public Map<String, RateLimit> getRateLimit() {
      return rateLimit;
    }

    public AdaptiveLimit getAdaptiveLimit() {
      return adaptiveLimit;
    }

    public CircuitBreaker getCircuitBreaker() {
      return circuitBreaker;
    }

    public Timeout getTimeout() {
      return timeout;
    }

    public Throttling getThrottling() {
      return throttling;
    }
  }

  /** {@code krpc.governance.rate-limit.<method>.*}: one method's token bucket. */
  public static class RateLimit {
    /** Bucket size, the largest burst. */
    private long capacity = 100;

    /** Refill rate, the sustained calls per second. */
    private double tokensPerSecond = 100;

    /** How long a call over the limit may wait for a token. */
    private Duration maxWait = Duration.ZERO;

    public long getCapacity() {
      return capacity;
    }

    public void setCapacity(long capacity) {
      if (capacity < 1) {
        throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
      }
      this.capacity = capacity;
    }

    public double getTokensPerSecond() {
      return tokensPerSecond;
    }

    public void setTokensPerSecond(double tokensPerSecond) {
      if (!(tokensPerSecond > 0) || Double.isInfinite(tokensPerSecond)) {
        throw new IllegalArgumentException(
            "tokens-per-second: " + tokensPerSecond + " (expected: > 0 and finite)");
      }
      this.tokensPerSecond = tokensPerSecond;
    }

    public Duration getMaxWait() {
      return maxWait;
    }

    public void setMaxWait(Duration maxWait) {
      if (maxWait.isNegative()) {
        throw new IllegalArgumentException("max-wait: " + maxWait + " (expected: >= 0)");
      }
      this.maxWait = maxWait;
    }
  }

  /** {@code krpc.governance.adaptive-limit.*}: BBR-style load shedding on the server. */
  public static class AdaptiveLimit {
    /** Whether the server sheds load when overloaded. */
    private boolean enabled;

    /** CPU usage (0..1) above which shedding may start. */
    private double cpuThreshold = 0.8;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public double getCpuThreshold() {
      return cpuThreshold;
    }

    public void setCpuThreshold(double cpuThreshold) {
      if (!(cpuThreshold > 0 && cpuThreshold <= 1)) {
        throw new IllegalArgumentException(
            "cpu-threshold: " + cpuThreshold + " (expected: > 0 and <= 1)");
      }
      this.cpuThreshold = cpuThreshold;
    }
  }

  /**
   * {@code krpc.governance.circuit-breaker.*}: one breaker per target service (gobreaker rules).
   */
  public static class CircuitBreaker {
    /** Whether client calls go through a circuit breaker per target service. */
    private boolean enabled;

    /** Trial calls allowed in half-open. */
    private int maxRequests = 1;

    /** The closed state's counting window; 0 means no time limit. */
    private Duration interval = Duration.ZERO;

    /** How long the breaker stays open. */
    private Duration timeout = Duration.ofSeconds(60);

    /** One breaker per full method name instead of one per target. */
    private boolean perMethod;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public int getMaxRequests() {
      return maxRequests;
    }

    public void setMaxRequests(int maxRequests) {
      if (maxRequests < 0) {
        throw new IllegalArgumentException("max-requests: " + maxRequests + " (expected: >= 0)");
      }
      this.maxRequests = maxRequests;
    }

    public Duration getInterval() {
      return interval;
    }

    public void setInterval(Duration interval) {
      if (interval.isNegative()) {
        throw new IllegalArgumentException("interval: " + interval + " (expected: >= 0)");
      }
      this.interval = interval;
    }

    public Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(Duration timeout) {
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("timeout: " + timeout + " (expected: >= 0)");
      }
      this.timeout = timeout;
    }

    public boolean isPerMethod() {
      return perMethod;
    }

    public void setPerMethod(boolean perMethod) {
      this.perMethod = perMethod;
    }
  }

  /** {@code krpc.governance.timeout.*}: a default deadline and a slow-call log on the client. */
  public static class Timeout {
    /** Deadline given to calls that have none; unset means none. */
    private @Nullable Duration defaultDeadline;

    /** Calls slower than this are logged at WARN; unset means no slow-call log. */
    private @Nullable Duration slowThreshold;

    public @Nullable Duration getDefaultDeadline() {
      return defaultDeadline;
    }

    public void setDefaultDeadline(Duration defaultDeadline) {
      this.defaultDeadline = Checks.positive("default-deadline", defaultDeadline);
    }

    public @Nullable Duration getSlowThreshold() {
      return slowThreshold;
    }

    public void setSlowThreshold(Duration slowThreshold) {
      this.slowThreshold = Checks.positive("slow-threshold", slowThreshold);
    }
  }

  /** {@code krpc.governance.throttling.*}: client-side adaptive throttling (Google SRE). */
  public static class Throttling {
    /** Whether the client refuses calls locally while the servers reject many. */
    private boolean enabled;

    /** Multiple of the accepted calls the client may send; lower is more aggressive. */
    private double k = 2.0;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public double getK() {
      return k;
    }

    public void setK(double k) {
      if (!(k >= 1) || Double.isInfinite(k)) {
        throw new IllegalArgumentException("k: " + k + " (expected: >= 1 and finite)");
      }
      this.k = k;
    }
  }
}
