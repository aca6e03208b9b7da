/** Helpers shared by the benchmark commands; not an API. */
package io.krpc.benchmarks.internal;
