/**
 * The etcd registry ({@link io.krpc.registry.etcd.EtcdRegistry}) and the {@code etcd://} name
 * resolver scheme ({@link io.krpc.registry.etcd.EtcdNameResolverProvider}).
 *
 * <p>Record format: key {@code <prefix><service>/<host>:<port>} (default prefix {@code
 * /krpc/services/}), value UTF-8 JSON {@code
 * {"version":1,"host":"10.0.0.5","port":9001,"weight":100,"metadata":{"zone":"a"}}}.
 */
package io.krpc.registry.etcd;
