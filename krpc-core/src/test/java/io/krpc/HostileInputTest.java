package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input on real loopback sockets: each case gives the caller a clear status, the server keeps
 * serving afterwards, and once everything is closed no thread is left behind.
 */
class HostileInputTest {
  private static final int SERVER_MAX_INBOUND = 64 * 1024;
  private static final int CLIENT_MAX_INBOUND = 16 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final TargetService service = new TargetService();
  private final BlockingInterceptor interceptor = new BlockingInterceptor();
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private LiveThreads threads;
  private KServer server;
  private KClient client;

  @BeforeEach
  void start() {
    threads = new LiveThreads();
    server =
        track(
            KServer.builder()
                .serviceName("target")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .shutdownGracePeriod(Duration.ofSeconds(5))
                .maxInboundMessageSize(SERVER_MAX_INBOUND)
                .addService(service)
                .intercept(interceptor)
                .start());
    client =
        track(
            KClient.forTarget("127.0.0.1:" + server.port())
                .maxInboundMessageSize(CLIENT_MAX_INBOUND)
                .closeTimeout(Duration.ofSeconds(5))
                .build());
  }

  @AfterEach
  void closeAndCheckForLeaks() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    assertThat(client.channel().isTerminated()).as("client channel terminated").isTrue();
    assertThat(server.awaitTermination(Duration.ofSeconds(5))).as("server terminated").isTrue();
    threads.assertNoneLeft(WAIT);
  }

  @Test
  void oversizedRequestIsResourceExhaustedAndTheServerKeepsServing() {
    String big = "x".repeat(SERVER_MAX_INBOUND + 1);
    assertStatus(() -> unary(big), Status.Code.RESOURCE_EXHAUSTED);
    assertThat(service.calls.get()).as("the handler never saw the request").isZero();
    assertServing();
  }

  @Test
  void oversizedResponseIsResourceExhaustedOnTheClient() {
    assertStatus(() -> unary("big:" + (CLIENT_MAX_INBOUND + 1)), Status.Code.RESOURCE_EXHAUSTED);
    assertThat(unary("big:" + (CLIENT_MAX_INBOUND / 2))).hasSize(CLIENT_MAX_INBOUND / 2);
    assertServing();
  }

  @Test
  void unknownMethodsAndServicesAreUnimplemented() {
    for (String method :
        List.of(
            "grpc.testing.SimpleService/NoSuchMethod",
            "nope.Nope/Call",
            "grpc.testing.SimpleService/",
            "/",
            "%00/%ff")) {
      assertStatus(
          () ->
              ClientCalls.blockingUnaryCall(
                  client.channel(),
                  rawMethod(method),
                  CallOptions.DEFAULT.withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS),
                  new byte[] {1, 2, 3}),
          Status.Code.UNIMPLEMENTED);
    }
    assertServing();
  }

  @Test
  void garbageInsteadOfAProtobufRequestIsUnknownAndNeverReachesTheHandler() {
    byte[] garbage = new byte[256];
    new Random(42).nextBytes(garbage);
    garbage[0] = (byte) 0xff; // an invalid tag, so parsing surely fails
    assertStatus(
        () ->
            ClientCalls.blockingUnaryCall(
                client.channel(),
                rawMethod("grpc.testing.SimpleService/UnaryRpc"),
                CallOptions.DEFAULT.withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS),
                garbage),
        Status.Code.UNKNOWN); // grpc-java's answer when the request cannot be parsed
    assertThat(service.calls.get()).isZero();
    assertServing();
  }

  @Test
  void callCancelledByTheClientEndsTheBlockedHandler() throws Exception {
    Context.CancellableContext context = Context.current().withCancellation();
    AtomicReference<Throwable> error = new AtomicReference<>();
    CountDownLatch failed = new CountDownLatch(1);
    context.run(
        () ->
            SimpleServiceGrpc.newStub(client.channel())
                .unaryRpc(request("block"), observer(error, failed)));
    assertThat(service.blocked.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    context.cancel(null);
    assertThat(failed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(Status.fromThrowable(error.get()).getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(service.released.await(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .as("the handler saw the cancellation")
        .isTrue();
    assertServing();
  }

  @Test
  void streamCancelledByTheClientAfterTheFirstMessage() throws Exception {
    Context.CancellableContext context = Context.current().withCancellation();
    Iterator<SimpleResponse> responses =
        context.call(
            () ->
                SimpleServiceGrpc.newBlockingStub(client.channel())
                    .withDeadlineAfter(WAIT)
                    .serverStreamingRpc(request("block")));
    assertThat(responses.next().getResponseMessage()).isEqualTo("first");
    context.cancel(null);
    assertThat(service.released.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThatThrownBy(responses::hasNext)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED));
    assertServing();
  }

  @Test
  void deadlineExceededWhileTheHandlerRuns() throws Exception {
    assertStatus(
        () ->
            SimpleServiceGrpc.newBlockingStub(client.channel())
                .withDeadlineAfter(Duration.ofMillis(300))
                .unaryRpc(request("block")),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(service.released.await(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .as("the server-side deadline ended the handler")
        .isTrue();
    assertServing();
  }

  @Test
  void deadlineExceededWhileAnInterceptorRuns() throws Exception {
    Metadata headers = new Metadata();
    headers.put(BlockingInterceptor.BLOCK, "yes");
    assertStatus(
        () ->
            SimpleServiceGrpc.newBlockingStub(client.channel())
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(Duration.ofMillis(300))
                .unaryRpc(request("ping")),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(interceptor.released.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertServing();
  }

  @Test
  void callCancelledByTheClientWhileAnInterceptorRuns() throws Exception {
    Metadata headers = new Metadata();
    headers.put(BlockingInterceptor.BLOCK, "yes");
    Context.CancellableContext context = Context.current().withCancellation();
    AtomicReference<Throwable> error = new AtomicReference<>();
    CountDownLatch failed = new CountDownLatch(1);
    context.run(
        () ->
            SimpleServiceGrpc.newStub(client.channel())
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .unaryRpc(request("ping"), observer(error, failed)));
    assertThat(interceptor.blocked.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    context.cancel(null);
    assertThat(failed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(Status.fromThrowable(error.get()).getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(interceptor.released.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(service.calls.get()).as("the handler never ran").isZero();
    assertServing();
  }

  @Test
  void hugeMetadataIsRefused() {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-huge", Metadata.ASCII_STRING_MARSHALLER), "h".repeat(16 * 1024));
    assertHeaderListTooLarge(statusOf(() -> withHeaders(headers).unaryRpc(request("ping"))));
    assertThat(service.calls.get()).isZero();
    assertServing();
  }

  /**
   * The server announces grpc-java's default max header list size (8 KiB) in its HTTP/2 settings,
   * so the client's transport refuses to send a bigger header block: INTERNAL, with a description
   * that names the limit.
   */
  private static void assertHeaderListTooLarge(Status status) {
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.INTERNAL);
    assertThat(String.valueOf(status.getCause()))
        .contains("Header size exceeded max allowed size (8192)");
  }

  @Test
  void manyHeadersOverTheLimitAreRefused() {
    Metadata headers = new Metadata();
    for (int i = 0; i < 1000; i++) {
      headers.put(Metadata.Key.of("x-h" + i, Metadata.ASCII_STRING_MARSHALLER), "v" + i);
    }
    assertHeaderListTooLarge(statusOf(() -> withHeaders(headers).unaryRpc(request("ping"))));
    assertThat(service.calls.get()).isZero();
    assertServing();
  }

  @Test
  void binaryGarbageInBinHeadersArrivesIntactAndHarmless() {
    byte[] garbage = new byte[4096];
    new Random(7).nextBytes(garbage);
    Metadata headers = new Metadata();
    headers.put(TargetService.GARBAGE, garbage);
    for (int i = 0; i < 50; i++) {
      headers.put(Metadata.Key.of("x-many-" + i, Metadata.ASCII_STRING_MARSHALLER), "v");
    }
    assertThat(withHeaders(headers).unaryRpc(request("ping")).getResponseMessage())
        .isEqualTo("pong");
    assertThat(service.lastGarbage.get()).isEqualTo(garbage);
    assertServing();
  }

  @Test
  void rawGarbageAndHttp1OnTheGrpcPortAreDroppedWithoutHarm() throws Exception {
    byte[] garbage = new byte[8192];
    new Random(1).nextBytes(garbage);
    for (byte[] payload :
        List.of(
            garbage,
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII))) {
      try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
        socket.setSoTimeout((int) WAIT.toMillis());
        OutputStream out = socket.getOutputStream();
        try {
          out.write(payload);
          out.flush();
          socket.shutdownOutput();
        } catch (IOException e) {
          // The server may hang up before it has read everything; that is a fine answer too.
        }
        drainUntilClosed(socket.getInputStream());
      }
    }
    assertServing();
  }

  @Test
  void aServerWithAMetricsEndpointLeavesNoThreadBehind() throws Exception {
    KServer withMetrics =
        track(
            KServer.builder()
                .serviceName("metrics")
                .host("127.0.0.1")
                .port(0)
                .metricsPort(0)
                .deregisterDelay(Duration.ZERO)
                .addService(new TargetService())
                .start());
    java.net.HttpURLConnection scrape =
        (java.net.HttpURLConnection)
            java.net
                .URI
                .create("http://127.0.0.1:" + withMetrics.metricsPort() + "/metrics")
                .toURL()
                .openConnection();
    try {
      assertThat(scrape.getResponseCode()).isEqualTo(200);
    } finally {
      scrape.disconnect();
    }
    // closeAndCheckForLeaks() closes it and checks that its threads (metrics HTTP included) end.
  }

  // --- helpers ---

  private void assertServing() {
    assertThat(unary("ping")).isEqualTo("pong");
  }

  private String unary(String message) {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(WAIT)
        .unaryRpc(request(message))
        .getResponseMessage();
  }

  private SimpleServiceGrpc.SimpleServiceBlockingStub withHeaders(Metadata headers) {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(WAIT)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static SimpleRequest request(String message) {
    return SimpleRequest.newBuilder().setRequestMessage(message).build();
  }

  private static void assertStatus(Runnable call, Status.Code code) {
    Status status = statusOf(call);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(code);
    assertThat(status.getDescription()).as("a description that says why").isNotBlank();
  }

  private static Status statusOf(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("the call succeeded");
  }

  private static StreamObserver<SimpleResponse> observer(
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

  private static MethodDescriptor<byte[], byte[]> rawMethod(String fullName) {
    MethodDescriptor.Marshaller<byte[]> bytes =
        new MethodDescriptor.Marshaller<>() {
          @Override
          public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
          }

          @Override
          public byte[] parse(InputStream stream) {
            try {
              return stream.readAllBytes();
            } catch (IOException e) {
              throw new IllegalStateException(e);
            }
          }
        };
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(fullName)
        .setRequestMarshaller(bytes)
        .setResponseMarshaller(bytes)
        .build();
  }

  private static void drainUntilClosed(InputStream in) throws IOException {
    byte[] buffer = new byte[4096];
    try {
      for (int total = 0; total < 1 << 20; ) {
        int n = in.read(buffer);
        if (n < 0) {
          return;
        }
        total += n;
      }
    } catch (java.net.SocketException e) {
      // Connection reset by the server: it hung up, which is what we wait for.
      return;
    }
    throw new AssertionError("the server kept talking to a garbage connection");
  }

  private <T extends AutoCloseable> T track(T closeable) {
    toClose.add(closeable);
    return closeable;
  }

  /**
   * "big:N" answers N bytes; "block" (unary or streaming) waits, holding its thread, until the call
   * is cancelled or its deadline passes; anything else answers "pong".
   */
  static final class TargetService extends SimpleServiceGrpc.SimpleServiceImplBase {
    static final Metadata.Key<byte[]> GARBAGE =
        Metadata.Key.of("x-garbage-bin", Metadata.BINARY_BYTE_MARSHALLER);
    static final Context.Key<byte[]> GARBAGE_SEEN = Context.key("garbage");

    final AtomicInteger calls = new AtomicInteger();
    final CountDownLatch blocked = new CountDownLatch(1);
    final CountDownLatch released = new CountDownLatch(1);
    final AtomicReference<byte[]> lastGarbage = new AtomicReference<>();

    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
      calls.incrementAndGet();
      lastGarbage.set(GARBAGE_SEEN.get());
      String message = request.getRequestMessage();
      if (message.equals("block")) {
        blockUntilCancelled(observer);
        return;
      }
      String answer =
          message.startsWith("big:") ? "b".repeat(Integer.parseInt(message.substring(4))) : "pong";
      observer.onNext(SimpleResponse.newBuilder().setResponseMessage(answer).build());
      observer.onCompleted();
    }

    @Override
    public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
      observer.onNext(SimpleResponse.newBuilder().setResponseMessage("first").build());
      blockUntilCancelled(observer);
    }

    private void blockUntilCancelled(StreamObserver<SimpleResponse> observer) {
      CountDownLatch cancelled = new CountDownLatch(1);
      // Context cancellation reaches a busy handler thread; onCancel would wait for it to return.
      Context.current()
          .addListener(context -> cancelled.countDown(), MoreExecutors.directExecutor());
      blocked.countDown();
      try {
        if (cancelled.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
          released.countDown();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      ((ServerCallStreamObserver<SimpleResponse>) observer).isCancelled();
    }
  }

  /**
   * A user interceptor that, when the request carries {@code x-block: yes}, holds the call's thread
   * in {@code onHalfClose} until the call is cancelled, like a slow authorization check.
   */
  static final class BlockingInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> BLOCK =
        Metadata.Key.of("x-block", Metadata.ASCII_STRING_MARSHALLER);
    final CountDownLatch blocked = new CountDownLatch(1);
    final CountDownLatch released = new CountDownLatch(1);

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      byte[] garbage = headers.get(TargetService.GARBAGE);
      Context context = Context.current().withValue(TargetService.GARBAGE_SEEN, garbage);
      ServerCall.Listener<ReqT> delegate =
          io.grpc.Contexts.interceptCall(context, call, headers, next);
      if (!"yes".equals(headers.get(BLOCK))) {
        return delegate;
      }
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
        @Override
        public void onHalfClose() {
          CountDownLatch cancelled = new CountDownLatch(1);
          Context.current().addListener(c -> cancelled.countDown(), MoreExecutors.directExecutor());
          blocked.countDown();
          try {
            if (cancelled.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
              released.countDown();
              return;
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          super.onHalfClose();
        }
      };
    }
  }
}
