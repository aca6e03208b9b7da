package io.krpc.interceptor.testing;

/** The four gRPC call types, for parameterized tests. */
public enum CallType {
  UNARY("UnaryRpc"),
  SERVER_STREAMING("ServerStreamingRpc"),
  CLIENT_STREAMING("ClientStreamingRpc"),
  BIDI_STREAMING("BidiStreamingRpc");

  private final String method;

  CallType(String method) {
    this.method = method;
  }

  /** The full method name on the test service. */
  public String fullMethodName() {
    return "grpc.testing.SimpleService/" + method;
  }
}
