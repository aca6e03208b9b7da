/**
 * Exporting KRPC's traces: {@link io.krpc.interceptor.tracing.TracingAgent} sets up the
 * OpenTelemetry SDK with an OTLP/gRPC exporter from {@link
 * io.krpc.interceptor.tracing.TracingOptions}. This package is the artifact {@code
 * io.krpc:krpc-tracing-otlp}, kept off krpc-core's default path (the SDK, the exporter, OkHttp and
 * the Kotlin standard library come with it). The interceptors that create the spans, {@code
 * io.krpc.interceptor.server.ServerTracingInterceptor} and {@code
 * io.krpc.interceptor.client.ClientTracingInterceptor} in krpc-interceptors, need only the
 * OpenTelemetry API.
 */
package io.krpc.interceptor.tracing;
