package io.krpc.interceptor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.interceptor.client.TimeoutInterceptor;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import io.krpc.interceptor.server.RecoveryInterceptor;
import io.krpc.interceptor.testing.CallType;
import io.krpc.interceptor.testing.EchoService;
import io.krpc.interceptor.testing.FakeTicker;
import io.krpc.interceptor.testing.InProcessHarness;
import io.krpc.interceptor.testing.ManualScheduler;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The governance interceptors composed as KServer and KClient chain them. */
class GovernanceChainTest {
  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler(ticker);
  private final EchoService service = new EchoService();
  private final List<Status> observedCloses = new CopyOnWriteArrayList<>();
  private InProcessHarness harness;

  /** Stands for an outer interceptor such as metrics or tracing: sees how every call closed. */
  private final ServerInterceptor closeObserver =
      new ServerInterceptor() {
        @Override
        public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
            ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
          return next.startCall(
              new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                @Override
                public void close(Status status, Metadata trailers) {
                  observedCloses.add(status);
                  super.close(status, trailers);
                }
              },
              headers);
        }
      };

  @AfterEach
  void tearDown() throws InterruptedException {
    service.releaseHeld();
    if (harness != null) {
      harness.close();
    }
  }

  private RateLimitInterceptor oneCallPerSecond(Duration maxWait) {
    return RateLimitInterceptor.builder()
        .defaultConfig(new RateLimitConfig(1, 1.0, maxWait))
        .ticker(ticker)
        .scheduler(scheduler)
        .executor(Runnable::run)
        .build();
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void aRateLimitedCallIsStillSeenByTheOuterInterceptors(CallType type) {
    harness =
        InProcessHarness.start(
            service,
            List.of(RecoveryInterceptor.create(), closeObserver, oneCallPerSecond(Duration.ZERO)),
            List.of(TimeoutInterceptor.of(Duration.ofSeconds(5), Duration.ofSeconds(1))));

    assertThat(harness.call(type, "a").status().isOk()).isTrue();
    assertThat(harness.call(type, "b").status().getCode())
        .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

    await().until(() -> observedCloses.size() == 2);
    assertThat(observedCloses)
        .extracting(Status::getCode)
        .containsExactly(Status.Code.OK, Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void recoveryCoversAHandlerThatStartedAfterWaitingForAToken() throws Exception {
    harness =
        InProcessHarness.start(
            service,
            List.of(
                RecoveryInterceptor.create(),
                closeObserver,
                oneCallPerSecond(Duration.ofSeconds(2))),
            List.of());
    assertThat(harness.call(CallType.BIDI_STREAMING, "a").status().isOk()).isTrue();

    CompletableFuture<InProcessHarness.Result> waiting =
        harness.start(CallType.BIDI_STREAMING, "throw");
    await().until(() -> scheduler.pending() == 1);
    scheduler.advance(Duration.ofSeconds(1));

    Status status = waiting.get(10, TimeUnit.SECONDS).status();
    assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(status.getDescription()).isEqualTo(RecoveryInterceptor.DESCRIPTION);
  }

  @Test
  void aClientBreakerBacksOffAServerThatSheds() {
    AdaptiveLimitInterceptor shedder =
        AdaptiveLimitInterceptor.builder()
            .cpuUsageSource(() -> 0.99)
            .ticker(ticker)
            .minCapacity(1)
            .build();
    CircuitBreakerInterceptor breaker =
        CircuitBreakerInterceptor.builder("greeter")
            .gobreaker(1, Duration.ofSeconds(10), Duration.ofSeconds(5), null)
            .ticker(ticker)
            .build();
    harness =
        InProcessHarness.start(
            service,
            List.of(RecoveryInterceptor.create(), closeObserver, shedder),
            List.of(breaker));
    // Two calls held open; with no history the capacity is the floor, 1: further calls are shed.
    var unused1 = harness.start(CallType.SERVER_STREAMING, "hold");
    var unused2 = harness.start(CallType.SERVER_STREAMING, "hold");
    await().until(() -> service.heldCount() == 2);

    for (int i = 0; i < 6; i++) {
      assertThat(harness.call(CallType.UNARY, "x").status().getCode())
          .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    }

    assertThat(breaker.circuitBreaker(CallType.UNARY.fullMethodName()).getState())
        .isEqualTo(CircuitBreaker.State.OPEN);
    Status refused = harness.call(CallType.UNARY, "x").status();
    assertThat(refused.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(refused.getDescription()).contains("circuit breaker 'greeter'");
  }

  @Test
  void theFactoriesOfApiMdBuildWorkingInterceptors() {
    harness =
        InProcessHarness.start(
            service,
            List.of(
                RecoveryInterceptor.create(),
                RateLimitInterceptor.of(
                    Map.of(
                        CallType.UNARY.fullMethodName(),
                        new RateLimitConfig(100, 10.0, Duration.ofMillis(100)))),
                AdaptiveLimitInterceptor.create()),
            List.of(
                CircuitBreakerInterceptor.of(
                    "greeter", 100, Duration.ofSeconds(10), Duration.ofSeconds(5), null),
                TimeoutInterceptor.of(Duration.ofSeconds(5), Duration.ofSeconds(1))));

    for (CallType type : CallType.values()) {
      assertThat(harness.call(type, "hello").status().isOk()).isTrue();
    }
  }
}
