package io.krpc.loadbalance.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

class EndpointLoadTest {

  private static final long DECAY = 10_000_000_000L; // 10 s
  private static final long MS = 1_000_000L;

  private final EndpointLoad load = new EndpointLoad();

  @Test
  void higherRttResetsTheEstimateLowerRttDecaysTowardsIt() {
    load.recordLatency(2 * MS, 0, DECAY);
    load.recordLatency(50 * MS, 1 * MS, DECAY);
    assertThat(load.latencyNanos()).isEqualTo(50 * MS); // the peak is taken at once

    load.recordLatency(2 * MS, 1 * MS + DECAY, DECAY); // one decay time later
    double keep = Math.exp(-1);
    assertThat(load.latencyNanos()).isCloseTo(50 * MS * keep + 2 * MS * (1 - keep), offset(1.0));
  }

  @Test
  void costGrowsWithCallsInFlightAndFailures() {
    assertThat(load.cost(0, DECAY)).isZero(); // never measured and idle: try it
    load.callStarted();
    assertThat(load.cost(0, DECAY)).isGreaterThan(EndpointLoad.UNMEASURED_PENALTY);
    load.recordLatency(MS, 0, DECAY);
    double oneInFlight = load.cost(0, DECAY);
    load.callStarted();
    assertThat(load.cost(0, DECAY)).isCloseTo(oneInFlight * 1.5, offset(1.0));
    load.callFinished();
    load.callFinished();
    double idle = load.cost(0, DECAY);

    load.recordOutcome(Status.Code.UNAVAILABLE, 0, DECAY);
    assertThat(load.successRate(0, DECAY)).isCloseTo(0.95, offset(1e-9));
    assertThat(load.cost(0, DECAY)).isCloseTo(idle / 0.95, offset(1.0));
    load.recordOutcome(Status.Code.NOT_FOUND, 0, DECAY); // an answer, not an endpoint failure
    assertThat(load.successRate(0, DECAY)).isCloseTo(0.9525, offset(1e-9));
  }

  @Test
  void successRateRecoversWithTimeAndIsFloored() {
    for (int i = 0; i < 500; i++) {
      load.recordOutcome(Status.Code.RESOURCE_EXHAUSTED, 0, DECAY);
    }
    load.recordLatency(MS, 0, DECAY);
    assertThat(load.successRate(0, DECAY)).isLessThan(0.01);
    assertThat(load.cost(0, DECAY)).isCloseTo((MS + 1) / EndpointLoad.MIN_SUCCESS, offset(1.0));

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
