package io.krpc.interceptor.client;

import io.grpc.Deadline;
import java.time.Duration;
import java.util.List;

/** Opens the package-private slow-call observer of {@link TimeoutInterceptor} to other tests. */
public final class TimeoutInterceptorAccess {
  private TimeoutInterceptorAccess() {}

  /**
   * A timeout interceptor that adds "method target peer duration code" lines to {@code reports}.
   */
  public static TimeoutInterceptor withObserver(
      Duration slowThreshold, Deadline.Ticker ticker, List<String> reports) {
    return TimeoutInterceptor.builder()
        .slowThreshold(slowThreshold)
        .ticker(ticker)
        .slowCallObserver(
            s ->
                reports.add(
                    s.method()
                        + " "
                        + s.target()
                        + " "
                        + TimeoutInterceptor.describePeer(s.peer())
                        + " "
                        + s.duration()
                        + " "
                        + s.code()))
        .build();
  }
}
