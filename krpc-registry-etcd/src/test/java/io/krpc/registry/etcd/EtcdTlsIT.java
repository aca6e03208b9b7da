package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd serving clients over mutual TLS, with certificates made by openssl for the test. */
class EtcdTlsIT {

  @TempDir static Path dir;
  private static EtcdCluster etcd;

  @BeforeAll
  static void startEtcdWithTls() throws Exception {
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=krpc-test-ca");
    issue("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    issue("client", "extendedKeyUsage=clientAuth\n");
    etcd =
        EtcdCluster.builder()
            .serverTls(dir.resolve("server.pem"), dir.resolve("server.key"))
            .clientCertAuth(dir.resolve("ca.pem"))
            .start();
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) {
      etcd.close();
    }
  }

  @Test
  void mutualTlsRegistersAndDiscovers() {
    assertThat(etcd.endpoints().get(0)).startsWith("https://127.0.0.1:");
    ServiceInstance instance = ServiceInstance.of("greeter-tls", "127.0.0.1", 9001);
    try (EtcdRegistry registry =
        builder().clientCertificate(dir.resolve("client.pem"), dir.resolve("client.key")).build()) {
      RecordingListener listener = new RecordingListener();
      registry.watch("greeter-tls", listener);
      registry.register(instance);
      assertThat(registry.lookup("greeter-tls")).containsExactly(instance);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> listener.last() != null && listener.last().equals(List.of(instance)));
    }
  }

  @Test
  void missingClientCertificateFailsWithinTheTimeout() {
    try (EtcdRegistry registry = builder().build()) {
      long start = System.nanoTime();
      assertThatThrownBy(() -> registry.lookup("greeter-tls"))
          .isInstanceOf(RegistryException.class)
          .hasMessageContaining("Could not lookup greeter-tls");
      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(11));
    }
  }

  @Test
  void tlsFilesNeedHttpsEndpoints() {
    assertThatThrownBy(
            () ->
                EtcdRegistry.builder()
                    .endpoints("http://127.0.0.1:2379")
                    .trustCertificates(dir.resolve("ca.pem"))
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("(expected: https:// endpoints)");
  }

  private static EtcdRegistry.Builder builder() {
    return EtcdRegistry.builder()
        .endpoints(etcd.endpoints())
        .trustCertificates(dir.resolve("ca.pem"))
        .requestTimeout(Duration.ofSeconds(10)); // a cold JVM's first TLS call takes seconds
  }

  private static void issue(String name, String extensions) throws Exception {
    Files.writeString(dir.resolve(name + ".ext"), extensions);
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        name + ".key",
        "-out",
        name + ".csr",
        "-subj",
        "/CN=" + name);
    openssl(
        "x509",
        "-req",
        "-in",
        name + ".csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        name + ".pem",
        "-days",
        "2",
        "-extfile",
        name + ".ext");
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 1];
    command[0] = "openssl";
    System.arraycopy(args, 0, command, 1, args.length);
    Process process =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("openssl.log").toFile())
            .start();
    if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException(
          "openssl "
              + String.join(" ", args)
              + " failed: "
              + Files.readString(dir.resolve("openssl.log")));
    }
  }
}
