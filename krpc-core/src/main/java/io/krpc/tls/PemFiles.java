package io.krpc.tls;

import static io.krpc.common.Checks.notNull;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import org.jspecify.annotations.Nullable;

/**
 * Reads PEM files once, when a TLS option is set, so that a missing file or one that holds no
 * certificate fails at once with the option's name instead of at server start with a transport
 * error.
 */
final class PemFiles {
  private PemFiles() {}

  /** The bytes of a PEM file holding one or more X.509 certificates. */
  static byte[] certificates(File file, String option) {
    byte[] pem = read(file, option);
    try {
      if (CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem))
          .isEmpty()) {
        throw invalid(file, option, "PEM X.509 certificates", null);
      }
    } catch (CertificateException e) {
      throw invalid(file, option, "PEM X.509 certificates", e);
    }
    return pem;
  }

  /** The bytes of a PEM file holding an unencrypted private key (PKCS#8 is the safe choice). */
  static byte[] privateKey(File file, String option) {
    byte[] pem = read(file, option);
    String text = new String(pem, StandardCharsets.US_ASCII);
    if (text.contains("ENCRYPTED PRIVATE KEY")
        || !text.matches("(?s).*-----BEGIN [A-Z ]*PRIVATE KEY-----.*")) {
      throw invalid(
          file,
          option,
          "an unencrypted PEM private key " + "(-----BEGIN PRIVATE KEY-----, PKCS#8)",
          null);
    }
    return pem;
  }

  private static byte[] read(File file, String option) {
    notNull(file, option);
    if (!file.isFile() || !file.canRead()) {
      throw invalid(file, option, "a readable PEM file", null);
    }
    try {
      return Files.readAllBytes(file.toPath());
    } catch (IOException e) {
      throw new UncheckedIOException(option + ": " + file + " cannot be read", e);
    }
  }

  private static IllegalArgumentException invalid(
      File file, String option, String expected, @Nullable Exception cause) {
    return new IllegalArgumentException(
        option + ": " + file + " (expected: " + expected + ")", cause);
  }
}
