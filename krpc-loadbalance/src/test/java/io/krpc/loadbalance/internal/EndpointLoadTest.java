package io.krpc.loadbalance.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EndpointLoadTest {

  private static final long DECAY = 10_000_000_000L; // 10 s
  private static final long MS = 1_000_000L;

  /** No reference latency to drift towards. */
  private static final double NONE = Double.MAX_VALUE;

  private final EndpointLoad load = new EndpointLoad();

  @Test
  void higherRttOfAnIdleEndpointResetsTheEstimateLowerRttDecaysTowardsIt() {
    load.recordLatency(2 * MS, 0, 0, DECAY);
    load.recordLatency(50 * MS, 0, 1 * MS, DECAY);
    assertThat(load.latencyNanos()).isEqualTo(50 * MS); // the peak is taken at once

    // The decay time follows the estimate: 10 x 50 ms = 500 ms, so 500 ms later the peak has
    // faded to 1/e (the old rule, a fixed 10 s, kept it for seconds).
    load.recordLatency(2 * MS, 0, 501 * MS, DECAY);
    double keep = Math.exp(-1);
    assertThat(load.latencyNanos()).isCloseTo(50 * MS * keep + 2 * MS * (1 - keep), offset(1.0));
  }

  @Test
  void decayTimeCapsTheLatencyRelativeDecay() {
    long cap = 100 * MS; // below 10 x 50 ms
    load.recordLatency(50 * MS, 0, 0, cap);
    load.recordLatency(2 * MS, 0, cap, cap);
    double keep = Math.exp(-1);
    assertThat(load.latencyNanos()).isCloseTo(50 * MS * keep + 2 * MS * (1 - keep), offset(1.0));
  }

  @Test
  void aSlowAnswerAmongConcurrentOnesMovesTheEstimateByItsShare() {
    load.recordLatency(MS, 0, 0, DECAY);
    // 20 ms later, one answer of a call that had 19 others beside it: it carries a 20th of the
    // evidence (a client pause delays all 20 alike), not the whole.
    load.recordLatency(21 * MS, 19, 0, DECAY);
    assertThat(load.latencyNanos()).isCloseTo(MS + 20 * MS / 20.0, offset(1.0));
  }

  @Test
  void aBusyFastEndpointForgetsAPauseWithinAFewOfItsOwnLatencies() {
    long now = 0;
    for (int i = 0; i < 200; i++) { // 0.5 ms answers, 20 in flight: one every 25 us
      now += 25_000;
      load.recordLatency(MS / 2, 19, now, DECAY);
    }
    now += 20 * MS; // a 20 ms pause holds all 20 calls
    for (int i = 0; i < 20; i++) {
      load.recordLatency(20 * MS + MS / 2, 19, now, DECAY);
    }
    assertThat(load.latencyNanos()).isGreaterThan(5 * MS);
    for (int i = 0; i < 12000; i++) { // 300 ms of normal answers
      now += 25_000;
      load.recordLatency(MS / 2, 19, now, DECAY);
    }
    assertThat(load.latencyNanos()).isLessThan(MS);
  }

  @Test
  void costGrowsWithCallsInFlightAndFailures() {
    assertThat(load.cost(0, DECAY, 0, NONE)).isZero(); // never measured and idle: try it
    load.callStarted();
    assertThat(load.cost(0, DECAY, 0, NONE)).isGreaterThan(EndpointLoad.UNMEASURED_PENALTY);
    load.recordLatency(MS, 0, 0, DECAY);
    double oneInFlight = load.cost(0, DECAY, 0, NONE);
    load.callStarted();
    assertThat(load.cost(0, DECAY, 0, NONE)).isCloseTo(oneInFlight * 1.5, offset(1.0));
    load.callFinished();
    load.callFinished();
    double idle = load.cost(0, DECAY, 0, NONE);

    load.recordOutcome(Status.Code.UNAVAILABLE, 0, DECAY);
    assertThat(load.successRate(0, DECAY)).isCloseTo(0.95, offset(1e-9));
    assertThat(load.cost(0, DECAY, 0, NONE)).isCloseTo(idle / 0.95, offset(1.0));
    load.recordOutcome(Status.Code.NOT_FOUND, 0, DECAY); // an answer, not an endpoint failure
    assertThat(load.successRate(0, DECAY)).isCloseTo(0.9525, offset(1e-9));
  }

  @Test
  void callsInFlightCountInFullOnlyBeyondTheFleetsMeanPerEndpoint() {
    load.recordLatency(MS, 9, 0, DECAY);
    for (int i = 0; i < 9; i++) {
      load.callStarted();
    }
    // A 10th call where the fleet holds 9 per endpoint: the latency already holds that queueing.
    assertThat(load.cost(0, DECAY, 9, NONE)).isCloseTo(MS + 1, offset(1.0));
    load.callStarted();
    assertThat(load.cost(0, DECAY, 9, NONE)).isCloseTo((MS + 1) * 1.1, offset(1.0));
    // Where the fleet holds only 4 per endpoint: (10 + 1) / (4 + 1) for being above it.
    assertThat(load.cost(0, DECAY, 4, NONE)).isCloseTo((MS + 1) * 11 / 5.0, offset(1.0));
    for (int i = 0; i < 10; i++) {
      load.callFinished();
    }
    // Below the mean: sqrt((0 + 1) / (2 + 1)), not a third; never below half the latency.
    assertThat(load.cost(0, DECAY, 2, NONE)).isCloseTo((MS + 1) * Math.sqrt(1 / 3.0), offset(1.0));
    assertThat(load.cost(0, DECAY, 15, NONE)).isCloseTo((MS + 1) * 0.5, offset(1.0));
  }

  @Test
  void aStaleHigherEstimateDriftsTowardsTheComparedOne() {
    load.recordLatency(10 * MS, 0, 0, DECAY);
    assertThat(load.cost(0, DECAY, 0, MS)).isCloseTo(10 * MS + 1, offset(1.0));
    // 100 ms later (10 x 10 ms), a third of the way from the reference is left.
    assertThat(load.cost(100 * MS, DECAY, 0, MS))
        .isCloseTo(MS + 9 * MS * Math.exp(-1) + 1, offset(1.0));
    // Never below the reference, and a lower estimate is taken as it is.
    assertThat(load.cost(10_000 * MS, DECAY, 0, MS)).isCloseTo(MS + 1, offset(1.0));
    assertThat(load.cost(10_000 * MS, DECAY, 0, 20 * MS)).isCloseTo(10 * MS + 1, offset(1.0));
  }

  @Test
  void aStaleEstimateDriftsOnlyWhileIdleOneProbeAtATime() {
    load.recordLatency(10 * MS, 0, 0, DECAY);
    double idle = load.cost(100 * MS, DECAY, 1, MS);
    assertThat(idle).isCloseTo((MS + 9 * MS * Math.exp(-1) + 1) * Math.sqrt(1 / 2.0), offset(1.0));
    load.callStarted(); // the probe: until it answers, the endpoint costs its own estimate
    assertThat(load.cost(100 * MS, DECAY, 1, MS)).isCloseTo(10 * MS + 1, offset(1.0));
    load.callFinished();
    assertThat(load.cost(100 * MS, DECAY, 1, MS)).isCloseTo(idle, offset(1.0));
  }

  @Test
  void fleetCounterSumsEveryEndpointsCallsInFlight() {
    AtomicInteger fleet = new AtomicInteger();
    EndpointLoad a = new EndpointLoad(fleet);
    EndpointLoad b = new EndpointLoad(fleet);
    assertThat(a.callStarted()).isZero();
    assertThat(a.callStarted()).isEqualTo(1); // one other call beside it
    b.callStarted();
    assertThat(a.fleetInFlight()).isEqualTo(3);
    a.callFinished();
    assertThat(b.fleetInFlight()).isEqualTo(2);
  }

  @Test
  void successRateRecoversWithTimeAndIsFloored() {
    for (int i = 0; i < 500; i++) {
      load.recordOutcome(Status.Code.RESOURCE_EXHAUSTED, 0, DECAY);
    }
    load.recordLatency(MS, 0, 0, DECAY);
    assertThat(load.successRate(0, DECAY)).isLessThan(0.01);
    assertThat(load.cost(0, DECAY, 0, NONE))
        .isCloseTo((MS + 1) / EndpointLoad.MIN_SUCCESS, offset(1.0));

    assertThat(load.successRate(3 * DECAY, DECAY)).isCloseTo(1 - Math.exp(-3), offset(0.01));
  }

  @Test
  void forcedPickIsClaimedOncePerInterval() {
    load.resetPickTime(0);
    assertThat(load.claimForcedPick(999 * MS, 1000 * MS)).isFalse();
    assertThat(load.claimForcedPick(1000 * MS, 1000 * MS)).isTrue();
    assertThat(load.claimForcedPick(1000 * MS, 1000 * MS)).isFalse();
  }

  @Test
  void failureCodesAreTheEndpointHealthOnes() {
    assertThat(EndpointLoad.isFailure(Status.Code.UNAVAILABLE)).isTrue();
    assertThat(EndpointLoad.isFailure(Status.Code.DEADLINE_EXCEEDED)).isTrue();
    assertThat(EndpointLoad.isFailure(Status.Code.INTERNAL)).isTrue();
    assertThat(EndpointLoad.isFailure(Status.Code.RESOURCE_EXHAUSTED)).isTrue();
    // a connection that dies mid-call ends in UNKNOWN: the same table as the circuit breaker's
    assertThat(EndpointLoad.isFailure(Status.Code.UNKNOWN)).isTrue();
    assertThat(EndpointLoad.isFailure(Status.Code.DATA_LOSS)).isTrue();
    assertThat(EndpointLoad.isFailure(Status.Code.CANCELLED)).isFalse();
    assertThat(EndpointLoad.isFailure(Status.Code.INVALID_ARGUMENT)).isFalse();
    assertThat(EndpointLoad.isFailure(Status.Code.OK)).isFalse();
  }
}
