package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** KServer and KClient run handlers and callbacks on the executors they are given. */
class ExecutorTest {
  private final ExecutorService handlers = Executors.newFixedThreadPool(2, named("app-handlers-"));
  private final ExecutorService callbacks =
      Executors.newFixedThreadPool(2, named("app-callbacks-"));
  private KServer server;
  private KClient client;

  private static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    // The caller owns the executors: closing the server and the client left them running.
    assertThat(handlers.isShutdown()).isFalse();
    assertThat(callbacks.isShutdown()).isFalse();
    handlers.shutdown();
    callbacks.shutdown();
    assertThat(handlers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    assertThat(callbacks.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void handlersAndCallbacksRunOnTheGivenExecutors() throws Exception {
    // The handler answers with the name of the thread it runs on.
    server =
        KServer.builder()
            .serviceName("echo")
            .host("127.0.0.1")
            .port(0)
            .executor(handlers)
            .addService(new EchoService(() -> Thread.currentThread().getName()))
            .start();
    client = KClient.forTarget("127.0.0.1:" + server.port()).executor(callbacks).build();
    CompletableFuture<String[]> threads = new CompletableFuture<>();

    SimpleServiceGrpc.newStub(client.channel())
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .unaryRpc(
            SimpleRequest.newBuilder().setRequestMessage("hi").build(),
            new StreamObserver<SimpleResponse>() {
              @Override
              public void onNext(SimpleResponse response) {
                threads.complete(
                    new String[] {response.getResponseMessage(), Thread.currentThread().getName()});
              }

              @Override
              public void onError(Throwable t) {
                threads.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {}
            });

    String[] names = threads.get(10, TimeUnit.SECONDS);
    assertThat(names[0]).as("handler thread").startsWith("app-handlers-");
    assertThat(names[1]).as("client callback thread").startsWith("app-callbacks-");
  }
}
