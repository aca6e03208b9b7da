package io.krpc.interceptor.obstesting;

import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The four gRPC call types, each able to make one call of {@code grpc.testing.SimpleService}. */
// MethodDescriptor is not annotated @Immutable, but it is immutable.
@SuppressWarnings("ImmutableEnumChecker")
public enum CallType {
  UNARY(SimpleServiceGrpc.getUnaryRpcMethod()),
  SERVER_STREAMING(SimpleServiceGrpc.getServerStreamingRpcMethod()),
  CLIENT_STREAMING(SimpleServiceGrpc.getClientStreamingRpcMethod()),
  BIDI_STREAMING(SimpleServiceGrpc.getBidiStreamingRpcMethod());

  private final MethodDescriptor<SimpleRequest, SimpleResponse> method;

  CallType(MethodDescriptor<SimpleRequest, SimpleResponse> method) {
    this.method = method;
  }

  public String fullMethodName() {
    return method.getFullMethodName();
  }

  /** Calls with {@code text} (for streaming requests: "hello" first, then {@code text}). */
  public Status call(Channel channel, String text) {
    return start(channel, text).join();
  }

  /** Starts a call; the future completes with its status. */
  public Call start(Channel channel, String text) {
    SimpleServiceGrpc.SimpleServiceStub stub = SimpleServiceGrpc.newStub(channel);
    Call call = new Call();
    SimpleRequest hello = SimpleRequest.newBuilder().setRequestMessage("hello").build();
    SimpleRequest request = SimpleRequest.newBuilder().setRequestMessage(text).build();
    switch (this) {
      case UNARY:
        stub.unaryRpc(request, call);
        break;
      case SERVER_STREAMING:
        stub.serverStreamingRpc(request, call);
        break;
      case CLIENT_STREAMING:
        {
          StreamObserver<SimpleRequest> requests = stub.clientStreamingRpc(call);
          sendAndHalfClose(requests, hello, request, text);
          break;
        }
      case BIDI_STREAMING:
        {
          StreamObserver<SimpleRequest> requests = stub.bidiStreamingRpc(call);
          sendAndHalfClose(requests, hello, request, text);
          break;
        }
      default:
        throw new AssertionError(this);
    }
    return call;
  }

  private static void sendAndHalfClose(
      StreamObserver<SimpleRequest> requests,
      SimpleRequest hello,
      SimpleRequest request,
      String text) {
    requests.onNext(hello);
    requests.onNext(request);
    if (!ObservedSimpleService.HANG.equals(text)) {
      requests.onCompleted();
    }
  }

  /** One call in flight: cancel it, or wait for its status. */
  public static final class Call implements ClientResponseObserver<SimpleRequest, SimpleResponse> {
    private final CompletableFuture<Status> status = new CompletableFuture<>();
    private volatile ClientCallStreamObserver<SimpleRequest> requestStream;

    @Override
    public void beforeStart(ClientCallStreamObserver<SimpleRequest> requestStream) {
      this.requestStream = requestStream;
    }

    @Override
    public void onNext(SimpleResponse value) {}

    @Override
    public void onError(Throwable t) {
      status.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      status.complete(Status.OK);
    }

    public void cancel() {
      requestStream.cancel("test cancels", null);
    }

    /** Waits up to 10 seconds for the call's status. */
    public Status join() {
      try {
        return status.get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new AssertionError("call did not end", e);
      }
    }
  }
}
