package io.krpc.interceptor.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.krpc.interceptor.testing.CallType;
import io.krpc.interceptor.testing.EchoService;
import io.krpc.interceptor.testing.InProcessHarness;
import io.krpc.interceptor.testing.RecordingServerCall;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class RecoveryInterceptorTest {
  private final EchoService service = new EchoService();
  private InProcessHarness harness;

  @BeforeEach
  void setUp() {
    harness = InProcessHarness.start(service, List.of(RecoveryInterceptor.create()), List.of());
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    harness.close();
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void runtimeExceptionBecomesInternalWithoutDetailsAndServerKeepsServing(CallType type) {
    InProcessHarness.Result failed = harness.call(type, "throw");

    assertThat(failed.status().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(failed.status().getDescription()).isEqualTo(RecoveryInterceptor.DESCRIPTION);
    assertThat(failed.status().toString()).doesNotContain(EchoService.SECRET, "IllegalState");
    assertThat(harness.call(type, "hello").status().isOk()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void errorBecomesInternal(CallType type) {
    InProcessHarness.Result failed = harness.call(type, "error");

    assertThat(failed.status().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(failed.status().getDescription()).doesNotContain(EchoService.SECRET);
    assertThat(harness.call(type, "hello").status().isOk()).isTrue();
  }

  @Test
  void startCallThrowingClosesOnceWithInternal() {
    RecordingServerCall call = new RecordingServerCall();
    ServerCallHandler<SimpleRequest, SimpleResponse> handler =
        (c, h) -> {
          throw new IllegalStateException(EchoService.SECRET);
        };

    ServerCall.Listener<SimpleRequest> listener =
        RecoveryInterceptor.create().interceptCall(call, new Metadata(), handler);
    listener.onHalfClose();

    assertThat(call.closes).hasSize(1);
    assertThat(call.closes.get(0).getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(call.closes.get(0).getDescription()).isEqualTo(RecoveryInterceptor.DESCRIPTION);
  }

  @ParameterizedTest
  @ValueSource(strings = {"onMessage", "onHalfClose", "onReady"})
  void throwingCallbackClosesOnceWithInternal(String callback) {
    RecordingServerCall call = new RecordingServerCall();
    ServerCall.Listener<SimpleRequest> listener =
        RecoveryInterceptor.create()
            .interceptCall(call, new Metadata(), throwingIn(callback, c -> {}));

    deliver(listener, callback);

    assertThat(call.closes).extracting(Status::getCode).containsExactly(Status.Code.INTERNAL);
  }

  @Test
  void doesNotCloseACallTheHandlerAlreadyClosed() {
    RecordingServerCall call = new RecordingServerCall();
    ServerCall.Listener<SimpleRequest> listener =
        RecoveryInterceptor.create()
            .interceptCall(
                call,
                new Metadata(),
                throwingIn("onHalfClose", c -> c.close(Status.OK, new Metadata())));

    listener.onHalfClose();

    assertThat(call.closes).extracting(Status::getCode).containsExactly(Status.Code.OK);
  }

  @ParameterizedTest
  @ValueSource(strings = {"onCancel", "onComplete"})
  void throwingAfterTheCallEndedIsOnlyLogged(String callback) {
    RecordingServerCall call = new RecordingServerCall();
    ServerCall.Listener<SimpleRequest> listener =
        RecoveryInterceptor.create()
            .interceptCall(call, new Metadata(), throwingIn(callback, c -> {}));

    deliver(listener, callback);

    assertThat(call.closes).isEmpty();
  }

  private static void deliver(ServerCall.Listener<SimpleRequest> listener, String callback) {
    switch (callback) {
      case "onMessage" -> listener.onMessage(SimpleRequest.getDefaultInstance());
      case "onHalfClose" -> listener.onHalfClose();
      case "onReady" -> listener.onReady();
      case "onCancel" -> listener.onCancel();
      case "onComplete" -> listener.onComplete();
      default -> throw new IllegalArgumentException(callback);
    }
  }

  /** A handler whose listener runs {@code before} on the call, then throws in {@code callback}. */
  private static ServerCallHandler<SimpleRequest, SimpleResponse> throwingIn(
      String callback, Consumer<ServerCall<SimpleRequest, SimpleResponse>> before) {
    return (call, headers) ->
        new ServerCall.Listener<>() {
          private void maybeThrow(String name) {
            if (name.equals(callback)) {
              before.accept(call);
              throw new IllegalStateException(EchoService.SECRET + " in " + name);
            }
          }

          @Override
          public void onMessage(SimpleRequest message) {
            maybeThrow("onMessage");
          }

          @Override
          public void onHalfClose() {
            maybeThrow("onHalfClose");
          }

          @Override
          public void onReady() {
            maybeThrow("onReady");
          }

          @Override
          public void onCancel() {
            maybeThrow("onCancel");
          }

          @Override
          public void onComplete() {
            maybeThrow("onComplete");
          }
        };
  }
}
