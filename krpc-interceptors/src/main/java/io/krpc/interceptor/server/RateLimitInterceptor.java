package io.krpc.interceptor.server;

import static io.krpc.common.Checks.notNull;

import com.google.errorprone.annotations.ThreadSafe;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.krpc.interceptor.internal.SharedExecutors;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A token bucket (Bucket4j) per full method name; calls over the limit wait a bounded time for a
 * token and are otherwise refused with {@code RESOURCE_EXHAUSTED}.
 *
 * <pre>{@code
 * ServerInterceptor limiter = RateLimitInterceptor.of(Map.of(
 *     "greeter.Greeter/SayHello", new RateLimitConfig(100, 10.0, Duration.ofMillis(100))));
 *
 * ServerInterceptor withDefault = RateLimitInterceptor.builder()
 *     .method("greeter.Greeter/SayHello", new RateLimitConfig(100, 10.0, Duration.ZERO))
 *     .defaultConfig(new RateLimitConfig(1000, 500.0, Duration.ofMillis(50))) // every other method
 *     .build();
 * }</pre>
 *
 * <p>Each method has its own bucket, which starts full. A call takes one token when it starts (a
 * stream takes one token, not one per message). When the bucket is empty the call reserves the next
 * token if it will be there within the method's {@link RateLimitConfig#maxWait()}; the handler is
 * then started after that delay, with the call's early events (messages, half-close) held and
 * replayed in order. No gRPC thread blocks: the delay is a task on a {@link
 * ScheduledExecutorService} and the handler starts on the {@linkplain Builder#executor(Executor)
 * executor}. A call whose token is further away than {@code maxWait} is refused at once (waiting
 * would not help), and a call cancelled while it waits gives its token back. Refused calls end with
 * {@code RESOURCE_EXHAUSTED} and a description such as {@code "rate limited:
 * greeter.Greeter/SayHello allows 10.0 calls/s (burst 100), no token within PT0.1S"}. Methods
 * without a config and without a default pass untouched.
 */
@ThreadSafe
public final class RateLimitInterceptor implements ServerInterceptor {
  private static final Logger logger = LoggerFactory.getLogger(RateLimitInterceptor.class);

  private final Map<String, RateLimitConfig> configs;
  @Nullable private final RateLimitConfig defaultConfig;
  private final TimeMeter timeMeter;
  private final Map<String, Limiter> limiters = new ConcurrentHashMap<>();
  private final ScheduledExecutorService scheduler;
  private final Executor executor;

  private RateLimitInterceptor(Builder builder) {
    this.configs = Map.copyOf(builder.configs);
    this.defaultConfig = builder.defaultConfig;
    Deadline.Ticker ticker = builder.ticker;
    this.timeMeter =
        new TimeMeter() {
          @Override
          public long currentTimeNanos() {
            return ticker.nanoTime();
          }

          @Override
          public boolean isWallClockBased() {
            return false;
          }
        };
    this.scheduler = builder.scheduler != null ? builder.scheduler : SharedExecutors.timer();
    this.executor = builder.executor != null ? builder.executor : SharedExecutors.handlerPool();
  }

  /**
   * Returns an interceptor that limits the methods named in {@code perMethod}, keyed by full method
   * name ({@code "greeter.Greeter/SayHello"}); other methods pass untouched.
   */
  public static RateLimitInterceptor of(Map<String, RateLimitConfig> perMethod) {
    return builder().methods(perMethod).build();
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Limiter limiter = limiterFor(method);
    if (limiter == null) {
      return next.startCall(call, headers);
    }
    if (limiter.maxWaitNanos == 0) {
      return limiter.bucket.tryConsume(1) ? next.startCall(call, headers) : refuse(call, limiter);
    }
    // Reserve a token, possibly one that has yet to be refilled, and learn how long until then.
    long waitNanos = limiter.bucket.consumeIgnoringRateLimits(1);
    if (waitNanos == 0) {
      return next.startCall(call, headers);
    }
    if (waitNanos > limiter.maxWaitNanos) {
      limiter.bucket.addTokens(1); // give the reservation back: this call will not use it
      return refuse(call, limiter);
    }
    // The handler starts on another thread: carry the call's Context (deadline, cancellation,
    // values set by outer interceptors) over to it.
    DelayedStartListener<ReqT, RespT> delayed =
        new DelayedStartListener<>(
            call, headers, next, Context.current(), () -> limiter.bucket.addTokens(1));
    ScheduledFuture<?> timer =
        scheduler.schedule(() -> startOnExecutor(delayed, method), waitNanos, TimeUnit.NANOSECONDS);
    delayed.setTimer(timer);
    return delayed;
  }

  private static <ReqT> ServerCall.Listener<ReqT> refuse(
      ServerCall<ReqT, ?> call, Limiter limiter) {
    call.close(Status.RESOURCE_EXHAUSTED.withDescription(limiter.refusal), new Metadata());
    return new ServerCall.Listener<ReqT>() {};
  }

  private void startOnExecutor(DelayedStartListener<?, ?> delayed, String method) {
    try {
      executor.execute(delayed::start);
    } catch (RejectedExecutionException e) {
      // The executor is shutting down (so is the server, usually): start here rather than leave
      // the call hanging until its deadline.
      logger.warn("{}: executor rejected a delayed start; starting on the timer thread", method, e);
      delayed.start();
    }
  }

  @Nullable
  private Limiter limiterFor(String method) {
    Limiter limiter = limiters.get(method);
    if (limiter != null) {
      return limiter;
    }
    RateLimitConfig config = configs.getOrDefault(method, defaultConfig);
    if (config == null) {
      return null;
    }
    return limiters.computeIfAbsent(method, m -> new Limiter(m, config, timeMeter));
  }

  private static final class Limiter {
    final long maxWaitNanos;
    final Bucket bucket;
    final String refusal;

    Limiter(String method, RateLimitConfig config, TimeMeter timeMeter) {
      this.maxWaitNanos = config.maxWait().toNanos();
      // One token every 1/rate seconds, added greedily (fractions accrue continuously).
      long nanosPerToken = Math.max(1, Math.round(1e9 / config.tokensPerSecond()));
      this.bucket =
          Bucket.builder()
              .addLimit(
                  limit ->
                      limit
                          .capacity(config.capacity())
                          .refillGreedy(1, Duration.ofNanos(nanosPerToken)))
              .withCustomTimePrecision(timeMeter)
              .build();
      this.refusal =
          "rate limited: "
              + method
              + " allows "
              + config.tokensPerSecond()
              + " calls/s (burst "
              + config.capacity()
              + "), no token within "
              + config.maxWait();
    }
  }

  /** Builds a {@link RateLimitInterceptor}; every setter validates its argument at once. */
  public static final class Builder {
    private final Map<String, RateLimitConfig> configs = new LinkedHashMap<>();
    @Nullable private RateLimitConfig defaultConfig;
    private Deadline.Ticker ticker = Deadline.getSystemTicker();
    @Nullable private ScheduledExecutorService scheduler;
    @Nullable private Executor executor;

    private Builder() {}

    /** Limits one method, named by its full name ({@code "greeter.Greeter/SayHello"}). */
    public Builder method(String fullMethodName, RateLimitConfig config) {
      notNull(fullMethodName, "fullMethodName");
      notNull(config, "config");
      if (fullMethodName.indexOf('/') <= 0 || fullMethodName.endsWith("/")) {
        throw new IllegalArgumentException(
            "fullMethodName: " + fullMethodName + " (expected: service/method)");
      }
      configs.put(fullMethodName, config);
      return this;
    }

    /** Limits each method of {@code perMethod}, keyed by full method name. */
    public Builder methods(Map<String, RateLimitConfig> perMethod) {
      notNull(perMethod, "perMethod");
      perMethod.forEach(this::method);
      return this;
    }

    /**
     * Gives every method not configured by name its own bucket with this config. Default: none,
     * such methods are not limited.
     */
    public Builder defaultConfig(RateLimitConfig config) {
      this.defaultConfig = notNull(config, "config");
      return this;
    }

    /** The time source of the buckets. Default: {@link Deadline#getSystemTicker()}; for tests. */
    public Builder ticker(Deadline.Ticker ticker) {
      this.ticker = notNull(ticker, "ticker");
      return this;
    }

    /**
     * Runs the timers of waiting calls (short tasks that hand the call to the {@link
     * #executor(Executor) executor}). Default: a process-wide daemon timer thread, started the
     * first time a call has to wait. The caller owns a scheduler passed here.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = notNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Starts the handlers of calls that waited (only those; others start on the server's own
     * thread). Default: a process-wide cached pool of daemon threads; pass the server's executor to
     * share it.
     */
    public Builder executor(Executor executor) {
      this.executor = notNull(executor, "executor");
      return this;
    }

    /** Returns the interceptor. */
    public RateLimitInterceptor build() {
      return new RateLimitInterceptor(this);
    }
  }
}
