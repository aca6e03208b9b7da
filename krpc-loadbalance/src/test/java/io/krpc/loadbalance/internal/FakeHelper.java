package io.krpc.loadbalance.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Attributes;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.LoadBalancer.SubchannelStateListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.krpc.loadbalance.EndpointAttributes;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fake {@link LoadBalancer.Helper} that hands out {@link FakeSubchannel}s, records the published
 * state and picker, and runs a real {@link SynchronizationContext} that fails the test on any
 * exception. Tests drive the balancer through {@link #run}.
 */
final class FakeHelper extends LoadBalancer.Helper {

  final FakeClock clock = new FakeClock();
  final List<FakeSubchannel> subchannels = new ArrayList<>();
  final Map<java.net.SocketAddress, FakeSubchannel> byAddress = new ConcurrentHashMap<>();
  private final AtomicReference<Throwable> uncaught = new AtomicReference<>();
  private final SynchronizationContext syncContext =
      new SynchronizationContext((thread, error) -> uncaught.compareAndSet(null, error));
  ConnectivityState state;
  SubchannelPicker picker;
  int refreshes;

  static EquivalentAddressGroup eag(int port, int weight) {
    return new EquivalentAddressGroup(
        new InetSocketAddress("127.0.0.1", port),
        Attributes.newBuilder().set(EndpointAttributes.WEIGHT, weight).build());
  }

  static LoadBalancer.ResolvedAddresses resolved(Object config, EquivalentAddressGroup... eags) {
    return LoadBalancer.ResolvedAddresses.newBuilder()
        .setAddresses(List.of(eags))
        .setLoadBalancingPolicyConfig(config)
        .build();
  }

  void run(Runnable action) {
    syncContext.execute(action);
    assertThat(uncaught.get()).as("exception in the SynchronizationContext").isNull();
  }

  FakeSubchannel subchannel(int port) {
    return byAddress.get(new InetSocketAddress("127.0.0.1", port));
  }

  void setState(int port, ConnectivityState newState) {
    setState(
        port,
        newState == ConnectivityState.TRANSIENT_FAILURE
            ? ConnectivityStateInfo.forTransientFailure(
                Status.UNAVAILABLE.withDescription("refused"))
            : ConnectivityStateInfo.forNonError(newState));
  }

  void setState(int port, ConnectivityStateInfo info) {
    FakeSubchannel subchannel = subchannel(port);
    run(() -> subchannel.listener.onSubchannelState(info));
  }

  PickResult pick() {
    return picker.pickSubchannel(
        new PickSubchannelArgs() {
          @Override
          public io.grpc.CallOptions getCallOptions() {
            return io.grpc.CallOptions.DEFAULT;
          }

          @Override
          public Metadata getHeaders() {
            return new Metadata();
          }

          @Override
          public io.grpc.MethodDescriptor<?, ?> getMethodDescriptor() {
            return null;
          }
        });
  }

  /** Port of the endpoint of a pick that must carry a subchannel. */
  static int port(PickResult result) {
    assertThat(result.getSubchannel()).as("pick result %s", result).isNotNull();
    return ((FakeSubchannel) result.getSubchannel()).port();
  }

  /** Opens a stream on the picked endpoint, as the channel does, and returns its tracer. */
  static ClientStreamTracer startStream(PickResult result) {
    ClientStreamTracer.Factory factory = result.getStreamTracerFactory();
    assertThat(factory).isNotNull();
    return factory.newClientStreamTracer(
        ClientStreamTracer.StreamInfo.newBuilder().build(), new Metadata());
  }

  @Override
  public Subchannel createSubchannel(LoadBalancer.CreateSubchannelArgs args) {
    FakeSubchannel subchannel = new FakeSubchannel(args.getAddresses());
    subchannels.add(subchannel);
    byAddress.put(args.getAddresses().get(0).getAddresses().get(0), subchannel);
    return subchannel;
  }

  @Override
  public void updateBalancingState(ConnectivityState newState, SubchannelPicker newPicker) {
    state = newState;
    picker = newPicker;
  }

  @Override
  public void refreshNameResolution() {
    refreshes++;
  }

  @Override
  public SynchronizationContext getSynchronizationContext() {
    return syncContext;
  }

  @Override
  public ScheduledExecutorService getScheduledExecutorService() {
    return clock.scheduler();
  }

  @Override
  public ManagedChannel createOobChannel(EquivalentAddressGroup eag, String authority) {
    throw new UnsupportedOperationException();
  }

  @Override
  public String getAuthority() {
    return "fake.test";
  }

  /** A subchannel that only records what the balancer asks of it. */
  static final class FakeSubchannel extends Subchannel {
    private final List<EquivalentAddressGroup> addresses;
    SubchannelStateListener listener;
    int connectionRequests;
    boolean shutdown;

    FakeSubchannel(List<EquivalentAddressGroup> addresses) {
      this.addresses = addresses;
    }

    int port() {
      return ((InetSocketAddress) addresses.get(0).getAddresses().get(0)).getPort();
    }

    @Override
    public void start(SubchannelStateListener listener) {
      this.listener = listener;
    }

    @Override
    public void shutdown() {
      shutdown = true;
    }

    @Override
    public void requestConnection() {
      connectionRequests++;
    }

    @Override
    public List<EquivalentAddressGroup> getAllAddresses() {
      return addresses;
    }

    @Override
    public Attributes getAttributes() {
      return Attributes.EMPTY;
    }

    @Override
    public String toString() {
      return "FakeSubchannel:" + port();
    }
  }
}
