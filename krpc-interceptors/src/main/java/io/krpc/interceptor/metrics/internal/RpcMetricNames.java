package io.krpc.interceptor.metrics.internal;

/**
 * Micrometer meter names of one side. Micrometer's Prometheus naming convention turns them into the
 * KRPC names: {@code prpc.server.req.client.handle.total} (counter) renders as {@code
 * prpc_server_req_client_handle_total}, the timer {@code prpc.server.req.client.handle} as {@code
 * prpc_server_req_client_handle_seconds}.
 */
public enum RpcMetricNames {
  SERVER(
      "prpc.server.req.client.handle.total",
      "prpc.server.req.client.handle",
      "prpc.server.req.in.flight",
      "server"),
  CLIENT(
      "prpc.client.req.client.handle.total",
      "prpc.client.req.client.handle",
      "prpc.client.req.in.flight",
      "client");

  private final String counter;
  private final String timer;
  private final String inFlight;
  private final String side;

  RpcMetricNames(String counter, String timer, String inFlight, String side) {
    this.counter = counter;
    this.timer = timer;
    this.inFlight = inFlight;
    this.side = side;
  }

  public String counter() {
    return counter;
  }

  public String timer() {
    return timer;
  }

  public String inFlight() {
    return inFlight;
  }

  /** "server" or "client", for meter descriptions. */
  public String side() {
    return side;
  }
}
