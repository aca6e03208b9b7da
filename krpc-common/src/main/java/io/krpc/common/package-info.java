/**
 * KRPC's shared internals: the pieces that krpc-interceptors, krpc-loadbalance, krpc-core and
 * krpc-registry-etcd all need, written once (daemon threads, backoff, the rolling window, the
 * failure-code table, the ticker clock, the host address).
 *
 * <p><b>Internal: not an API.</b> Every type here may change or disappear in any release; users
 * depend on the other KRPC modules, which bring this one along. It sits at the ground floor with
 * grpc-api, below krpc-interceptors and krpc-loadbalance, and depends on no other KRPC module.
 */
@NullMarked
package io.krpc.common;

import org.jspecify.annotations.NullMarked;
