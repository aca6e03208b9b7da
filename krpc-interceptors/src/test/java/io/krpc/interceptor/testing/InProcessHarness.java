package io.krpc.interceptor.testing;

import io.grpc.BindableService;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An in-process server running a service behind server interceptors, and a channel to it behind
 * client interceptors. Interceptor lists are outermost first.
 */
public final class InProcessHarness implements AutoCloseable {
  private final Server server;
  private final ManagedChannel channel;

  /** The outcome of one call: its status and the messages received. */
  public record Result(Status status, List<String> responses) {}

  private InProcessHarness(
      BindableService service, List<ServerInterceptor> server, List<ClientInterceptor> client) {
    String name = InProcessServerBuilder.generateName();
    List<ServerInterceptor> serverInnerFirst = new ArrayList<>(server);
    Collections.reverse(serverInnerFirst);
    try {
      this.server =
          InProcessServerBuilder.forName(name)
              .addService(ServerInterceptors.intercept(service, serverInnerFirst))
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<ClientInterceptor> clientInnerFirst = new ArrayList<>(client);
    Collections.reverse(clientInnerFirst);
    this.channel = InProcessChannelBuilder.forName(name).intercept(clientInnerFirst).build();
  }

  public static InProcessHarness start(
      BindableService service, List<ServerInterceptor> server, List<ClientInterceptor> client) {
    return new InProcessHarness(service, server, client);
  }

  public ManagedChannel channel() {
    return channel;
  }

  /** Starts one call of {@code type} sending {@code message}; completes when it closes. */
  public CompletableFuture<Result> start(CallType type, String message) {
    SimpleServiceGrpc.SimpleServiceStub stub = SimpleServiceGrpc.newStub(channel);
    CompletableFuture<Result> result = new CompletableFuture<>();
    List<String> responses = Collections.synchronizedList(new ArrayList<>());
    StreamObserver<SimpleResponse> observer =
        new StreamObserver<>() {
          @Override
          public void onNext(SimpleResponse value) {
            responses.add(value.getResponseMessage());
          }

          @Override
          public void onError(Throwable t) {
            result.complete(new Result(Status.fromThrowable(t), List.copyOf(responses)));
          }

          @Override
          public void onCompleted() {
            result.complete(new Result(Status.OK, List.copyOf(responses)));
          }
        };
    SimpleRequest request = SimpleRequest.newBuilder().setRequestMessage(message).build();
    switch (type) {
      case UNARY -> stub.unaryRpc(request, observer);
      case SERVER_STREAMING -> stub.serverStreamingRpc(request, observer);
      case CLIENT_STREAMING -> {
        StreamObserver<SimpleRequest> requests = stub.clientStreamingRpc(observer);
        requests.onNext(request);
        requests.onCompleted();
      }
      case BIDI_STREAMING -> {
        StreamObserver<SimpleRequest> requests = stub.bidiStreamingRpc(observer);
        requests.onNext(request);
        requests.onCompleted();
      }
    }
    return result;
  }

  /** Makes one call and waits (at most 10 s) for its outcome. */
  public Result call(CallType type, String message) {
    try {
      return start(type, message).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("call did not finish: " + type + " " + message, e);
    }
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
