package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.krpc.KClient;
import io.krpc.examples.chaos.ChaosRig.LocalServer;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One of three servers frozen (SIGSTOP) for 3 s under 200 calls/s with {@code krpc_p2c} and 1 s
 * deadlines: calls sent to it end by their deadline, P2C moves the load to the two others, no call
 * hangs, and the server gets traffic again once resumed.
 *
 * <p>The frozen server keeps its registration (lease TTL 10 s, longer than the pause), so that what
 * moves the load away is the balancer, not discovery.
 */
class PausedServerChaosIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private static final Duration DEADLINE = Duration.ofSeconds(1);
  private static final Duration PAUSE = Duration.ofSeconds(3);

  @Test
  void pausedServerCostsOnlyDeadlinesAndLoadMovesAway() throws Exception {
    try (ChaosRig rig = new ChaosRig(etcd.cluster(), Duration.ofSeconds(2))) {
      LocalServer a = rig.startServer(0, Duration.ofMillis(2));
      LocalServer b = rig.startServer(0, Duration.ofMillis(2));
      ChildServer frozen = rig.startChild(Duration.ofSeconds(10), Duration.ofMillis(2));
      KClient client = rig.client(o -> o.loadBalancing("krpc_p2c"));
      ChaosRig.awaitAnswersFrom(client, List.of(a.endpoint(), b.endpoint(), frozen.endpoint()));
      SteadyLoad load = rig.load(client, 200, DEADLINE);
      Thread.sleep(1000);

      long paused = System.nanoTime();
      frozen.pause();
      Thread.sleep(PAUSE.toMillis());
      frozen.resume();
      long resumed = System.nanoTime();
      await("the resumed server answers again")
          .atMost(Duration.ofSeconds(10))
          .until(() -> load.answeredBy(frozen.endpoint(), resumed));
      long back = System.nanoTime();
      Thread.sleep(500);
      load.stop();

      assertThat(load.inFlight()).as("calls that never ended (hung)").isZero();
      SteadyLoad.Window all = load.all();
      SteadyLoad.Window pause = load.window(paused, resumed);
      ChaosReport.record(
          "1 of 3 servers paused 3 s (SIGSTOP), p2c, 1 s deadline",
          all,
          pause,
          String.format(
              Locale.ROOT,
              "%d of %d calls during the pause failed (%.1f%%, round robin"
                  + " would lose a third); resumed server answered again after %d ms",
              pause.failed(),
              pause.count(),
              100.0 * pause.failed() / pause.count(),
              (back - resumed) / 1_000_000));

      // No call hangs: each ends by its deadline (plus scheduling slack on a busy machine).
      assertThat(all.maxMillis()).as("slowest call, ms").isLessThan(DEADLINE.toMillis() + 1500);
      assertThat(all.failuresByCode().keySet())
          .as("failure codes")
          .isSubsetOf(Status.Code.DEADLINE_EXCEEDED);
      // P2C moved the load away: far fewer lost calls than the third round robin would lose
      // (typically under 1%; a starved CI machine adds deadlines missed by healthy servers).
      assertThat(pause.failed()).as("calls lost during the pause").isLessThan(pause.count() / 5);
    }
  }
}
