package io.krpc.interceptor.testing;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A server call without a transport that records how it was closed; for direct unit tests. */
public final class RecordingServerCall extends ServerCall<SimpleRequest, SimpleResponse> {
  public final List<Status> closes = new CopyOnWriteArrayList<>();
  public final List<SimpleResponse> sent = new CopyOnWriteArrayList<>();

  /** What {@link #isCancelled()} answers; a test sets it to play a cancelled call. */
  public volatile boolean cancelled;

  private final MethodDescriptor<SimpleRequest, SimpleResponse> method;

  public RecordingServerCall() {
    this(SimpleServiceGrpc.getUnaryRpcMethod());
  }

  public RecordingServerCall(MethodDescriptor<SimpleRequest, SimpleResponse> method) {
    this.method = method;
  }

  @Override
  public void request(int numMessages) {}

  @Override
  public void sendHeaders(Metadata headers) {}

  @Override
  public void sendMessage(SimpleResponse message) {
    sent.add(message);
  }

  @Override
  public void close(Status status, Metadata trailers) {
    closes.add(status);
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public MethodDescriptor<SimpleRequest, SimpleResponse> getMethodDescriptor() {
    return method;
  }
}
