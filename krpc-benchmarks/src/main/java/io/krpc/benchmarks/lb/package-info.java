/**
 * The load-balancing benchmark: four in-JVM greeter servers, one of them slow, driven through
 * {@code round_robin}, {@code least_request_experimental}, {@code krpc_p2c} and {@code krpc_wrr}.
 */
package io.krpc.benchmarks.lb;
