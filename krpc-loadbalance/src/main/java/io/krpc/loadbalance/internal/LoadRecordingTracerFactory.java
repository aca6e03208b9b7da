package io.krpc.loadbalance.internal;

import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.ClientStreamTracer;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;

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
    return new Tracer(ticker.nanoTime(), othersInFlight);
  }

  private final class Tracer extends ClientStreamTracer {
    private final long startNanos;
    private final int othersInFlight;
    private final AtomicBoolean latencyRecorded = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    Tracer(long startNanos, int othersInFlight) {
      this.startNanos = startNanos;
      this.othersInFlight = othersInFlight;
    }

    @Override
    public void inboundHeaders(Metadata headers) {
      recordLatencyOnce(ticker.nanoTime());
    }

    @Override
    public void streamClosed(Status status) {
      if (!closed.compareAndSet(false, true)) {
        return;
      }
      long now = ticker.nanoTime();
      if (status.getCode() != Status.Code.CANCELLED) {
        if (EndpointLoad.isFailure(status.getCode())) {
          // A fast failure must not pull the latency estimate down (the chaos suite saw a
          // failing server stay the cheapest for ~30 calls): failures may only raise it.
          if (latencyRecorded.compareAndSet(false, true)) {
            load.recordFailedCallLatency(now - startNanos, othersInFlight, now, decayNanos);
          }
        } else {
          recordLatencyOnce(now);
        }
        load.recordOutcome(status.getCode(), now, decayNanos);
      }
      load.callFinished();
    }

    private void recordLatencyOnce(long nowNanos) {
      if (latencyRecorded.compareAndSet(false, true)) {
        load.recordLatency(nowNanos - startNanos, othersInFlight, nowNanos, decayNanos);
      }
    }
  }
}
