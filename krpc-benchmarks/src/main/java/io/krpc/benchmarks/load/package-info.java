/**
 * A load generator for gRPC calls: fixed-concurrency and fixed-rate (open-loop) modes, HdrHistogram
 * latency, allocation per call. Entry point: {@link io.krpc.benchmarks.load.LoadGenerator}.
 */
package io.krpc.benchmarks.load;
