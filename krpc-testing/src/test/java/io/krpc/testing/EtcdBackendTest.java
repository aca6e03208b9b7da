package io.krpc.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The choice between the etcd binary and the Testcontainers fallback, with the probes injected:
 * this machine has no Docker engine, so the container itself cannot start here; what is tested is
 * which backend the extension picks, and that the install hint stays when neither exists.
 */
class EtcdBackendTest {
  private static final Supplier<Path> FOUND = () -> Paths.get("/usr/bin/etcd");
  private static final Supplier<Path> MISSING = () -> EtcdCluster.findBinary(null, null, "");

  private static BooleanSupplier docker(boolean answers, AtomicInteger asked) {
    return () -> {
      asked.incrementAndGet();
      return answers;
    };
  }

  @Test
  void theBinaryWinsAndDockerIsNotEvenAsked() {
    AtomicInteger asked = new AtomicInteger();
    assertThat(EtcdBackend.choose(FOUND, false, docker(true, asked), 3))
        .isEqualTo(EtcdBackend.Kind.BINARY);
    assertThat(asked).hasValue(0);
  }

  @Test
  void noBinaryAndADockerEngineMeansTheContainer() {
    AtomicInteger asked = new AtomicInteger();
    assertThat(EtcdBackend.choose(MISSING, false, docker(true, asked), 1))
        .isEqualTo(EtcdBackend.Kind.CONTAINER);
    assertThat(asked).hasValue(1);
  }

  @Test
  void neitherFailsWithTheInstallHint() {
    assertThatThrownBy(
            () -> EtcdBackend.choose(MISSING, false, docker(false, new AtomicInteger()), 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("apt-get install etcd-server")
        .hasMessageContaining("KRPC_ETCD_BINARY")
        .hasMessageContaining("no Docker engine answered");
  }

  @Test
  void aNamedBinaryThatIsMissingNeverFallsBack() {
    AtomicInteger asked = new AtomicInteger();
    Supplier<Path> named = () -> EtcdCluster.findBinary(Paths.get("/nonexistent/etcd"), null, "");
    assertThatThrownBy(() -> EtcdBackend.choose(named, true, docker(true, asked), 1))
        .hasMessageContaining("/nonexistent/etcd is not an executable file")
        .hasMessageContaining("apt-get install etcd-server");
    assertThat(asked).hasValue(0);
  }

  @Test
  void theContainerRunsOneMemberOnly() {
    assertThatThrownBy(
            () -> EtcdBackend.choose(MISSING, false, docker(true, new AtomicInteger()), 3))
        .hasMessageStartingWith("members: 3 with no etcd binary (expected: 1;")
        .hasMessageContaining("apt-get install etcd-server");
  }

  @Test
  void theRealDockerProbeAnswersWithoutThrowing() {
    // No assertion on the answer: a machine with Docker says true, this one (none) says false.
    boolean answers = EtcdBackend.dockerAnswers();
    assertThat(answers).isIn(true, false);
  }

  @Test
  void containerImageIsValidated() {
    assertThatThrownBy(() -> EtcdClusterExtension.builder().containerImage(" "))
        .hasMessage(
            "containerImage: ' ' (expected: an image name such as "
                + "quay.io/coreos/etcd:v3.5.17)");
  }
}
