package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A KServer's default keepalive enforcement accepts the most eager keepalive a KClient can ask for
 * (a PING every 10 s, also without calls), while a server with grpc-java's defaults (PINGs at most
 * every 5 min, none without calls) answers the same client with GOAWAY {@code too_many_pings} after
 * three PINGs, which the control shows. Takes about 35 s: grpc-java's keepalive floor is 10 s, and
 * enforcement strikes on the third PING.
 */
class KeepAliveIT {
  private static final Duration WATCH = Duration.ofSeconds(40);
  private static final Duration THREE_PINGS = Duration.ofSeconds(32);

  /** Records every state a channel passes through once READY. */
  private static List<ConnectivityState> watch(ManagedChannel channel) {
    List<ConnectivityState> states = new CopyOnWriteArrayList<>();
    Runnable[] watcher = new Runnable[1];
    watcher[0] =
        () -> {
          ConnectivityState state = channel.getState(false);
          states.add(state);
          if (state != ConnectivityState.SHUTDOWN) {
            channel.notifyWhenStateChanged(state, watcher[0]);
          }
        };
    channel.notifyWhenStateChanged(ConnectivityState.READY, watcher[0]);
    return states;
  }

  private static KClient eagerClient(KServer server) {
    KClient client =
        KClient.forTarget("127.0.0.1:" + server.port())
            .keepAlive(Duration.ofSeconds(10), Duration.ofSeconds(5))
            .keepAliveWithoutCalls(true)
            .closeTimeout(Duration.ZERO)
            .build();
    SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .unaryRpc(SimpleRequest.getDefaultInstance());
    assertThat(client.channel().getState(false)).isEqualTo(ConnectivityState.READY);
    return client;
  }

  @Test
  void aKServerAcceptsKClientKeepaliveThatGrpcDefaultsRefuse() throws Exception {
    try (KServer krpcDefaults =
            KServer.builder()
                .serviceName("ka")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .addService(new EchoService(() -> "krpc"))
                .start();
        KServer grpcDefaults =
            KServer.builder()
                .serviceName("ka")
                .host("127.0.0.1")
                .port(0)
                .deregisterDelay(Duration.ZERO)
                .addService(new EchoService(() -> "grpc"))
                .permitKeepAliveTime(Duration.ofMinutes(5))
                .permitKeepAliveWithoutCalls(false)
                .start();
        KClient toKrpc = eagerClient(krpcDefaults);
        KClient toGrpc = eagerClient(grpcDefaults)) {
      List<ConnectivityState> krpcStates = watch(toKrpc.channel());
      List<ConnectivityState> grpcStates = watch(toGrpc.channel());
      long start = System.nanoTime();
      // Waiting is the test: keepalive runs on grpc-java's own timers, which take no fake clock.
      while (grpcStates.isEmpty() && System.nanoTime() - start < WATCH.toNanos()) {
        Thread.sleep(200);
      }
      // Three PINGs (10 s apart) reached the KServer too: enough for grpc-java to strike out.
      long left = THREE_PINGS.toNanos() - (System.nanoTime() - start);
      if (left > 0) {
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(left));
      }
      assertThat(grpcStates)
          .as("control: grpc-java's defaults send GOAWAY too_many_pings")
          .isNotEmpty();
      assertThat(krpcStates).as("the KServer kept the pinging connection").isEmpty();
      assertThat(toKrpc.channel().getState(false)).isEqualTo(ConnectivityState.READY);
    }
  }
}
