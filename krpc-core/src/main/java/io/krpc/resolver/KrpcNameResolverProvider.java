package io.krpc.resolver;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.krpc.registry.Registry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Resolves {@code krpc:///<service>} targets through the {@link Registry} handed to the channel
 * with {@link io.grpc.ManagedChannelBuilder#setNameResolverArg}; registered through {@link
 * java.util.ServiceLoader}. There is no process-wide registry: each channel names its own.
 *
 * <pre>{@code
 * ManagedChannel channel =
 *     Grpc.newChannelBuilder("krpc:///greeter", InsecureChannelCredentials.create())
 *         .setNameResolverArg(KrpcNameResolverProvider.REGISTRY, registry)
 *         .build();
 * }</pre>
 *
 * <p>{@code KClient.forService("greeter").registry(registry)} does exactly this.
 */
public final class KrpcNameResolverProvider extends NameResolverProvider {

  /** The URI scheme, {@value}. */
  public static final String SCHEME = "krpc";

  /** The channel argument that carries the registry to resolve through. */
  public static final NameResolver.Args.Key<Registry> REGISTRY =
      NameResolver.Args.Key.create("io.krpc.registry");

  /** Public for {@link java.util.ServiceLoader}. */
  public KrpcNameResolverProvider() {}

  /** The target URI of {@code serviceName}: {@code krpc:///<serviceName>}. */
  public static String target(String serviceName) {
    return SCHEME + ":///" + serviceName;
  }

  @Override
  public @Nullable NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    String path = targetUri.getPath();
    if (path == null || path.length() < 2 || path.indexOf('/', 1) >= 0) {
      throw new IllegalArgumentException(
          "target: '" + targetUri + "' (expected: krpc:///<service-name>)");
    }
    Registry registry = args.getArg(REGISTRY);
    if (registry == null) {
      throw new IllegalArgumentException(
          "target '"
              + targetUri
              + "' needs a registry: call "
              + "ManagedChannelBuilder.setNameResolverArg(KrpcNameResolverProvider.REGISTRY, registry)");
    }
    return newResolver(registry, path.substring(1), args);
  }

  /**
   * Returns a resolver that follows {@code serviceName} through {@code registry}'s watch: the one
   * resolver behind every KRPC scheme ({@code krpc://}, {@code etcd://}), for a registry's own
   * scheme to return. Its {@code shutdown()} cancels the watch and leaves the registry open: the
   * caller owns the registry.
   */
  public static NameResolver newResolver(
      Registry registry, String serviceName, NameResolver.Args args) {
    return new RegistryNameResolver(registry, serviceName, args);
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
