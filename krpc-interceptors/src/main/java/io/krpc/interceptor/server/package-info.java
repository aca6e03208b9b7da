/**
 * Server-side governance interceptors: {@link io.krpc.interceptor.server.RecoveryInterceptor},
 * {@link io.krpc.interceptor.server.RateLimitInterceptor} and {@link
 * io.krpc.interceptor.server.AdaptiveLimitInterceptor}. Each works for unary and streaming calls
 * and can be used alone in any grpc-java server.
 */
package io.krpc.interceptor.server;
