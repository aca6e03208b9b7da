package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.interceptor.client.CircuitBreakerInterceptor;
import io.krpc.interceptor.client.TimeoutInterceptor;
import io.krpc.interceptor.server.RateLimitConfig;
import io.krpc.interceptor.server.RateLimitInterceptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Cancellations and deadlines that strike while a call is inside a governance interceptor (on top
 * of the built-in chain): the caller gets CANCELLED or DEADLINE_EXCEEDED, the interceptor lets go
 * of the call (no timer, no handler start), the server keeps serving and no thread is left.
 */
class CancellationInsideInterceptorsTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String UNARY = "grpc.testing.SimpleService/UnaryRpc";

  private final HostileInputTest.TargetService service = new HostileInputTest.TargetService();
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private LiveThreads threads;
  private ScheduledThreadPoolExecutor limiterTimers;
  private ExecutorService limiterHandlers;
  private KServer server;

  @BeforeEach
  void start() {
    threads = new LiveThreads();
    limiterTimers = new ScheduledThreadPoolExecutor(1);
    limiterTimers.setRemoveOnCancelPolicy(true);
    limiterHandlers = Executors.newCachedThreadPool();
    // One token, then one every 5 s; a call may wait up to 10 s for it.
    ServerInterceptor rateLimit =
        RateLimitInterceptor.builder()
            .method(UNARY, new RateLimitConfig(1, 0.2, Duration.ofSeconds(10)))
            .scheduler(limiterTimers)
            .executor(limiterHandlers)
            .build();
    server =
        track(
            KServer.builder()
                .serviceName("target")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .shutdownGracePeriod(Duration.ofSeconds(5))
                .addService(service)
                .intercept(rateLimit)
                .start());
  }

  @AfterEach
  void closeAndCheckForLeaks() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    limiterTimers.shutdownNow();
    limiterHandlers.shutdownNow();
    assertThat(limiterTimers.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    assertThat(limiterHandlers.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    assertThat(server.awaitTermination(Duration.ofSeconds(5))).isTrue();
    threads.assertNoneLeft(WAIT);
  }

  @Test
  void deadlineExpiresWhileTheCallWaitsForARateLimitToken() {
    KClient client = client();
    assertThat(unary(client, "ping", WAIT)).isEqualTo("pong"); // takes the only token
    assertCode(() -> unary(client, "ping", Duration.ofMillis(300)), Status.Code.DEADLINE_EXCEEDED);
    await().atMost(WAIT).until(() -> limiterTimers.getQueue().isEmpty());
    assertThat(service.calls.get()).as("the waiting call never reached the handler").isEqualTo(1);
    assertThat(stream(client)).isEqualTo("first"); // an unlimited method is served at once
  }

  @Test
  void clientCancelsWhileTheCallWaitsForARateLimitToken() throws Exception {
    KClient client = client();
    assertThat(unary(client, "ping", WAIT)).isEqualTo("pong");
    Context.CancellableContext context = Context.current().withCancellation();
    AtomicReference<Throwable> error = new AtomicReference<>();
    CountDownLatch failed = new CountDownLatch(1);
    context.run(
        () ->
            SimpleServiceGrpc.newStub(client.channel())
                .withDeadlineAfter(WAIT)
                .unaryRpc(request("ping"), failure(error, failed)));
    await().atMost(WAIT).until(() -> limiterTimers.getQueue().size() == 1);
    context.cancel(null);
    assertThat(failed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(Status.fromThrowable(error.get()).getCode()).isEqualTo(Status.Code.CANCELLED);
    await().atMost(WAIT).until(() -> limiterTimers.getQueue().isEmpty());
    assertThat(service.calls.get()).isEqualTo(1);
    assertThat(stream(client)).isEqualTo("first");
  }

  @Test
  void deadlineSetByTheClientTimeoutInterceptorEndsABlockedHandler() throws Exception {
    KClient client = client(TimeoutInterceptor.of(Duration.ofMillis(300), Duration.ofSeconds(1)));
    assertCode(
        () -> SimpleServiceGrpc.newBlockingStub(client.channel()).unaryRpc(request("block")),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(service.released.await(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .as("the server-side context was cancelled at the deadline")
        .isTrue();
    assertThat(stream(client)).isEqualTo("first");
  }

  @Test
  void deadlineAndCancelPassThroughTheCircuitBreaker() throws Exception {
    KClient client =
        client(
            CircuitBreakerInterceptor.of("target", 1, Duration.ZERO, Duration.ofSeconds(5), null));
    assertCode(
        () ->
            SimpleServiceGrpc.newBlockingStub(client.channel())
                .withDeadlineAfter(Duration.ofMillis(300))
                .unaryRpc(request("block")),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(service.released.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();

    // A stream cancelled by the client after its first message, while the handler holds on.
    Context.CancellableContext context = Context.current().withCancellation();
    Iterator<SimpleResponse> responses =
        context.call(
            () ->
                SimpleServiceGrpc.newBlockingStub(client.channel())
                    .withDeadlineAfter(WAIT)
                    .serverStreamingRpc(request("block")));
    assertThat(responses.next().getResponseMessage()).isEqualTo("first");
    context.cancel(null);
    assertCode(
        () -> {
          var unused = responses.hasNext();
        },
        Status.Code.CANCELLED);
    // Two failures do not open a breaker that trips after more than five in a row.
    assertThat(stream(client)).isEqualTo("first");
  }

  private KClient client(ClientInterceptor... interceptors) {
    return track(
        KClient.forTarget("127.0.0.1:" + server.port())
            .intercept(interceptors)
            .closeTimeout(Duration.ofSeconds(5))
            .build());
  }

  private static String unary(KClient client, String message, Duration deadline) {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(deadline)
        .unaryRpc(request(message))
        .getResponseMessage();
  }

  /** The first message of a server stream; the "first" handler blocks after it, so cancel. */
  private static String stream(KClient client) {
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      return context.call(
          () ->
              SimpleServiceGrpc.newBlockingStub(client.channel())
                  .withDeadlineAfter(WAIT)
                  .serverStreamingRpc(request("x"))
                  .next()
                  .getResponseMessage());
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      context.cancel(null);
    }
  }

  private static SimpleRequest request(String message) {
    return SimpleRequest.newBuilder().setRequestMessage(message).build();
  }

  private static void assertCode(Runnable call, Status.Code code) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
      return;
    }
    throw new AssertionError("the call succeeded");
  }

  private static StreamObserver<SimpleResponse> failure(
      AtomicReference<Throwable> error, CountDownLatch failed) {
    return new StreamObserver<>() {
      @Override
      public void onNext(SimpleResponse value) {}

      @Override
      public void onError(Throwable t) {
        error.set(t);
        failed.countDown();
      }

      @Override
      public void onCompleted() {}
    };
  }

  private <T extends AutoCloseable> T track(T closeable) {
    toClose.add(closeable);
    return closeable;
  }
}
