package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.krpc.KClient;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Keepalive routes around a frozen server: three greeter servers in their own JVMs under 150
 * calls/s, {@code round_robin}, no retries; one is frozen with SIGSTOP for {@link #PAUSE}. Its
 * connection looks healthy to TCP (the kernel still acknowledges), so without keepalive a third of
 * the calls fail for as long as the freeze lasts: TCP gives up only after minutes. With {@code
 * keepAlive(10 s, 1 s)} the client PINGs the silent connection 10 s after its last read, closes it
 * 1 s later, and from then on round_robin picks only the two live servers: failures stop within the
 * keepalive time plus timeout, and no call fails for the rest of the freeze.
 *
 * <p>Run once with {@code noKeepAlive()} instead (2026-12-04): calls kept failing at a third until
 * the server was resumed, and the test failed on the late window (126 of 461 calls failed).
 *
 * <p>The frozen server keeps its registration (lease TTL 60 s, longer than the freeze), so what
 * routes around it is the connection, not discovery.
 */
class FrozenServerKeepAliveChaosIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private static final Duration KEEPALIVE_TIME = Duration.ofSeconds(10);
  private static final Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration DEADLINE = Duration.ofSeconds(1);
  private static final Duration PAUSE = Duration.ofSeconds(17);

  /** Scheduling slack on a shared 2-core machine, on top of keepalive time + timeout. */
  private static final Duration SLACK = Duration.ofSeconds(3);

  @Test
  void keepaliveStopsFailuresWithinItsTimeoutAndRoutesAroundTheFrozenServer() throws Exception {
    try (ChaosRig rig = new ChaosRig(etcd.cluster(), Duration.ofSeconds(2))) {
      ChildServer a = rig.startChild(Duration.ofSeconds(60), Duration.ofMillis(2));
      ChildServer b = rig.startChild(Duration.ofSeconds(60), Duration.ofMillis(2));
      ChildServer frozen = rig.startChild(Duration.ofSeconds(60), Duration.ofMillis(2));
      KClient client =
          rig.client(
              o -> o.loadBalancing("round_robin").keepAlive(KEEPALIVE_TIME, KEEPALIVE_TIMEOUT));
      ChaosRig.awaitAnswersFrom(client, List.of(a.endpoint(), b.endpoint(), frozen.endpoint()));
      SteadyLoad load = rig.load(client, 150, DEADLINE);
      Thread.sleep(1000);

      long paused = System.nanoTime();
      long resumed;
      frozen.pause();
      try {
        Thread.sleep(PAUSE.toMillis());
      } finally {
        frozen.resume();
        resumed = System.nanoTime();
      }
      await("the resumed server answers again")
          .atMost(Duration.ofSeconds(20))
          .until(() -> load.answeredBy(frozen.endpoint(), resumed));
      load.stop();

      long detected = paused + KEEPALIVE_TIME.plus(KEEPALIVE_TIMEOUT).plus(SLACK).toNanos();
      SteadyLoad.Window all = load.all();
      SteadyLoad.Window early = load.window(paused, detected);
      SteadyLoad.Window late = load.window(detected, resumed);
      long lastFailure =
          all.calls.stream()
              .filter(c -> !c.ok())
              .mapToLong(SteadyLoad.Call::startNanos)
              .max()
              .orElse(paused);
      ChaosReport.record(
          "1 of 3 servers frozen 17 s (SIGSTOP), round_robin, keepalive 10 s + 1 s,"
              + " no retries",
          all,
          load.window(paused, resumed),
          String.format(
              Locale.ROOT,
              "%d calls failed in the first %d s of the freeze, %d of %d"
                  + " after; the last failed call started %d ms into the freeze",
              early.failed(),
              KEEPALIVE_TIME.plus(KEEPALIVE_TIMEOUT).plus(SLACK).toSeconds(),
              late.failed(),
              late.count(),
              (lastFailure - paused) / 1_000_000));

      assertThat(load.inFlight()).as("calls that never ended (hung)").isZero();
      assertThat(early.failed())
          .as("calls the frozen server lost before keepalive noticed")
          .isPositive();
      assertThat(all.failuresByCode().keySet())
          .as("failure codes")
          .isSubsetOf(Status.Code.DEADLINE_EXCEEDED, Status.Code.UNAVAILABLE);
      assertThat(late.count()).as("calls in the rest of the freeze").isGreaterThan(300);
      assertThat(late.failed())
          .as("calls failed once keepalive closed the frozen connection: %s", late.sampleErrors(3))
          .isZero();
      assertThat(late.okByServer())
          .as("answering servers while frozen")
          .containsOnlyKeys(a.endpoint(), b.endpoint());
    }
  }
}
