/**
 * OpenTelemetry tracing for KRPC: {@link io.krpc.interceptor.tracing.TracingAgent} sets up an
 * OTLP/gRPC exporter from {@link io.krpc.interceptor.tracing.TracingOptions}; the interceptors that
 * create the spans are {@link io.krpc.interceptor.server.ServerTracingInterceptor} and {@link
 * io.krpc.interceptor.client.ClientTracingInterceptor}.
 */
package io.krpc.interceptor.tracing;
