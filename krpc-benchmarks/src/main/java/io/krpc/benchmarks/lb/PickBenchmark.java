package io.krpc.benchmarks.lb;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ChannelLogger;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.krpc.examples.greeter.GreeterGrpc;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A policy's own work per call, without a transport: what the channel asks of the load balancer for
 * one unary call. The policy (found by name in grpc-java's registry, with its default config)
 * balances four endpoints that a stub helper reports READY; each operation picks, opens the pick's
 * stream tracer (when it has one), and closes the oldest of {@code inFlight} open calls with its
 * response headers and OK, as grpc-java's client stream does. {@code round_robin} attaches no
 * tracer, so its figure is the pick alone.
 *
 * <p>Run (JMH's own main, after {@code package}; {@code -prof gc} gives the bytes per call):
 *
 * <pre>{@code
 * java -cp krpc-benchmarks/target/krpc-benchmarks-*.jar:$(cat cp.txt) org.openjdk.jmh.Main \
 *     PickBenchmark -prof gc
 * }</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class PickBenchmark {

  @Param({"krpc_p2c", "round_robin"})
  public String policy;

  /** Calls kept open beside the one being made (the lb harness's concurrency). */
  @Param({"4", "64"})
  public int inFlight;

  private final StubHelper helper = new StubHelper();
  private @Nullable LoadBalancer balancer;
  private LoadBalancer.@Nullable PickSubchannelArgs args;
  private final Metadata headers = new Metadata();
  private final ClientStreamTracer.StreamInfo info =
      ClientStreamTracer.StreamInfo.newBuilder().build();
  private ClientStreamTracer[] open = new ClientStreamTracer[0];
  private int oldest;

  @Setup(Level.Trial)
  public void setUp() {
    LoadBalancerProvider provider = LoadBalancerRegistry.getDefaultRegistry().getProvider(policy);
    if (provider == null) {
      throw new IllegalStateException(policy + ": no such policy in grpc-java's registry");
    }
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      groups.add(new EquivalentAddressGroup(new InetSocketAddress("127.0.0.1", 10_001 + i)));
    }
    helper.sync.execute(
        () -> {
          LoadBalancer lb = provider.newLoadBalancer(helper);
          balancer = lb;
          Status accepted =
              lb.acceptResolvedAddresses(
                  LoadBalancer.ResolvedAddresses.newBuilder()
                      .setAddresses(groups)
                      .setLoadBalancingPolicyConfig(
                          provider.parseLoadBalancingPolicyConfig(java.util.Map.of()).getConfig())
                      .build());
          if (!accepted.isOk()) {
            throw new IllegalStateException(policy + " refused the addresses: " + accepted);
          }
          for (StubSubchannel s : new ArrayList<>(helper.subchannels)) {
            s.report(ConnectivityState.CONNECTING);
            s.report(ConnectivityState.READY);
          }
        });
    if (helper.state != ConnectivityState.READY || helper.picker == null) {
      throw new IllegalStateException(policy + ": not READY after four READY subchannels");
    }
    MethodDescriptor<?, ?> method = GreeterGrpc.getSayHelloMethod();
    args = new PickArgs(method, new Metadata(), CallOptions.DEFAULT);
    open = new ClientStreamTracer[inFlight];
    for (int i = 0; i < inFlight; i++) {
      open[i] = start();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    LoadBalancer lb = balancer;
    if (lb != null) {
      helper.sync.execute(lb::shutdown);
    }
    helper.scheduler.shutdownNow();
  }

  /** One call: a pick and its stream opened, and the oldest open call answered and closed. */
  @Benchmark
  public ClientStreamTracer call() {
    ClientStreamTracer done = open[oldest];
    done.inboundHeaders(headers);
    done.streamClosed(Status.OK);
    ClientStreamTracer started = start();
    open[oldest] = started;
    oldest = oldest + 1 == open.length ? 0 : oldest + 1;
    return started;
  }

  private ClientStreamTracer start() {
    LoadBalancer.SubchannelPicker picker = helper.picker;
    LoadBalancer.PickSubchannelArgs pickArgs = args;
    if (picker == null || pickArgs == null) {
      throw new IllegalStateException("not set up");
    }
    LoadBalancer.PickResult result = picker.pickSubchannel(pickArgs);
    ClientStreamTracer.Factory factory = result.getStreamTracerFactory();
    return factory == null ? NOOP : factory.newClientStreamTracer(info, headers);
  }

  private static final ClientStreamTracer NOOP = new ClientStreamTracer() {};

  /** The channel's side of the load-balancer contract, as far as the policies here use it. */
  static final class StubHelper extends LoadBalancer.Helper {
    final SynchronizationContext sync =
        new SynchronizationContext(
            (t, e) -> {
              throw new IllegalStateException(e);
            });
    final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    final List<StubSubchannel> subchannels = new ArrayList<>();
    volatile LoadBalancer.@Nullable SubchannelPicker picker;
    volatile ConnectivityState state = ConnectivityState.IDLE;

    @Override
    public LoadBalancer.Subchannel createSubchannel(LoadBalancer.CreateSubchannelArgs args) {
      StubSubchannel s = new StubSubchannel(args);
      subchannels.add(s);
      return s;
    }

    @Override
    public ManagedChannel createOobChannel(EquivalentAddressGroup eag, String authority) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void updateBalancingState(
        ConnectivityState newState, LoadBalancer.SubchannelPicker newPicker) {
      state = newState;
      picker = newPicker;
    }

    @Override
    public void refreshNameResolution() {}

    @Override
    public String getAuthority() {
      return "lb-bench";
    }

    @Override
    public SynchronizationContext getSynchronizationContext() {
      return sync;
    }

    @Override
    public ScheduledExecutorService getScheduledExecutorService() {
      return scheduler;
    }

    @Override
    public ChannelLogger getChannelLogger() {
      return SILENT;
    }
  }

  private static final ChannelLogger SILENT =
      new ChannelLogger() {
        @Override
        public void log(ChannelLogLevel level, String message) {}

        @Override
        public void log(ChannelLogLevel level, String messageFormat, Object... args) {}
      };

  /** A subchannel whose state the benchmark sets. */
  static final class StubSubchannel extends LoadBalancer.Subchannel {
    private final LoadBalancer.CreateSubchannelArgs args;
    private LoadBalancer.@Nullable SubchannelStateListener listener;

    StubSubchannel(LoadBalancer.CreateSubchannelArgs args) {
      this.args = args;
    }

    void report(ConnectivityState state) {
      LoadBalancer.SubchannelStateListener l = listener;
      if (l != null) {
        l.onSubchannelState(ConnectivityStateInfo.forNonError(state));
      }
    }

    @Override
    public void start(LoadBalancer.SubchannelStateListener listener) {
      this.listener = listener;
    }

    @Override
    public void shutdown() {}

    @Override
    public void requestConnection() {}

    @Override
    public List<EquivalentAddressGroup> getAllAddresses() {
      return args.getAddresses();
    }

    @Override
    public Attributes getAttributes() {
      return args.getAttributes();
    }

    @Override
    public ChannelLogger getChannelLogger() {
      return SILENT;
    }
  }

  /** The arguments of one pick. */
  static final class PickArgs extends LoadBalancer.PickSubchannelArgs {
    private final MethodDescriptor<?, ?> method;
    private final Metadata headers;
    private final CallOptions callOptions;

    PickArgs(MethodDescriptor<?, ?> method, Metadata headers, CallOptions callOptions) {
      this.method = method;
      this.headers = headers;
      this.callOptions = callOptions;
    }

    @Override
    public CallOptions getCallOptions() {
      return callOptions;
    }

    @Override
    public Metadata getHeaders() {
      return headers;
    }

    @Override
    public MethodDescriptor<?, ?> getMethodDescriptor() {
      return method;
    }
  }
}
