package io.krpc.testing;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EtcdClusterTest {

  @Test
  void aNullNamesTheOption() {
    assertThatThrownBy(() -> EtcdCluster.builder().binary(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("binary: null (expected: not null)");
    assertThatThrownBy(() -> EtcdCluster.builder().startTimeout(null))
        .hasMessage("startTimeout: null (expected: not null)");
  }

  @Test
  void missingBinaryFailsWithInstallHint(@TempDir Path emptyDir) {
    assertThatThrownBy(() -> EtcdCluster.findBinary(null, null, emptyDir.toString()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("apt-get install etcd-server")
        .hasMessageContaining("KRPC_ETCD_BINARY");
  }

  @Test
  void envVariableNamingNoFileFails(@TempDir Path emptyDir) {
    assertThatThrownBy(() -> EtcdCluster.findBinary(null, emptyDir.resolve("etcd").toString(), ""))
        .hasMessageContaining("KRPC_ETCD_BINARY=")
        .hasMessageContaining("is not an executable file");
  }

  @Test
  void configuredBinaryMustBeExecutable(@TempDir Path emptyDir) {
    assertThatThrownBy(() -> EtcdCluster.builder().binary(emptyDir.resolve("nope")).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("apt-get install etcd-server");
  }

  @Test
  void builderValidates() {
    assertThatThrownBy(() -> EtcdCluster.builder().members(2))
        .hasMessage("members: 2 (expected: 1 or 3)");
    assertThatThrownBy(() -> EtcdCluster.builder().startTimeout(Duration.ZERO))
        .hasMessage("startTimeout: PT0S (expected: > 0)");
  }
}
