package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.internal.PerCallExecutors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * With no executor given, handlers and client callbacks that block for ever on some calls never
 * stall the other calls: unary, server-streaming and bidi-streaming alike, whether or not the
 * service was declared blocking. More calls block than there are cores, so the shared pool has to
 * grow past its base size for any of this to pass.
 */
class BlockingHandlersTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  // Well above the pool's base size of one thread per core.
  private static final int BLOCKED_PER_KIND = Runtime.getRuntime().availableProcessors() * 2 + 2;

  private final CountDownLatch release = new CountDownLatch(1);
  private final BlockingService service = new BlockingService(release, 3 * BLOCKED_PER_KIND);
  private LiveThreads threads;
  private KServer server;
  private KClient client;

  @BeforeEach
  void setUp() {
    threads = new LiveThreads();
  }

  @AfterEach
  void tearDown() {
    release.countDown();
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    // The shared pool, its extra threads and the per-call threads all end with their last user.
    threads.assertNoneLeft(WAIT);
  }

  private void start(boolean declaredBlocking) {
    KServer.Builder builder =
        KServer.builder()
            .serviceName("blocking")
            .host("127.0.0.1")
            .port(0)
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ofSeconds(5));
    server =
        (declaredBlocking ? builder.addBlockingService(service) : builder.addService(service))
            .start();
    client = KClient.forTarget("127.0.0.1:" + server.port()).closeTimeout(Duration.ZERO).build();
  }

  @Test
  void handlersBlockedForEverDoNotStallOtherCallsOnTheDefaultPool() throws Exception {
    start(false);
    blockManyCallsOfEveryKind();

    // Everything else still runs on the shared pool's workers.
    assertThat(fastUnary()).startsWith("krpc-worker-");
    assertThat(fastServerStream()).allMatch(name -> name.startsWith("krpc-worker-"));
    assertThat(fastBidi()).startsWith("krpc-worker-");
    assertHealthAnswers();
  }

  @Test
  void declaredBlockingServiceRunsEachCallOnItsOwnThread() throws Exception {
    start(true);
    blockManyCallsOfEveryKind();

    String expected = "krpc-blocking-blocking-";
    assertThat(fastUnary()).startsWith(expected);
    assertThat(fastServerStream()).allMatch(name -> name.startsWith(expected));
    assertThat(fastBidi()).startsWith(expected);
    // The other services stay on the shared pool.
    assertHealthAnswers();
    assertThat(service.virtualThreads).isEqualTo(PerCallExecutors.virtualThreads());
  }

  @Test
  void clientCallbacksBlockedForEverDoNotStallOtherCalls() throws Exception {
    start(false);
    CountDownLatch entered = new CountDownLatch(BLOCKED_PER_KIND);
    SimpleServiceGrpc.SimpleServiceStub async = SimpleServiceGrpc.newStub(client.channel());
    for (int i = 0; i < BLOCKED_PER_KIND; i++) {
      async.unaryRpc(
          request("fast"),
          new StreamObserver<>() {
            @Override
            public void onNext(SimpleResponse value) {
              entered.countDown();
              awaitQuietly(release);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          });
    }
    assertThat(entered.await(WAIT.toSeconds(), TimeUnit.SECONDS))
        .as("every blocking callback started")
        .isTrue();

    SimpleResponse reply =
        SimpleServiceGrpc.newFutureStub(client.channel())
            .withDeadlineAfter(WAIT.toSeconds(), TimeUnit.SECONDS)
            .unaryRpc(request("fast"))
            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(reply.getResponseMessage()).startsWith("krpc-worker-");
  }

  /** Starts BLOCKED_PER_KIND unary, server-streaming and bidi calls that block for ever. */
  private void blockManyCallsOfEveryKind() throws InterruptedException {
    SimpleServiceGrpc.SimpleServiceStub async = SimpleServiceGrpc.newStub(client.channel());
    for (int i = 0; i < BLOCKED_PER_KIND; i++) {
      async.unaryRpc(request("block"), ignoring());
      async.serverStreamingRpc(request("block"), ignoring());
      async.bidiStreamingRpc(ignoring()).onNext(request("block"));
    }
    assertThat(service.entered.await(WAIT.toSeconds(), TimeUnit.SECONDS))
        .as(
            "all %d blocking handlers started (%d still missing)",
            3 * BLOCKED_PER_KIND, service.entered.getCount())
        .isTrue();
  }

  private String fastUnary() {
    return blocking().unaryRpc(request("fast")).getResponseMessage();
  }

  private List<String> fastServerStream() {
    List<String> names = new ArrayList<>();
    Iterator<SimpleResponse> replies = blocking().serverStreamingRpc(request("fast"));
    replies.forEachRemaining(r -> names.add(r.getResponseMessage()));
    assertThat(names).hasSize(3);
    return names;
  }

  private String fastBidi() throws Exception {
    CompletableFuture<String> first = new CompletableFuture<>();
    StreamObserver<SimpleRequest> requests =
        SimpleServiceGrpc.newStub(client.channel())
            .withDeadlineAfter(WAIT.toSeconds(), TimeUnit.SECONDS)
            .bidiStreamingRpc(
                new StreamObserver<>() {
                  @Override
                  public void onNext(SimpleResponse value) {
                    first.complete(value.getResponseMessage());
                  }

                  @Override
                  public void onError(Throwable t) {
                    first.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(request("fast"));
    String name = first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    requests.onCompleted();
    return name;
  }

  private void assertHealthAnswers() {
    assertThat(
            HealthGrpc.newBlockingStub(client.channel())
                .withDeadlineAfter(WAIT.toSeconds(), TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("").build())
                .getStatus()
                .name())
        .isEqualTo("SERVING");
  }

  private SimpleServiceGrpc.SimpleServiceBlockingStub blocking() {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private static SimpleRequest request(String message) {
    return SimpleRequest.newBuilder().setRequestMessage(message).build();
  }

  private static <T> StreamObserver<T> ignoring() {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * "block" requests wait for the test's release latch inside the handler (the unary handler, the
   * server-streaming handler after its first message, the bidi handler's onNext); others answer
   * with the name of the thread they ran on.
   */
  private static final class BlockingService extends SimpleServiceGrpc.SimpleServiceImplBase {
    final CountDownLatch release;
    final CountDownLatch entered;
    volatile boolean virtualThreads;

    BlockingService(CountDownLatch release, int blockedCalls) {
      this.release = release;
      this.entered = new CountDownLatch(blockedCalls);
    }

    private static SimpleResponse thread() {
      return SimpleResponse.newBuilder()
          .setResponseMessage(Thread.currentThread().getName())
          .build();
    }

    private void block() {
      entered.countDown();
      awaitQuietly(release);
    }

    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
      virtualThreads = isVirtual(Thread.currentThread());
      if (request.getRequestMessage().equals("block")) {
        block();
      }
      observer.onNext(thread());
      observer.onCompleted();
    }

    @Override
    public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
      observer.onNext(thread());
      if (request.getRequestMessage().equals("block")) {
        block();
      }
      observer.onNext(thread());
      observer.onNext(thread());
      observer.onCompleted();
    }

    @Override
    public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> observer) {
      return new StreamObserver<>() {
        @Override
        public void onNext(SimpleRequest request) {
          if (request.getRequestMessage().equals("block")) {
            block();
          }
          observer.onNext(thread());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          observer.onCompleted();
        }
      };
    }
  }

  // Thread.isVirtual() exists from Java 21; the tests compile for 17.
  private static boolean isVirtual(Thread thread) {
    try {
      return (Boolean) Thread.class.getMethod("isVirtual").invoke(thread);
    } catch (ReflectiveOperationException e) {
      return false;
    }
  }
}
