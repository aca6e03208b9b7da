package io.krpc.registry.etcd;

import static io.krpc.common.Checks.noNullElements;
import static io.krpc.common.Checks.notNull;

import com.google.errorprone.annotations.ThreadSafe;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.internal.EtcdRegistryCore;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Registry} on etcd v3: servers register under a lease that is kept alive and restored
 * after any etcd failure; clients list and watch with a shared cache per service.
 *
 * <pre>{@code
 * Registry registry =
 *     EtcdRegistry.builder()
 *         .endpoints("http://127.0.0.1:2379")
 *         .dialTimeout(Duration.ofSeconds(5))
 *         .leaseTtl(Duration.ofSeconds(10))
 *         .build();
 * }</pre>
 *
 * <h2>Records</h2>
 *
 * An instance lives under the key {@code <keyPrefix><service>/<host>:<port>} (IPv6 hosts in
 * brackets) with the UTF-8 JSON value {@code
 * {"version":1,"host":"10.0.0.5","port":9001,"weight":100,"metadata":{"zone":"a"}}}. Values that do
 * not parse, have wrong types, an empty host, a port outside 1..65535, a weight outside 1..10000 or
 * an unknown version are skipped with one WARN per key and revision.
 *
 * <h2>Go fleets</h2>
 *
 * With {@link Builder#recordFormats}, every instance is also written (on the same lease) in the
 * formats of Go registries, and discovery reads and merges them all: see {@link RecordFormat}.
 *
 * <h2>Registration</h2>
 *
 * One lease per registry, kept alive every TTL/3; every instance is put under it, all of them in
 * one transaction when they are restored. When the lease may be lost (a failed keep-alive, etcd
 * restarted, wiped or unreachable, a key deleted by someone else) the registry grants a new lease
 * if needed and puts every instance again, retrying with capped exponential backoff (100 ms to 1 s)
 * for as long as it is open. {@link #register} returns once the key is written; {@link #close()}
 * revokes the lease.
 *
 * <h2>Discovery</h2>
 *
 * One cache per watched service, shared by all its listeners: a paged list at one revision, then a
 * watch from the next revision. All watches of a registry share one etcd watch stream (etcd's Watch
 * RPC multiplexes them), which carries require-leader and is checked by progress requests; a broken
 * stream resumes every watch where it was. After a compaction, a refused watch or an outage the
 * service is listed again (after an outage from the local member, after a random delay). While etcd
 * does not answer, listeners get {@link Listener#onError} once and keep the last snapshot; they
 * never get an empty list because of an outage. Snapshots are coalesced: at most one per service
 * per {@link Builder#coalesce} interval.
 *
 * <p>Thread-safe; see {@link Registry} for which calls block.
 */
@ThreadSafe
public final class EtcdRegistry implements Registry {

  private final EtcdRegistryCore core;

  private EtcdRegistry(Builder builder, @Nullable SslContext sslContext) {
    List<String> endpoints = List.copyOf(builder.endpoints);
    Duration dialTimeout = builder.dialTimeout;
    String username = builder.username;
    String password = builder.password;
    int maxInbound = builder.maxInboundMessageSize;
    this.core =
        EtcdRegistryCore.create(
            new EtcdRegistryCore.Config(
                order -> {
                  ClientBuilder client =
                      Client.builder()
                          .endpoints(order.toArray(String[]::new))
                          .connectTimeout(dialTimeout)
                          .waitForReady(false)
                          .maxInboundMessageSize(maxInbound)
                          // KRPC retries everything itself; jetcd's own retries only delay noticing
                          // an outage
                          .retryMaxAttempts(0);
                  if (username != null) {
                    client
                        .user(ByteSequence.from(username, StandardCharsets.UTF_8))
                        .password(ByteSequence.from(password, StandardCharsets.UTF_8));
                  }
                  if (sslContext != null) {
                    client.sslContext(sslContext);
                  }
                  return client.build();
                },
                builder.shareConnection ? builder.connectionKey() : null,
                endpoints,
                sslContext,
                username,
                password,
                dialTimeout,
                builder.keyPrefix,
                builder.resolvedFormats(),
                builder.leaseTtl,
                builder.requestTimeout,
                maxInbound,
                builder.pageLimit,
                builder.coalesce,
                builder.watchProgressInterval));
  }

  /** Starts a builder; {@link Builder#endpoints(String...)} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Blocks until etcd has stored the key, at most the request timeout.
   */
  @Override
  public void register(ServiceInstance instance) {
    core.register(notNull(instance, "instance"));
  }

  @Override
  public void deregister(ServiceInstance instance) {
    core.deregister(notNull(instance, "instance"));
  }

  @Override
  public Watch watch(String serviceName, Listener listener) {
    ServiceInstance.checkServiceName(serviceName);
    return core.watch(serviceName, notNull(listener, "listener"));
  }

  /**
   * The lease this registry's instances live under, as etcd last confirmed it (granted or kept
   * alive, every TTL/3); null while none is held: before the first {@link #register}, after etcd
   * lost it until a new one is granted, after {@link #close}. For monitoring (the Spring Boot
   * starter's {@code /actuator/krpc} shows it); any thread, never blocks.
   */
  public @Nullable LeaseInfo leaseInfo() {
    var lease = core.lease();
    return lease == null
        ? null
        : new LeaseInfo(
            lease.leaseId(),
            Duration.ofSeconds(lease.ttlSeconds()),
            Duration.ofNanos(lease.sinceConfirmedNanos()));
  }

  /**
   * A snapshot of the registry's lease.
   *
   * @param id the etcd lease id (etcdctl shows it in hex: {@link #idHex()})
   * @param ttl the TTL etcd reported when it last confirmed the lease
   * @param sinceKeepAlive the time since that confirmation
   */
  public record LeaseInfo(long id, Duration ttl, Duration sinceKeepAlive) {
    /** The lease id in hex, as etcdctl and KRPC's log show it. */
    public String idHex() {
      return Long.toHexString(id);
    }

    /** When etcd lets the lease expire unless it is kept alive again; zero once past. */
    public Duration expiresIn() {
      Duration left = ttl.minus(sinceKeepAlive);
      return left.isNegative() ? Duration.ZERO : left;
    }
  }

  @Override
  public List<ServiceInstance> lookup(String serviceName) {
    return core.lookup(ServiceInstance.checkServiceName(serviceName));
  }

  /** Cancels every watch and revokes the lease, so every registered instance disappears at once. */
  @Override
  public void close() {
    core.close(true);
  }

  /** Test hook: how this registry reaches etcd (see {@code EtcdRegistryCore.connectionInfo}). */
  String connectionInfo() {
    return core.connectionInfo();
  }

  /** Test hook: the watch streams this registry opened so far. */
  int watchStreamsOpened() {
    return core.watchStreamsOpened();
  }

  /** Test hook: stops like a crashed process, leaving the lease to expire. */
  void closeWithoutRevoking() {
    core.close(false);
  }

  /** Builder of {@link EtcdRegistry}; each setter validates its argument at once. */
  public static final class Builder {
    private final List<String> endpoints = new ArrayList<>();
    private Duration dialTimeout = Duration.ofSeconds(5);
    private Duration leaseTtl = Duration.ofSeconds(10);
    private Duration requestTimeout = Duration.ofSeconds(5);
    private String keyPrefix = "/krpc/services/";
    private boolean keyPrefixSet;
    private List<RecordFormat> recordFormats = List.of(RecordFormat.KRPC);
    private @Nullable String username;
    private @Nullable String password;
    private @Nullable Path trustCertificates;
    private @Nullable Path clientCertificate;
    private @Nullable Path clientKey;
    private int maxInboundMessageSize = 16 << 20;
    private int pageLimit = 1000;
    private Duration coalesce = Duration.ofMillis(20);
    private Duration watchProgressInterval = Duration.ofSeconds(5);
    private boolean shareConnection = true;

    private Builder() {}

    /**
     * The etcd client URLs, {@code http://host:port} or {@code https://host:port}; required. A URL
     * without a scheme gets {@code http://}. Replaces earlier calls.
     */
    public Builder endpoints(String... endpoints) {
      notNull(endpoints, "endpoints");
      return endpoints(Arrays.asList(endpoints));
    }

    /** Same as {@link #endpoints(String...)}. */
    public Builder endpoints(List<String> endpoints) {
      notNull(endpoints, "endpoints");
      if (endpoints.isEmpty()) {
        throw new IllegalArgumentException("endpoints: [] (expected: at least one)");
      }
      List<String> checked = new ArrayList<>();
      for (String endpoint : noNullElements(endpoints, "endpoints")) {
        checked.add(checkEndpoint(endpoint));
      }
      this.endpoints.clear();
      this.endpoints.addAll(checked);
      return this;
    }

    /** How long to wait for a TCP connection to an etcd member; default 5 s. */
    public Builder dialTimeout(Duration dialTimeout) {
      this.dialTimeout = positive(dialTimeout, "dialTimeout");
      return this;
    }

    /**
     * The lease TTL: how long a crashed server stays discoverable; default 10 s. Rounded up to
     * whole seconds; etcd raises values below its minimum (about 2 s by default).
     */
    public Builder leaseTtl(Duration leaseTtl) {
      notNull(leaseTtl, "leaseTtl");
      if (leaseTtl.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("leaseTtl: " + leaseTtl + " (expected: >= PT1S)");
      }
      this.leaseTtl = leaseTtl;
      return this;
    }

    /**
     * The bound of each blocking call ({@code register}, {@code deregister}, {@code lookup}, the
     * lease revocation in {@code close}); default 5 s.
     */
    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = positive(requestTimeout, "requestTimeout");
      return this;
    }

    /**
     * The largest etcd response accepted, in bytes; default 16 MiB (grpc-java's default is 4 MiB).
     * Lists are paged ({@link #pageLimit}), so this bounds one page or one watch event batch, not a
     * service. A response over it is reported to watch listeners as what it is, not as an outage.
     */
    public Builder maxInboundMessageSize(int bytes) {
      if (bytes < 64 << 10) {
        throw new IllegalArgumentException(
            "maxInboundMessageSize: " + bytes + " (expected: >= 65536)");
      }
      this.maxInboundMessageSize = bytes;
      return this;
    }

    /**
     * The most keys one list response carries; default 1000. Services larger than that are listed
     * in several pages, all read at the revision of the first, so the snapshot is consistent and
     * the watch continues from it.
     */
    public Builder pageLimit(int keys) {
      if (keys < 1 || keys > 100_000) {
        throw new IllegalArgumentException("pageLimit: " + keys + " (expected: 1..100000)");
      }
      this.pageLimit = keys;
      return this;
    }

    /**
     * The least time between two snapshots of one service to its listeners; default 20 ms. The
     * first change after a quiet period is delivered at once; a burst (a rolling restart) reaches
     * listeners as one snapshot per interval. {@code Duration.ZERO} delivers every change. A change
     * that follows a delivery within the interval waits for the interval's end: in the scale
     * benchmark's rolling restart (the next instance goes down as the previous one comes back) 50
     * ms put the median "instance gone" at 51 ms, 20 ms at 23 ms; a larger interval suits services
     * of many thousand instances, whose every snapshot is a large copy.
     */
    public Builder coalesce(Duration interval) {
      notNull(interval, "coalesce");
      if (interval.isNegative() || interval.compareTo(Duration.ofSeconds(10)) > 0) {
        throw new IllegalArgumentException("coalesce: " + interval + " (expected: 0..PT10S)");
      }
      this.coalesce = interval;
      return this;
    }

    /**
     * How often the watch stream asks etcd for progress (±20 % jitter); default 5 s. A stream that
     * answered nothing since the previous request is declared dead and every watch resumes on a new
     * one, so a silent stream is found within two intervals.
     */
    public Builder watchProgressInterval(Duration interval) {
      this.watchProgressInterval = positive(interval, "watchProgressInterval");
      return this;
    }

    /**
     * Whether this registry shares its connection to etcd with the other registries of this JVM
     * that have the same endpoints, credentials, TLS files, dial timeout and message limit; default
     * true. Each registry keeps its own lease, watch stream and state, and closing one leaves the
     * others running; what is shared is jetcd's channel (an HTTP/2 connection to each member; etcd
     * keeps about 150 KB of Go heap per connection, more than a registry's watch stream and watches
     * together) and the liveness probe. {@code false} gives the registry a connection of its own,
     * which a failure or replacement of another registry's connection cannot touch.
     */
    public Builder shareConnection(boolean share) {
      this.shareConnection = share;
      return this;
    }

    /** What identifies a connection that registries may share. */
    private Object connectionKey() {
      return List.of(
          new TreeSet<>(endpoints).toString(),
          String.valueOf(username),
          String.valueOf(password),
          String.valueOf(trustCertificates),
          String.valueOf(clientCertificate),
          String.valueOf(clientKey),
          dialTimeout.toString(),
          String.valueOf(maxInboundMessageSize));
    }

    /**
     * The key prefix of all records; starts and ends with {@code /}; default {@code
     * /krpc/services/}.
     */
    public Builder keyPrefix(String keyPrefix) {
      notNull(keyPrefix, "keyPrefix");
      if (keyPrefix.length() < 2
          || !keyPrefix.startsWith("/")
          || !keyPrefix.endsWith("/")
          || keyPrefix.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(
            "keyPrefix: '"
                + keyPrefix
                + "' (expected: starts and ends with '/', no whitespace, e.g. /krpc/services/)");
      }
      this.keyPrefix = keyPrefix;
      this.keyPrefixSet = true;
      return this;
    }

    /**
     * The record formats every instance is written in, and read and merged from; default {@link
     * RecordFormat#KRPC} alone. List {@code KRPC} too unless the registry should write only Go
     * records. The {@code KRPC} format takes its prefix from {@link #keyPrefix} unless given one
     * with {@link RecordFormat#withKeyPrefix}. Replaces earlier calls.
     */
    public Builder recordFormats(RecordFormat... formats) {
      notNull(formats, "recordFormats");
      if (formats.length == 0) {
        throw new IllegalArgumentException("recordFormats: [] (expected: at least one)");
      }
      List<RecordFormat> list = new ArrayList<>();
      for (RecordFormat format : noNullElements("recordFormats", formats)) {
        for (RecordFormat other : list) {
          if (other.getClass() == format.getClass()
              && other.keyPrefix().equals(format.keyPrefix())) {
            throw new IllegalArgumentException(
                "recordFormats: "
                    + Arrays.toString(formats)
                    + " (expected: each format once; "
                    + format
                    + " is listed twice)");
          }
        }
        list.add(format);
      }
      this.recordFormats = List.copyOf(list);
      return this;
    }

    /** The etcd user, for etcd with authentication enabled; default none. Needs a password. */
    public Builder username(String username) {
      notNull(username, "username");
      if (username.isEmpty()) {
        throw new IllegalArgumentException("username: '' (expected: not empty)");
      }
      this.username = username;
      return this;
    }

    /** The etcd user's password; default none. Needs a {@link #username}. */
    public Builder password(String password) {
      this.password = notNull(password, "password");
      return this;
    }

    /** PEM file of the CAs that sign etcd's certificate; default: the JVM's trust store. */
    public Builder trustCertificates(Path caFile) {
      this.trustCertificates = readable(caFile, "trustCertificates");
      return this;
    }

    /** PEM files of the client certificate chain and its PKCS#8 private key, for mutual TLS. */
    public Builder clientCertificate(Path certificateChainFile, Path privateKeyFile) {
      this.clientCertificate = readable(certificateChainFile, "clientCertificate");
      this.clientKey = readable(privateKeyFile, "clientCertificate key");
      return this;
    }

    /**
     * Builds the registry. Does not contact etcd: a wrong address or password shows up as a {@code
     * RegistryException} from the first {@code register} or {@code lookup}, and as {@code onError}
     * on watches.
     *
     * @throws IllegalStateException when options do not fit together
     */
    public EtcdRegistry build() {
      if (endpoints.isEmpty()) {
        throw new IllegalStateException("endpoints: not set (expected: at least one etcd URL)");
      }
      if ((username == null) != (password == null)) {
        throw new IllegalStateException(
            "username and password: only "
                + (username == null ? "password" : "username")
                + " is set (expected: both or neither)");
      }
      long https = endpoints.stream().filter(e -> e.startsWith("https://")).count();
      if (https != 0 && https != endpoints.size()) {
        throw new IllegalStateException(
            "endpoints: " + endpoints + " (expected: all http:// or all https://)");
      }
      boolean tlsFiles = trustCertificates != null || clientCertificate != null;
      if (tlsFiles && https == 0) {
        throw new IllegalStateException(
            "trustCertificates/clientCertificate: set, but endpoints "
                + endpoints
                + " use http:// (expected: https:// endpoints)");
      }
      checkFormatsApart(resolvedFormats());
      return new EtcdRegistry(this, https > 0 ? sslContext() : null);
    }

    /** The formats, with KRPC's under {@link #keyPrefix} unless it was given its own prefix. */
    List<RecordFormat> resolvedFormats() {
      List<RecordFormat> resolved = new ArrayList<>();
      for (RecordFormat format : recordFormats) {
        boolean defaultKrpc =
            format.isKrpc() && format.keyPrefix().equals(RecordFormat.KRPC.keyPrefix());
        resolved.add(defaultKrpc && keyPrefixSet ? format.withKeyPrefix(keyPrefix) : format);
      }
      return resolved;
    }

    /**
     * Refuses formats whose keys of one service could share a prefix: each would write its own
     * shape where another's readers look (a go-zero value under etcd naming's target, say), and Go
     * readers crash or drop the whole list on a key or value of another shape.
     */
    private static void checkFormatsApart(List<RecordFormat> formats) {
      for (RecordFormat format : formats) {
        for (RecordFormat go : List.of(RecordFormat.KRPC_GO, RecordFormat.KRATOS)) {
          if (format.isKrpc() && format.keyPrefix().startsWith(go.keyPrefix())) {
            throw new IllegalStateException(
                "keyPrefix: '"
                    + format.keyPrefix()
                    + "' lies under "
                    + go
                    + "'s default prefix, where Go readers fail on KRPC's keys (expected: "
                    + "another prefix, e.g. /krpc/services/)");
          }
        }
      }
      for (int i = 0; i < formats.size(); i++) {
        for (int j = 0; j < formats.size(); j++) {
          String a = formats.get(i).keyPrefix();
          String b = formats.get(j).keyPrefix();
          if (i == j || !b.startsWith(a) || (a.equals(b) && i > j)) {
            continue;
          }
          String rest = b.substring(a.length());
          int slash = rest.indexOf('/');
          boolean clash = a.equals(b) || (slash > 0 && isServiceName(rest.substring(0, slash)));
          if (clash) {
            throw new IllegalStateException(
                "recordFormats: "
                    + formats.get(i)
                    + " and "
                    + formats.get(j)
                    + " would write under the same keys (expected: key prefixes "
                    + "apart, e.g. RecordFormat.GO_ZERO.withKeyPrefix(\"/rpc/\"))");
          }
        }
      }
    }

    private static boolean isServiceName(String s) {
      try {
        ServiceInstance.checkServiceName(s);
        return true;
      } catch (IllegalArgumentException e) {
        return false;
      }
    }

    private SslContext sslContext() {
      try {
        SslContextBuilder ssl = GrpcSslContexts.forClient();
        if (trustCertificates != null) {
          ssl.trustManager(trustCertificates.toFile());
        }
        if (clientCertificate != null) {
          ssl.keyManager(
              clientCertificate.toFile(),
              Objects.requireNonNull(clientKey, "clientKey: null (expected: not null)")
                  .toFile()); // set with the chain
        }
        return ssl.build();
      } catch (IOException | RuntimeException e) {
        throw new IllegalStateException(
            "TLS: cannot load trustCertificates "
                + trustCertificates
                + " / clientCertificate "
                + clientCertificate
                + ": "
                + e.getMessage(),
            e);
      }
    }

    private static String checkEndpoint(String endpoint) {
      String url = endpoint.contains("://") ? endpoint.trim() : "http://" + endpoint.trim();
      try {
        URI uri = URI.create(url);
        if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
            && uri.getHost() != null
            && uri.getPort() > 0
            && (uri.getPath() == null || uri.getPath().isEmpty() || "/".equals(uri.getPath()))) {
          return uri.getScheme() + "://" + uri.getHost() + ":" + uri.getPort();
        }
      } catch (IllegalArgumentException e) {
        // reported below
      }
      throw new IllegalArgumentException(
          "endpoints: '" + endpoint + "' (expected: http://host:port or https://host:port)");
    }

    private static Duration positive(Duration value, String name) {
      notNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      return value;
    }

    private static Path readable(Path file, String name) {
      notNull(file, name);
      if (!Files.isReadable(file) || Files.isDirectory(file)) {
        throw new IllegalArgumentException(name + ": " + file + " (expected: a readable file)");
      }
      return file;
    }
  }
}
