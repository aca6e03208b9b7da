package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.registry.InMemoryRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Outlier ejection under load over real sockets: one server of four fails half its calls with
 * UNAVAILABLE; once it is ejected it gets under 1% of the calls and under 0.5% of the calls fail,
 * under each policy, configured through {@link KClient.Builder#outlierDetection} or, for the {@code
 * service-config} case, as grpc's JSON policy config.
 */
class OutlierDetectionIT {
  private static final int CALLERS = 8;
  private final InMemoryRegistry registry = new InMemoryRegistry();
  private final List<KServer> servers = new ArrayList<>();
  private final List<FlakyService> services = new ArrayList<>();
  private KClient client;

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close();
    }
    servers.forEach(KServer::close);
    registry.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"round_robin", "krpc_p2c", "krpc_wrr", "service-config"})
  void aServerFailingHalfItsCallsIsEjected(String policy) throws Exception {
    for (int i = 0; i < 4; i++) {
      FlakyService service = new FlakyService(i == 0 ? 0.5 : 0);
      services.add(service);
      servers.add(
          KServer.builder()
              .serviceName("flaky")
              .host("127.0.0.1")
              .port(0)
              .registry(registry)
              .addService(service)
              .deregisterDelay(Duration.ZERO)
              .start());
    }
    KClient.Builder builder = KClient.forService("flaky").registry(registry);
    if (policy.equals("service-config")) {
      builder.loadBalancing(
          OutlierDetection.POLICY,
          Map.of(
              "interval",
              "0.2s",
              "baseEjectionTime",
              "30s",
              "failurePercentageEjection",
              Map.of("threshold", 30.0, "minimumHosts", 3.0, "requestVolume", 10.0),
              "childPolicy",
              List.of(Map.of("krpc_p2c", Map.of()))));
    } else {
      builder
          .loadBalancing(policy)
          .outlierDetection(
              OutlierDetection.builder()
                  .interval(Duration.ofMillis(200))
                  .failurePercentage(30, 3, 10)
                  .noSuccessRate()
                  .build());
    }
    client = builder.build();
    SimpleServiceGrpc.SimpleServiceBlockingStub stub =
        SimpleServiceGrpc.newBlockingStub(client.channel());

    // Load until the failing server, having failed calls, gets none for 300 ms (ejected); <= 10 s.
    long failuresBefore = 0;
    for (int round = 0; round < 33; round++) {
      long servedBefore = services.get(0).calls.sum();
      failuresBefore += load(stub, Duration.ofMillis(300)).failures.get();
      if (failuresBefore > 0 && services.get(0).calls.sum() == servedBefore) {
        break;
      }
    }
    assertThat(failuresBefore).as("failures before ejection").isPositive();
    long[] start = calls();
    // At least 2 s and 1,000 calls (so that 1 % is ten calls): a loaded machine may serve fewer
    // in 2 s; at most 10 s, well inside the 30 s ejection.
    Load after = load(stub, Duration.ofSeconds(2));
    long deadline = System.nanoTime() + Duration.ofSeconds(8).toNanos();
    while (after.calls.get() < 1000 && System.nanoTime() < deadline) {
      Load more = load(stub, Duration.ofMillis(500));
      after.calls.addAndGet(more.calls.get());
      after.failures.addAndGet(more.failures.get());
    }
    long[] end = calls();

    long total = 0;
    for (int i = 0; i < end.length; i++) {
      total += end[i] - start[i];
    }
    assertThat(total).as("calls served once ejected").isGreaterThan(500);
    assertThat((double) (end[0] - start[0]) / total)
        .as("share of the failing server")
        .isLessThan(0.01);
    assertThat((double) after.failures.get() / after.calls.get())
        .as("failed calls")
        .isLessThan(0.005);
  }

  private long[] calls() {
    return services.stream().mapToLong(s -> s.calls.sum()).toArray();
  }

  private static Load load(SimpleServiceGrpc.SimpleServiceBlockingStub stub, Duration duration)
      throws Exception {
    Load load = new Load();
    long end = System.nanoTime() + duration.toNanos();
    ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < CALLERS; i++) {
        done.add(
            callers.submit(
                () -> {
                  while (System.nanoTime() < end) {
                    load.calls.incrementAndGet();
                    try {
                      stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                          .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("hi").build());
                    } catch (StatusRuntimeException e) {
                      load.failures.incrementAndGet();
                    }
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get(duration.toMillis() + 10_000, TimeUnit.MILLISECONDS);
      }
    } finally {
      callers.shutdownNow();
    }
    return load;
  }

  private static final class Load {
    final AtomicLong calls = new AtomicLong();
    final AtomicLong failures = new AtomicLong();
  }

  /** Answers at once, except that a share of the calls fail with UNAVAILABLE. */
  private static final class FlakyService extends SimpleServiceGrpc.SimpleServiceImplBase {
    private final double failureRatio;
    final LongAdder calls = new LongAdder();

    FlakyService(double failureRatio) {
      this.failureRatio = failureRatio;
    }

    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
      calls.increment();
      if (ThreadLocalRandom.current().nextDouble() < failureRatio) {
        observer.onError(Status.UNAVAILABLE.withDescription("flaky").asException());
        return;
      }
      observer.onNext(SimpleResponse.newBuilder().setResponseMessage("ok").build());
      observer.onCompleted();
    }
  }
}
