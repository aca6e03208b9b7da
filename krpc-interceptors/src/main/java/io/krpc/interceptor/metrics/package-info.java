/**
 * Serving Micrometer metrics to Prometheus: {@link
 * io.krpc.interceptor.metrics.PrometheusHttpServer} on a port of its own, or {@link
 * io.krpc.interceptor.metrics.PrometheusScrapeHandler} mounted on yours. The interceptors that
 * record RPC metrics are {@link io.krpc.interceptor.server.ServerMetricsInterceptor} and {@link
 * io.krpc.interceptor.client.ClientMetricsInterceptor}.
 */
package io.krpc.interceptor.metrics;
