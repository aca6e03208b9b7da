package io.krpc.loadbalance;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Server;
import io.grpc.StatusOr;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Both policies on real sockets: grpc-java servers on 127.0.0.1, one of them slowed, and a channel
 * that resolves to them through a static resolver carrying {@link EndpointAttributes#WEIGHT}.
 */
class LoadBalancingIT {

  private static final Logger logger = LoggerFactory.getLogger(LoadBalancingIT.class);
  private static final long SLOW_MILLIS = 20;
  private static final int CONCURRENCY = 4;

  private final ScheduledExecutorService delays = Executors.newSingleThreadScheduledExecutor();
  private final List<Server> servers = new ArrayList<>();
  private final List<AtomicInteger> served = new ArrayList<>();
  private ManagedChannel channel;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Server server : servers) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    delays.shutdownNow();
  }

  @Test
  void p2cSendsTheSlowServerClearlyLessTraffic() throws Exception {
    List<EquivalentAddressGroup> groups =
        List.of(startServer(SLOW_MILLIS, 100), startServer(0, 100), startServer(0, 100));
    warmUpJvm(groups);
    // Chosen through a service config, with a JSON policy config: a decay time shorter than the
    // default 10 s lets a one-off latency spike of a fast server (this machine is shared) fade
    // within the test instead of making it look as slow as the slowed server.
    channel =
        channel(groups)
            .defaultServiceConfig(
                Map.of(
                    "loadBalancingConfig",
                    List.of(Map.of(KrpcLoadBalancers.P2C, Map.of("decayTime", "0.5s")))))
            .build();
    awaitAllServersReached();

    runCalls(600);

    logger.info("krpc_p2c calls served (slow server first): {}", served);
    int total = served.stream().mapToInt(AtomicInteger::get).sum();
    assertThat(total).isEqualTo(600);
    // A fair share would be 200. The slow server gets its probes, plus the calls where its
    // latency × load ties with a busy fast server (10 to 50 on a loaded 2-core machine).
    assertThat(served.get(0).get()).as("calls served by the slow server").isLessThan(100);
  }

  @Test
  void wrrFollowsTheWeightsWhateverTheLatency() throws Exception {
    List<EquivalentAddressGroup> groups = List.of(startServer(SLOW_MILLIS, 1), startServer(0, 3));
    channel = channel(groups).defaultLoadBalancingPolicy(KrpcLoadBalancers.WRR).build();
    awaitAllServersReached();

    runCalls(400);

    logger.info("krpc_wrr calls served (weights 1 (slow), 3): {}", served);
    assertThat(served.get(0).get()).isBetween(90, 110);
    assertThat(served.get(1).get()).isBetween(290, 310);
  }

  /** Calls until every server has served one, so all subchannels are READY; then resets counts. */
  private void awaitAllServersReached() throws InterruptedException {
    for (int i = 0; i < 200 && served.stream().anyMatch(c -> c.get() == 0); i++) {
      runCalls(1);
    }
    assertThat(served).allMatch(c -> c.get() > 0);
    served.forEach(c -> c.set(0));
  }

  /**
   * Runs calls to each server over a plain channel first, so that the first calls of the channel
   * under test do not pay for class loading and JIT: a peak-EWMA estimate that starts at such a
   * one-off spike takes about one decay time (10 s) to forget it.
   */
  private void warmUpJvm(List<EquivalentAddressGroup> groups) throws InterruptedException {
    for (EquivalentAddressGroup group : groups) {
      InetSocketAddress address = (InetSocketAddress) group.getAddresses().get(0);
      channel = NettyChannelBuilder.forAddress(address).usePlaintext().build();
      runCalls(50);
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    served.forEach(c -> c.set(0));
  }

  private EquivalentAddressGroup startServer(long delayMillis, int weight) throws Exception {
    AtomicInteger count = new AtomicInteger();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new SimpleServiceGrpc.SimpleServiceImplBase() {
                  @Override
                  public void unaryRpc(
                      SimpleRequest request, StreamObserver<SimpleResponse> response) {
                    count.incrementAndGet();
                    Runnable reply =
                        () -> {
                          response.onNext(
                              SimpleResponse.newBuilder().setResponseMessage("ok").build());
                          response.onCompleted();
                        };
                    if (delayMillis > 0) {
                      var unused = delays.schedule(reply, delayMillis, TimeUnit.MILLISECONDS);
                    } else {
                      reply.run();
                    }
                  }
                })
            .build()
            .start();
    servers.add(server);
    served.add(count);
    return new EquivalentAddressGroup(
        new InetSocketAddress("127.0.0.1", server.getPort()),
        Attributes.newBuilder().set(EndpointAttributes.WEIGHT, weight).build());
  }

  @SuppressWarnings("deprecation") // nameResolverFactory: the simplest channel-local resolver
  private static NettyChannelBuilder channel(List<EquivalentAddressGroup> groups) {
    return NettyChannelBuilder.forTarget("krpc-static:///backends")
        .nameResolverFactory(new StaticResolverProvider(groups))
        .usePlaintext();
  }

  /** Sends {@code calls} unary calls with at most {@value #CONCURRENCY} in flight. */
  private void runCalls(int calls) throws InterruptedException {
    SimpleServiceGrpc.SimpleServiceFutureStub stub =
        SimpleServiceGrpc.newFutureStub(channel).withWaitForReady();
    Semaphore window = new Semaphore(CONCURRENCY);
    AtomicInteger failures = new AtomicInteger();
    for (int i = 0; i < calls; i++) {
      window.acquire();
      Futures.addCallback(
          stub.withDeadlineAfter(10, TimeUnit.SECONDS).unaryRpc(SimpleRequest.getDefaultInstance()),
          new FutureCallback<SimpleResponse>() {
            @Override
            public void onSuccess(SimpleResponse result) {
              window.release();
            }

            @Override
            public void onFailure(Throwable t) {
              failures.incrementAndGet();
              window.release();
            }
          },
          MoreExecutors.directExecutor());
    }
    assertThat(window.tryAcquire(CONCURRENCY, 30, TimeUnit.SECONDS)).isTrue();
    assertThat(failures.get()).isZero();
  }

  /** Resolves {@code krpc-static:///anything} to a fixed list of address groups. */
  private static final class StaticResolverProvider extends NameResolverProvider {
    private final List<EquivalentAddressGroup> groups;

    StaticResolverProvider(List<EquivalentAddressGroup> groups) {
      this.groups = groups;
    }

    @Override
    public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
      if (!"krpc-static".equals(targetUri.getScheme())) {
        return null;
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return "backends";
        }

        @Override
        public void start(Listener2 listener) {
          listener.onResult(
              ResolutionResult.newBuilder()
                  .setAddressesOrError(StatusOr.fromValue(groups))
                  .build());
        }

        @Override
        public void shutdown() {}
      };
    }

    @Override
    public String getDefaultScheme() {
      return "krpc-static";
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }
  }
}
