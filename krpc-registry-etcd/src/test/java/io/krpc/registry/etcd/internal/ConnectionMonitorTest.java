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

  @Test
  void recentAnswersOnTheConnectionStandInForTheProbe() {
    start();
    assertThat(etcd.count("probe")).isEqualTo(1);
    // a watch event, keep-alive or call of a registry sharing the connection every 200 ms
    for (int i = 0; i < 25; i++) {
      etcd.answered(time.nanoTime());
      time.advance(Duration.ofMillis(200));
    }
    assertThat(etcd.count("probe")).isEqualTo(1);
    assertThat(monitor.skipped()).isGreaterThanOrEqualTo(8);
    assertThat(events).isEmpty();
    // once the connection is quiet, the probe runs again within an interval of the last answer
    time.advance(Duration.ofMillis(400));
    assertThat(etcd.count("probe")).isEqualTo(2);
  }

  @Test
  void anAnswerOlderThanTheIntervalIsNoProof() {
    start();
    etcd.answered(time.nanoTime());
    time.advance(Duration.ofMillis(500));
    assertThat(etcd.count("probe")).isEqualTo(2);
    assertThat(monitor.skipped()).isZero();
  }

  @Test
  void anAnswerOfAnotherTermOrAnOlderRevisionIsNoProof() {
    start();
    // a restart or a new leader shows in the answer's header: the probe runs and finds it
    etcd.raftTerm++;
    etcd.answered(time.nanoTime());
    time.advance(Duration.ofMillis(500));
    assertThat(etcd.count("probe")).isEqualTo(2);
    assertThat(events)
        .containsExactly("recovered: etcd raft term changed from 2 to 3 (restart or new leader)");
    etcd.revision = 0;
    etcd.answered(time.nanoTime());
    time.advance(Duration.ofMillis(500));
    assertThat(etcd.count("probe")).isEqualTo(3);
    assertThat(events).hasSize(2);
    assertThat(events.get(1)).contains("revision went back");
  }

  @Test
  void aFrozenEtcdIsFoundWithinAnIntervalAndAProbeTimeoutOfItsLastAnswer() {
    start();
    for (int i = 0; i < 10; i++) {
      etcd.answered(time.nanoTime());
      time.advance(Duration.ofMillis(100));
    }
    // the last answer was 100 ms ago; then nothing, and the probe hangs
    etcd.hang = true;
    time.advance(Duration.ofMillis(1300));
    assertThat(events).isEmpty();
    time.advance(Duration.ofMillis(200));
    assertThat(events).containsExactly("outage");
  }

  @Test
  void answersDoNotStandInWhileFailing() {
    start();
    etcd.down = true;
    time.advance(Duration.ofMillis(1600));
    assertThat(events).containsExactly("outage");
    etcd.down = false;
    etcd.answered(time.nanoTime());
    int probes = etcd.count("probe");
    time.advance(Duration.ofMillis(500));
    assertThat(etcd.count("probe")).isGreaterThan(probes);
    assertThat(events).hasSize(2);
    assertThat(events.get(1)).startsWith("recovered: etcd answers again");
  }

  private void start() {
    time.execute(monitor::start);
    time.runDue();
  }
}
