package io.krpc.loadbalance.internal;

import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;
import static io.krpc.loadbalance.internal.FakeHelper.eag;
import static io.krpc.loadbalance.internal.FakeHelper.port;
import static io.krpc.loadbalance.internal.FakeHelper.resolved;
import static io.krpc.loadbalance.internal.FakeHelper.startStream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.grpc.ClientStreamTracer;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class P2cLoadBalancerTest {

  private final FakeHelper helper = new FakeHelper();
  private final P2cLoadBalancer lb = new P2cLoadBalancer(helper, helper.clock.ticker());
  private final Map<Integer, Long> latencyMicros = new HashMap<>();
  private final Map<Integer, Status> outcome = new HashMap<>();

  /** Whether latencies vary from call to call, between 0.5 and 1.5 times the endpoint's base. */
  private boolean jitter;

  private int callCount;

  @AfterEach
  void shutDown() {
    helper.run(lb::shutdown);
    assertThat(helper.subchannels).allMatch(s -> s.shutdown);
  }

  @Test
  void prefersTheFasterEndpoint() {
    start(null, 1, 2, 3);
    latencyMicros.putAll(Map.of(1, 1_000L, 2, 10_000L, 3, 5_000L));

    List<Integer> picks = calls(300); // ~0.3 s of fake time: no forced picks yet

    // The slowest endpoint only gets its first (measuring) call; the middle one wins only when it
    // is drawn with the slowest, a third of the time.
    assertThat(count(picks, 2)).isLessThanOrEqualTo(1);
    assertThat(count(picks, 1)).isGreaterThan(160);
    assertThat(count(picks, 3)).isBetween(60, 140);
  }

  @Test
  void inFlightCallsMakeAnEndpointCostlier() {
    start(null, 1, 2);
    latencyMicros.putAll(Map.of(1, 1_000L, 2, 1_000L));
    calls(20);
    PickResult onFirst = pickOn(1);
    List<ClientStreamTracer> open = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      open.add(startStream(onFirst)); // e.g. long server-streaming calls on endpoint 1
    }

    List<Integer> picks = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      picks.add(port(helper.pick()));
    }
    assertThat(picks).containsOnly(2);

    open.forEach(t -> t.streamClosed(Status.OK));
    assertThat(count(picks(400), 1)).as("endpoint 1 is wanted again").isGreaterThan(100);
  }

  @Test
  void failingEndpointIsPenalisedAndRecovers() {
    start(null, 1, 2);
    latencyMicros.putAll(Map.of(1, 1_000L, 2, 100L)); // failures come back fast
    outcome.put(2, Status.UNAVAILABLE.withDescription("overloaded"));
    calls(1000);

    List<Integer> failing = calls(1000);
    assertThat(count(failing, 2)).as("picks of the failing endpoint").isLessThan(30);

    outcome.remove(2);
    latencyMicros.put(2, 1_000L);
    jitter = true;
    helper.clock.forward(30, TimeUnit.SECONDS); // three decay times: the penalty fades
    calls(1000);
    List<Integer> recovered = calls(1000);
    assertThat(count(recovered, 2)).isBetween(250, 750);
  }

  @Test
  void anEndpointThatStartsFailingFastIsAvoidedAtOnce() {
    start(null, 1, 2);
    latencyMicros.putAll(Map.of(1, 1_000L, 2, 1_000L));
    jitter = true;
    calls(400); // both healthy and measured at about 1 ms

    latencyMicros.put(2, 100L); // now it fails, ten times faster than it served
    outcome.put(2, Status.UNAVAILABLE.withDescription("broken"));
    List<Integer> afterFailure = new ArrayList<>();
    for (int second = 0; second < 20; second++) { // 20 s at 40 calls/s: long enough to decay
      for (int quarter = 0; quarter < 4; quarter++) {
        afterFailure.addAll(calls(10));
        helper.clock.forward(250, TimeUnit.MILLISECONDS);
      }
    }
    // Its fast failures must not make it look cheaper: a few picks (the first failures and one
    // forced pick a second), far below its former half of 800 calls.
    assertThat(count(afterFailure, 2)).as("picks of the fast-failing endpoint").isLessThan(40);
  }

  @Test
  void idleEndpointIsForcePickedOncePerInterval() {
    start(null, 1, 2);
    latencyMicros.putAll(Map.of(1, 1_000L, 2, 50_000L));
    calls(10); // both measured: 2 is 50 times slower

    List<Integer> picks = calls(3000); // about 3 s of fake time

    assertThat(count(picks, 2)).isBetween(2, 4);
  }

  @Test
  void forcedPicksCanBeDisabled() {
    start(P2cConfig.parse(Map.of("forcePickInterval", 0)).getConfig(), 1, 2);
    latencyMicros.putAll(Map.of(1, 1_000L, 2, 50_000L));
    calls(10);

    assertThat(calls(3000)).doesNotContain(2);
  }

  @Test
  void slowStartRampsShareOfNewEndpoint() {
    Object config =
        P2cConfig.parse(Map.of("slowStart", "10s", "forcePickInterval", "0s")).getConfig();
    start(config, 1);
    helper.clock.forward(20, TimeUnit.SECONDS);
    helper.run(() -> lb.acceptResolvedAddresses(resolved(config, eag(1, 100), eag(2, 100))));
    helper.setState(2, READY);

    // Equal costs: the share is the chance of being drawn first, factor / (factor + 1).
    assertThat(share(picks(4000), 2)).isCloseTo(0.1 / 1.1, offset(0.03));
    helper.clock.forward(5, TimeUnit.SECONDS);
    assertThat(share(picks(4000), 2)).isCloseTo(0.5 / 1.5, offset(0.03));
    helper.clock.forward(5, TimeUnit.SECONDS);
    assertThat(share(picks(4000), 2)).isCloseTo(0.5, offset(0.03));
    assertThat(helper.clock.pendingTasks()).isZero();
  }

  @Test
  void allFailingAndEmptyResolution() {
    start(null, 1, 2);
    helper.setState(1, TRANSIENT_FAILURE);
    helper.setState(2, TRANSIENT_FAILURE);
    assertThat(helper.state).isEqualTo(TRANSIENT_FAILURE);
    assertThat(helper.pick().getStatus().getDescription()).startsWith("krpc_p2c: all 2 endpoints");

    Status[] status = new Status[1];
    helper.run(() -> status[0] = lb.acceptResolvedAddresses(resolved(null)));
    assertThat(status[0].getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(helper.pick().getStatus()).isEqualTo(status[0]);
  }

  private void start(Object config, int... ports) {
    List<io.grpc.EquivalentAddressGroup> eags = new ArrayList<>();
    for (int port : ports) {
      eags.add(eag(port, 100));
    }
    helper.run(
        () ->
            lb.acceptResolvedAddresses(
                resolved(config, eags.toArray(new io.grpc.EquivalentAddressGroup[0]))));
    for (int port : ports) {
      helper.setState(port, READY);
    }
  }

  /** Sequential calls: pick, run the stream for the endpoint's latency, close with its status. */
  private List<Integer> calls(int n) {
    return run(
        n,
        i -> {
          PickResult result = helper.pick();
          int port = port(result);
          ClientStreamTracer tracer = startStream(result);
          long micros = latencyMicros.getOrDefault(port, 1_000L);
          if (jitter) {
            micros = micros * (500 + (callCount++ * 7919L) % 1000) / 1000;
          }
          helper.clock.forward(micros, TimeUnit.MICROSECONDS);
          Status status = outcome.getOrDefault(port, Status.OK);
          if (status.isOk()) {
            tracer.inboundHeaders(new Metadata());
          }
          tracer.streamClosed(status);
          return port;
        });
  }

  private List<Integer> picks(int n) {
    return run(n, i -> port(helper.pick()));
  }

  private PickResult pickOn(int port) {
    for (int i = 0; i < 1000; i++) {
      PickResult result = helper.pick();
      if (port(result) == port) {
        return result;
      }
    }
    throw new AssertionError("endpoint " + port + " never picked");
  }

  private static List<Integer> run(int n, IntFunction<Integer> call) {
    List<Integer> picks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      picks.add(call.apply(i));
    }
    return picks;
  }

  private static int count(List<Integer> picks, int port) {
    return (int) picks.stream().filter(p -> p == port).count();
  }

  private static double share(List<Integer> picks, int port) {
    return (double) count(picks, port) / picks.size();
  }
}
