package io.krpc.registry.etcd;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.krpc.resolver.RegistryNameResolver;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Resolves {@code etcd://host:port[,host:port...]/<service>} targets: a plain grpc-java channel
 * gets KRPC discovery with no other code. Registered through {@link java.util.ServiceLoader}.
 *
 * <p>{@code
 * ManagedChannel channel = ManagedChannelBuilder.forTarget("etcd://127.0.0.1:2379/greeter")
 *     .defaultLoadBalancingPolicy("round_robin").usePlaintext().build();
 * }
 *
 * <p>Each resolver creates its own {@link EtcdRegistry} on the endpoints of the authority
 * ({@code http://}; default {@code 127.0.0.1:2379} when the authority is empty) with the default
 * settings, and closes it when the channel shuts the resolver down. For TLS, credentials or other
 * settings, build an {@code EtcdRegistry} yourself and use {@code KClient.forService(..).registry(..)}.
 */
public final class EtcdNameResolverProvider extends NameResolverProvider {

  /** The URI scheme, {@value}. */
  public static final String SCHEME = "etcd";

  /** Public for {@link java.util.ServiceLoader}. */
  public EtcdNameResolverProvider() {}

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    String path = targetUri.getPath();
    if (path == null || path.length() < 2 || path.indexOf('/', 1) >= 0) {
      throw new IllegalArgumentException("target: '" + targetUri
          + "' (expected: etcd://host:port[,host:port...]/<service-name>)");
    }
    String serviceName = path.substring(1);
    EtcdRegistry registry = EtcdRegistry.builder().endpoints(endpoints(targetUri)).build();
    return RegistryNameResolver.create(registry, serviceName, args, true);
  }

  static List<String> endpoints(URI targetUri) {
    String authority = targetUri.getRawAuthority();
    List<String> endpoints = new ArrayList<>();
    if (authority == null || authority.isEmpty()) {
      endpoints.add("http://127.0.0.1:2379");
      return endpoints;
    }
    for (String hostPort : authority.split(",")) {
      if (hostPort.isBlank()) {
        throw new IllegalArgumentException("target: '" + targetUri
            + "' has an empty endpoint (expected: etcd://host:port[,host:port...]/<service-name>)");
      }
      endpoints.add("http://" + hostPort.trim());
    }
    return endpoints;
  }

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
