package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RetryTest {
  private final AtomicInteger calls = new AtomicInteger();
  private volatile int failFirst;
  private volatile Status.Code failWith = Status.Code.UNAVAILABLE;
  private KServer server;

  @BeforeEach
  void start() {
    server =
        KServer.builder()
            .serviceName("flaky")
            .host("127.0.0.1")
            .port(0)
            .deregisterDelay(Duration.ZERO)
            .addService(
                new SimpleServiceGrpc.SimpleServiceImplBase() {
                  @Override
                  public void unaryRpc(
                      SimpleRequest request, StreamObserver<SimpleResponse> observer) {
                    if (calls.incrementAndGet() <= failFirst) {
                      observer.onError(
                          failWith.toStatus().withDescription("flaky").asRuntimeException());
                      return;
                    }
                    observer.onNext(SimpleResponse.newBuilder().setResponseMessage("ok").build());
                    observer.onCompleted();
                  }
                })
            .start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private String call(KClient client) {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .unaryRpc(SimpleRequest.getDefaultInstance())
        .getResponseMessage();
  }

  @Test
  void retriesUnavailableUpToMaxAttempts() {
    failFirst = 2;
    try (KClient client =
        KClient.forTarget("127.0.0.1:" + server.port())
            .retry(
                RetryPolicy.builder().maxAttempts(3).initialBackoff(Duration.ofMillis(10)).build())
            .build()) {
      assertThat(call(client)).isEqualTo("ok");
      assertThat(calls).hasValue(3);
    }
  }

  @Test
  void doesNotRetryOtherCodesOrWithoutAPolicy() {
    failFirst = 1;
    failWith = Status.Code.INVALID_ARGUMENT;
    try (KClient client =
        KClient.forTarget("127.0.0.1:" + server.port())
            .retry(RetryPolicy.builder().build())
            .build()) {
      assertThatThrownBy(() -> call(client))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
      assertThat(calls).hasValue(1);
    }
    calls.set(0);
    failWith = Status.Code.UNAVAILABLE;
    try (KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
      assertThatThrownBy(() -> call(client)).isInstanceOf(StatusRuntimeException.class);
      assertThat(calls).hasValue(1);
    }
  }

  @Test
  void throttlingStopsRetriesDuringAnOutage() {
    failFirst = Integer.MAX_VALUE;
    try (KClient client =
        KClient.forTarget("127.0.0.1:" + server.port())
            .retry(
                RetryPolicy.builder().maxAttempts(5).initialBackoff(Duration.ofMillis(1)).build())
            .retryThrottling(10, 0.1)
            .build()) {
      for (int i = 0; i < 20; i++) {
        assertThatThrownBy(() -> call(client)).isInstanceOf(StatusRuntimeException.class);
      }
    }
    // Without throttling 20 calls x 5 attempts = 100; the bucket (10 tokens, retries only above
    // 5) lets a few retries through, then only first attempts: far fewer than 100.
    assertThat(calls.get()).isLessThan(30);
  }

  @Test
  void policiesValidateTheirOptions() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(1))
        .hasMessage("maxAttempts: 1 (expected: 2..5)");
    assertThatThrownBy(() -> RetryPolicy.builder().initialBackoff(Duration.ZERO))
        .hasMessage("initialBackoff: PT0S (expected: > 0)");
    assertThatThrownBy(() -> RetryPolicy.builder().retryableCodes(Status.Code.OK))
        .hasMessage("retryableCodes: [OK] (expected: codes other than OK)");
    RetryPolicy.Builder badPair = RetryPolicy.builder().initialBackoff(Duration.ofSeconds(2));
    assertThatThrownBy(badPair::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "maxBackoff: PT1S and initialBackoff: PT2S "
                + "(expected: maxBackoff >= initialBackoff)");
    // the builder is unchanged by a failed build() and stays usable
    assertThat(badPair.maxBackoff(Duration.ofSeconds(3)).build().toServiceConfig())
        .containsEntry("maxBackoff", "3.0s");
    assertThatThrownBy(() -> HedgingPolicy.builder().maxAttempts(6))
        .hasMessage("maxAttempts: 6 (expected: 2..5)");
    assertThatThrownBy(() -> KClient.forTarget("x:1").retryThrottling(0, 0.1))
        .hasMessage("retryThrottling maxTokens: 0 (expected: 1..1000)");
    assertThatThrownBy(
            () ->
                KClient.forTarget("x:1")
                    .retry(RetryPolicy.builder().build())
                    .hedging(HedgingPolicy.builder().build())
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("(expected: at most one of retry and hedging)");
  }
}
