/**
 * The overload benchmark: a CPU-bound server offered 1x, 2x and 4x its capacity at a fixed rate,
 * with and without the adaptive (BBR) limiter.
 */
package io.krpc.benchmarks.overload;
