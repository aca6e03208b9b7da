package io.krpc.common;

import static io.krpc.common.Checks.notNull;

import io.grpc.Deadline;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A {@link Clock} driven by a {@link Deadline.Ticker}, so that libraries that take a {@code Clock}
 * (Resilience4j) follow the same fake time as the rest of an interceptor in tests. The instant is
 * the ticker's nanoseconds counted from the epoch; only differences between instants are
 * meaningful.
 */
public final class TickerClock extends Clock {
  private final Deadline.Ticker ticker;

  public TickerClock(Deadline.Ticker ticker) {
    this.ticker = notNull(ticker, "ticker");
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }

  @Override
  public Instant instant() {
    long nanos = ticker.nanoTime();
    return Instant.ofEpochSecond(
        Math.floorDiv(nanos, 1_000_000_000L), Math.floorMod(nanos, 1_000_000_000L));
  }

  @Override
  public long millis() {
    return Math.floorDiv(ticker.nanoTime(), 1_000_000L);
  }
}
