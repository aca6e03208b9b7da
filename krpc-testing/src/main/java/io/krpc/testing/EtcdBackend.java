package io.krpc.testing;

import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Where an {@link EtcdClusterExtension} runs etcd: the etcd binary when there is one, else an etcd
 * container through Testcontainers when a Docker engine answers, else nowhere (a failure that says
 * how to install etcd). The probes are passed in so that the choice is testable on a machine that
 * has neither.
 */
final class EtcdBackend {
  /** The image of the container fallback: the etcd release line the Debian package carries. */
  static final String DEFAULT_IMAGE = "quay.io/coreos/etcd:v3.5.17";

  /** What runs etcd. */
  enum Kind {
    /** Child processes of the etcd binary ({@link EtcdCluster}). */
    BINARY,
    /** One etcd container, started through Testcontainers. */
    CONTAINER
  }

  private EtcdBackend() {}

  /**
   * Chooses the backend.
   *
   * @param findBinary finds the etcd binary, or throws {@link IllegalStateException} with an
   *     install hint when there is none
   * @param binaryNamed whether the user named a binary ({@code binary(...)} or {@code
   *     KRPC_ETCD_BINARY}): then a missing one is an error, never a reason to fall back
   * @param dockerAnswers whether Testcontainers is on the class path and a Docker engine answers;
   *     asked only when no binary is found
   * @param members the members asked for; the container fallback runs one
   * @throws IllegalStateException when neither backend can run, saying why and how to fix it
   */
  static Kind choose(
      Supplier<Path> findBinary, boolean binaryNamed, BooleanSupplier dockerAnswers, int members) {
    try {
      var unused = findBinary.get();
      return Kind.BINARY;
    } catch (IllegalStateException noBinary) {
      if (binaryNamed) {
        throw noBinary;
      }
      if (!dockerAnswers.getAsBoolean()) {
        throw new IllegalStateException(
            noBinary.getMessage()
                + " The Testcontainers fallback "
                + "could not run either: no Docker engine answered (or org.testcontainers:"
                + "testcontainers is not on the test class path).",
            noBinary);
      }
      if (members != 1) {
        throw new IllegalStateException(
            "members: "
                + members
                + " with no etcd binary (expected:"
                + " 1; the Testcontainers fallback runs one etcd container, clusters need the etcd "
                + "binary). "
                + noBinary.getMessage(),
            noBinary);
      }
      return Kind.CONTAINER;
    }
  }

  /**
   * Whether Testcontainers is on the class path and finds a Docker engine. Never throws: any
   * failure of the probe means no.
   */
  static boolean dockerAnswers() {
    try {
      Class.forName(
          "org.testcontainers.DockerClientFactory", false, EtcdBackend.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
    try {
      return EtcdContainer.dockerAvailable();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }
}
