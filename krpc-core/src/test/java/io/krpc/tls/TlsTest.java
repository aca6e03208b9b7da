package io.krpc.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.registry.InMemoryRegistry;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS and mutual TLS over real loopback sockets, with certificates made by the test. */
class TlsTest {

  @TempDir static Path dir;
  static TestPki pki;
  static TestPki otherPki;
  static TestPki.Issued serverCert;
  static TestPki.Issued clientCert;
  static TestPki.Issued strangerCert;

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeAll
  static void certificates() {
    pki = TestPki.create(dir, "trusted");
    otherPki = TestPki.create(dir, "other");
    serverCert = pki.issueServer("server", "echo");
    clientCert = pki.issueClient("client");
    strangerCert = otherPki.issueClient("stranger");
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void tlsCallWorks() {
    KServer server = start(KrpcTls.server(serverCert.cert(), serverCert.key()), null);
    KClient client = client(server, KrpcTls.client(pki.caFile()));
    assertThat(call(client)).isEqualTo("pong");
  }

  @Test
  void clientThatDoesNotTrustTheServerCaIsRefused() {
    KServer server = start(KrpcTls.server(serverCert.cert(), serverCert.key()), null);
    KClient client = client(server, KrpcTls.client(otherPki.caFile()));
    assertCode(client, Status.Code.UNAVAILABLE);
  }

  @Test
  void plaintextClientCannotTalkToATlsServer() {
    KServer server = start(KrpcTls.server(serverCert.cert(), serverCert.key()), null);
    KClient client = track(KClient.forTarget("127.0.0.1:" + server.port()).build());
    assertCode(client, Status.Code.UNAVAILABLE);
  }

  @Test
  void serverCertificateMustNameTheAuthority() {
    KServer server = start(KrpcTls.server(serverCert.cert(), serverCert.key()), null);
    KClient client =
        track(
            KClient.forTarget("127.0.0.1:" + server.port())
                .tls(KrpcTls.client(pki.caFile()))
                .overrideAuthority("evil.example.com")
                .build());
    assertCode(client, Status.Code.UNAVAILABLE);
  }

  @Test
  void mutualTlsRefusesAClientWithoutACertificate() {
    KServer server = start(mtlsServer(), null);
    KClient client = client(server, KrpcTls.client(pki.caFile()));
    assertCode(client, Status.Code.UNAVAILABLE);
  }

  @Test
  void mutualTlsRefusesACertificateFromAnUntrustedCa() {
    KServer server = start(mtlsServer(), null);
    KClient client =
        client(
            server,
            KrpcTls.client(pki.caFile()).keyManager(strangerCert.cert(), strangerCert.key()));
    assertCode(client, Status.Code.UNAVAILABLE);
  }

  @Test
  void mutualTlsAcceptsAValidCertificateAndTheHandlerSeesWhoCalled() {
    AtomicReference<String> peer = new AtomicReference<>();
    KServer server = start(mtlsServer(), peer);
    KClient client =
        client(
            server, KrpcTls.client(pki.caFile()).keyManager(clientCert.cert(), clientCert.key()));
    assertThat(call(client)).isEqualTo("pong");
    assertThat(peer.get()).isEqualTo("CN=client");
  }

  @Test
  void keyAndTrustManagersWorkLikeFiles() throws Exception {
    ServerTls serverTls =
        KrpcTls.server(keyManagers(serverCert)).clientAuth(trustManagers(pki.caFile()));
    assertThat(serverTls.requiresClientAuth()).isTrue();
    KServer server = start(serverTls, null);
    ClientTls clientTls =
        KrpcTls.client(trustManagers(pki.caFile())).keyManager(keyManagers(clientCert));
    assertThat(clientTls.hasClientCertificate()).isTrue();
    assertThat(call(client(server, clientTls))).isEqualTo("pong");
    // A trust manager that trusts another CA refuses the server.
    assertCode(
        client(
            server,
            KrpcTls.client(trustManagers(otherPki.caFile())).keyManager(keyManagers(clientCert))),
        Status.Code.UNAVAILABLE);
  }

  @Test
  void discoveryThroughARegistryVerifiesTheServiceName() {
    InMemoryRegistry registry = track(new InMemoryRegistry());
    track(
        KServer.builder()
            .serviceName("echo")
            .host("127.0.0.1")
            .port(0)
            .registry(registry)
            .deregisterDelay(Duration.ZERO)
            .addService(new Pong())
            .tls(KrpcTls.server(serverCert.cert(), serverCert.key()))
            .start());
    KClient client =
        track(
            KClient.forService("echo")
                .registry(registry)
                .tls(KrpcTls.client(pki.caFile()))
                .build());
    assertThat(call(client)).isEqualTo("pong");
  }

  @Test
  void credentialsFromTlsSettingsAreGrpcOwn() {
    assertThat(KrpcTls.server(serverCert.cert(), serverCert.key()).toCredentials())
        .isInstanceOf(io.grpc.TlsServerCredentials.class);
    assertThat(KrpcTls.client().toCredentials()).isInstanceOf(io.grpc.TlsChannelCredentials.class);
    assertThat(KrpcTls.client(pki.caFile()).toString())
        .isEqualTo("ClientTls{trust=pem, clientCertificate=false}");
    assertThat(mtlsServer().toString()).isEqualTo("ServerTls{identity=pem, clientAuth=required}");
  }

  @Test
  void badFilesAndArgumentsAreRefusedAtOnce() throws Exception {
    File missing = dir.resolve("missing.pem").toFile();
    File garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate").toFile();
    File encrypted =
        Files.writeString(
                dir.resolve("encrypted.key"),
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
            .toFile();
    assertThatThrownBy(() -> KrpcTls.server(missing, serverCert.key()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("certChain: " + missing + " (expected: a readable PEM file)");
    assertThatThrownBy(() -> KrpcTls.server(garbage, serverCert.key()))
        .hasMessage("certChain: " + garbage + " (expected: PEM X.509 certificates)");
    assertThatThrownBy(() -> KrpcTls.server(serverCert.cert(), garbage))
        .hasMessage(
            "privateKey: "
                + garbage
                + " (expected: an unencrypted PEM private key "
                + "(-----BEGIN PRIVATE KEY-----, PKCS#8))");
    assertThatThrownBy(() -> KrpcTls.server(serverCert.cert(), encrypted))
        .hasMessageStartingWith("privateKey: " + encrypted);
    assertThatThrownBy(() -> KrpcTls.server((File) null, serverCert.key()))
        .hasMessage("certChain: null (expected: not null)");
    assertThatThrownBy(() -> KrpcTls.client(garbage))
        .hasMessage("trustedCa: " + garbage + " (expected: PEM X.509 certificates)");
    assertThatThrownBy(
            () -> KrpcTls.server(serverCert.cert(), serverCert.key()).clientAuth(missing))
        .hasMessage("trustedClientCa: " + missing + " (expected: a readable PEM file)");
    assertThatThrownBy(() -> KrpcTls.client(pki.caFile()).keyManager(clientCert.cert(), missing))
        .hasMessage("privateKey: " + missing + " (expected: a readable PEM file)");
    assertThatThrownBy(() -> KrpcTls.server(new KeyManager[0]))
        .hasMessage("keyManagers: [] (expected: at least one)");
    assertThatThrownBy(() -> KrpcTls.client(new TrustManager[] {null}))
        .hasMessage("trustManagers element: null (expected: not null)");
    assertThatThrownBy(() -> KServer.builder().tls(null))
        .hasMessage("tls: null (expected: not null)");
    assertThatThrownBy(() -> KClient.forTarget("127.0.0.1:1").tls(null))
        .hasMessage("tls: null (expected: not null)");
  }

  private static ServerTls mtlsServer() {
    return KrpcTls.server(serverCert.cert(), serverCert.key()).clientAuth(pki.caFile());
  }

  private KServer start(ServerTls tls, AtomicReference<String> peer) {
    return track(
        KServer.builder()
            .serviceName("echo")
            .host("127.0.0.1")
            .port(0)
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ofSeconds(5))
            .addService(new Pong())
            .intercept(new PeerCapture(peer))
            .tls(tls)
            .start());
  }

  private KClient client(KServer server, ClientTls tls) {
    return track(
        KClient.forTarget("127.0.0.1:" + server.port())
            .tls(tls)
            .closeTimeout(Duration.ofSeconds(5))
            .build());
  }

  private static String call(KClient client) {
    return SimpleServiceGrpc.newBlockingStub(client.channel())
        .withDeadlineAfter(Duration.ofSeconds(10))
        .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("ping").build())
        .getResponseMessage();
  }

  private static void assertCode(KClient client, Status.Code code) {
    assertThatThrownBy(() -> call(client))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code));
  }

  private <T extends AutoCloseable> T track(T closeable) {
    toClose.add(closeable);
    return closeable;
  }

  private static KeyManager[] keyManagers(TestPki.Issued issued) throws Exception {
    String pem = Files.readString(issued.key().toPath());
    byte[] der =
        Base64.getMimeDecoder()
            .decode(
                pem.replace("-----BEGIN PRIVATE KEY-----", "")
                    .replace("-----END PRIVATE KEY-----", ""));
    PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    Certificate[] chain =
        CertificateFactory.getInstance("X.509")
            .generateCertificates(Files.newInputStream(issued.cert().toPath()))
            .toArray(new Certificate[0]);
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("me", key, new char[0], chain);
    KeyManagerFactory factory =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(store, new char[0]);
    return factory.getKeyManagers();
  }

  private static TrustManager[] trustManagers(File ca) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setCertificateEntry(
        "ca",
        CertificateFactory.getInstance("X.509")
            .generateCertificate(Files.newInputStream(ca.toPath())));
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    return factory.getTrustManagers();
  }

  /** Answers "pong". */
  private static final class Pong extends SimpleServiceGrpc.SimpleServiceImplBase {
    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> observer) {
      observer.onNext(SimpleResponse.newBuilder().setResponseMessage("pong").build());
      observer.onCompleted();
    }
  }

  /** Records the client certificate's subject, as an authorization interceptor would read it. */
  private static final class PeerCapture implements ServerInterceptor {
    private final AtomicReference<String> peer;

    PeerCapture(AtomicReference<String> peer) {
      this.peer = peer;
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
      if (peer != null && session != null) {
        try {
          peer.set(session.getPeerPrincipal().getName());
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
          peer.set("unverified");
        }
      }
      return next.startCall(call, headers);
    }
  }
}
