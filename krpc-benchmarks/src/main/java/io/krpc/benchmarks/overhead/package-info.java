/**
 * The overhead suite: KRPC against raw grpc-java and Armeria on the same workloads, in one run.
 * Entry point: {@link io.krpc.benchmarks.overhead.OverheadSuite}.
 */
package io.krpc.benchmarks.overhead;
