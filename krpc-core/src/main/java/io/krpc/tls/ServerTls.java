package io.krpc.tls;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;
import org.jspecify.annotations.Nullable;

/**
 * The TLS settings of a server: its identity and, for mutual TLS, whom it accepts as clients. Made
 * by {@link KrpcTls#server(File, File)}; immutable, so one value may serve several servers.
 *
 * <pre>{@code
 * ServerTls mtls = KrpcTls.server(serverCrt, serverKey).clientAuth(clientCa);
 * KServer.builder().tls(mtls)... // or .credentials(mtls.toCredentials())
 * }</pre>
 */
public final class ServerTls {
  private final byte @Nullable [] certChainPem;
  private final byte @Nullable [] privateKeyPem;
  private final @Nullable List<KeyManager> keyManagers;
  private final byte @Nullable [] clientCaPem;
  private final @Nullable List<TrustManager> clientTrustManagers;

  private ServerTls(
      byte @Nullable [] certChainPem,
      byte @Nullable [] privateKeyPem,
      @Nullable List<KeyManager> keyManagers,
      byte @Nullable [] clientCaPem,
      @Nullable List<TrustManager> clientTrustManagers) {
    this.certChainPem = certChainPem;
    this.privateKeyPem = privateKeyPem;
    this.keyManagers = keyManagers;
    this.clientCaPem = clientCaPem;
    this.clientTrustManagers = clientTrustManagers;
  }

  static ServerTls ofPem(byte[] certChainPem, byte[] privateKeyPem) {
    return new ServerTls(certChainPem, privateKeyPem, null, null, null);
  }

  static ServerTls ofKeyManagers(List<KeyManager> keyManagers) {
    return new ServerTls(null, null, keyManagers, null, null);
  }

  /**
   * Mutual TLS: every client must present a certificate signed by a certificate authority in {@code
   * trustedClientCa} (a PEM file); handshakes without one fail. Default: no client certificate
   * asked for.
   */
  public ServerTls clientAuth(File trustedClientCa) {
    return new ServerTls(
        certChainPem,
        privateKeyPem,
        keyManagers,
        PemFiles.certificates(trustedClientCa, "trustedClientCa"),
        null);
  }

  /** Mutual TLS: every client must present a certificate that {@code trustManagers} accept. */
  public ServerTls clientAuth(TrustManager... trustManagers) {
    return new ServerTls(
        certChainPem,
        privateKeyPem,
        keyManagers,
        null,
        KrpcTls.managers(trustManagers, "trustManagers"));
  }

  /** Whether clients must present a certificate. */
  public boolean requiresClientAuth() {
    return clientCaPem != null || clientTrustManagers != null;
  }

  /** These settings as grpc-java credentials, for {@code KServer.Builder.credentials}. */
  public ServerCredentials toCredentials() {
    TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder();
    try {
      if (keyManagers != null) {
        builder.keyManager(keyManagers.toArray(new KeyManager[0]));
      } else {
        builder.keyManager(
            new ByteArrayInputStream(certChainPem), new ByteArrayInputStream(privateKeyPem));
      }
      if (clientCaPem != null) {
        builder.trustManager(new ByteArrayInputStream(clientCaPem));
      } else if (clientTrustManagers != null) {
        builder.trustManager(clientTrustManagers.toArray(new TrustManager[0]));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read in-memory PEM bytes", e);
    }
    if (requiresClientAuth()) {
      builder.clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    }
    return builder.build();
  }

  @Override
  public String toString() {
    return "ServerTls{identity="
        + (keyManagers != null ? "keyManagers" : "pem")
        + ", clientAuth="
        + (requiresClientAuth() ? "required" : "none")
        + "}";
  }
}
