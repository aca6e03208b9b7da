package io.krpc.interceptor.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.krpc.interceptor.testing.CallType;
import io.krpc.interceptor.testing.EchoService;
import io.krpc.interceptor.testing.FakeTicker;
import io.krpc.interceptor.testing.InProcessHarness;
import io.krpc.interceptor.testing.ManualScheduler;
import io.krpc.interceptor.testing.RecordingServerCall;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RateLimitInterceptorTest {
  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler(ticker);
  private final EchoService service = new EchoService();
  private InProcessHarness harness;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (harness != null) {
      harness.close();
    }
  }

  private void startWith(RateLimitInterceptor limiter) {
    harness = InProcessHarness.start(service, List.of(limiter), List.of());
  }

  private RateLimitInterceptor.Builder limiter() {
    return RateLimitInterceptor.builder()
        .ticker(ticker)
        .scheduler(scheduler)
        .executor(Runnable::run);
  }

  @Test
  void configRejectsNonsenseNamingTheOption() {
    assertThatThrownBy(() -> new RateLimitConfig(0, 1, Duration.ZERO))
        .hasMessage("capacity: 0 (expected: >= 1)");
    assertThatThrownBy(() -> new RateLimitConfig(1, 0, Duration.ZERO))
        .hasMessageStartingWith("tokensPerSecond: 0.0 (expected: > 0");
    assertThatThrownBy(() -> new RateLimitConfig(1, Double.NaN, Duration.ZERO))
        .hasMessageStartingWith("tokensPerSecond: NaN");
    assertThatThrownBy(() -> new RateLimitConfig(1, 1, Duration.ofSeconds(-1)))
        .hasMessage("maxWait: PT-1S (expected: >= 0)");
    assertThatThrownBy(
            () ->
                RateLimitInterceptor.builder()
                    .method("SayHello", new RateLimitConfig(1, 1, Duration.ZERO)))
        .hasMessage("fullMethodName: SayHello (expected: service/method)");
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void callsOverTheBurstAreRefusedWithResourceExhaustedUntilRefilled(CallType type) {
    startWith(
        limiter()
            .method(type.fullMethodName(), new RateLimitConfig(2, 1.0, Duration.ZERO))
            .build());

    assertThat(harness.call(type, "a").status().isOk()).isTrue();
    assertThat(harness.call(type, "b").status().isOk()).isTrue();
    Status refused = harness.call(type, "c").status();

    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription())
        .startsWith("rate limited: " + type.fullMethodName())
        .contains("1.0 calls/s", "burst 2");
    assertThat(service.started).hasValue(2);

    ticker.advance(Duration.ofSeconds(1));
    assertThat(harness.call(type, "d").status().isOk()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void aCallWaitsForTheNextTokenWithinMaxWaitWithoutBlocking(CallType type) throws Exception {
    // 10 tokens/s: one token every 100 ms; a call may wait 150 ms.
    startWith(
        limiter()
            .method(type.fullMethodName(), new RateLimitConfig(1, 10.0, Duration.ofMillis(150)))
            .build());
    assertThat(harness.call(type, "first").status().isOk()).isTrue();

    CompletableFuture<InProcessHarness.Result> waiting = harness.start(type, "second");
    await().until(() -> scheduler.pending() == 1);
    // The token after that is 200 ms away: more than maxWait, so refused at once.
    Status refused = harness.call(type, "third").status();
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(waiting).isNotDone();
    assertThat(service.started).hasValue(1);

    scheduler.advance(Duration.ofMillis(100));

    InProcessHarness.Result second = waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(second.status().isOk()).isTrue();
    // Messages and half-close that arrived while waiting were replayed to the handler.
    assertThat(String.join(",", second.responses())).contains("second");
  }

  @Test
  void aCallCancelledWhileWaitingGivesItsTokenBackAndNeverStarts() {
    RateLimitInterceptor limiter =
        limiter().defaultConfig(new RateLimitConfig(1, 10.0, Duration.ofMillis(150))).build();
    AtomicInteger handlerStarts = new AtomicInteger();
    ServerCallHandler<SimpleRequest, SimpleResponse> handler =
        (call, headers) -> {
          handlerStarts.incrementAndGet();
          return new ServerCall.Listener<>() {};
        };

    limiter.interceptCall(new RecordingServerCall(), new Metadata(), handler);
    ServerCall.Listener<SimpleRequest> waiting =
        limiter.interceptCall(new RecordingServerCall(), new Metadata(), handler);
    assertThat(handlerStarts).hasValue(1);
    waiting.onCancel();
    scheduler.advance(Duration.ofMillis(100));

    assertThat(handlerStarts).hasValue(1);
    // The refunded token plus the refill: the next call starts at once.
    limiter.interceptCall(new RecordingServerCall(), new Metadata(), handler);
    assertThat(handlerStarts).hasValue(2);
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void methodsWithoutConfigPassAndTheDefaultConfigCoversTheRest() {
    startWith(
        limiter()
            .method(CallType.UNARY.fullMethodName(), new RateLimitConfig(1, 1.0, Duration.ZERO))
            .defaultConfig(new RateLimitConfig(1, 1.0, Duration.ZERO))
            .build());

    assertThat(harness.call(CallType.UNARY, "a").status().isOk()).isTrue();
    assertThat(harness.call(CallType.UNARY, "b").status().getCode())
        .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    // Each other method has its own default bucket.
    assertThat(harness.call(CallType.BIDI_STREAMING, "c").status().isOk()).isTrue();
    assertThat(harness.call(CallType.SERVER_STREAMING, "d").status().isOk()).isTrue();

    RateLimitInterceptor onlyUnary =
        RateLimitInterceptor.of(
            Map.of(CallType.UNARY.fullMethodName(), new RateLimitConfig(1, 1.0, Duration.ZERO)));
    RecordingServerCall other =
        new RecordingServerCall(
            io.grpc.testing.protobuf.SimpleServiceGrpc.getBidiStreamingRpcMethod());
    for (int i = 0; i < 5; i++) {
      onlyUnary.interceptCall(other, new Metadata(), (c, h) -> new ServerCall.Listener<>() {});
    }
    assertThat(other.closes).isEmpty();
  }

  @Test
  void aDelayedHandlerRunsInTheCallsContext() throws Exception {
    Context.Key<String> key = Context.key("test-key");
    RateLimitInterceptor limiter =
        limiter().defaultConfig(new RateLimitConfig(1, 10.0, Duration.ofMillis(150))).build();
    List<String> seen = new CopyOnWriteArrayList<>();
    ServerCallHandler<SimpleRequest, SimpleResponse> handler =
        (call, headers) -> {
          seen.add("start:" + key.get());
          return new ServerCall.Listener<>() {
            @Override
            public void onHalfClose() {
              seen.add("halfClose:" + key.get());
            }
          };
        };
    Context context = Context.current().withValue(key, "outer");

    context.run(() -> limiter.interceptCall(new RecordingServerCall(), new Metadata(), handler));
    ServerCall.Listener<SimpleRequest> waiting =
        context.call(
            () -> limiter.interceptCall(new RecordingServerCall(), new Metadata(), handler));
    waiting.onHalfClose();
    scheduler.advance(Duration.ofMillis(100));

    assertThat(seen).containsExactly("start:outer", "start:outer", "halfClose:outer");
  }

  @Test
  void withTheDefaultTimerAndPoolAWaitingCallStartsOnItsOwn() {
    // Real time: one token every 50 ms, a call may wait 2 s.
    startWith(
        RateLimitInterceptor.builder()
            .defaultConfig(new RateLimitConfig(1, 20.0, Duration.ofSeconds(2)))
            .build());

    assertThat(harness.call(CallType.UNARY, "a").status().isOk()).isTrue();
    InProcessHarness.Result waited = harness.call(CallType.CLIENT_STREAMING, "b");
    InProcessHarness.Result waitedToo = harness.call(CallType.CLIENT_STREAMING, "c");

    assertThat(waited.status().isOk()).isTrue();
    assertThat(waited.responses()).containsExactly("b");
    assertThat(waitedToo.status().isOk()).isTrue();
  }

  @Test
  void aRejectingExecutorDoesNotStrandAWaitingCall() {
    RateLimitInterceptor limiter =
        RateLimitInterceptor.builder()
            .defaultConfig(new RateLimitConfig(1, 10.0, Duration.ofMillis(150)))
            .ticker(ticker)
            .scheduler(scheduler)
            .executor(
                task -> {
                  throw new java.util.concurrent.RejectedExecutionException("shut down");
                })
            .build();
    AtomicInteger handlerStarts = new AtomicInteger();
    ServerCallHandler<SimpleRequest, SimpleResponse> handler =
        (call, headers) -> {
          handlerStarts.incrementAndGet();
          return new ServerCall.Listener<>() {};
        };

    limiter.interceptCall(new RecordingServerCall(), new Metadata(), handler);
    limiter.interceptCall(new RecordingServerCall(), new Metadata(), handler);
    scheduler.advance(Duration.ofMillis(100));

    assertThat(handlerStarts).hasValue(2);
  }
}
