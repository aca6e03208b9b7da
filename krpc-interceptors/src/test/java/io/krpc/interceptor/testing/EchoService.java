package io.krpc.interceptor.testing;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The test service. A request message steers it: {@code "throw"} throws a RuntimeException whose
 * message is a secret, {@code "error"} throws an Error, {@code "fail:CODE"} answers that status,
 * {@code "hold"} keeps the call open until the test calls {@link #releaseHeld()}; anything else is
 * echoed (server streaming answers three times).
 */
public final class EchoService extends SimpleServiceGrpc.SimpleServiceImplBase {
  public static final String SECRET = "secret-password-42";

  public final AtomicInteger started = new AtomicInteger();
  private final BlockingQueue<StreamObserver<SimpleResponse>> held = new LinkedBlockingQueue<>();

  /** Completes every held call with OK; returns how many there were. */
  public int releaseHeld() {
    List<StreamObserver<SimpleResponse>> calls = new ArrayList<>();
    held.drainTo(calls);
    for (StreamObserver<SimpleResponse> call : calls) {
      try {
        call.onNext(reply("released"));
        call.onCompleted();
      } catch (RuntimeException e) {
        // The call was cancelled meanwhile (deadline, client gone): nothing to release.
      }
    }
    return calls.size();
  }

  public int heldCount() {
    return held.size();
  }

  private static SimpleResponse reply(String text) {
    return SimpleResponse.newBuilder().setResponseMessage(text).build();
  }

  /** Applies the steering words; returns true if the call was dealt with. */
  private boolean steer(String message, StreamObserver<SimpleResponse> out) {
    if (message.equals("throw")) {
      throw new IllegalStateException("handler failed: " + SECRET);
    }
    if (message.equals("error")) {
      throw new AssertionError("handler error: " + SECRET);
    }
    if (message.startsWith("fail:")) {
      out.onError(Status.Code.valueOf(message.substring(5)).toStatus().asRuntimeException());
      return true;
    }
    if (message.equals("hold")) {
      held.add(out);
      return true;
    }
    return false;
  }

  @Override
  public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
    started.incrementAndGet();
    if (!steer(request.getRequestMessage(), out)) {
      out.onNext(reply(request.getRequestMessage()));
      out.onCompleted();
    }
  }

  @Override
  public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
    started.incrementAndGet();
    if (!steer(request.getRequestMessage(), out)) {
      for (int i = 0; i < 3; i++) {
        out.onNext(reply(request.getRequestMessage() + i));
      }
      out.onCompleted();
    }
  }

  @Override
  public StreamObserver<SimpleRequest> clientStreamingRpc(StreamObserver<SimpleResponse> out) {
    started.incrementAndGet();
    StringBuilder all = new StringBuilder();
    return new StreamObserver<>() {
      boolean done;

      @Override
      public void onNext(SimpleRequest value) {
        done = done || steer(value.getRequestMessage(), out);
        all.append(value.getRequestMessage());
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (!done) {
          out.onNext(reply(all.toString()));
          out.onCompleted();
        }
      }
    };
  }

  @Override
  public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
    started.incrementAndGet();
    return new StreamObserver<>() {
      boolean done;

      @Override
      public void onNext(SimpleRequest value) {
        done = done || steer(value.getRequestMessage(), out);
        if (!done) {
          out.onNext(reply(value.getRequestMessage()));
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (!done) {
          out.onCompleted();
        }
      }
    };
  }
}
