package io.krpc.loadbalance.internal;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;
import static io.krpc.loadbalance.internal.FakeHelper.eag;
import static io.krpc.loadbalance.internal.FakeHelper.port;
import static io.krpc.loadbalance.internal.FakeHelper.resolved;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.LoadBalancer.PickResult;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WrrLoadBalancerTest {

  private final FakeHelper helper = new FakeHelper();
  private final WrrLoadBalancer lb = new WrrLoadBalancer(helper, helper.clock.ticker());

  @AfterEach
  void shutDown() {
    helper.run(lb::shutdown);
    assertThat(helper.subchannels).allMatch(s -> s.shutdown);
    assertThat(helper.clock.pendingTasks()).isZero();
  }

  @Test
  void weightsOneTwoSevenGiveExactSpreadWithoutBursts() {
    accept(null, eag(1, 1), eag(2, 2), eag(3, 7));
    allReady(1, 2, 3);

    List<Integer> picks = picks(100);
    assertThat(count(picks, 1)).isEqualTo(10);
    assertThat(count(picks, 2)).isEqualTo(20);
    assertThat(count(picks, 3)).isEqualTo(70);
    for (int start = 0; start + 10 <= picks.size(); start++) {
      List<Integer> window = picks.subList(start, start + 10);
      assertThat(List.of(count(window, 1), count(window, 2), count(window, 3)))
          .as("picks %d..%d", start, start + 9)
          .containsExactly(1, 2, 7);
    }
  }

  @Test
  void weightChangeAppliesWithoutReconnecting() {
    accept(null, eag(1, 100), eag(2, 100));
    allReady(1, 2);
    assertThat(count(picks(100), 1)).isEqualTo(50);

    accept(null, eag(1, 100), eag(2, 300));

    assertThat(helper.subchannels).hasSize(2).noneMatch(s -> s.shutdown);
    assertThat(helper.state).isEqualTo(READY);
    List<Integer> picks = picks(400);
    assertThat(count(picks, 1)).isEqualTo(100);
    assertThat(count(picks, 2)).isEqualTo(300);
  }

  @Test
  void missingWeightMeansDefaultAndRemovedEndpointIsShutDown() {
    accept(
        null,
        eag(1, 100),
        new io.grpc.EquivalentAddressGroup(new java.net.InetSocketAddress("127.0.0.1", 2)),
        eag(3, 200));
    allReady(1, 2, 3);
    List<Integer> picks = picks(400);
    assertThat(List.of(count(picks, 1), count(picks, 2), count(picks, 3)))
        .containsExactly(100, 100, 200);

    accept(null, eag(1, 100), eag(3, 200));

    assertThat(helper.subchannel(2).shutdown).isTrue();
    assertThat(picks(300)).doesNotContain(2);
  }

  @Test
  void slowStartRampsNewEndpointLinearly() {
    Map<String, ?> raw = Map.of("slowStart", "10s");
    Object config = WrrConfig.parse(raw).getConfig();
    accept(config, eag(1, 100));
    helper.setState(1, READY);
    helper.clock.forward(20, TimeUnit.SECONDS); // endpoint 1 is fully warm

    accept(config, eag(1, 100), eag(2, 100));
    helper.setState(2, READY);
    // At 0% of the window the new endpoint gets the minimum factor 0.1: weights 100:10.
    assertThat(count(picks(110), 2)).isEqualTo(10);

    helper.clock.forward(5, TimeUnit.SECONDS); // 50%: weights 100:50
    assertThat(count(picks(150), 2)).isEqualTo(50);

    helper.clock.forward(5, TimeUnit.SECONDS); // 100%: weights 100:100, ramp timer stops
    assertThat(count(picks(200), 2)).isEqualTo(100);
    assertThat(helper.clock.pendingTasks()).isZero();
  }

  @Test
  void slowStartRampsEvenTheSmallestWeight() {
    Object config = WrrConfig.parse(Map.of("slowStart", 10)).getConfig();
    accept(config, eag(1, 1));
    helper.setState(1, READY);
    helper.clock.forward(20, TimeUnit.SECONDS);
    accept(config, eag(1, 1), eag(2, 1));
    helper.setState(2, READY);
    helper.clock.forward(5, TimeUnit.SECONDS);

    assertThat(count(picks(300), 2)).isEqualTo(100); // weights 1 : 1 x 0.5
  }

  @Test
  void emptyAddressListIsUnavailable() {
    Status status = accept(null);

    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("krpc_wrr", "no addresses");
    assertThat(helper.state).isEqualTo(TRANSIENT_FAILURE);
    assertThat(helper.pick().getStatus()).isEqualTo(status);
  }

  @Test
  void allEndpointsFailingIsTransientFailureUntilOneIsReady() {
    accept(null, eag(1, 100), eag(2, 100));
    assertThat(helper.state).isEqualTo(CONNECTING);
    assertThat(helper.pick().hasResult()).isFalse();

    helper.setState(1, TRANSIENT_FAILURE);
    assertThat(helper.state).isEqualTo(CONNECTING);
    helper.setState(2, TRANSIENT_FAILURE);

    assertThat(helper.state).isEqualTo(TRANSIENT_FAILURE);
    PickResult failed = helper.pick();
    assertThat(failed.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(failed.getStatus().getDescription())
        .contains("all 2 endpoints are in TRANSIENT_FAILURE", "refused");
    assertThat(helper.refreshes).isEqualTo(2);

    helper.setState(1, CONNECTING); // sticky: still failing while it retries
    assertThat(helper.state).isEqualTo(TRANSIENT_FAILURE);
    helper.setState(1, READY);
    assertThat(helper.state).isEqualTo(READY);
    assertThat(picks(10)).containsOnly(1);
  }

  @Test
  void idleEndpointReconnectsAndRefreshesResolution() {
    accept(null, eag(1, 100));
    helper.setState(1, READY);
    int requests = helper.subchannel(1).connectionRequests;

    helper.setState(1, IDLE);

    assertThat(helper.subchannel(1).connectionRequests).isEqualTo(requests + 1);
    assertThat(helper.refreshes).isEqualTo(1);
    assertThat(helper.state).isEqualTo(CONNECTING);
  }

  @Test
  void resolverErrorKeepsServingWhenReady() {
    accept(null, eag(1, 100));
    helper.setState(1, READY);

    helper.run(() -> lb.handleNameResolutionError(Status.UNAVAILABLE.withDescription("dns")));

    assertThat(helper.state).isEqualTo(READY);
    assertThat(picks(3)).containsOnly(1);
  }

  private Status accept(Object config, io.grpc.EquivalentAddressGroup... eags) {
    Status[] result = new Status[1];
    helper.run(() -> result[0] = lb.acceptResolvedAddresses(resolved(config, eags)));
    return result[0];
  }

  private void allReady(int... ports) {
    for (int port : ports) {
      helper.setState(port, READY);
    }
  }

  private List<Integer> picks(int n) {
    List<Integer> picks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      picks.add(port(helper.pick()));
    }
    return picks;
  }

  static int count(List<Integer> picks, int port) {
    return (int) picks.stream().filter(p -> p == port).count();
  }
}
