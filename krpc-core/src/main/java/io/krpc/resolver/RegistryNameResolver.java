package io.krpc.resolver;

import static java.util.Objects.requireNonNull;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import io.krpc.loadbalance.EndpointAttributes;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link NameResolver} that follows one service of a KRPC {@link Registry} through its watch,
 * shared by every KRPC resolver scheme ({@code krpc://}, {@code etcd://}).
 *
 * <p>Not public: schemes reach it through {@link KrpcNameResolverProvider#newResolver}.
 *
 * <h2>Threading</h2>
 *
 * {@link #start}, {@link #refresh} and {@link #shutdown} are called by the channel from its {@link
 * SynchronizationContext} and never block: {@code start} only opens the watch, which by the {@link
 * Registry} contract returns at once. Snapshots arrive on the registry's thread, where host names
 * are resolved (blocking there is allowed), and are then handed to the channel through the
 * synchronization context.
 *
 * <h2>Errors</h2>
 *
 * A registry error before the first snapshot is reported to the channel as an {@code UNAVAILABLE}
 * {@link Status} through {@link Listener2#onResult2}. Once a good list is known, registry errors
 * are logged and the last good list stays in force: an unreachable registry never empties a
 * channel. An empty snapshot (every instance really deregistered) is reported as {@code
 * UNAVAILABLE} with a description naming the service.
 */
final class RegistryNameResolver extends NameResolver {

  private static final Logger logger = LoggerFactory.getLogger(RegistryNameResolver.class);

  private final Registry registry;
  private final String serviceName;
  private final String authority;
  private final SynchronizationContext syncContext;

  // All fields below are confined to syncContext.
  private @Nullable Listener2 listener;
  private Registry.@Nullable Watch watch;
  private boolean hasGoodList;
  private boolean shutdown;

  RegistryNameResolver(Registry registry, String serviceName, Args args) {
    this.registry = requireNonNull(registry, "registry");
    this.serviceName = ServiceInstance.checkServiceName(serviceName);
    this.authority =
        args.getOverrideAuthority() != null ? args.getOverrideAuthority() : serviceName;
    this.syncContext = requireNonNull(args.getSynchronizationContext(), "syncContext");
  }

  @Override
  public String getServiceAuthority() {
    return authority;
  }

  @Override
  public void start(Listener2 listener) {
    if (this.listener != null) {
      throw new IllegalStateException("already started");
    }
    this.listener = requireNonNull(listener, "listener");
    try {
      watch = registry.watch(serviceName, new WatchListener());
    } catch (RuntimeException e) {
      // A closed registry or a broken backend: report it, never throw into the channel.
      reportError(
          Status.UNAVAILABLE
              .withDescription("cannot watch service '" + serviceName + "' in the registry")
              .withCause(e));
    }
  }

  /**
   * Does nothing: the registry watch pushes every change, so there is nothing to poll. A broken
   * watch is repaired by the registry itself.
   */
  @Override
  public void refresh() {}

  @Override
  public void shutdown() {
    if (shutdown) {
      return;
    }
    shutdown = true;
    if (watch != null) {
      watch.cancel();
    }
  }

  private void deliver(List<EquivalentAddressGroup> addresses, int instanceCount) {
    if (shutdown) {
      return;
    }
    ResolutionResult.Builder result = ResolutionResult.newBuilder().setAttributes(Attributes.EMPTY);
    if (addresses.isEmpty()) {
      String why =
          instanceCount == 0
              ? "no instances of service '" + serviceName + "' are registered"
              : "no instance of service '" + serviceName + "' has a resolvable host";
      result.setAddressesOrError(StatusOr.fromStatus(Status.UNAVAILABLE.withDescription(why)));
      hasGoodList = false;
    } else {
      result.setAddressesOrError(StatusOr.fromValue(addresses));
      hasGoodList = true;
    }
    Status accepted = started().onResult2(result.build());
    if (!accepted.isOk()) {
      logger.debug("Channel did not accept the addresses of {}: {}", serviceName, accepted);
    }
  }

  /** The channel's listener: set by {@link #start}, before any watch event can arrive. */
  private Listener2 started() {
    return requireNonNull(listener, "listener");
  }

  private void reportError(Status status) {
    if (shutdown) {
      return;
    }
    if (hasGoodList) {
      logger.warn(
          "Registry error for service {}; keeping the last known instances: {}",
          serviceName,
          status);
      return;
    }
    started()
        .onResult2(
            ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromStatus(status)).build());
  }

  /** Converts a snapshot on the registry's thread, where a DNS lookup may block. */
  static List<EquivalentAddressGroup> toAddressGroups(List<ServiceInstance> instances) {
    List<EquivalentAddressGroup> groups = new ArrayList<>(instances.size());
    for (ServiceInstance instance : instances) {
      InetSocketAddress address;
      try {
        address = new InetSocketAddress(InetAddress.getByName(instance.host()), instance.port());
      } catch (UnknownHostException e) {
        logger.warn(
            "Skipping instance {} of service {}: unknown host",
            instance.endpoint(),
            instance.serviceName());
        continue;
      }
      Attributes attributes =
          Attributes.newBuilder()
              .set(EndpointAttributes.WEIGHT, instance.weight())
              .set(EndpointAttributes.METADATA, instance.metadata())
              .set(EndpointAttributes.SERVICE_NAME, instance.serviceName())
              .build();
      groups.add(new EquivalentAddressGroup(address, attributes));
    }
    return List.copyOf(groups);
  }

  private final class WatchListener implements Registry.Listener {
    @Override
    public void onUpdate(List<ServiceInstance> instances) {
      List<EquivalentAddressGroup> groups = toAddressGroups(instances);
      syncContext.execute(() -> deliver(groups, instances.size()));
    }

    @Override
    public void onError(RegistryException error) {
      Status status =
          Status.UNAVAILABLE
              .withDescription(
                  "registry error while watching service '"
                      + serviceName
                      + "': "
                      + error.getMessage())
              .withCause(error);
      syncContext.execute(() -> reportError(status));
    }
  }
}
