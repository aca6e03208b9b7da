package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The connection monitor's findings on fake time and an in-memory etcd. */
class ConnectionMonitorTest {
  private final FakeScheduler time = new FakeScheduler();
  private final FakeEtcd etcd = new FakeEtcd();
  private final List<String> events = new ArrayList<>();
  private final ConnectionMonitor monitor =
      new ConnectionMonitor(
          etcd,
          time,
          "/krpc/",
          Duration.ofMillis(500),
          Duration.ofSeconds(1),
          Duration.ofSeconds(5),
          new ConnectionMonitor.Callbacks() {
            @Override
            public void onOutage(Throwable cause) {
              events.add("outage");
            }

            @Override
            public void onRecovered(String why) {
              events.add("recovered: " + why);
            }
          });

  @Test
  void anOutageIsReportedOnceAndItsEndTriggersAResync() {
    start();
    etcd.down = true;
    time.advance(Duration.ofSeconds(3));
    assertThat(events).containsExactly("outage");
    // further failures open fresh connections so etcd's return is seen at once
    assertThat(etcd.count("reconnect")).isGreaterThan(3);
    etcd.down = false;
    time.advance(Duration.ofMillis(300));
    assertThat(events).hasSize(2);
    assertThat(events.get(1)).startsWith("recovered: etcd answers again");
  }

  @Test
  void aReconnectNamesTheGenerationWhoseProbeFailed() {
    // registries sharing a connection all see its probe fail: only the first reconnect of a
    // generation replaces it, so each names the generation it probed on
    start();
    etcd.down = true;
    time.advance(Duration.ofSeconds(2));
    assertThat(etcd.reconnectsSeen).isNotEmpty();
    for (int i = 0; i < etcd.reconnectsSeen.size(); i++) {
      assertThat(etcd.reconnectsSeen.get(i)).isEqualTo((long) i);
    }
  }

  @Test
  void aFrozenEtcdIsAnOutageAfterTheProbeTimeout() {
    start();
    etcd.hang = true;
    time.advance(Duration.ofMillis(1400));
    assertThat(events).isEmpty();
    time.advance(Duration.ofMillis(200));
    assertThat(events).containsExactly("outage");
  }

  @Test
  void aRestartOrAWipeIsFoundFromTheHeader() {
    start();
    etcd.raftTerm++;
    time.advance(Duration.ofMillis(500));
    assertThat(events)
        .containsExactly(
            "recovered: etcd raft term changed from 2 to 3 " + "(restart or new leader)");
    etcd.revision = 0;
    time.advance(Duration.ofMillis(500));
    assertThat(events).hasSize(2);
    assertThat(events.get(1)).contains("revision went back");
  }

  @Test
  void aForgottenTokenAuthenticatesAgainWithoutAnOutage() {
    start();
    etcd.probeError =
        Status.UNAUTHENTICATED
            .withDescription("etcdserver: invalid auth token")
            .asRuntimeException();
    time.advance(Duration.ofMillis(500));
    assertThat(etcd.count("reconnect")).isEqualTo(1);
    time.runDue();
    assertThat(events).isEmpty();
    assertThat(monitor.failing()).isFalse();
  }

  private void start() {
    time.execute(monitor::start);
    time.runDue();
  }
}
