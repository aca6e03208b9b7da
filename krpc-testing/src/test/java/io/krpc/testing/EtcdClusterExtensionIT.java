package io.krpc.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class EtcdClusterExtensionIT {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  @RegisterExtension
  final EtcdClusterExtension perTest =
      EtcdClusterExtension.builder().lifecycle(EtcdClusterExtension.Lifecycle.PER_TEST).build();

  private static String firstPerTestEndpoint;

  @Test
  void sharedAndPerTestClustersRun() throws Exception {
    check();
  }

  @Test
  void perTestClusterIsFresh() throws Exception {
    check();
  }

  private void check() throws Exception {
    assertThat(etcd.cluster().member(0).isHealthy()).isTrue();
    assertThat(perTest.cluster().member(0).isHealthy()).isTrue();
    assertThat(perTest.endpointsString()).isNotEqualTo(etcd.endpointsString());
    EtcdClusterIT.put(perTest.endpoints().get(0), "mark", "x");
    synchronized (EtcdClusterExtensionIT.class) {
      if (firstPerTestEndpoint != null) {
        assertThat(perTest.endpointsString()).isNotEqualTo(firstPerTestEndpoint);
      }
      firstPerTestEndpoint = perTest.endpointsString();
    }
  }
}
