package io.krpc.loadbalance.internal;

import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.ClientStreamTracer;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * Feeds an {@link EndpointLoad} from the calls sent to its endpoint, unary and streaming alike: a
 * stream counts as in flight from creation to close; its latency is the time to the first response
 * headers (or to the close when none arrive, except for calls the client cancelled; a failed call
 * may raise the estimate but never lower it); its status code feeds the success rate.
 *
 * <p>Thread-safe: the factory is shared by all picks of one picker; each tracer may be called from
 * any transport thread.
 */
@ThreadSafe
final class LoadRecordingTracerFactory extends ClientStreamTracer.Factory {

  private final EndpointLoad load;
  private final Deadline.Ticker ticker;
  private final long decayNanos;

  LoadRecordingTracerFactory(EndpointLoad load, Deadline.Ticker ticker, long decayNanos) {
    this.load = load;
    this.ticker = ticker;
    this.decayNanos = decayNanos;
  }

  @Override
  public ClientStreamTracer newClientStreamTracer(
      ClientStreamTracer.StreamInfo info, Metadata headers) {
    int othersInFlight = load.callStarted();
    return new Tracer(this, ticker.nanoTime(), othersInFlight);
  }

  /**
   * One stream's tracer: one object per call, its two once-only steps (latency recorded, closed) as
   * bits of one field set by compare-and-set.
   */
  private static final class Tracer extends ClientStreamTracer {
    private static final int LATENCY_RECORDED = 1;
    private static final int CLOSED = 2;
    private static final AtomicIntegerFieldUpdater<Tracer> STATE =
        AtomicIntegerFieldUpdater.newUpdater(Tracer.class, "state");

    private final LoadRecordingTracerFactory factory;
    private final long startNanos;
    private final int othersInFlight;
    private volatile int state;

    Tracer(LoadRecordingTracerFactory factory, long startNanos, int othersInFlight) {
      this.factory = factory;
      this.startNanos = startNanos;
      this.othersInFlight = othersInFlight;
    }

    @Override
    public void inboundHeaders(Metadata headers) {
      if (claim(LATENCY_RECORDED)) {
        recordLatency(factory.ticker.nanoTime());
      }
    }

    @Override
    public void streamClosed(Status status) {
      if (!claim(CLOSED)) {
        return;
      }
      EndpointLoad load = factory.load;
      Status.Code code = status.getCode();
      if (code != Status.Code.CANCELLED) {
        boolean latencyHere = claim(LATENCY_RECORDED);
        // The clock is read only when something is recorded: a success of an endpoint whose rate
        // is 1, its latency taken at the headers, changes nothing and needs no time.
        if (latencyHere || load.outcomeCounts(code)) {
          long now = factory.ticker.nanoTime();
          if (latencyHere && EndpointLoad.isFailure(code)) {
            // A fast failure must not pull the latency estimate down (the chaos suite saw a
            // failing server stay the cheapest for ~30 calls): failures may only raise it.
            load.recordFailedCallLatency(now - startNanos, othersInFlight, now, factory.decayNanos);
          } else if (latencyHere) {
            recordLatency(now);
          }
          load.recordOutcome(code, now, factory.decayNanos);
        }
      }
      load.callFinished();
    }

    /** Sets {@code bit}; true for the one caller that set it. */
    private boolean claim(int bit) {
      while (true) {
        int s = state;
        if ((s & bit) != 0) {
          return false;
        }
        if (STATE.compareAndSet(this, s, s | bit)) {
          return true;
        }
      }
    }

    private void recordLatency(long nowNanos) {
      factory.load.recordLatency(
          nowNanos - startNanos, othersInFlight, nowNanos, factory.decayNanos);
    }
  }
}
