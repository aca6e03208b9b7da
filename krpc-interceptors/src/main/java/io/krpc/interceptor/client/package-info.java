/**
 * Client-side governance interceptors: {@link io.krpc.interceptor.client.CircuitBreakerInterceptor}
 * and {@link io.krpc.interceptor.client.TimeoutInterceptor}. Each works for unary and streaming
 * calls and can be used alone in any grpc-java channel.
 */
package io.krpc.interceptor.client;
