package io.krpc.resolver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import io.krpc.loadbalance.EndpointAttributes;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistryNameResolverTest {
  private final SynchronizationContext syncContext =
      new SynchronizationContext(
          (t, e) -> {
            throw new AssertionError(e);
          });
  private final NameResolver.Args args =
      NameResolver.Args.newBuilder()
          .setDefaultPort(443)
          .setProxyDetector(address -> null)
          .setSynchronizationContext(syncContext)
          .setServiceConfigParser(
              new NameResolver.ServiceConfigParser() {
                @Override
                public NameResolver.ConfigOrError parseServiceConfig(
                    Map<String, ?> rawServiceConfig) {
                  return NameResolver.ConfigOrError.fromConfig(rawServiceConfig);
                }
              })
          .build();
  private final ManualRegistry registry = new ManualRegistry();
  private final List<StatusOr<List<EquivalentAddressGroup>>> results = new ArrayList<>();

  private NameResolver.Listener2 listener() {
    return new NameResolver.Listener2() {
      @Override
      public void onResult(NameResolver.ResolutionResult result) {
        onResult2(result);
      }

      @Override
      public Status onResult2(NameResolver.ResolutionResult result) {
        results.add(result.getAddressesOrError());
        return Status.OK;
      }

      @Override
      public void onError(Status error) {
        throw new AssertionError("onError must not be used: " + error);
      }
    };
  }

  @Test
  void deliversAddressesWithWeightAndMetadataAttributes() {
    NameResolver resolver = new RegistryNameResolver(registry, "greeter", args);
    resolver.start(listener());
    assertThat(resolver.getServiceAuthority()).isEqualTo("greeter");

    registry.listener.onUpdate(
        List.of(
            ServiceInstance.builder("greeter", "127.0.0.1", 9001)
                .weight(7)
                .metadata(Map.of("zone", "a"))
                .build()));

    assertThat(results).hasSize(1);
    EquivalentAddressGroup eag = results.get(0).getValue().get(0);
    assertThat(eag.getAddresses()).containsExactly(new InetSocketAddress("127.0.0.1", 9001));
    assertThat(eag.getAttributes().get(EndpointAttributes.WEIGHT)).isEqualTo(7);
    assertThat(eag.getAttributes().get(EndpointAttributes.METADATA)).containsEntry("zone", "a");
    assertThat(eag.getAttributes().get(EndpointAttributes.SERVICE_NAME)).isEqualTo("greeter");
  }

  @Test
  void keepsTheLastGoodListWhenTheRegistryFails() {
    NameResolver resolver = new RegistryNameResolver(registry, "greeter", args);
    resolver.start(listener());
    registry.listener.onUpdate(List.of(ServiceInstance.of("greeter", "127.0.0.1", 9001)));
    registry.listener.onError(new RegistryException("etcd unreachable"));
    registry.listener.onError(new RegistryException("etcd still unreachable"));

    assertThat(results).hasSize(1);
    assertThat(results.get(0).hasValue()).isTrue();
  }

  @Test
  void reportsAnErrorAsStatusBeforeTheFirstList() {
    NameResolver resolver = new RegistryNameResolver(registry, "greeter", args);
    resolver.start(listener());
    registry.listener.onError(new RegistryException("etcd unreachable"));

    assertThat(results).hasSize(1);
    Status status = results.get(0).getStatus();
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("greeter").contains("etcd unreachable");
  }

  @Test
  void anEmptyServiceIsUnavailableWithItsName() {
    NameResolver resolver = new RegistryNameResolver(registry, "greeter", args);
    resolver.start(listener());
    registry.listener.onUpdate(List.of());

    assertThat(results.get(0).getStatus().getDescription())
        .isEqualTo("no instances of service 'greeter' are registered");
  }

  @Test
  void shutdownCancelsTheWatchAndDropsLateSnapshots() {
    NameResolver resolver = new RegistryNameResolver(registry, "greeter", args);
    resolver.start(listener());
    syncContext.execute(resolver::shutdown);
    registry.listener.onUpdate(List.of(ServiceInstance.of("greeter", "127.0.0.1", 9001)));

    assertThat(registry.cancelled).isTrue();
    assertThat(registry.closed).isFalse();
    assertThat(results).isEmpty();
  }

  @Test
  void aRegistryThatCannotWatchIsReportedNotThrown() {
    registry.failWatch = true;
    NameResolver resolver = new RegistryNameResolver(registry, "greeter", args);
    resolver.start(listener());
    assertThat(results.get(0).getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void providerNeedsARegistryArgument() {
    KrpcNameResolverProvider provider = new KrpcNameResolverProvider();
    assertThatThrownBy(() -> provider.newNameResolver(URI.create("krpc:///greeter"), args))
        .hasMessageContaining("setNameResolverArg(KrpcNameResolverProvider.REGISTRY, registry)");
    assertThatThrownBy(() -> provider.newNameResolver(URI.create("krpc:///a/b"), args))
        .hasMessage("target: 'krpc:///a/b' (expected: krpc:///<service-name>)");
    assertThat(provider.newNameResolver(URI.create("dns:///greeter"), args)).isNull();
  }

  /** A registry whose watch callbacks the test drives by hand, on the test thread. */
  private static final class ManualRegistry implements Registry {
    Registry.Listener listener;
    boolean cancelled;
    boolean closed;
    boolean failWatch;

    @Override
    public void register(ServiceInstance instance) {}

    @Override
    public void deregister(ServiceInstance instance) {}

    @Override
    public Watch watch(String serviceName, Listener listener) {
      if (failWatch) {
        throw new IllegalStateException("closed");
      }
      this.listener = listener;
      return () -> cancelled = true;
    }

    @Override
    public List<ServiceInstance> lookup(String serviceName) {
      return List.of();
    }

    @Override
    public void close() {
      closed = true;
    }
  }
}
