package io.krpc.examples.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.KServer;
import io.krpc.tls.KrpcTls;
import io.krpc.tls.TestPki;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every client of another language must manage against a KServer, in plaintext, TLS and mutual
 * TLS. Subclasses say how to run their client: it prints {@code KEY=VALUE} lines.
 */
abstract class ForeignClientContract {
  @TempDir static Path certDir;
  static TestPki pki;
  static TestPki otherPki;
  static TestPki.Issued serverCert;
  static TestPki.Issued clientCert;

  private KServer server;

  /** The client's name, as it greets: "python", "node". */
  abstract String name();

  /**
   * Runs the client against {@code target} with {@code tlsFiles} (empty, CA, or CA, cert, key) and
   * returns what it printed.
   */
  abstract ExternalProcess.Result runClient(String target, List<File> tlsFiles) throws Exception;

  @BeforeAll
  static void certificates() {
    pki = TestPki.create(certDir, "interop");
    otherPki = TestPki.create(certDir, "other");
    serverCert = pki.issueServer("server");
    clientCert = pki.issueClient("client");
  }

  @AfterEach
  void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void plaintextGreeterHealthAndUnknownMethod() throws Exception {
    server = GreeterUnderTest.start();
    assertFullConversation(runClient(target(), List.of()));
  }

  @Test
  void mutualTlsWithAValidClientCertificate() throws Exception {
    server =
        GreeterUnderTest.start(
            KrpcTls.server(serverCert.cert(), serverCert.key()).clientAuth(pki.caFile()));
    assertFullConversation(
        runClient(target(), List.of(pki.caFile(), clientCert.cert(), clientCert.key())));
  }

  @Test
  void mutualTlsRefusesAClientWithoutACertificate() throws Exception {
    server =
        GreeterUnderTest.start(
            KrpcTls.server(serverCert.cert(), serverCert.key()).clientAuth(pki.caFile()));
    ExternalProcess.Result result = runClient(target(), List.of(pki.caFile()));
    assertThat(result.values()).as(result.toString()).containsEntry("unary.error", "UNAVAILABLE");
  }

  @Test
  void tlsClientThatDoesNotTrustTheServerCaIsRefused() throws Exception {
    server = GreeterUnderTest.start(KrpcTls.server(serverCert.cert(), serverCert.key()));
    ExternalProcess.Result result = runClient(target(), List.of(otherPki.caFile()));
    assertThat(result.values()).as(result.toString()).containsEntry("unary.error", "UNAVAILABLE");
  }

  private String target() {
    return "127.0.0.1:" + server.port();
  }

  private void assertFullConversation(ExternalProcess.Result result) {
    String n = name();
    Map<String, String> values = result.values();
    assertThat(values)
        .as(result.toString())
        .containsEntry("unary", "Hello, " + n)
        .containsEntry("unary.server", target())
        .containsEntry(
            "stream", "Hello #1, " + n + ";Hello #2, " + n + ";Hello #3, " + n + ";Hello #4, " + n)
        .containsEntry("health[]", "SERVING")
        .containsEntry("health[greeter]", "SERVING")
        .containsEntry("health[greeter.Greeter]", "SERVING")
        .containsEntry("health[no.such.Service]", "NOT_FOUND")
        .containsEntry("unknown", "UNIMPLEMENTED")
        .containsEntry("after_huge", "Hello, again");
    // 16 KiB of metadata, over the 8 KiB the server announces: the call fails (grpcio 1.51 says
    // UNAVAILABLE, grpc-js 1.14 INTERNAL) and the next call on the same channel works.
    assertThat(values.get("huge_metadata"))
        .as(result.toString())
        .isIn("UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED");
  }
}
