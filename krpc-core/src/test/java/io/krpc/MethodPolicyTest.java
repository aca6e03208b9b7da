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

/**
 * Per-service and per-method retry, hedging and timeout: the most specific policy applies whole, as
 * in grpc's method config.
 */
class MethodPolicyTest {
  private static final String SERVICE = SimpleServiceGrpc.SERVICE_NAME;
  private static final String UNARY = SimpleServiceGrpc.getUnaryRpcMethod().getFullMethodName();
  private static final RetryPolicy RETRY =
      RetryPolicy.builder().maxAttempts(3).initialBackoff(Duration.ofMillis(5)).build();

  private final AtomicInteger unaryCalls = new AtomicInteger();
  private final AtomicInteger streamingCalls = new AtomicInteger();
  private KServer server;

  @BeforeEach
  void start() {
    // Both methods fail UNAVAILABLE on every call; a "slow" request first sleeps 2 s.
    server =
        KServer.builder()
            .serviceName("policies")
            .host("127.0.0.1")
            .port(0)
            .deregisterDelay(Duration.ZERO)
            .addService(
                new SimpleServiceGrpc.SimpleServiceImplBase() {
                  @Override
                  public void unaryRpc(
                      SimpleRequest request, StreamObserver<SimpleResponse> observer) {
                    unaryCalls.incrementAndGet();
                    answer(request, observer);
                  }

                  @Override
                  public void serverStreamingRpc(
                      SimpleRequest request, StreamObserver<SimpleResponse> observer) {
                    streamingCalls.incrementAndGet();
                    answer(request, observer);
                  }
                })
            .start();
  }

  private static void answer(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
    if (request.getRequestMessage().equals("slow")) {
      try {
        Thread.sleep(2000); // a slow handler; the client's timeout is what is tested
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    observer.onError(Status.UNAVAILABLE.withDescription("down").asRuntimeException());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private KClient.Builder client() {
    return KClient.forTarget("127.0.0.1:" + server.port()).closeTimeout(Duration.ZERO);
  }

  private static Status.Code unary(KClient client, String message) {
    try {
      SimpleServiceGrpc.newBlockingStub(client.channel())
          .unaryRpc(SimpleRequest.newBuilder().setRequestMessage(message).build());
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  private static Status.Code streaming(KClient client) {
    try {
      SimpleServiceGrpc.newBlockingStub(client.channel())
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .serverStreamingRpc(SimpleRequest.getDefaultInstance())
          .forEachRemaining(r -> {});
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  @Test
  void aMethodPolicyReplacesTheClientWideRetryForThatMethodOnly() {
    try (KClient client =
        client()
            .retry(RETRY)
            .methodPolicy(MethodPolicy.forMethod(UNARY).timeout(Duration.ofSeconds(5)).build())
            .build()) {
      assertThat(unary(client, "")).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(streaming(client)).isEqualTo(Status.Code.UNAVAILABLE);
    }
    assertThat(unaryCalls).as("UnaryRpc: its policy has no retry").hasValue(1);
    assertThat(streamingCalls).as("ServerStreamingRpc: the client-wide retry").hasValue(3);
  }

  @Test
  void aMethodPolicyWinsOverItsServicesPolicy() {
    try (KClient client =
        client()
            .methodPolicy(MethodPolicy.forService(SERVICE).retry(RETRY).build())
            .methodPolicy(
                MethodPolicy.forMethod(SimpleServiceGrpc.getUnaryRpcMethod())
                    .retry(
                        RetryPolicy.builder()
                            .maxAttempts(2)
                            .initialBackoff(Duration.ofMillis(5))
                            .build())
                    .build())
            .build()) {
      assertThat(unary(client, "")).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(streaming(client)).isEqualTo(Status.Code.UNAVAILABLE);
    }
    assertThat(unaryCalls).as("UnaryRpc: its own policy, 2 attempts").hasValue(2);
    assertThat(streamingCalls).as("ServerStreamingRpc: the service's policy, 3").hasValue(3);
  }

  @Test
  void timeoutsApplyPerMethodAndClientWide() {
    try (KClient client =
        client()
            .timeout(Duration.ofSeconds(30))
            .methodPolicy(MethodPolicy.forMethod(UNARY).timeout(Duration.ofMillis(200)).build())
            .build()) {
      long start = System.nanoTime();
      assertThat(unary(client, "slow")).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
      assertThat((System.nanoTime() - start) / 1_000_000).as("ms").isLessThan(1500);
    }
    try (KClient client = client().timeout(Duration.ofMillis(200)).build()) {
      assertThat(unary(client, "slow")).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    }
    try (KClient client = client().build()) {
      assertThat(unary(client, "slow"))
          .as("no timeout: the handler's answer")
          .isEqualTo(Status.Code.UNAVAILABLE);
    }
  }

  @Test
  void hedgingPerMethod() {
    try (KClient client =
        client()
            .methodPolicy(
                MethodPolicy.forMethod(UNARY)
                    .hedging(
                        HedgingPolicy.builder().maxAttempts(3).hedgingDelay(Duration.ZERO).build())
                    .build())
            .build()) {
      assertThat(unary(client, "")).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(streaming(client)).isEqualTo(Status.Code.UNAVAILABLE);
    }
    assertThat(unaryCalls).as("UnaryRpc hedged: 3 requests").hasValue(3);
    assertThat(streamingCalls).hasValue(1);
  }

  @Test
  void policiesAreValidatedWhenBuilt() {
    assertThatThrownBy(() -> MethodPolicy.forService("greeter/Greeter"))
        .hasMessage(
            "service: 'greeter/Greeter' (expected: a full gRPC service name such as "
                + "greeter.Greeter)");
    assertThatThrownBy(() -> MethodPolicy.forMethod("SayHello"))
        .hasMessage(
            "method: 'SayHello' (expected: package.Service/Method such as "
                + "greeter.Greeter/SayHello)");
    assertThatThrownBy(() -> MethodPolicy.forMethod("greeter.Greeter/"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MethodPolicy.forMethod(UNARY).timeout(Duration.ZERO))
        .hasMessage("timeout: PT0S (expected: > 0)");
    assertThatThrownBy(
            () ->
                MethodPolicy.forMethod(UNARY)
                    .retry(RETRY)
                    .hedging(HedgingPolicy.builder().build())
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("for " + UNARY + " (expected: at most one of retry and hedging)");
    assertThatThrownBy(
            () ->
                client()
                    .methodPolicy(MethodPolicy.forService(SERVICE).build())
                    .methodPolicy(
                        MethodPolicy.forService(SERVICE).timeout(Duration.ofSeconds(1)).build())
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("(expected: at most one policy per service or method)");
    assertThatThrownBy(() -> client().timeout(Duration.ofMillis(-1)))
        .hasMessage("timeout: PT-0.001S (expected: > 0)");
    assertThatThrownBy(() -> client().methodPolicy(null))
        .hasMessage("methodPolicy: null (expected: not null)");
  }
}
