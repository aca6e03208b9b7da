package io.krpc.interceptor.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.grpc.Status;
import io.krpc.interceptor.testing.CallType;
import io.krpc.interceptor.testing.EchoService;
import io.krpc.interceptor.testing.FakeTicker;
import io.krpc.interceptor.testing.InProcessHarness;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class AdaptiveThrottlingInterceptorTest {
  private final FakeTicker ticker = new FakeTicker();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private volatile double random = 0.0; // below any p > 0: refuse whenever p > 0
  private final AdaptiveThrottlingInterceptor throttling =
      AdaptiveThrottlingInterceptor.builder()
          .ticker(ticker)
          .random(() -> random)
          .meterRegistry(registry)
          .build();
  private InProcessHarness harness;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (harness != null) {
      harness.close();
    }
  }

  private void start() {
    harness = InProcessHarness.start(new EchoService(), List.of(), List.of(throttling));
  }

  private Status call(String message) {
    return harness.call(CallType.UNARY, message).status();
  }

  @Test
  void letsEverythingThroughWhileTheBackendAccepts() {
    start();
    for (int i = 0; i < 50; i++) {
      assertThat(call("hello").isOk()).isTrue();
    }
    // Errors other than the rejection codes are accepted calls too.
    assertThat(call("fail:INTERNAL").getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(throttling.rejectionProbability()).isZero();
  }

  @Test
  void refusesLocallyWithTheSreProbabilityOnceTheBackendSheds() {
    start();
    random = 0.999; // let calls through while the history builds
    for (int i = 0; i < 10; i++) {
      assertThat(call("hello").isOk()).isTrue();
    }
    for (int i = 0; i < 30; i++) {
      assertThat(call("fail:RESOURCE_EXHAUSTED").getCode())
          .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    }
    // requests 40, accepts 10: p = (40 - 2 x 10) / 41
    assertThat(throttling.rejectionProbability()).isCloseTo(20.0 / 41, within(1e-9));

    random = 0.4; // below p: refused without reaching the backend
    Status refused = call("hello");
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription())
        .startsWith(
            AdaptiveThrottlingInterceptor.THROTTLED_DESCRIPTION
                + ": the backend accepted 10 of 40 calls in the window, refusing 49% locally (K=2.0)");
    assertThat(registry.get("krpc_client_throttled").counter().count()).isEqualTo(1.0);
    // The refused attempt counts as a request: p = (41 - 20) / 42.
    assertThat(throttling.rejectionProbability()).isCloseTo(21.0 / 42, within(1e-9));

    random = 0.6; // above p: sent, and accepted
    assertThat(call("hello").isOk()).isTrue();
    assertThat(throttling.rejectionProbability()).isCloseTo((42 - 22.0) / 43, within(1e-9));
  }

  @Test
  void forgetsRejectionsThatLeftTheWindow() {
    // The SRE book's rule alone: the recent span is the whole window.
    AdaptiveThrottlingInterceptor plain =
        AdaptiveThrottlingInterceptor.builder()
            .ticker(ticker)
            .random(() -> random)
            .recoveryWindow(Duration.ofSeconds(10))
            .build();
    harness = InProcessHarness.start(new EchoService(), List.of(), List.of(plain));
    random = 0.999;
    for (int i = 0; i < 20; i++) {
      call("fail:RESOURCE_EXHAUSTED");
    }
    assertThat(plain.rejectionProbability()).isCloseTo(20.0 / 21, within(1e-9));

    ticker.advance(Duration.ofSeconds(5));
    for (int i = 0; i < 10; i++) {
      call("hello");
    }
    // 30 requests, 10 accepts, all inside the 10 s window.
    assertThat(plain.rejectionProbability()).isCloseTo(10.0 / 31, within(1e-9));

    ticker.advance(Duration.ofMillis(5_001)); // the rejections are 10 s old now
    assertThat(plain.rejectionProbability()).isZero();
    random = 0.0;
    assertThat(call("hello").isOk()).isTrue();
  }

  @Test
  void theWindowMovesOneBucketAtATime() {
    // 1 s in two buckets of 500 ms; the recent span is the whole window.
    AdaptiveThrottlingInterceptor coarse =
        AdaptiveThrottlingInterceptor.builder()
            .ticker(ticker)
            .random(() -> random)
            .window(Duration.ofSeconds(1))
            .buckets(2)
            .build();
    harness = InProcessHarness.start(new EchoService(), List.of(), List.of(coarse));
    random = 0.999;
    long start = ticker.nanoTime();
    ticker.advance(Duration.ofNanos(Math.floorMod(-start, 500_000_000L))); // a bucket's start
    for (int i = 0; i < 4; i++) {
      call("fail:RESOURCE_EXHAUSTED");
    }
    ticker.advance(Duration.ofMillis(600)); // the second bucket
    for (int i = 0; i < 2; i++) {
      call("hello");
    }
    assertThat(coarse.rejectionProbability()).isCloseTo((6 - 2 * 2.0) / 7, within(1e-9));

    ticker.advance(Duration.ofMillis(399)); // 999 ms after the first bucket began
    assertThat(coarse.rejectionProbability()).isCloseTo((6 - 2 * 2.0) / 7, within(1e-9));
    ticker.advance(Duration.ofMillis(1)); // the first bucket left with its 4 rejections
    assertThat(coarse.rejectionProbability()).isZero();
    ticker.advance(Duration.ofMillis(500)); // and the second with its 2 accepts
    call("fail:RESOURCE_EXHAUSTED");
    assertThat(coarse.rejectionProbability()).isCloseTo(1.0 / 2, within(1e-9));
  }

  /**
   * A backend that refuses everything for 2 s (a cold start), then accepts everything, offered 100
   * calls per second (one every 10 ms of fake time); returns the calls sent in each second after
   * the backend recovered. Calls go out with probability 1 - p, drawn deterministically: a call
   * goes out whenever the running share sent falls a whole call behind.
   */
  private long[] sentPerSecondAfterABurstOfRejections(
      AdaptiveThrottlingInterceptor throttle, int seconds) {
    harness = InProcessHarness.start(new EchoService(), List.of(), List.of(throttle));
    random = 0.999; // the burst reaches the backend
    for (int i = 0; i < 200; i++) {
      call("fail:RESOURCE_EXHAUSTED");
      ticker.advance(Duration.ofMillis(10));
    }
    assertThat(throttle.rejectionProbability()).isGreaterThan(0.99);
    long[] sent = new long[seconds];
    double owed = 0;
    for (int i = 0; i < seconds * 100; i++) {
      owed += 1 - throttle.rejectionProbability();
      boolean send = owed >= 1;
      random = send ? 1.0 : 0.0; // 1.0 is never below p: sent; 0.0 is, whenever p > 0: refused
      Status status = call("hello");
      if (send) {
        owed -= 1;
        sent[i / 100]++;
        assertThat(status.isOk()).isTrue();
      }
      ticker.advance(Duration.ofMillis(10));
    }
    return sent;
  }

  @Test
  void recoversWithinSecondsOnceTheBackendAcceptsAgain() {
    AdaptiveThrottlingInterceptor recovering =
        AdaptiveThrottlingInterceptor.builder().ticker(ticker).random(() -> random).build();
    long[] sent = sentPerSecondAfterABurstOfRejections(recovering, 8);

    // A probe after 1 s of silence, then the recent span's accepts: full traffic from the 4th s.
    assertThat(sent[0]).isZero();
    assertThat(sent[1]).isPositive();
    assertThat(sent).endsWith(100, 100, 100, 100, 100);
    assertThat(recovering.rejectionProbability()).isZero();
  }

  @Test
  void theBookRuleAloneRecoversSlowly() {
    AdaptiveThrottlingInterceptor plain =
        AdaptiveThrottlingInterceptor.builder()
            .ticker(ticker)
            .random(() -> random)
            .recoveryWindow(Duration.ofSeconds(10))
            .build();
    long[] sent = sentPerSecondAfterABurstOfRejections(plain, 8);

    // Few accepts in the window, so few calls go out, so few new accepts: e-fold every 5 s.
    assertThat(LongStream.of(sent).sum()).isLessThan(10);
    assertThat(plain.rejectionProbability()).isGreaterThan(0.9);
  }

  @Test
  void keepsRefusingWhileTheBackendKeepsRejecting() {
    start();
    random = 0.999;
    for (int i = 0; i < 200; i++) { // 2 s: one accepted call in four
      call(i % 4 == 0 ? "hello" : "fail:RESOURCE_EXHAUSTED");
      ticker.advance(Duration.ofMillis(10));
    }
    // Whole window: (200 - 2 x 50) / 201; the last second alone: (100 - 2 x 25) / 101.
    assertThat(throttling.rejectionProbability()).isCloseTo(100.0 / 201, within(1e-9));
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void refusedCallsOfEveryTypeEndAtOnceAndNeverReachTheBackend(CallType type) {
    EchoService service = new EchoService();
    harness = InProcessHarness.start(service, List.of(), List.of(throttling));
    random = 0.999;
    for (int i = 0; i < 20; i++) {
      harness.call(CallType.UNARY, "fail:RESOURCE_EXHAUSTED");
    }
    random = 0.0;
    InProcessHarness.Result result = harness.call(type, "hello");
    assertThat(result.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(result.status().getDescription())
        .startsWith(AdaptiveThrottlingInterceptor.THROTTLED_DESCRIPTION);
    assertThat(result.responses()).isEmpty();
  }

  @Test
  void otherRejectionCodesCanBeChosen() {
    AdaptiveThrottlingInterceptor unavailable =
        AdaptiveThrottlingInterceptor.builder()
            .ticker(ticker)
            .random(() -> random)
            .rejectionCodes(Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED)
            .build();
    harness = InProcessHarness.start(new EchoService(), List.of(), List.of(unavailable));
    random = 0.999;
    for (int i = 0; i < 4; i++) {
      call("fail:UNAVAILABLE");
    }
    assertThat(unavailable.rejectionProbability()).isCloseTo(4.0 / 5, within(1e-9));
  }

  @Test
  void validatesEveryOption() {
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().k(0.5))
        .hasMessage("k: 0.5 (expected: >= 1)");
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().k(Double.NaN))
        .hasMessage("k: NaN (expected: >= 1)");
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().window(Duration.ZERO))
        .hasMessage("window: PT0S (expected: > 0)");
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().buckets(0))
        .hasMessage("buckets: 0 (expected: >= 1)");
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().rejectionCodes())
        .hasMessage("rejectionCodes: [] (expected: at least one code)");
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().rejectionCodes(Status.Code.OK))
        .hasMessage("rejectionCodes: OK (expected: error codes)");
    assertThatThrownBy(
            () ->
                AdaptiveThrottlingInterceptor.builder()
                    .window(Duration.ofMillis(10))
                    .buckets(100)
                    .build())
        .hasMessage("window: PT0.01S, buckets: 100 (expected: buckets of at least 1 ms)");
    assertThatThrownBy(() -> AdaptiveThrottlingInterceptor.builder().recoveryWindow(Duration.ZERO))
        .hasMessage("recoveryWindow: PT0S (expected: > 0)");
    assertThatThrownBy(
            () ->
                AdaptiveThrottlingInterceptor.builder()
                    .recoveryWindow(Duration.ofSeconds(11))
                    .build())
        .hasMessage(
            "recoveryWindow: PT11S, window: PT10S, buckets: 100"
                + " (expected: at least one bucket and at most the window)");
  }
}
