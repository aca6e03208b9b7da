package io.krpc.tls;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;
import org.jspecify.annotations.Nullable;

/**
 * The TLS settings of a client: which servers it trusts and, for mutual TLS, the certificate it
 * presents. Made by {@link KrpcTls#client(File)}; immutable, so one value may serve several
 * clients.
 *
 * <pre>{@code
 * ClientTls mtls = KrpcTls.client(serverCa).keyManager(clientCrt, clientKey);
 * KClient.forService("greeter").registry(registry).tls(mtls).build();
 * }</pre>
 *
 * <p>The server's certificate must name the channel's authority (hostname verification is on): the
 * host of {@code KClient.forTarget}, the service name with {@code KClient.forService}, or the value
 * of {@code overrideAuthority}.
 */
public final class ClientTls {
  private final byte @Nullable [] trustedCaPem;
  private final @Nullable List<TrustManager> trustManagers;
  private final byte @Nullable [] certChainPem;
  private final byte @Nullable [] privateKeyPem;
  private final @Nullable List<KeyManager> keyManagers;

  private ClientTls(
      byte @Nullable [] trustedCaPem,
      @Nullable List<TrustManager> trustManagers,
      byte @Nullable [] certChainPem,
      byte @Nullable [] privateKeyPem,
      @Nullable List<KeyManager> keyManagers) {
    this.trustedCaPem = trustedCaPem;
    this.trustManagers = trustManagers;
    this.certChainPem = certChainPem;
    this.privateKeyPem = privateKeyPem;
    this.keyManagers = keyManagers;
  }

  static ClientTls ofPem(byte[] trustedCaPem) {
    return new ClientTls(trustedCaPem, null, null, null, null);
  }

  static ClientTls ofTrustManagers(List<TrustManager> trustManagers) {
    return new ClientTls(null, trustManagers, null, null, null);
  }

  static ClientTls ofSystemTrust() {
    return new ClientTls(null, null, null, null, null);
  }

  /**
   * The certificate chain and private key (PEM files) this client presents to servers that require
   * mutual TLS. Default: none.
   */
  public ClientTls keyManager(File certChain, File privateKey) {
    return new ClientTls(
        trustedCaPem,
        trustManagers,
        PemFiles.certificates(certChain, "certChain"),
        PemFiles.privateKey(privateKey, "privateKey"),
        null);
  }

  /** The identity this client presents under mutual TLS, from key managers. */
  public ClientTls keyManager(KeyManager... keyManagers) {
    return new ClientTls(
        trustedCaPem, trustManagers, null, null, KrpcTls.managers(keyManagers, "keyManagers"));
  }

  /** Whether this client has a certificate to present under mutual TLS. */
  public boolean hasClientCertificate() {
    return certChainPem != null || keyManagers != null;
  }

  /** These settings as grpc-java credentials, for {@code KClient.Builder.credentials}. */
  public ChannelCredentials toCredentials() {
    TlsChannelCredentials.Builder builder = TlsChannelCredentials.newBuilder();
    try {
      if (trustedCaPem != null) {
        builder.trustManager(new ByteArrayInputStream(trustedCaPem));
      } else if (trustManagers != null) {
        builder.trustManager(trustManagers.toArray(new TrustManager[0]));
      }
      if (certChainPem != null) {
        builder.keyManager(
            new ByteArrayInputStream(certChainPem), new ByteArrayInputStream(privateKeyPem));
      } else if (keyManagers != null) {
        builder.keyManager(keyManagers.toArray(new KeyManager[0]));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read in-memory PEM bytes", e);
    }
    return builder.build();
  }

  @Override
  public String toString() {
    return "ClientTls{trust="
        + (trustedCaPem != null ? "pem" : trustManagers != null ? "trustManagers" : "system")
        + ", clientCertificate="
        + hasClientCertificate()
        + "}";
  }
}
