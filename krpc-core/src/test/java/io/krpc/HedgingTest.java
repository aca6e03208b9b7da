package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.registry.InMemoryRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hedging against one slow backend: round_robin sends every other first attempt to a server that
 * takes {@link #SLOW}; the hedge, sent after {@link #HEDGING_DELAY}, lands on the fast one, so
 * every hedged call takes the fast server's time (plus the delay), never the slow one's. The
 * control without hedging shows that the slow server really makes calls slow.
 */
class HedgingTest {
  private static final Duration SLOW = Duration.ofMillis(1500);
  private static final Duration HEDGING_DELAY = Duration.ofMillis(50);
  private static final int CALLS = 8;

  private final InMemoryRegistry registry = new InMemoryRegistry();
  private final EchoService slowService = new EchoService(() -> "slow", SLOW);
  private final EchoService fastService = new EchoService(() -> "fast");
  private final List<KServer> servers = new ArrayList<>();

  @BeforeEach
  void start() {
    for (EchoService service : List.of(slowService, fastService)) {
      servers.add(
          KServer.builder()
              .serviceName("hedged")
              .host("127.0.0.1")
              .port(0)
              .registry(registry)
              .deregisterDelay(Duration.ZERO)
              .addService(service)
              .start());
    }
  }

  @AfterEach
  void stop() {
    servers.forEach(KServer::close);
  }

  /** The latency of each of {@link #CALLS} sequential calls, in milliseconds, after a warm-up. */
  private List<Long> latencies(UnaryOperator<KClient.Builder> options) {
    List<Long> millis = new ArrayList<>();
    try (KClient client =
        options
            .apply(KClient.forService("hedged").registry(registry).closeTimeout(Duration.ZERO))
            .build()) {
      SimpleServiceGrpc.SimpleServiceBlockingStub stub =
          SimpleServiceGrpc.newBlockingStub(client.channel());
      // Until both servers have answered, so that round_robin alternates from the first timed call.
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 100 && seen.size() < 2; i++) {
        stub.withWaitForReady()
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .serverStreamingRpc(SimpleRequest.getDefaultInstance())
            .forEachRemaining(r -> seen.add(r.getResponseMessage().replaceAll("#.*", "")));
      }
      assertThat(seen).containsExactlyInAnyOrder("slow", "fast");
      for (int i = 0; i < CALLS; i++) {
        long start = System.nanoTime();
        stub.withWaitForReady()
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .unaryRpc(SimpleRequest.getDefaultInstance());
        millis.add((System.nanoTime() - start) / 1_000_000);
      }
    }
    return millis;
  }

  @Test
  void hedgedCallsTakeTheFastBackendsTime() {
    List<Long> hedged =
        latencies(
            b ->
                b.hedging(
                    HedgingPolicy.builder().maxAttempts(2).hedgingDelay(HEDGING_DELAY).build()));
    assertThat(slowService.calls.get())
        .as("first attempts the slow server received")
        .isGreaterThanOrEqualTo(CALLS / 2 - 1);
    // Every call answered by the fast server: its time plus the hedging delay, far below SLOW
    // (the margin is for a busy 2-core CI machine).
    assertThat(hedged)
        .as("hedged latencies, ms")
        .allSatisfy(ms -> assertThat(ms).isLessThan(HEDGING_DELAY.toMillis() + 600));
  }

  @Test
  void withoutHedgingTheSlowBackendMakesCallsSlow() {
    List<Long> plain = latencies(UnaryOperator.identity());
    assertThat(plain.stream().filter(ms -> ms >= SLOW.toMillis()).count())
        .as("calls that waited for the slow server, of %s", plain)
        .isGreaterThanOrEqualTo(CALLS / 2 - 1);
  }
}
