/**
 * Internals of the etcd registry; not API. One state thread per registry owns a {@link
 * io.krpc.registry.etcd.internal.LeaseKeeper} (registrations), one {@link
 * io.krpc.registry.etcd.internal.ServiceWatcher} per watched service (discovery) and a {@link
 * io.krpc.registry.etcd.internal.ConnectionMonitor} (outage, restart and wipe detection).
 */
package io.krpc.registry.etcd.internal;
