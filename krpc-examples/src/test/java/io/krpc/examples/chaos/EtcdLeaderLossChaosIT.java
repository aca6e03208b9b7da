package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.krpc.KClient;
import io.krpc.examples.chaos.ChaosRig.LocalServer;
import io.krpc.testing.EtcdCluster;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * kill -9 of the leader of a three-member etcd cluster under three registered servers and a client
 * at 200 calls/s: no call fails and every registration survives the election.
 */
class EtcdLeaderLossChaosIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).build();

  private static final Duration LEASE_TTL = Duration.ofSeconds(2);

  @Test
  void etcdLeaderKilledLosesNoCall() throws Exception {
    EtcdCluster cluster = etcd.cluster();
    try (ChaosRig rig = new ChaosRig(cluster, LEASE_TTL)) {
      List<LocalServer> servers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        servers.add(rig.startServer(0, Duration.ofMillis(2)));
      }
      KClient client = rig.client(b -> b.loadBalancing("krpc_p2c"));
      ChaosRig.awaitAnswersFrom(client, servers.stream().map(LocalServer::endpoint).toList());
      SteadyLoad load = rig.load(client, 200, ChaosRig.DEADLINE);
      Thread.sleep(500);

      int leader = cluster.leaderIndex();
      assertThat(leader).as("leader index").isNotNegative();
      long faultStart = System.nanoTime();
      cluster.member(leader).kill();
      await("a new leader")
          .atMost(Duration.ofSeconds(15))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> cluster.leaderIndex() >= 0);
      long elected = System.nanoTime();
      // Past the lease TTL: leases must have been kept alive through the new leader.
      Thread.sleep(LEASE_TTL.toMillis() + 500);
      await("all registrations kept")
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> rig.registeredInstances() == 3);
      long faultEnd = System.nanoTime();
      load.stop();

      assertThat(load.inFlight()).as("calls still running after their deadline").isZero();
      SteadyLoad.Window all = load.all();
      ChaosReport.record(
          "etcd leader (1 of 3 members) killed",
          all,
          load.window(faultStart, faultEnd),
          "new leader after "
              + (elected - faultStart) / 1_000_000
              + " ms; answers per server "
              + all.okByServer());
      assertThat(all.failed()).as("failed calls: %s", all.sampleErrors(5)).isZero();
      for (LocalServer server : servers) {
        assertThat(load.answeredBy(server.endpoint(), elected)).as(server.endpoint()).isTrue();
      }
    }
  }
}
