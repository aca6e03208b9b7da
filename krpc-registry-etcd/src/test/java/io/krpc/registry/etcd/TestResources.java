package io.krpc.registry.etcd;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What an integration test opened, closed in reverse order after it; and the short-lease registries
 * the fault tests use (2 s lease, so expiry is observable within a test).
 */
final class TestResources implements AutoCloseable {
  private final List<AutoCloseable> opened = new ArrayList<>();

  /** Closes {@code resource} with the others, newest first. */
  <T extends AutoCloseable> T add(T resource) {
    opened.add(resource);
    return resource;
  }

  /** An EtcdRegistry on {@code endpoints} with a 2 s lease and a 5 s request timeout. */
  EtcdRegistry shortLeaseRegistry(List<String> endpoints) {
    return add(
        EtcdRegistry.builder()
            .endpoints(endpoints)
            .leaseTtl(Duration.ofSeconds(2))
            .requestTimeout(Duration.ofSeconds(5))
            .build());
  }

  @Override
  public void close() throws Exception {
    Collections.reverse(opened);
    for (AutoCloseable resource : opened) {
      resource.close();
    }
    opened.clear();
  }
}
