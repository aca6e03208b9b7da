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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code channelCustomizer} and {@code serverCustomizer} run after KRPC's own settings: what they
 * set on the grpc-java builder wins. Shown with the inbound message limit, which both KRPC and the
 * customizer set: KRPC's 1 KiB would refuse the 64 KiB messages, the customizer's 1 MiB lets them
 * through.
 */
class CustomizerTest {
  private static final int BIG = 64 * 1024;

  private static final SimpleServiceGrpc.SimpleServiceImplBase BIG_ANSWERS =
      new SimpleServiceGrpc.SimpleServiceImplBase() {
        @Override
        public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
          observer.onNext(SimpleResponse.newBuilder().setResponseMessage("x".repeat(BIG)).build());
          observer.onCompleted();
        }
      };

  private static SimpleResponse call(KClient client, int requestBytes) {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("y".repeat(requestBytes)).build());
  }

  @Test
  void customizersRunAfterKrpcsSettingsInTheOrderGiven() {
    List<String> order = new ArrayList<>();
    try (KServer server =
            KServer.builder()
                .serviceName("big")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .addService(BIG_ANSWERS)
                .maxInboundMessageSize(1024)
                .serverCustomizer(b -> order.add("server 1"))
                .serverCustomizer(
                    b -> {
                      order.add("server 2");
                      b.maxInboundMessageSize(1 << 20);
                    })
                .start();
        KClient client =
            KClient.forTarget("127.0.0.1:" + server.port())
                .maxInboundMessageSize(1024)
                .channelCustomizer(
                    b -> {
                      order.add("client");
                      b.maxInboundMessageSize(1 << 20);
                    })
                .build()) {
      assertThat(call(client, BIG).getResponseMessage()).hasSize(BIG);
    }
    assertThat(order).containsExactly("server 1", "server 2", "client");
  }

  @Test
  void withoutCustomizersKrpcsLimitsHold() {
    try (KServer server =
            KServer.builder()
                .serviceName("big")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .addService(BIG_ANSWERS)
                .maxInboundMessageSize(1024)
                .start();
        KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build();
        KClient small =
            KClient.forTarget("127.0.0.1:" + server.port()).maxInboundMessageSize(1024).build()) {
      assertThatThrownBy(() -> call(client, BIG))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
      assertThatThrownBy(() -> call(small, 0))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    }
  }

  @Test
  void customizersAndKeepaliveOptionsAreValidated() {
    assertThatThrownBy(() -> KClient.forTarget("x:1").channelCustomizer(null))
        .hasMessage("channelCustomizer: null (expected: not null)");
    assertThatThrownBy(() -> KServer.builder().serverCustomizer(null))
        .hasMessage("serverCustomizer: null (expected: not null)");
    assertThatThrownBy(
            () -> KClient.forTarget("x:1").keepAlive(Duration.ofSeconds(5), Duration.ofSeconds(1)))
        .hasMessage(
            "keepAlive time: PT5S (expected: >= 10 s; grpc-java raises shorter times "
                + "to 10 s)");
    assertThatThrownBy(
            () -> KClient.forTarget("x:1").keepAlive(Duration.ofSeconds(10), Duration.ZERO))
        .hasMessage("keepAlive timeout: PT0S (expected: > 0)");
    assertThatThrownBy(() -> KClient.forTarget("x:1").keepAlive(null, Duration.ZERO))
        .hasMessage("keepAlive time: null (expected: not null)");
    assertThatThrownBy(() -> KServer.builder().permitKeepAliveTime(Duration.ofSeconds(-1)))
        .hasMessage("permitKeepAliveTime: PT-1S (expected: >= 0)");
  }
}
