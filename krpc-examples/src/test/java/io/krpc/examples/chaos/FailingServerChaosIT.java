package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.Status;
import io.krpc.KClient;
import io.krpc.RetryPolicy;
import io.krpc.examples.chaos.ChaosRig.LocalServer;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Servers whose handler starts failing, under 200 calls/s from a client with {@code krpc_p2c}, a
 * retry policy on UNAVAILABLE and a circuit breaker.
 *
 * <p>The breaker guards the whole target service (one per channel, as the Go KRPC's gobreaker): it
 * cannot tell which server a call reached. So the scenario has three phases:
 *
 * <ol>
 *   <li>one server of three fails: P2C penalises it and the retries land on healthy servers, so the
 *       client sees (almost) no failure and the breaker rightly stays closed;
 *   <li>every server fails (the service is down): the breaker opens and callers get a fast
 *       UNAVAILABLE that never reaches the servers;
 *   <li>the servers heal: the breaker half-opens after its timeout, closes, and calls succeed.
 * </ol>
 */
class FailingServerChaosIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private static final String SAY_HELLO = GreeterGrpc.getSayHelloMethod().getFullMethodName();

  @Test
  void breakerOpensOnlyWhenTheServiceFailsAndTrafficAvoidsAFailingServer() throws Exception {
    try (ChaosRig rig = new ChaosRig(etcd.cluster(), Duration.ofSeconds(2))) {
      LocalServer bad = rig.startServer(0, Duration.ofMillis(2));
      LocalServer good1 = rig.startServer(0, Duration.ofMillis(2));
      LocalServer good2 = rig.startServer(0, Duration.ofMillis(2));
      List<LocalServer> servers = List.of(bad, good1, good2);
      // gobreaker defaults but a 1 s open state: opens after 6 failures in a row within 1 s.
      CircuitBreakerInterceptor breakerInterceptor =
          CircuitBreakerInterceptor.of(
              "greeter", 5, Duration.ofSeconds(1), Duration.ofSeconds(1), null);
      RetryPolicy retry =
          RetryPolicy.builder()
              .maxAttempts(3)
              .initialBackoff(Duration.ofMillis(10))
              .maxBackoff(Duration.ofMillis(50))
              .build();
      KClient client =
          rig.client(
              b ->
                  b.loadBalancing("krpc_p2c")
                      .retry(retry)
                      .retryThrottling(100, 0.1)
                      .intercept(breakerInterceptor));
      CircuitBreaker breaker = breakerInterceptor.circuitBreaker(SAY_HELLO);
      ChaosRig.awaitAnswersFrom(client, servers.stream().map(LocalServer::endpoint).toList());
      SteadyLoad load = rig.load(client, 200, ChaosRig.DEADLINE);
      Thread.sleep(500);

      // Phase 1: one server fails.
      long p1 = System.nanoTime();
      bad.greeter.failing.set(true);
      Thread.sleep(1000);
      long badBefore = bad.greeter.received.get();
      long p1Settled = System.nanoTime();
      Thread.sleep(2000);
      long badReceived = bad.greeter.received.get() - badBefore;
      long p2 = System.nanoTime();
      SteadyLoad.Window one = load.window(p1, p2);
      SteadyLoad.Window settled = load.window(p1Settled, p2);
      long sentSettled = settled.count();
      CircuitBreaker.State phase1State = breaker.getState();

      // Phase 2: the whole service fails.
      long serversBefore = totalReceived(servers);
      servers.forEach(s -> s.greeter.failing.set(true));
      await("breaker open")
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(5))
          .until(() -> breaker.getState() == CircuitBreaker.State.OPEN);
      Thread.sleep(2000);
      long p3 = System.nanoTime();
      SteadyLoad.Window down = load.window(p2, p3);
      long serversDuringOutage = totalReceived(servers) - serversBefore;
      SteadyLoad.Window refused =
          new SteadyLoad.Window(
              down.calls.stream()
                  .filter(c -> c.error() != null && c.error().contains("circuit breaker"))
                  .toList());

      // Phase 3: the servers heal.
      servers.forEach(s -> s.greeter.failing.set(false));
      await("breaker closed again")
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(5))
          .until(() -> breaker.getState() == CircuitBreaker.State.CLOSED);
      long closed = System.nanoTime();
      Thread.sleep(1500);
      long end = System.nanoTime();
      load.stop();
      SteadyLoad.Window healed = load.window(closed, end);

      assertThat(load.inFlight()).as("calls still running after their deadline").isZero();
      ChaosReport.record(
          "1 of 3 servers failing (p2c + retry + breaker)",
          one,
          one,
          String.format(
              java.util.Locale.ROOT,
              "failing server got %d of %d calls (%.1f%%) once P2C adapted, %d of them failed;"
                  + " breaker %s",
              badReceived,
              sentSettled,
              100.0 * badReceived / sentSettled,
              settled.failed(),
              phase1State));
      ChaosReport.record(
          "all 3 servers failing: breaker open",
          down,
          refused,
          String.format(
              java.util.Locale.ROOT,
              "%d of %d calls refused by the open breaker (fault columns: refused calls); servers "
                  + "got %d calls",
              refused.count(),
              down.count(),
              serversDuringOutage));
      ChaosReport.record(
          "servers healed: breaker closed",
          healed,
          healed,
          "breaker closed " + (closed - p3) / 1_000_000 + " ms after the heal");

      // Phase 1: P2C and retries hide the failing server; the service-wide breaker stays closed.
      // Calls fail right at the switch: a server failing fast looks cheapest to P2C until ~30
      // failures have lowered its success rate, and those failed attempts drain the retry
      // tokens. Once P2C adapted, (almost) none; round robin without retry would lose a third.
      assertThat(one.failed())
          .as("phase 1 failures: %s", one.sampleErrors(5))
          .isLessThanOrEqualTo(one.count() / 20);
      assertThat(settled.failed())
          .as("failures once P2C adapted: %s", settled.sampleErrors(5))
          .isLessThanOrEqualTo(settled.count() / 100);
      assertThat(phase1State).isEqualTo(CircuitBreaker.State.CLOSED);
      assertThat(badReceived)
          .as("calls the failing server still got (round robin: a third)")
          .isLessThan(sentSettled / 10);
      // Phase 2: fast UNAVAILABLE from the open breaker; the servers are spared.
      assertThat(down.failuresByCode().keySet()).containsOnly(Status.Code.UNAVAILABLE);
      assertThat(refused.count())
          .as("calls refused by the breaker")
          .isGreaterThan(down.count() / 2);
      assertThat(refused.percentileMillis(99)).as("p99 of a refused call, ms").isLessThan(50);
      assertThat(serversDuringOutage).isLessThan(down.count() / 2);
      // Phase 3: recovered.
      assertThat(healed.failed())
          .as("failures after the breaker closed: %s", healed.sampleErrors(5))
          .isZero();
      assertThat(healed.count()).isGreaterThan(100);
    }
  }

  private static long totalReceived(List<LocalServer> servers) {
    return servers.stream().mapToLong(s -> s.greeter.received.get()).sum();
  }
}
