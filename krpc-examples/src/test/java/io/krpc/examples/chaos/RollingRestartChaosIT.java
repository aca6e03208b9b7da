package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.krpc.KClient;
import io.krpc.examples.chaos.ChaosRig.LocalServer;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A rolling restart under load: each of three servers is closed gracefully (NOT_SERVING,
 * deregister, deregister delay, drain) and started again on its port, one after the other, while a
 * client sends 200 calls/s. Not one call may fail, whichever balancing policy the client uses.
 */
class RollingRestartChaosIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"round_robin", "krpc_p2c", "krpc_wrr"})
  void rollingRestartOfAllServersLosesNoCall(String policy) throws Exception {
    try (ChaosRig rig = new ChaosRig(etcd.cluster(), Duration.ofSeconds(2))) {
      List<LocalServer> servers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        servers.add(rig.startServer(0, Duration.ofMillis(2)));
      }
      KClient client = rig.client(b -> b.loadBalancing(policy));
      ChaosRig.awaitAnswersFrom(client, servers.stream().map(LocalServer::endpoint).toList());
      SteadyLoad load = rig.load(client, 200, ChaosRig.DEADLINE);
      Thread.sleep(500);

      long faultStart = System.nanoTime();
      for (LocalServer server : servers) {
        server.close();
        long restarted = System.nanoTime();
        server.start();
        // A rolling deploy moves on once the new instance takes traffic.
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> load.answeredBy(server.endpoint(), restarted));
      }
      long faultEnd = System.nanoTime();
      Thread.sleep(500);
      load.stop();

      assertThat(load.inFlight()).as("calls still running after their deadline").isZero();
      SteadyLoad.Window all = load.all();
      ChaosReport.record(
          "rolling restart of 3 servers (" + policy + ")",
          all,
          load.window(faultStart, faultEnd),
          "restart took "
              + (faultEnd - faultStart) / 1_000_000
              + " ms; per server "
              + all.okByServer());
      assertThat(all.failed()).as("failed calls: %s", all.sampleErrors(5)).isZero();
      assertThat(all.count()).isGreaterThan(400);
    }
  }
}
