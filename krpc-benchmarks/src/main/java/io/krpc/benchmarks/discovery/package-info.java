/**
 * Discovery figures: start-to-first-call through a registry, resolver update cost with many
 * instances. Entry point: {@link io.krpc.benchmarks.discovery.DiscoverySuite}.
 */
package io.krpc.benchmarks.discovery;
