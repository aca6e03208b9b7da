package io.krpc.interceptor.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.inprocess.InProcessSocketAddress;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.interceptor.testing.CallType;
import io.krpc.interceptor.testing.EchoService;
import io.krpc.interceptor.testing.FakeTicker;
import io.krpc.interceptor.testing.InProcessHarness;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TimeoutInterceptorTest {
  private final FakeTicker ticker = new FakeTicker();
  private final EchoService service = new EchoService();
  private final List<TimeoutInterceptor.SlowCall> slowCalls = new CopyOnWriteArrayList<>();
  private final AtomicReference<Deadline> seenDeadline = new AtomicReference<>();
  private InProcessHarness harness;

  /** Sits inside the timeout interceptor and remembers the deadline it passed on. */
  private final ClientInterceptor deadlineSpy =
      new ClientInterceptor() {
        @Override
        public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
            MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
          seenDeadline.set(options.getDeadline());
          return next.newCall(method, options);
        }
      };

  @AfterEach
  void tearDown() throws InterruptedException {
    service.releaseHeld();
    if (harness != null) {
      harness.close();
    }
  }

  private void startWith(Duration defaultDeadline, Duration slowThreshold) {
    TimeoutInterceptor timeout =
        TimeoutInterceptor.builder()
            .defaultDeadline(defaultDeadline)
            .slowThreshold(slowThreshold)
            .ticker(ticker)
            .slowCallObserver(slowCalls::add)
            .build();
    harness = InProcessHarness.start(service, List.of(), List.of(timeout, deadlineSpy));
  }

  @Test
  void addsTheDefaultDeadlineOnlyWhenTheCallerSetNone() throws Exception {
    startWith(Duration.ofSeconds(5), Duration.ZERO);

    harness.call(CallType.UNARY, "a");
    assertThat(seenDeadline.get().timeRemaining(TimeUnit.MILLISECONDS)).isBetween(4_000L, 5_000L);

    SimpleServiceGrpc.newBlockingStub(harness.channel())
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .unaryRpc(SimpleRequest.getDefaultInstance());
    assertThat(seenDeadline.get().timeRemaining(TimeUnit.SECONDS)).isGreaterThan(20);

    ScheduledExecutorService contextTimer = Executors.newSingleThreadScheduledExecutor();
    try {
      Context.current()
          .withDeadlineAfter(30, TimeUnit.SECONDS, contextTimer)
          .call(
              () ->
                  SimpleServiceGrpc.newBlockingStub(harness.channel())
                      .unaryRpc(SimpleRequest.getDefaultInstance()));
    } finally {
      contextTimer.shutdownNow();
    }
    assertThat(seenDeadline.get()).as("the context deadline applies; none added").isNull();
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void theDefaultDeadlineEndsAHangingCall(CallType type) {
    startWith(Duration.ofMillis(50), Duration.ZERO);

    Status status = harness.call(type, "hold").status();

    assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void reportsSlowCallsOfEveryTypeUntilTheyClose(CallType type) throws Exception {
    startWith(Duration.ZERO, Duration.ofSeconds(1));

    CompletableFuture<InProcessHarness.Result> call = harness.start(type, "hold");
    await().until(() -> service.heldCount() == 1);
    ticker.advance(Duration.ofMillis(1500));
    service.releaseHeld();
    call.get(10, TimeUnit.SECONDS);

    assertThat(slowCalls).hasSize(1);
    TimeoutInterceptor.SlowCall slow = slowCalls.get(0);
    assertThat(slow.method()).isEqualTo(type.fullMethodName());
    assertThat(slow.target()).isEqualTo(harness.channel().authority());
    assertThat(slow.peer()).isInstanceOf(InProcessSocketAddress.class);
    assertThat(slow.duration()).isEqualTo(Duration.ofMillis(1500));
    assertThat(slow.code()).isEqualTo(Status.Code.OK);
  }

  @Test
  void fastCallsAreNotReported() {
    startWith(Duration.ZERO, Duration.ofSeconds(1));

    harness.call(CallType.UNARY, "a");
    harness.call(CallType.BIDI_STREAMING, "b");

    assertThat(slowCalls).isEmpty();
    assertThat(seenDeadline.get()).isNull();
  }

  @Test
  void validatesArguments() {
    assertThatThrownBy(() -> TimeoutInterceptor.of(Duration.ofSeconds(-1), Duration.ZERO))
        .hasMessage("defaultDeadline: PT-1S (expected: >= 0)");
    assertThatThrownBy(() -> TimeoutInterceptor.of(Duration.ZERO, Duration.ofMillis(-5)))
        .hasMessage("slowThreshold: PT-0.005S (expected: >= 0)");
  }
}
