/** Benchmarks: JMH and load generators, never run as tests. */
package io.krpc.benchmarks;
