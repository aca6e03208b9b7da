package io.krpc.tls;

import static io.krpc.common.Checks.notNull;

import java.io.File;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * Entry point for TLS settings of KRPC servers and clients.
 *
 * <pre>{@code
 * // server, TLS only
 * KServer.builder().tls(KrpcTls.server(new File("server.crt"), new File("server.key")))...
 *
 * // server, mutual TLS: clients must present a certificate signed by ca.crt
 * KServer.builder().tls(KrpcTls.server(serverCrt, serverKey).clientAuth(new File("ca.crt")))...
 *
 * // client trusting ca.crt, with its own certificate for mutual TLS
 * KClient.forTarget("10.0.0.5:9001")
 *     .tls(KrpcTls.client(new File("ca.crt")).keyManager(clientCrt, clientKey))...
 * }</pre>
 *
 * <p>Files are PEM: certificate chains as X.509 certificates, private keys unencrypted (PKCS#8,
 * {@code -----BEGIN PRIVATE KEY-----}). They are read once, when the method is called, and checked
 * then; a missing or malformed file throws {@link IllegalArgumentException} naming it. The results
 * are grpc-java's own {@link io.grpc.TlsServerCredentials} and {@link
 * io.grpc.TlsChannelCredentials}, so they work with any grpc-java transport that supports them.
 */
public final class KrpcTls {
  private KrpcTls() {}

  /**
   * Server TLS with a certificate chain and its private key, both PEM files. Clients are not asked
   * for a certificate until {@link ServerTls#clientAuth(File)} is set.
   */
  public static ServerTls server(File certChain, File privateKey) {
    return ServerTls.ofPem(
        PemFiles.certificates(certChain, "certChain"),
        PemFiles.privateKey(privateKey, "privateKey"));
  }

  /** Server TLS with the server's identity from key managers (for example from a key store). */
  public static ServerTls server(KeyManager... keyManagers) {
    return ServerTls.ofKeyManagers(managers(keyManagers, "keyManagers"));
  }

  /**
   * Client TLS that trusts the certificate authorities in {@code trustedCa} (a PEM file) and
   * nothing else. The server's certificate must also name the channel's authority: the host of
   * {@code forTarget}, the service name with {@code forService}, or the override authority.
   */
  public static ClientTls client(File trustedCa) {
    return ClientTls.ofPem(PemFiles.certificates(trustedCa, "trustedCa"));
  }

  /** Client TLS that decides which servers to trust through {@code trustManagers}. */
  public static ClientTls client(TrustManager... trustManagers) {
    return ClientTls.ofTrustManagers(managers(trustManagers, "trustManagers"));
  }

  /** Client TLS that trusts the JDK's default certificate authorities (public CAs). */
  public static ClientTls client() {
    return ClientTls.ofSystemTrust();
  }

  static <T> List<T> managers(T[] managers, String option) {
    notNull(managers, option);
    if (managers.length == 0) {
      throw new IllegalArgumentException(option + ": [] (expected: at least one)");
    }
    for (T manager : managers) {
      notNull(manager, option + " element");
    }
    return List.of(managers);
  }
}
