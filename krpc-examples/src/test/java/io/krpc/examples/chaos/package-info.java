/**
 * The KRPC chaos suite: integration tests that run a steady load (200 calls/s, async greeter stub,
 * deadlines) against three greeter KServers registered in a real etcd, inflict one fault per
 * scenario and count the failed calls.
 *
 * <ul>
 *   <li>{@link io.krpc.examples.chaos.RollingRestartChaosIT}: every server closed gracefully and
 *       started again, once per balancing policy: 0 failed calls;
 *   <li>{@link io.krpc.examples.chaos.ServerCrashChaosIT}: kill -9 of a server in its own JVM: no
 *       more failures than calls in flight; with a retry policy, 0;
 *   <li>{@link io.krpc.examples.chaos.EtcdOutageChaosIT}: etcd down longer than the lease TTL, etcd
 *       wiped: 0 failed calls, every registration back;
 *   <li>{@link io.krpc.examples.chaos.EtcdLeaderLossChaosIT}: the leader of a 3-member etcd killed:
 *       0 failed calls;
 *   <li>{@link io.krpc.examples.chaos.FailingServerChaosIT}: a failing server avoided by P2C and
 *       retries; a failing service stopped by the circuit breaker; recovery;
 *   <li>{@link io.krpc.examples.chaos.PausedServerChaosIT}: a SIGSTOPped server: deadlines fire,
 *       P2C moves the load away, no call hangs.
 * </ul>
 *
 * <p>Each scenario prints its figures and appends them to {@code target/chaos-results.md}; after
 * each one {@link io.krpc.examples.chaos.ChaosRig} checks that no thread, etcd lease, channel or
 * child process is left. Run only this suite with {@code ./mvnw -B -pl krpc-examples -am verify
 * -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test='*ChaosIT'}.
 */
package io.krpc.examples.chaos;
