package io.krpc.registry.etcd;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.KServer;
import io.krpc.registry.Registry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Servers registered in etcd through KServer, and a plain grpc-java client on an {@code etcd://}
 * target calling them in a loop, counting failed calls.
 */
final class GreeterLoad implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(GreeterLoad.class);

  final List<KServer> servers = new ArrayList<>();
  final AtomicLong ok = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  private final ManagedChannel channel;
  private final Thread caller;
  private volatile boolean running = true;

  GreeterLoad(String authority, String service, List<Registry> serverRegistries) {
    for (Registry registry : serverRegistries) {
      servers.add(
          KServer.builder()
              .serviceName(service)
              .port(0)
              .host("127.0.0.1")
              .registry(registry)
              .deregisterDelay(Duration.ZERO)
              .addService(
                  new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(
                        SimpleRequest request, StreamObserver<SimpleResponse> response) {
                      response.onNext(SimpleResponse.getDefaultInstance());
                      response.onCompleted();
                    }
                  })
              .start());
    }
    channel =
        ManagedChannelBuilder.forTarget(
                authority.contains(",")
                    ? "etcd:///" + authority + "/" + service
                    : "etcd://" + authority + "/" + service)
            .defaultLoadBalancingPolicy("round_robin")
            .usePlaintext()
            .build();
    SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(channel);
    caller =
        new Thread(
            () -> {
              while (running) {
                try {
                  stub.withDeadlineAfter(2, TimeUnit.SECONDS)
                      .unaryRpc(SimpleRequest.getDefaultInstance());
                  ok.incrementAndGet();
                } catch (RuntimeException e) {
                  if (running) {
                    failed.incrementAndGet();
                    logger.warn("call failed: {}", e.toString());
                  }
                }
                try {
                  Thread.sleep(5);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "greeter-load");
  }

  /** Waits for the first successful call, then keeps calling in the background. */
  GreeterLoad start() throws InterruptedException {
    SimpleServiceGrpc.newBlockingStub(channel)
        .withWaitForReady()
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .unaryRpc(SimpleRequest.getDefaultInstance());
    caller.start();
    return this;
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    caller.interrupt();
    caller.join(5000);
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    servers.forEach(KServer::close);
  }
}
