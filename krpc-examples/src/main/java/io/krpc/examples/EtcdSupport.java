package io.krpc.examples;

import io.krpc.registry.Registry;

/** Builds the etcd registry for the examples' {@code --etcd=URL} option. */
final class EtcdSupport {
  private EtcdSupport() {}

  static Registry registry(String endpoints) {
    throw new UnsupportedOperationException("--etcd needs krpc-registry-etcd: " + endpoints);
  }
}
