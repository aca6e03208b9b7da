package io.krpc.examples;

import io.krpc.registry.Registry;
import io.krpc.registry.etcd.EtcdRegistry;

/** Builds the etcd registry for the examples' {@code --etcd=URL[,URL...]} option. */
final class EtcdSupport {
  private EtcdSupport() {}

  static Registry registry(String endpoints) {
    return EtcdRegistry.builder().endpoints(endpoints.split(",")).build();
  }
}
