package io.krpc.tls;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away PKI for tests: a certificate authority that issues server and client certificates
 * (EC P-256, valid for a day), written as PEM files into a directory.
 */
public final class TestPki {
  private static final AtomicLong serials = new AtomicLong(System.currentTimeMillis());

  private final Path dir;
  private final String name;
  private final KeyPair caKeys;
  private final X509Certificate caCert;

  private TestPki(Path dir, String name) {
    this.dir = dir;
    this.name = name;
    this.caKeys = newKeyPair();
    this.caCert = sign(new X500Name("CN=" + name + " test CA"), caKeys, caKeys, true, null);
  }

  /** A new CA named {@code name} whose files go into {@code dir}. */
  public static TestPki create(Path dir, String name) {
    return new TestPki(dir, name);
  }

  /** The CA certificate as a PEM file. */
  public File caFile() {
    return write(name + "-ca.crt", pem("CERTIFICATE", encoded(caCert)));
  }

  /** A certificate and key for a server reachable as 127.0.0.1, localhost and {@code dnsNames}. */
  public Issued issueServer(String cn, String... dnsNames) {
    GeneralName[] names = new GeneralName[dnsNames.length + 2];
    names[0] = new GeneralName(GeneralName.iPAddress, "127.0.0.1");
    names[1] = new GeneralName(GeneralName.dNSName, "localhost");
    for (int i = 0; i < dnsNames.length; i++) {
      names[i + 2] = new GeneralName(GeneralName.dNSName, dnsNames[i]);
    }
    return issue(cn, new GeneralNames(names));
  }

  /** A client certificate and key. */
  public Issued issueClient(String cn) {
    return issue(cn, null);
  }

  private Issued issue(String cn, GeneralNames sans) {
    KeyPair keys = newKeyPair();
    X509Certificate cert = sign(new X500Name("CN=" + cn), keys, caKeys, false, sans);
    File certFile = write(name + "-" + cn + ".crt", pem("CERTIFICATE", encoded(cert)));
    File keyFile =
        write(name + "-" + cn + ".key", pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
    return new Issued(certFile, keyFile);
  }

  /** A certificate chain file and its private key file. */
  public record Issued(File cert, File key) {}

  private X509Certificate sign(
      X500Name subject, KeyPair subjectKeys, KeyPair issuerKeys, boolean ca, GeneralNames sans) {
    Instant now = Instant.now();
    X500Name issuer = ca ? subject : new X500Name(caCert.getSubjectX500Principal().getName());
    try {
      JcaX509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              issuer,
              BigInteger.valueOf(serials.incrementAndGet()),
              Date.from(now.minus(1, ChronoUnit.HOURS)),
              Date.from(now.plus(1, ChronoUnit.DAYS)),
              subject,
              subjectKeys.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      if (ca) {
        builder.addExtension(
            Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        builder.addExtension(
            Extension.keyUsage,
            true,
            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      }
      if (sans != null) {
        builder.addExtension(Extension.subjectAlternativeName, false, sans);
      }
      ContentSigner signer =
          new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate());
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot sign a test certificate for " + subject, e);
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] encoded(X509Certificate cert) {
    try {
      return cert.getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private File write(String fileName, String content) {
    Path file = dir.resolve(fileName);
    try {
      Files.writeString(file, content, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file.toFile();
  }
}
