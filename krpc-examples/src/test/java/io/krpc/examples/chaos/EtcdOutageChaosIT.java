package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.krpc.KClient;
import io.krpc.examples.chaos.ChaosRig.LocalServer;
import io.krpc.testing.EtcdClusterExtension;
import io.krpc.testing.EtcdMember;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * etcd faults under three registered servers and a client at 200 calls/s: etcd down for longer than
 * the lease TTL, and etcd wiped. Calls never depend on etcd, so none may fail, and every
 * registration must come back.
 */
@TestMethodOrder(MethodOrderer.MethodName.class)
class EtcdOutageChaosIT {
  @RegisterExtension
  final EtcdClusterExtension etcd =
      EtcdClusterExtension.builder().lifecycle(EtcdClusterExtension.Lifecycle.PER_TEST).build();

  private static final Duration LEASE_TTL = Duration.ofSeconds(2);

  @Test
  void etcdDownLongerThanLeaseTtlLosesNoCall() throws Exception {
    runUnderLoad(
        "etcd stopped 3.5 s (lease TTL 2 s) and restarted",
        rig -> {
          EtcdMember member = rig.etcd.member(0);
          member.stop();
          Thread.sleep(LEASE_TTL.toMillis() + 1500);
          member.restart(true);
        });
  }

  @Test
  void etcdWipedLosesNoCall() throws Exception {
    runUnderLoad("etcd wiped and restarted", rig -> rig.etcd.restart(false));
  }

  private interface Fault {
    void inflict(ChaosRig rig) throws Exception;
  }

  private void runUnderLoad(String scenario, Fault fault) throws Exception {
    try (ChaosRig rig = new ChaosRig(etcd.cluster(), LEASE_TTL)) {
      List<LocalServer> servers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        servers.add(rig.startServer(0, Duration.ofMillis(2)));
      }
      KClient client = rig.client(b -> b.loadBalancing("krpc_p2c"));
      ChaosRig.awaitAnswersFrom(client, servers.stream().map(LocalServer::endpoint).toList());
      SteadyLoad load = rig.load(client, 200, ChaosRig.DEADLINE);
      Thread.sleep(500);

      long faultStart = System.nanoTime();
      fault.inflict(rig);
      long etcdBack = System.nanoTime();
      await("all registrations back")
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> rig.registeredInstances() == 3);
      long registered = System.nanoTime();
      // The client still reaches every server: discovery never dropped one.
      for (LocalServer server : servers) {
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> load.answeredBy(server.endpoint(), registered));
      }
      Thread.sleep(500);
      load.stop();

      assertThat(load.inFlight()).as("calls still running after their deadline").isZero();
      SteadyLoad.Window all = load.all();
      ChaosReport.record(
          scenario,
          all,
          load.window(faultStart, registered),
          "fault "
              + (etcdBack - faultStart) / 1_000_000
              + " ms; registrations back "
              + (registered - etcdBack) / 1_000_000
              + " ms after etcd; answers per server "
              + all.okByServer());
      assertThat(all.failed()).as("failed calls: %s", all.sampleErrors(5)).isZero();
    }
  }
}
