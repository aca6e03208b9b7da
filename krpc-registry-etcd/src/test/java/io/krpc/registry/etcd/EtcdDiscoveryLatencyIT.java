package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.KClient;
import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How long a new instance takes from {@code register()} to its first call from a {@link KClient}
 * discovering through an {@link EtcdRegistry} (the {@code krpc://} resolver on the etcd watch).
 */
class EtcdDiscoveryLatencyIT {
  private static final Logger logger = LoggerFactory.getLogger(EtcdDiscoveryLatencyIT.class);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  @Test
  void registerToFirstCallMedianOf20() throws Exception {
    List<Server> servers = new ArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    try (EtcdRegistry serverRegistry =
            EtcdRegistry.builder()
                .endpoints(etcd.endpoints())
                .requestTimeout(Duration.ofSeconds(10))
                .build();
        EtcdRegistry clientRegistry =
            EtcdRegistry.builder()
                .endpoints(etcd.endpoints())
                .requestTimeout(Duration.ofSeconds(10))
                .build()) {
      List<AtomicLong> hits = new ArrayList<>();
      for (int i = 0; i < 21; i++) {
        AtomicLong counter = new AtomicLong();
        hits.add(counter);
        servers.add(
            Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(
                    new SimpleServiceGrpc.SimpleServiceImplBase() {
                      @Override
                      public void unaryRpc(
                          SimpleRequest request, StreamObserver<SimpleResponse> response) {
                        counter.incrementAndGet();
                        response.onNext(SimpleResponse.getDefaultInstance());
                        response.onCompleted();
                      }
                    })
                .build()
                .start());
      }
      serverRegistry.register(instance(servers.get(0)));
      try (KClient client =
          KClient.forService("greeter-latency").registry(clientRegistry).build()) {
        SimpleServiceGrpc.SimpleServiceBlockingStub stub =
            SimpleServiceGrpc.newBlockingStub(client.channel());
        AtomicLong failed = new AtomicLong();
        Thread caller =
            new Thread(
                () -> {
                  while (running.get()) {
                    try {
                      stub.withWaitForReady()
                          .withDeadlineAfter(5, TimeUnit.SECONDS)
                          .unaryRpc(SimpleRequest.getDefaultInstance());
                    } catch (RuntimeException e) {
                      if (running.get()) {
                        failed.incrementAndGet();
                      }
                    }
                  }
                },
                "latency-caller");
        caller.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> hits.get(0).get() > 0);

        List<Long> micros = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
          AtomicLong counter = hits.get(i);
          long start = System.nanoTime();
          serverRegistry.register(instance(servers.get(i)));
          await()
              .atMost(Duration.ofSeconds(5))
              .pollInterval(Duration.ofMillis(1))
              .until(() -> counter.get() > 0);
          micros.add(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start));
        }
        running.set(false);
        caller.join(10_000);
        Collections.sort(micros);
        logger.info(
            "MEASURE register() to first call on the new instance through KClient: "
                + "median {} us, min {} us, max {} us (n=20); failed calls {}",
            (micros.get(9) + micros.get(10)) / 2,
            micros.get(0),
            micros.get(19),
            failed.get());
        assertThat(failed.get()).isZero();
        assertThat(micros.get(10)).isLessThan(1_000_000);
      }
    } finally {
      running.set(false);
      for (Server server : servers) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static ServiceInstance instance(Server server) {
    return ServiceInstance.of("greeter-latency", "127.0.0.1", server.getPort());
  }
}
