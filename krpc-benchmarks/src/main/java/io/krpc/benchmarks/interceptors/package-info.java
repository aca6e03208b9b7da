/**
 * JMH benchmark of the per-call cost of each KRPC governance interceptor and of the default chain,
 * against a bare in-process call.
 */
package io.krpc.benchmarks.interceptors;
