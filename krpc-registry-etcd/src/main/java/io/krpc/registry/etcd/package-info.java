/** The etcd registry and the etcd:// name resolver scheme. */
package io.krpc.registry.etcd;
