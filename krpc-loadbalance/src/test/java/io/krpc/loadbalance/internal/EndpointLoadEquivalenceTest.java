package io.krpc.loadbalance.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The per-call work of krpc_p2c was made cheaper (one tracer object per call, no lambda per update,
 * no clock read or exponential where the success rate is 1): its decisions must not change. Seeded
 * random streams of calls (starts, response headers, closes with every kind of status, double
 * closes) drive the current {@link LoadRecordingTracerFactory} and {@link EndpointLoad} and, beside
 * them, the previous tracer logic over {@link ReferenceEndpointLoad} (the previous code, verbatim)
 * on the same fake clock; after every event each cost the picker could ask for must be the same
 * double, bit for bit.
 */
class EndpointLoadEquivalenceTest {

  private static final Status.Code[] CODES = {
    Status.Code.OK,
    Status.Code.OK,
    Status.Code.OK,
    Status.Code.OK,
    Status.Code.UNAVAILABLE,
    Status.Code.DEADLINE_EXCEEDED,
    Status.Code.RESOURCE_EXHAUSTED,
    Status.Code.NOT_FOUND,
    Status.Code.CANCELLED,
  };

  /** Fleet means and reference latencies a picker may pass to {@code cost}. */
  private static final double[] MEANS = {0, 0.5, 3, 20};

  private static final double[] REFERENCES = {Double.MAX_VALUE, 200_000, 1_000_000, 30_000_000};

  @Test
  void costsAreBitForBitThoseOfThePreviousCode() {
    int compared = 0;
    for (long seed = 1; seed <= 40; seed++) {
      compared += replay(seed, seed % 2 == 0 ? 10_000_000_000L : 50_000_000L);
    }
    assertThat(compared).as("costs compared").isGreaterThan(500_000);
  }

  /** Replays one seeded stream of events; returns how many costs it compared. */
  private static int replay(long seed, long decayNanos) {
    Random random = new Random(seed);
    FakeClock clock = new FakeClock();
    EndpointLoad load = new EndpointLoad();
    ReferenceEndpointLoad reference = new ReferenceEndpointLoad();
    LoadRecordingTracerFactory factory =
        new LoadRecordingTracerFactory(load, clock.ticker(), decayNanos);
    List<ClientStreamTracer> tracers = new ArrayList<>();
    List<ReferenceTracer> referenceTracers = new ArrayList<>();
    int compared = 0;
    for (int event = 0; event < 2_000; event++) {
      // Mostly microseconds to milliseconds apart, now and then a pause of seconds.
      long step =
          random.nextInt(50) == 0 ? random.nextInt(30_000) * 1_000_000L : random.nextInt(3_000_000);
      clock.forward(step, TimeUnit.NANOSECONDS);
      long now = clock.nanos();
      int action = random.nextInt(10);
      if (action < 4 || tracers.isEmpty()) {
        tracers.add(
            factory.newClientStreamTracer(
                ClientStreamTracer.StreamInfo.newBuilder().build(), new Metadata()));
        referenceTracers.add(new ReferenceTracer(reference, now, decayNanos));
      } else {
        int i = random.nextInt(tracers.size());
        if (action < 6) {
          tracers.get(i).inboundHeaders(new Metadata());
          referenceTracers.get(i).inboundHeaders(now);
        } else {
          Status status = Status.fromCode(CODES[random.nextInt(CODES.length)]);
          tracers.get(i).streamClosed(status);
          referenceTracers.get(i).streamClosed(status, now);
          if (random.nextInt(8) != 0) { // else left in the list: closed again or headers later
            tracers.remove(i);
            referenceTracers.remove(i);
          }
        }
      }
      assertThat(load.inFlight()).isEqualTo(reference.inFlight());
      assertThat(load.fleetInFlight()).isEqualTo(reference.fleetInFlight());
      assertThat(load.latencyNanos()).isEqualTo(reference.latencyNanos());
      assertThat(load.successRate(now, decayNanos))
          .isEqualTo(reference.successRate(now, decayNanos));
      for (double mean : MEANS) {
        for (double ref : REFERENCES) {
          assertThat(load.cost(now, decayNanos, mean, ref))
              .as("seed %d event %d mean %s reference %s", seed, event, mean, ref)
              .isEqualTo(reference.cost(now, decayNanos, mean, ref));
          compared++;
        }
      }
    }
    return compared;
  }

  /** The previous LoadRecordingTracerFactory's tracer, over the reference load and a given time. */
  private static final class ReferenceTracer {
    private final ReferenceEndpointLoad load;
    private final long decayNanos;
    private final long startNanos;
    private final int othersInFlight;
    private boolean latencyRecorded;
    private boolean closed;

    ReferenceTracer(ReferenceEndpointLoad load, long nowNanos, long decayNanos) {
      this.load = load;
      this.decayNanos = decayNanos;
      this.othersInFlight = load.callStarted();
      this.startNanos = nowNanos;
    }

    void inboundHeaders(long now) {
      recordLatencyOnce(now);
    }

    void streamClosed(Status status, long now) {
      if (closed) {
        return;
      }
      closed = true;
      if (status.getCode() != Status.Code.CANCELLED) {
        if (ReferenceEndpointLoad.isFailure(status.getCode())) {
          if (!latencyRecorded) {
            latencyRecorded = true;
            load.recordFailedCallLatency(now - startNanos, othersInFlight, now, decayNanos);
          }
        } else {
          recordLatencyOnce(now);
        }
        load.recordOutcome(status.getCode(), now, decayNanos);
      }
      load.callFinished();
    }

    private void recordLatencyOnce(long now) {
      if (!latencyRecorded) {
        latencyRecorded = true;
        load.recordLatency(now - startNanos, othersInFlight, now, decayNanos);
      }
    }
  }
}
