package io.krpc.registry.etcd;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.krpc.common.DaemonThreads;
import io.krpc.resolver.KrpcNameResolverProvider;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * Resolves {@code etcd://} targets: a plain grpc-java channel gets KRPC discovery with no other
 * code. Registered through {@link java.util.ServiceLoader}.
 *
 * <pre>{@code
 * ManagedChannel channel =
 *     ManagedChannelBuilder.forTarget("etcd://127.0.0.1:2379/greeter")
 *         .defaultLoadBalancingPolicy("round_robin")
 *         .usePlaintext()
 *         .build();
 * }</pre>
 *
 * <p>Target forms:
 *
 * <ul>
 *   <li>{@code etcd://host:port/<service>}: one etcd endpoint;
 *   <li>{@code etcd:///host:port,host:port/<service>}: several endpoints, as the first path
 *       segment. Use this form with grpc-java 1.85 and later, whose RFC 3986 target parser ({@code
 *       GRPC_ENABLE_RFC3986_URIS}, on by default) rejects a comma-separated list of {@code
 *       host:port} in the authority;
 *   <li>{@code etcd://host:port,host:port/<service>}: the same list in the authority, accepted when
 *       grpc-java parses targets with {@code java.net.URI} ({@code
 *       GRPC_ENABLE_RFC3986_URIS=false});
 *   <li>{@code etcd:///<service>}: etcd at {@code 127.0.0.1:2379}.
 * </ul>
 *
 * A host without a port gets 2379; endpoints use {@code http://}.
 *
 * <p>Go fleets: the query parameter {@code formats} lists the {@link RecordFormat}s to read and
 * merge, by name, each optionally followed by {@code :} and its key prefix, for example {@code
 * etcd://127.0.0.1:2379/greeter?formats=KRPC,KRPC_GO,GO_ZERO:/rpc/}. Default: {@code KRPC}.
 *
 * <p>Each resolver creates its own {@link EtcdRegistry} with the default settings and closes it
 * when the channel shuts the resolver down. For TLS, credentials or other settings, build an {@code
 * EtcdRegistry} yourself and use {@code KClient.forService(..).registry(..)}.
 */
public final class EtcdNameResolverProvider extends NameResolverProvider {

  /** The etcd client port used when a target names a host without one. */
  static final int DEFAULT_PORT = 2379;

  /** The URI scheme, {@value}. */
  public static final String SCHEME = "etcd";

  /** Public for {@link java.util.ServiceLoader}. */
  public EtcdNameResolverProvider() {}

  @Override
  public @Nullable NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    Target target = parse(targetUri);
    EtcdRegistry registry =
        EtcdRegistry.builder()
            .endpoints(target.endpoints)
            .recordFormats(target.formats.toArray(RecordFormat[]::new))
            .build();
    NameResolver delegate =
        KrpcNameResolverProvider.newResolver(registry, target.serviceName, args);
    Executor offload = args.getOffloadExecutor();
    return new NameResolver() {
      @Override
      public String getServiceAuthority() {
        return delegate.getServiceAuthority();
      }

      @Override
      public void start(Listener2 listener) {
        delegate.start(listener);
      }

      @Override
      public void refresh() {
        delegate.refresh();
      }

      @Override
      public void shutdown() {
        delegate.shutdown();
        // closing may wait for etcd: never on the channel's SynchronizationContext
        Runnable close = registry::close;
        if (offload != null) {
          offload.execute(close);
        } else {
          DaemonThreads.newThread(close, "krpc-etcd-resolver-close").start();
        }
      }
    };
  }

  /** The endpoints and service of a target; see the class javadoc for the accepted forms. */
  static Target parse(URI targetUri) {
    String path = targetUri.getPath() == null ? "" : targetUri.getPath();
    String[] segments = path.startsWith("/") ? path.substring(1).split("/", -1) : new String[0];
    String authority = targetUri.getAuthority();
    String endpointList;
    String service;
    if (segments.length == 1 && !segments[0].isEmpty()) {
      endpointList = authority;
      service = segments[0];
    } else if (segments.length == 2
        && (authority == null || authority.isEmpty())
        && !segments[0].isEmpty()
        && !segments[1].isEmpty()) {
      endpointList = segments[0];
      service = segments[1];
    } else {
      throw new IllegalArgumentException(
          "target: '"
              + targetUri
              + "' (expected: "
              + "etcd://host:port/<service> or etcd:///host:port,host:port/<service>)");
    }
    List<String> endpoints = new ArrayList<>();
    if (endpointList == null || endpointList.isEmpty()) {
      endpoints.add("http://127.0.0.1:" + DEFAULT_PORT);
    } else {
      for (String hostPort : endpointList.split(",")) {
        String trimmed = hostPort.trim();
        if (trimmed.isEmpty()) {
          throw new IllegalArgumentException(
              "target: '" + targetUri + "' has an empty endpoint (expected: host:port,host:port)");
        }
        boolean hasPort =
            trimmed.startsWith("[") ? trimmed.contains("]:") : trimmed.indexOf(':') >= 0;
        endpoints.add("http://" + trimmed + (hasPort ? "" : ":" + DEFAULT_PORT));
      }
    }
    return new Target(List.copyOf(endpoints), service, formats(targetUri));
  }

  private static List<RecordFormat> formats(URI targetUri) {
    String query = targetUri.getQuery();
    if (query == null || query.isEmpty()) {
      return List.of(RecordFormat.KRPC);
    }
    List<RecordFormat> formats = new ArrayList<>();
    for (String parameter : query.split("&")) {
      if (!parameter.startsWith("formats=")) {
        throw new IllegalArgumentException(
            "target: '"
                + targetUri
                + "' has the query parameter '"
                + parameter
                + "' (expected: only formats=NAME[:prefix],...)");
      }
      for (String item : parameter.substring("formats=".length()).split(",")) {
        int colon = item.indexOf(':');
        String name = (colon < 0 ? item : item.substring(0, colon)).trim();
        RecordFormat format =
            switch (name.toUpperCase(java.util.Locale.ROOT)) {
              case "KRPC" -> RecordFormat.KRPC;
              case "KRPC_GO" -> RecordFormat.KRPC_GO;
              case "ETCD_NAMING" -> RecordFormat.ETCD_NAMING;
              case "GO_ZERO" -> RecordFormat.GO_ZERO;
              case "KRATOS" -> RecordFormat.KRATOS;
              default ->
                  throw new IllegalArgumentException(
                      "target: '"
                          + targetUri
                          + "' names the format '"
                          + name
                          + "' (expected: KRPC, KRPC_GO, ETCD_NAMING, GO_ZERO or KRATOS)");
            };
        formats.add(colon < 0 ? format : format.withKeyPrefix(item.substring(colon + 1)));
      }
    }
    return List.copyOf(formats);
  }

  /** A parsed target. */
  record Target(List<String> endpoints, String serviceName, List<RecordFormat> formats) {}

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 4; // below dns (5): never the default scheme of a channel
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }
}
