package io.krpc.examples.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.krpc.KServer;
import io.krpc.examples.GreeterService;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.etcd.EtcdRegistry;
import io.krpc.testing.EtcdClusterExtension;
import io.krpc.tls.KrpcTls;
import io.krpc.tls.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plain grpc-java application, with no KRPC code of its own, finds KServers through etcd by
 * nothing but an {@code etcd://} target: krpc-registry-etcd's resolver is picked up by
 * ServiceLoader from the class path. Over TLS the channel checks the server certificate against the
 * service name, the authority of an {@code etcd://} target.
 */
class EtcdTargetIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  @Test
  void plainGrpcJavaChannelCallsKServersItFindsInEtcd() throws Exception {
    try (EtcdRegistry registry = EtcdRegistry.builder().endpoints(etcd.endpoints()).build();
        KServer first = greeter(registry)) {
      ManagedChannel channel =
          ManagedChannelBuilder.forTarget("etcd://" + etcd.cluster().authority() + "/greeter")
              .defaultLoadBalancingPolicy("round_robin")
              .usePlaintext()
              .build();
      try {
        GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel);
        assertThat(
                stub.withWaitForReady()
                    .withDeadlineAfter(Duration.ofSeconds(10))
                    .sayHello(HelloRequest.newBuilder().setName("plain grpc-java").build())
                    .getServer())
            .isEqualTo("127.0.0.1:" + first.port());

        // A second server registers: the channel follows etcd and round-robins over both.
        try (KServer second = greeter(registry)) {
          Set<String> seen = ConcurrentHashMap.newKeySet();
          await()
              .atMost(Duration.ofSeconds(10))
              .untilAsserted(
                  () -> {
                    seen.add(
                        stub.withDeadlineAfter(Duration.ofSeconds(5))
                            .sayHello(HelloRequest.newBuilder().setName("x").build())
                            .getServer());
                    assertThat(seen)
                        .containsExactlyInAnyOrder(
                            "127.0.0.1:" + first.port(), "127.0.0.1:" + second.port());
                  });
        }
      } finally {
        channel.shutdownNow();
        assertThat(channel.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      }
    }
  }

  @Test
  void plainGrpcJavaChannelOverTlsVerifiesTheServiceNameOfAServerFoundInEtcd(@TempDir Path dir)
      throws Exception {
    TestPki pki = TestPki.create(dir, "etcd-interop");
    TestPki.Issued cert = pki.issueServer("greeter", "greeter"); // DNS:greeter, the authority
    try (EtcdRegistry registry = EtcdRegistry.builder().endpoints(etcd.endpoints()).build();
        KServer server =
            greeter(registry, KServer.builder().tls(KrpcTls.server(cert.cert(), cert.key())))) {
      ManagedChannel channel =
          Grpc.newChannelBuilder(
                  "etcd://" + etcd.cluster().authority() + "/greeter",
                  KrpcTls.client(pki.caFile()).toCredentials())
              .defaultLoadBalancingPolicy("round_robin")
              .build();
      try {
        assertThat(
                GreeterGrpc.newBlockingStub(channel)
                    .withWaitForReady()
                    .withDeadlineAfter(Duration.ofSeconds(10))
                    .sayHello(HelloRequest.newBuilder().setName("tls").build())
                    .getMessage())
            .isEqualTo("Hello, tls");
      } finally {
        channel.shutdownNow();
        assertThat(channel.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      }
    }
  }

  private static KServer greeter(EtcdRegistry registry) {
    return greeter(registry, KServer.builder());
  }

  private static KServer greeter(EtcdRegistry registry, KServer.Builder builder) {
    AtomicReference<KServer> self = new AtomicReference<>();
    KServer server =
        builder
            .serviceName("greeter")
            .host("127.0.0.1")
            .port(0)
            .registry(registry)
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ofSeconds(5))
            .addService(new GreeterService(() -> "127.0.0.1:" + self.get().port()))
            .start();
    self.set(server);
    return server;
  }
}
