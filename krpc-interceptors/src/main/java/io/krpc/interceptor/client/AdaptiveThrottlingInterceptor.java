package io.krpc.interceptor.client;

import static io.krpc.common.Checks.noNullElements;
import static io.krpc.common.Checks.notNull;

import com.google.errorprone.annotations.ThreadSafe;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Deadline;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.krpc.common.RollingWindow;
import io.krpc.interceptor.internal.RefusableClientCall;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Client-side adaptive throttling, as the Google SRE book describes it ("Handling Overload"): the
 * client keeps, over a rolling window, how many calls it attempted ({@code requests}) and how many
 * the backend accepted ({@code accepts}: every outcome except the rejection codes, by default
 * {@code RESOURCE_EXHAUSTED}), and refuses a new call locally with probability
 *
 * <pre>{@code p = max(0, (requests - K × accepts) / (requests + 1))}</pre>
 *
 * <p>While the backend accepts everything, {@code p} is 0. When it sheds load (an {@link
 * io.krpc.interceptor.server.AdaptiveLimitInterceptor} or a rate limit), the client stops sending
 * the share of calls that would only have been refused, so the backend no longer spends CPU
 * refusing them; with {@code K = 2} (the default) it still sends about twice what the backend
 * accepts, so it notices at once when the backend recovers. Locally refused calls end with {@code
 * RESOURCE_EXHAUSTED} and a description starting with {@value #THROTTLED_DESCRIPTION}; they count
 * as requests, as in the book.
 *
 * <p>One change to the book's rule: once the backend has accepted calls within the last {@code
 * recoveryWindow} (1 s), {@code p} is the smaller of the formula over the whole window and over
 * that recent span. With the book's rule alone, a burst of rejections (a server starting cold, a
 * moment of overload) leaves so few accepts in the window that the client sends almost nothing, and
 * its accepts, hence its sending, grow only by a factor e every {@code window / K} (5 s): the
 * overload benchmark saw a client refuse 60 % of its calls for 15 s to a server that was idle. With
 * the recent span the client is back to full traffic within a few seconds of the backend accepting
 * again, while under sustained overload both spans agree. And a call goes out, whatever {@code p},
 * when none did for a whole {@code recoveryWindow}: the probe that tells the client the backend is
 * back.
 *
 * <pre>{@code
 * KClient.forService("greeter").registry(etcd)
 *     .intercept(AdaptiveThrottlingInterceptor.builder().k(2).build())
 *     .build();
 * }</pre>
 *
 * <p>One instance measures one backend (a client or channel); streams count when they start and are
 * accepted unless they end with a rejection code. Thread-safe; each call takes one short lock (and,
 * while the window says to refuse, one pass over the recent span's buckets). The window is
 * krpc-common's {@link RollingWindow} with two columns, requests and accepts; its own lock is only
 * taken inside this one, so it is never contended.
 */
@ThreadSafe
public final class AdaptiveThrottlingInterceptor implements ClientInterceptor {
  /** The start of every locally refused call's description. */
  public static final String THROTTLED_DESCRIPTION = "client throttled";

  private static final int REQUESTS = 0;
  private static final int ACCEPTS = 1;

  private final double k;
  private final Set<Status.Code> rejectionCodes;
  private final DoubleSupplier random;
  private final Deadline.Ticker ticker;
  private final int recentBuckets;
  @Nullable private final Counter throttledCounter;

  /**
   * Requests and accepts per bucket. Thread-safe itself; read and written under this interceptor's
   * lock too, so that an admission sees both sums and the probe state at once.
   */
  private final RollingWindow window;

  /** When a call last went to the backend, once {@link #sentAny}. */
  @GuardedBy("this")
  private long lastSentNanos;

  @GuardedBy("this")
  private boolean sentAny;

  private AdaptiveThrottlingInterceptor(Builder builder) {
    this.k = builder.k;
    this.rejectionCodes = EnumSet.copyOf(builder.rejectionCodes);
    this.random = builder.random;
    this.ticker = builder.ticker;
    long bucketNanos = builder.window.toNanos() / builder.buckets;
    this.recentBuckets = builder.recentBuckets(bucketNanos);
    this.window = new RollingWindow(2, builder.buckets, bucketNanos);
    this.throttledCounter =
        builder.meterRegistry == null
            ? null
            : Counter.builder("krpc_client_throttled")
                .description("Calls refused by the client's adaptive throttling")
                .register(builder.meterRegistry);
  }

  /** Returns an interceptor with every default (K 2, 10 s window, RESOURCE_EXHAUSTED). */
  public static AdaptiveThrottlingInterceptor create() {
    return builder().build();
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the probability with which a call starting now would be refused (unless a probe). */
  public synchronized double rejectionProbability() {
    long now = ticker.nanoTime();
    return probability(now, window.sum(now, REQUESTS), window.sum(now, ACCEPTS));
  }

  /** The probability at {@code now}, given the whole window's sums at {@code now}. */
  @GuardedBy("this")
  private double probability(long now, long requests, long accepts) {
    double p = probability(requests, accepts);
    if (p == 0 || recentBuckets >= window.buckets()) {
      return p;
    }
    long recentAccepts = window.sum(now, ACCEPTS, recentBuckets);
    // Only evidence that the backend accepts again may lower p: a client that sent nothing of
    // late (idle, or refusing everything) keeps the whole window's view.
    return recentAccepts == 0
        ? p
        : Math.min(p, probability(window.sum(now, REQUESTS, recentBuckets), recentAccepts));
  }

  private double probability(long requests, long accepts) {
    return Math.max(0, (requests - k * accepts) / (requests + 1));
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    return new ThrottledCall<>(next.newCall(method, callOptions));
  }

  /** Counts one attempt and returns the refusal to give it, or null to let it go. */
  @Nullable
  private String admit() {
    double p;
    long seenRequests;
    long seenAccepts;
    boolean refuse;
    synchronized (this) {
      long now = ticker.nanoTime();
      seenRequests = window.sum(now, REQUESTS);
      seenAccepts = window.sum(now, ACCEPTS);
      p = probability(now, seenRequests, seenAccepts);
      window.add(now, REQUESTS, 1);
      // A probe: nothing went out for a whole recovery window, so let this one go and learn
      // whether the backend accepts again, instead of waiting for a 1 in 1/(1 - p) draw.
      boolean probe = !sentAny || now - lastSentNanos >= recentBuckets * window.bucketNanos();
      refuse = p > 0 && !probe && random.getAsDouble() < p;
      if (!refuse) {
        sentAny = true;
        lastSentNanos = now;
      }
    }
    if (refuse) {
      if (throttledCounter != null) {
        throttledCounter.increment();
      }
      return String.format(
          Locale.ROOT,
          "%s: the backend accepted %d of %d calls in the window, refusing %.0f%% locally (K=%s)",
          THROTTLED_DESCRIPTION,
          seenAccepts,
          seenRequests,
          p * 100,
          k);
    }
    return null;
  }

  private synchronized void accepted() {
    window.add(ticker.nanoTime(), ACCEPTS, 1);
  }

  private final class ThrottledCall<ReqT, RespT> extends RefusableClientCall<ReqT, RespT> {
    ThrottledCall(ClientCall<ReqT, RespT> delegate) {
      super(delegate);
    }

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
      String refusal = admit();
      if (refusal != null) {
        refuse(responseListener, Status.RESOURCE_EXHAUSTED.withDescription(refusal));
        return;
      }
      super.start(
          new ForwardingClientCallListener.SimpleForwardingClientCallListener<RespT>(
              responseListener) {
            @Override
            public void onClose(Status status, Metadata trailers) {
              if (!rejectionCodes.contains(status.getCode())) {
                accepted();
              }
              super.onClose(status, trailers);
            }
          },
          headers);
    }
  }

  /** Builds an {@link AdaptiveThrottlingInterceptor}; every setter validates its argument. */
  public static final class Builder {
    private double k = 2;
    private Duration window = Duration.ofSeconds(10);
    private int buckets = 100;
    @Nullable private Duration recoveryWindow;
    private Set<Status.Code> rejectionCodes = EnumSet.of(Status.Code.RESOURCE_EXHAUSTED);
    private DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();
    private Deadline.Ticker ticker = Deadline.getSystemTicker();
    @Nullable private MeterRegistry meterRegistry;

    private Builder() {}

    /**
     * How many times the accepted calls the client may send before refusing locally: lower is more
     * aggressive. Default: 2 (the SRE book's choice).
     */
    public Builder k(double k) {
      if (!(k >= 1 && Double.isFinite(k))) {
        throw new IllegalArgumentException("k: " + k + " (expected: >= 1)");
      }
      this.k = k;
      return this;
    }

    /** The span of history counted. Default: 10 s. */
    public Builder window(Duration window) {
      notNull(window, "window");
      if (window.isNegative() || window.isZero()) {
        throw new IllegalArgumentException("window: " + window + " (expected: > 0)");
      }
      this.window = window;
      return this;
    }

    /** How many buckets the window is cut into. Default: 100. */
    public Builder buckets(int buckets) {
      if (buckets < 1) {
        throw new IllegalArgumentException("buckets: " + buckets + " (expected: >= 1)");
      }
      this.buckets = buckets;
      return this;
    }

    /**
     * The recent span that, once the backend accepted calls in it, may lower the probability below
     * the whole window's, so that the client recovers within a few of these spans after a burst of
     * rejections. Equal to the window gives the SRE book's rule alone. Default: 1 s (or the window,
     * if shorter); at least one bucket and at most the window.
     */
    public Builder recoveryWindow(Duration recoveryWindow) {
      notNull(recoveryWindow, "recoveryWindow");
      if (recoveryWindow.isNegative() || recoveryWindow.isZero()) {
        throw new IllegalArgumentException(
            "recoveryWindow: " + recoveryWindow + " (expected: > 0)");
      }
      this.recoveryWindow = recoveryWindow;
      return this;
    }

    private int recentBuckets(long bucketNanos) {
      Duration span =
          recoveryWindow != null
              ? recoveryWindow
              : window.compareTo(Duration.ofSeconds(1)) < 0 ? window : Duration.ofSeconds(1);
      return (int) Math.max(1, Math.round((double) span.toNanos() / bucketNanos));
    }

    /** Status codes that mean the backend refused the call. Default: RESOURCE_EXHAUSTED. */
    public Builder rejectionCodes(Status.Code... codes) {
      notNull(codes, "rejectionCodes");
      if (codes.length == 0) {
        throw new IllegalArgumentException("rejectionCodes: [] (expected: at least one code)");
      }
      Set<Status.Code> set = EnumSet.noneOf(Status.Code.class);
      for (Status.Code code : noNullElements("rejectionCodes", codes)) {
        if (code == Status.Code.OK) {
          throw new IllegalArgumentException("rejectionCodes: OK (expected: error codes)");
        }
        set.add(code);
      }
      this.rejectionCodes = set;
      return this;
    }

    /** Where random numbers in [0, 1) come from. Default: ThreadLocalRandom; for tests. */
    public Builder random(DoubleSupplier random) {
      this.random = notNull(random, "random");
      return this;
    }

    /** The time source of the window. Default: the system ticker; for tests. */
    public Builder ticker(Deadline.Ticker ticker) {
      this.ticker = notNull(ticker, "ticker");
      return this;
    }

    /** Counts locally refused calls as {@code krpc_client_throttled}. Default: none. */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = notNull(meterRegistry, "meterRegistry");
      return this;
    }

    /** Returns the interceptor. */
    public AdaptiveThrottlingInterceptor build() {
      if (window.toNanos() / buckets < 1_000_000) {
        throw new IllegalStateException(
            "window: "
                + window
                + ", buckets: "
                + buckets
                + " (expected: buckets of at least 1 ms)");
      }
      if (recoveryWindow != null
          && (recoveryWindow.compareTo(window) > 0
              || recoveryWindow.toNanos() < window.toNanos() / buckets)) {
        throw new IllegalStateException(
            "recoveryWindow: "
                + recoveryWindow
                + ", window: "
                + window
                + ", buckets: "
                + buckets
                + " (expected: at least one bucket and at most the window)");
      }
      return new AdaptiveThrottlingInterceptor(this);
    }
  }
}
