package io.krpc.interceptor.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

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
import io.krpc.interceptor.testing.RecordingServerCall;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class AdaptiveLimitInterceptorTest {
  /** The call each admitted attempt's handler was given, as the handler sees it. */
  private final List<ServerCall<SimpleRequest, SimpleResponse>> handled = new ArrayList<>();

  private final ServerCallHandler<SimpleRequest, SimpleResponse> handler =
      (call, headers) -> {
        handled.add(call);
        return new ServerCall.Listener<>() {};
      };

  private final FakeTicker ticker = new FakeTicker();
  private volatile double cpu = 0.1;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  // maxPass of one bucket and a capacity floor of 1, go-kratos's rules, keep the arithmetic of
  // these tests short; the default span and floor are tested on their own below.
  private final AdaptiveLimitInterceptor limiter =
      AdaptiveLimitInterceptor.builder()
          .cpuUsageSource(() -> cpu)
          .ticker(ticker)
          .meterRegistry(registry)
          .maxPassSpan(Duration.ofMillis(100))
          .minCapacity(1)
          .build();
  private InProcessHarness harness;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (harness != null) {
      harness.close();
    }
  }

  /** An admitted or shed call made straight on the interceptor. */
  private record Attempt(RecordingServerCall call, ServerCall.Listener<SimpleRequest> listener) {
    boolean shed() {
      return !call.closes.isEmpty();
    }
  }

  private Attempt attempt() {
    return attempt(limiter);
  }

  private Attempt attempt(AdaptiveLimitInterceptor limiter) {
    RecordingServerCall call = new RecordingServerCall();
    return new Attempt(call, limiter.interceptCall(call, new Metadata(), handler));
  }

  /** Completes {@code n} calls that each took {@code rt}, in the current bucket, then moves on. */
  private void history(int n, Duration rt) {
    history(n, rt, limiter);
  }

  /** The same history on each limiter, in the same bucket. */
  private void history(int n, Duration rt, AdaptiveLimitInterceptor... limiters) {
    List<Attempt> calls = new ArrayList<>();
    for (AdaptiveLimitInterceptor each : limiters) {
      for (int i = 0; i < n; i++) {
        calls.add(attempt(each));
      }
    }
    ticker.advance(rt);
    calls.forEach(a -> a.listener().onComplete());
    ticker.advance(Duration.ofMillis(100).minus(rt)); // the next bucket: this one is full now
  }

  @Test
  void admitsEverythingWhileTheCpuIsLow() {
    history(4, Duration.ofMillis(50));

    List<Attempt> calls = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      calls.add(attempt());
    }

    assertThat(calls).noneMatch(Attempt::shed);
    assertThat(limiter.inFlight()).isEqualTo(50);
  }

  @Test
  void shedsOnceCpuIsHighAndInFlightExceedsTheEstimatedCapacity() {
    history(4, Duration.ofMillis(50)); // maxPass 4 per 100 ms bucket x minRT 50 ms: capacity 2
    assertThat(limiter.estimatedCapacity()).isEqualTo(2);
    cpu = 0.9;

    List<Attempt> admitted = List.of(attempt(), attempt(), attempt());
    Attempt shed = attempt();

    assertThat(admitted).noneMatch(Attempt::shed);
    assertThat(shed.shed()).isTrue();
    Status status = shed.call().closes.get(0);
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .startsWith(
            "server overloaded, load shed: 3 calls in flight > estimated capacity 2, CPU 90%");
    assertThat(registry.get("krpc_server_limiter_shed").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("krpc_server_limiter_inflight").gauge().value()).isEqualTo(3.0);
    assertThat(registry.get("krpc_server_limiter_estimated_capacity").gauge().value())
        .isEqualTo(2.0);

    // Capacity freed: admitted again.
    admitted.get(0).listener().onComplete();
    assertThat(attempt().shed()).isFalse();
  }

  @Test
  void keepsCheckingInFlightDuringTheCoolOffThenRecovers() {
    history(4, Duration.ofMillis(50));
    cpu = 0.9;
    List<Attempt> admitted = List.of(attempt(), attempt(), attempt());
    assertThat(attempt().shed()).isTrue();

    cpu = 0.1; // the CPU reading drops at once, the load has not left
    ticker.advance(Duration.ofMillis(900));
    Attempt inCoolOff = attempt();
    assertThat(inCoolOff.shed()).isTrue();
    assertThat(inCoolOff.call().closes.get(0).getDescription()).endsWith("(cooling off)");

    ticker.advance(Duration.ofMillis(200));
    assertThat(attempt().shed()).isFalse();
    assertThat(admitted).noneMatch(Attempt::shed);
  }

  @Test
  void theWindowRollsSoOldBucketsStopCounting() {
    history(20, Duration.ofMillis(50));
    assertThat(limiter.estimatedCapacity()).isEqualTo(10);

    ticker.advance(Duration.ofSeconds(10));
    assertThat(limiter.estimatedCapacity()).as("no data in the window").isEqualTo(1);

    history(4, Duration.ofMillis(50));
    history(6, Duration.ofMillis(80));
    // maxPass 6 (from the second bucket), minRT 50 ms (from the first): 6 x 50 / 100 = 3
    assertThat(limiter.estimatedCapacity()).isEqualTo(3);
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void streamsCountAsInFlightUntilTheyClose(CallType type) throws Exception {
    EchoService service = new EchoService();
    harness = InProcessHarness.start(service, List.of(limiter), List.of());
    cpu = 0.95; // no history: capacity 1, so two calls may run and a third is shed

    CompletableFuture<InProcessHarness.Result> first = harness.start(type, "hold");
    CompletableFuture<InProcessHarness.Result> second = harness.start(type, "hold");
    await().until(() -> service.heldCount() == 2);
    assertThat(limiter.inFlight()).isEqualTo(2);

    Status shed = harness.call(type, "third").status();
    assertThat(shed.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(shed.getDescription()).startsWith(AdaptiveLimitInterceptor.SHED_DESCRIPTION);

    service.releaseHeld();
    assertThat(first.get(10, TimeUnit.SECONDS).status().isOk()).isTrue();
    assertThat(second.get(10, TimeUnit.SECONDS).status().isOk()).isTrue();
    await().until(() -> limiter.inFlight() == 0);
    assertThat(harness.call(type, "fourth").status().isOk()).isTrue();
  }

  @Test
  void aCancelledCallLeavesFlightToo() {
    Attempt a = attempt();
    assertThat(limiter.inFlight()).isEqualTo(1);
    a.listener().onCancel();
    a.listener().onComplete(); // never both in practice; still counted once
    assertThat(limiter.inFlight()).isZero();
  }

  @Test
  void aCallLeavesFlightWhenItsHandlerClosesIt() {
    cpu = 0.9; // no history: capacity 1, two calls in flight at most
    Attempt first = attempt();
    Attempt second = attempt();
    assertThat(attempt().shed()).isTrue();

    ticker.advance(Duration.ofMillis(20));
    handled.get(0).close(Status.OK, new Metadata()); // the transport has not completed it yet
    assertThat(first.call().closes).containsExactly(Status.OK);
    assertThat(limiter.inFlight()).isEqualTo(1);
    assertThat(attempt().shed()).as("room again as soon as the handler is done").isFalse();

    first.listener().onComplete(); // the transport's completion later: not counted twice
    assertThat(limiter.inFlight()).isEqualTo(2);
    ticker.advance(Duration.ofMillis(100));
    assertThat(limiter.toString()).contains("maxPass=1.0 per 100 ms", "minRt=20.00 ms");
    assertThat(second.shed()).isFalse();
  }

  @Test
  void aHandlerClosingACancelledCallDoesNotFeedTheWindow() {
    Attempt attempt = attempt();
    attempt.call().cancelled = true; // the deadline passed while the handler worked
    ticker.advance(Duration.ofSeconds(1));
    handled.get(0).close(Status.CANCELLED, new Metadata());
    ticker.advance(Duration.ofMillis(100));

    assertThat(limiter.inFlight()).isZero();
    assertThat(limiter.toString()).contains("maxPass=0.0 per 100 ms", "minRt=-0.00 ms");
  }

  @Test
  void cancelledCallsDoNotFeedTheCapacityEstimate() {
    history(10, Duration.ofMillis(10)); // capacity 10 x 10 ms / 100 ms = 1, floored at 1
    long before = limiter.estimatedCapacity();
    List<Attempt> timedOut = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      timedOut.add(attempt());
    }
    ticker.advance(Duration.ofSeconds(1)); // they waited a long time, then their deadline fired
    timedOut.forEach(a -> a.listener().onCancel());
    ticker.advance(Duration.ofMillis(100));
    assertThat(limiter.inFlight()).isZero();
    // Counted, the 50 cancelled calls would raise maxPass to 50: capacity 50 x 10 ms / 100 ms = 5.
    assertThat(limiter.estimatedCapacity()).isEqualTo(before);
  }

  @Test
  void aBurstOfCompletionsDoesNotPassForThroughputWithTheDefaultSpan() {
    AdaptiveLimitInterceptor byDefault =
        AdaptiveLimitInterceptor.builder()
            .cpuUsageSource(() -> cpu)
            .ticker(ticker)
            .minCapacity(1)
            .build(); // the default span
    for (int i = 0; i < 10; i++) {
      history(4, Duration.ofMillis(50), byDefault, limiter); // a steady 4 per 100 ms, 50 ms each
    }
    assertThat(byDefault.estimatedCapacity()).isEqualTo(2); // 4 x 50 ms / 100 ms
    assertThat(limiter.estimatedCapacity()).isEqualTo(2);

    // A backlog of 40 calls finishes in one bucket, as on a CPU that ran them all at once.
    history(40, Duration.ofMillis(50), byDefault, limiter);

    // Per bucket (go-kratos): 40 x 50 / 100 = 20. Over 1 s: (40 + 9 x 4) / 10 = 7.6 per bucket,
    // 7.6 x 50 / 100 = 3.8, rounded to 4.
    assertThat(limiter.estimatedCapacity()).isEqualTo(20);
    assertThat(byDefault.estimatedCapacity()).isEqualTo(4);
    assertThat(byDefault.toString())
        .contains("maxPass=7.6 per 100 ms", "minRt=50.00 ms", "capacity=4");
  }

  @Test
  void theCapacityNeverFallsBelowTheFloor() {
    AdaptiveLimitInterceptor byDefault =
        AdaptiveLimitInterceptor.builder().cpuUsageSource(() -> cpu).ticker(ticker).build();
    assertThat(byDefault.estimatedCapacity()).as("no data in the window").isEqualTo(4);
    for (int i = 0; i < 10; i++) {
      history(4, Duration.ofMillis(25), byDefault); // Little's estimate: 4 x 25 ms / 100 ms = 1
    }
    assertThat(byDefault.estimatedCapacity())
        .isEqualTo(AdaptiveLimitInterceptor.DEFAULT_MIN_CAPACITY);
    cpu = 0.95;

    List<Attempt> admitted = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      admitted.add(attempt(byDefault));
    }
    Attempt shed = attempt(byDefault);

    assertThat(admitted).noneMatch(Attempt::shed);
    assertThat(shed.shed()).isTrue();
    assertThat(shed.call().closes.get(0).getDescription())
        .startsWith("server overloaded, load shed: 5 calls in flight > estimated capacity 4");

    AdaptiveLimitInterceptor raised =
        AdaptiveLimitInterceptor.builder()
            .cpuUsageSource(() -> cpu)
            .ticker(ticker)
            .minCapacity(8)
            .build();
    assertThat(raised.estimatedCapacity()).isEqualTo(8);
  }

  @Test
  void validatesEveryOption() {
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().minCapacity(0))
        .hasMessage("minCapacity: 0 (expected: >= 1)");
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().cpuThreshold(0))
        .hasMessage("cpuThreshold: 0.0 (expected: > 0 and <= 1)");
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().cpuThreshold(1.5))
        .hasMessage("cpuThreshold: 1.5 (expected: > 0 and <= 1)");
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().window(Duration.ZERO))
        .hasMessage("window: PT0S (expected: > 0)");
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().buckets(1))
        .hasMessage("buckets: 1 (expected: >= 2)");
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().maxPassSpan(Duration.ZERO))
        .hasMessage("maxPassSpan: PT0S (expected: > 0)");
    assertThatThrownBy(
            () -> AdaptiveLimitInterceptor.builder().maxPassSpan(Duration.ofSeconds(11)).build())
        .hasMessage(
            "maxPassSpan: PT11S, window: PT10S, buckets: 100"
                + " (expected: at least one bucket and at most the window)");
    assertThatThrownBy(
            () -> AdaptiveLimitInterceptor.builder().maxPassSpan(Duration.ofMillis(99)).build())
        .hasMessage(
            "maxPassSpan: PT0.099S, window: PT10S, buckets: 100"
                + " (expected: at least one bucket and at most the window)");
    assertThatThrownBy(() -> AdaptiveLimitInterceptor.builder().coolOff(Duration.ofSeconds(-1)))
        .hasMessage("coolOff: PT-1S (expected: >= 0)");
    assertThatThrownBy(
            () ->
                AdaptiveLimitInterceptor.builder()
                    .window(Duration.ofMillis(10))
                    .buckets(100)
                    .build())
        .hasMessage("window: PT0.01S, buckets: 100 (expected: buckets of at least 1 ms)");
  }

  @Test
  void theBuiltInCpuSourcesReportAFraction() {
    assertThat(CpuUsageSource.processCpu().cpuUsage()).isBetween(0.0, 1.0);
    assertThat(CpuUsageSource.systemCpu().cpuUsage()).isBetween(0.0, 1.0);
    assertThat(CpuUsageSource.processCpu()).isSameAs(CpuUsageSource.processCpu());
  }
}
