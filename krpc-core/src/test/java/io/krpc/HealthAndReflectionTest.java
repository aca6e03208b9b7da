package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HealthAndReflectionTest {

  private static KServer.Builder server() {
    return KServer.builder()
        .serviceName("echo")
        .host("127.0.0.1")
        .port(0)
        .addService(new EchoService(() -> "x"));
  }

  @Test
  void healthTurnsNotServingWhenTheServerCloses() throws Exception {
    KServer server = server().deregisterDelay(Duration.ZERO).start();
    try (KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(client.channel());
      for (String service : List.of("", "echo", "grpc.testing.SimpleService")) {
        assertThat(
                health
                    .check(HealthCheckRequest.newBuilder().setService(service).build())
                    .getStatus())
            .as(service)
            .isEqualTo(ServingStatus.SERVING);
      }
      assertThatThrownBy(
              () -> health.check(HealthCheckRequest.newBuilder().setService("unknown").build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

      List<ServingStatus> watched = new CopyOnWriteArrayList<>();
      CountDownLatch notServing = new CountDownLatch(1);
      HealthGrpc.newStub(client.channel())
          .watch(
              HealthCheckRequest.newBuilder().build(),
              new StreamObserver<>() {
                @Override
                public void onNext(HealthCheckResponse response) {
                  watched.add(response.getStatus());
                  if (response.getStatus() == ServingStatus.NOT_SERVING) {
                    notServing.countDown();
                  }
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
              });
      org.awaitility.Awaitility.await().until(() -> !watched.isEmpty());
      Thread closer = new Thread(server::close);
      closer.start();
      assertThat(notServing.await(10, TimeUnit.SECONDS)).isTrue();
      closer.join(10_000);
      assertThat(watched).containsSubsequence(ServingStatus.SERVING, ServingStatus.NOT_SERVING);
    } finally {
      server.close();
    }
  }

  @Test
  void reflectionListsTheServices() throws Exception {
    KServer server = server().start();
    try (KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
      List<String> names = new CopyOnWriteArrayList<>();
      CountDownLatch done = new CountDownLatch(1);
      StreamObserver<ServerReflectionRequest> requests =
          ServerReflectionGrpc.newStub(client.channel())
              .serverReflectionInfo(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse response) {
                      response
                          .getListServicesResponse()
                          .getServiceList()
                          .forEach(s -> names.add(s.getName()));
                    }

                    @Override
                    public void onError(Throwable t) {
                      done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                      done.countDown();
                    }
                  });
      requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
      requests.onCompleted();
      assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
      assertThat(names)
          .contains(
              "grpc.testing.SimpleService",
              "grpc.health.v1.Health",
              "grpc.reflection.v1.ServerReflection");
    } finally {
      server.close();
    }
  }

  @Test
  void healthAndReflectionCanBeTurnedOff() {
    KServer server = server().healthService(false).reflectionService(false).start();
    try (KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build()) {
      assertThatThrownBy(
              () ->
                  HealthGrpc.newBlockingStub(client.channel())
                      .check(HealthCheckRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    } finally {
      server.close();
    }
  }
}
