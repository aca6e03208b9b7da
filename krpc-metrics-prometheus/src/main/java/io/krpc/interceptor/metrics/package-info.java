/**
 * Serving Micrometer metrics to Prometheus: {@link
 * io.krpc.interceptor.metrics.PrometheusHttpServer} on a port of its own, or {@link
 * io.krpc.interceptor.metrics.PrometheusScrapeHandler} mounted on yours. This package is the
 * artifact {@code io.krpc:krpc-metrics-prometheus}, kept off krpc-core's default path: add it for
 * {@code KServer.Builder.metricsPort} and {@code KClient.Builder.metricsPort}. The interceptors
 * that record RPC metrics are {@code io.krpc.interceptor.server.ServerMetricsInterceptor} and
 * {@code io.krpc.interceptor.client.ClientMetricsInterceptor} in krpc-interceptors.
 */
package io.krpc.interceptor.metrics;
