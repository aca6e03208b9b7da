package io.krpc.spring;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One global client interceptor bean that keeps a separate KRPC interceptor per target service:
 * Spring gRPC applies global interceptors to every channel, while KRPC's metrics label and circuit
 * breaker belong to one target. The target is the channel's authority, which for a {@code
 * krpc:///<service>} channel is the service name.
 *
 * <p>Thread-safe; the per-target interceptor is created once, on the first call to that target.
 */
public final class PerTargetClientInterceptor implements ClientInterceptor {
  private final String kind;
  private final Function<String, ClientInterceptor> factory;
  private final Map<String, ClientInterceptor> byTarget = new ConcurrentHashMap<>();

  PerTargetClientInterceptor(String kind, Function<String, ClientInterceptor> factory) {
    this.kind = kind;
    this.factory = factory;
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    ClientInterceptor target = byTarget.get(next.authority());
    if (target == null) {
      target = byTarget.computeIfAbsent(next.authority(), factory);
    }
    return target.interceptCall(method, callOptions, next);
  }

  @Override
  public String toString() {
    return "PerTargetClientInterceptor{" + kind + ", targets=" + byTarget.keySet() + "}";
  }
}
