/**
 * The {@code scale} benchmark: many client registries watching a large fleet on a real 3-member
 * etcd; see {@link io.krpc.benchmarks.scale.ScaleCommand}.
 */
package io.krpc.benchmarks.scale;
