package io.krpc.interceptor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.interceptor.client.TimeoutInterceptorAccess;
import io.krpc.interceptor.server.RecoveryInterceptor;
import io.krpc.interceptor.testing.EchoService;
import io.krpc.interceptor.testing.FakeTicker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The interceptors over a real loopback socket, where peers are real addresses. */
class GovernanceOverNettyIT {
  private final EchoService service = new EchoService();
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void setUp() throws Exception {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(ServerInterceptors.intercept(service, RecoveryInterceptor.create()))
            .build()
            .start();
    channel =
        Grpc.newChannelBuilder("127.0.0.1:" + server.getPort(), InsecureChannelCredentials.create())
            .build();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    service.releaseHeld();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void recoveredFailuresReachTheClientWithoutDetails() {
    SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(channel);

    StatusRuntimeException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            StatusRuntimeException.class,
            () -> stub.unaryRpc(SimpleRequest.newBuilder().setRequestMessage("throw").build()));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(e.getStatus().getDescription()).isEqualTo(RecoveryInterceptor.DESCRIPTION);
    assertThat(String.valueOf(e.getTrailers())).doesNotContain(EchoService.SECRET);
    assertThat(stub.unaryRpc(SimpleRequest.newBuilder().setRequestMessage("ok").build()))
        .isNotNull();
  }

  @Test
  void slowCallReportsNameTheTargetAndThePeerAddress() throws Exception {
    FakeTicker ticker = new FakeTicker();
    List<String> reports = new CopyOnWriteArrayList<>();
    SimpleServiceGrpc.SimpleServiceStub stub =
        SimpleServiceGrpc.newStub(
            ClientInterceptors.intercept(
                channel,
                TimeoutInterceptorAccess.withObserver(Duration.ofSeconds(1), ticker, reports)));
    CompletableFuture<Void> done = new CompletableFuture<>();

    stub.serverStreamingRpc(
        SimpleRequest.newBuilder().setRequestMessage("hold").build(),
        new StreamObserver<SimpleResponse>() {
          @Override
          public void onNext(SimpleResponse value) {}

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(null);
          }
        });
    await().until(() -> service.heldCount() == 1);
    ticker.advance(Duration.ofSeconds(2));
    service.releaseHeld();
    done.get(10, TimeUnit.SECONDS);

    assertThat(reports)
        .containsExactly(
            "grpc.testing.SimpleService/ServerStreamingRpc 127.0.0.1:"
                + server.getPort()
                + " 127.0.0.1:"
                + server.getPort()
                + " PT2S OK");
  }
}
