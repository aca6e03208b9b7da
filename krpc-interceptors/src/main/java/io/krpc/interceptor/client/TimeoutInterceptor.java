package io.krpc.interceptor.client;

import static io.krpc.common.Checks.notNull;

import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives calls without a deadline a default one, and logs calls slower than a threshold at WARN.
 *
 * <pre>{@code
 * ManagedChannel channel = ManagedChannelBuilder.forTarget("127.0.0.1:9001")
 *     .intercept(TimeoutInterceptor.of(Duration.ofSeconds(5), Duration.ofSeconds(1)))
 *     .usePlaintext()
 *     .build();
 * }</pre>
 *
 * <p>A call "has no deadline" when neither its {@link CallOptions} nor the current {@link Context}
 * carries one; a deadline the caller set, even a longer one, is left alone. The slow-call log
 * covers every call type and measures from {@code start()} until the call closes, so a long stream
 * is slow by design: raise the threshold, or set {@link Duration#ZERO} to turn the log off. The log
 * line names the method, the target authority, the peer address when the transport knows it, the
 * duration and the status code.
 */
@ThreadSafe
public final class TimeoutInterceptor implements ClientInterceptor {
  private static final Logger logger = LoggerFactory.getLogger(TimeoutInterceptor.class);

  private final long defaultDeadlineNanos;
  private final long slowThresholdNanos;
  private final Deadline.Ticker ticker;
  @Nullable private final Consumer<SlowCall> slowCallObserver;

  private TimeoutInterceptor(Builder builder) {
    this.defaultDeadlineNanos = builder.defaultDeadline.toNanos();
    this.slowThresholdNanos = builder.slowThreshold.toNanos();
    this.ticker = builder.ticker;
    this.slowCallObserver = builder.slowCallObserver;
  }

  /**
   * Returns an interceptor with the given default deadline and slow-call threshold; either may be
   * {@link Duration#ZERO} to turn that part off.
   */
  public static TimeoutInterceptor of(Duration defaultDeadline, Duration slowThreshold) {
    return builder().defaultDeadline(defaultDeadline).slowThreshold(slowThreshold).build();
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    if (defaultDeadlineNanos > 0
        && callOptions.getDeadline() == null
        && Context.current().getDeadline() == null) {
      // The system ticker on purpose: grpc refuses to compare deadlines of different tickers.
      callOptions = callOptions.withDeadlineAfter(defaultDeadlineNanos, TimeUnit.NANOSECONDS);
    }
    ClientCall<ReqT, RespT> call = next.newCall(method, callOptions);
    if (slowThresholdNanos <= 0) {
      return call;
    }
    return new TimedCall<>(call, method.getFullMethodName(), next.authority());
  }

  /** Formats a peer for the log: {@code 10.0.0.5:9001}, {@code [::1]:9001}, or as it prints. */
  static String describePeer(@Nullable SocketAddress peer) {
    if (peer == null) {
      return "unknown";
    }
    if (peer instanceof InetSocketAddress inet) {
      String host = inet.getHostString();
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    return peer.toString();
  }

  /**
   * One slow call, as the slow-call log reports it and {@link Builder#slowCallObserver} receives
   * it: the full method name, the target authority, the peer when the transport knew it, how long
   * the call took and how it ended.
   */
  public record SlowCall(
      String method,
      String target,
      @Nullable SocketAddress peer,
      Duration duration,
      Status.Code code) {

    /** The text of the WARN log line. */
    public String describe() {
      return "slow call: method="
          + method
          + " target="
          + target
          + " peer="
          + describePeer(peer)
          + " duration="
          + duration.toMillis()
          + "ms status="
          + code;
    }
  }

  private final class TimedCall<ReqT, RespT>
      extends ForwardingClientCall.SimpleForwardingClientCall<ReqT, RespT> {
    private final String method;
    private final String target;

    TimedCall(ClientCall<ReqT, RespT> delegate, String method, String target) {
      super(delegate);
      this.method = method;
      this.target = target;
    }

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
      long startNanos = ticker.nanoTime();
      super.start(
          new ForwardingClientCallListener.SimpleForwardingClientCallListener<RespT>(
              responseListener) {
            @Override
            public void onClose(Status status, Metadata trailers) {
              long elapsed = ticker.nanoTime() - startNanos;
              if (elapsed > slowThresholdNanos) {
                reportSlow(elapsed, status);
              }
              super.onClose(status, trailers);
            }
          },
          headers);
    }

    private void reportSlow(long elapsedNanos, Status status) {
      SocketAddress peer = null;
      try {
        peer = getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      } catch (RuntimeException e) {
        // Some calls (failed before a transport was picked) have no attributes to offer.
      }
      SlowCall slow =
          new SlowCall(method, target, peer, Duration.ofNanos(elapsedNanos), status.getCode());
      logger.warn("{}", slow.describe());
      if (slowCallObserver != null) {
        slowCallObserver.accept(slow);
      }
    }
  }

  /** Builds a {@link TimeoutInterceptor}; every setter validates its argument at once. */
  public static final class Builder {
    private Duration defaultDeadline = Duration.ZERO;
    private Duration slowThreshold = Duration.ZERO;
    private Deadline.Ticker ticker = Deadline.getSystemTicker();
    @Nullable private Consumer<SlowCall> slowCallObserver;

    private Builder() {}

    /** The deadline of calls that have none. Default: {@link Duration#ZERO}, meaning none added. */
    public Builder defaultDeadline(Duration defaultDeadline) {
      notNull(defaultDeadline, "defaultDeadline");
      if (defaultDeadline.isNegative()) {
        throw new IllegalArgumentException(
            "defaultDeadline: " + defaultDeadline + " (expected: >= 0)");
      }
      this.defaultDeadline = defaultDeadline;
      return this;
    }

    /**
     * Calls that take longer are logged at WARN. Default: {@link Duration#ZERO}, meaning no log.
     */
    public Builder slowThreshold(Duration slowThreshold) {
      notNull(slowThreshold, "slowThreshold");
      if (slowThreshold.isNegative()) {
        throw new IllegalArgumentException("slowThreshold: " + slowThreshold + " (expected: >= 0)");
      }
      this.slowThreshold = slowThreshold;
      return this;
    }

    /**
     * The time source that measures call durations. Default: {@link Deadline#getSystemTicker()}.
     * Deadlines always use the system ticker.
     */
    public Builder ticker(Deadline.Ticker ticker) {
      this.ticker = notNull(ticker, "ticker");
      return this;
    }

    /**
     * Also hands every slow call to {@code observer}, after the log line, on the thread that closed
     * the call: to count slow calls in metrics of your own, or to show them. It must not block.
     * Default: none.
     */
    public Builder slowCallObserver(Consumer<SlowCall> observer) {
      this.slowCallObserver = notNull(observer, "observer");
      return this;
    }

    /** Returns the interceptor. */
    public TimeoutInterceptor build() {
      return new TimeoutInterceptor(this);
    }
  }
}
