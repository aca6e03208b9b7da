package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A KClient's {@code prpc_client_*} metrics reach a registry of its own and its /metrics. */
class ClientMetricsTest {

  private static String scrape(int port) throws IOException, InterruptedException {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  @Test
  void clientMetricsAppearOnTheClientsMetricsEndpoint() throws Exception {
    try (KServer server =
        KServer.builder()
            .serviceName("echo")
            .host("127.0.0.1")
            .port(0)
            .deregisterDelay(Duration.ZERO)
            .addService(new EchoService(() -> "s"))
            .start()) {
      int metricsPort;
      try (KClient client =
          KClient.forTarget("127.0.0.1:" + server.port()).metricsPort(0).build()) {
        SimpleServiceGrpc.newBlockingStub(client.channel())
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .unaryRpc(SimpleRequest.getDefaultInstance());
        metricsPort = client.metricsPort();
        assertThat(metricsPort).isPositive();
        assertThat(client.meterRegistry()).isInstanceOf(PrometheusMeterRegistry.class);
        String text = scrape(metricsPort);
        assertThat(text)
            .contains("prpc_client_req_client_handle_total{")
            .contains("prpc_client_req_client_handle_seconds_bucket{")
            .contains("method=\"/grpc.testing.SimpleService/UnaryRpc\"")
            .contains("code=\"OK\"");
        // Not the server's meters: the client has a registry of its own.
        assertThat(text).doesNotContain("prpc_server_req_client_handle_total");
      }
      // The global registry (no backend unless the application adds one) got nothing.
      assertThat(Metrics.globalRegistry.find("prpc_client_req_client_handle_total").meters())
          .isEmpty();
      // close() stopped the endpoint.
      assertThatThrownBy(() -> scrape(metricsPort)).isInstanceOf(IOException.class);
    }
  }

  @Test
  void clientAndServerShareOneEndpointWhenGivenTheSameRegistry() throws Exception {
    try (KServer server =
            KServer.builder()
                .serviceName("echo")
                .host("127.0.0.1")
                .port(0)
                .metricsPort(0)
                .deregisterDelay(Duration.ZERO)
                .addService(new EchoService(() -> "s"))
                .start();
        KClient client =
            KClient.forTarget("127.0.0.1:" + server.port())
                .meterRegistry(server.meterRegistry())
                .build()) {
      SimpleServiceGrpc.newBlockingStub(client.channel())
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .unaryRpc(SimpleRequest.getDefaultInstance());
      assertThat(client.metricsPort()).isEqualTo(-1);
      assertThat(scrape(server.metricsPort()))
          .contains("prpc_client_req_client_handle_total{")
          .contains("prpc_server_req_client_handle_total{");
    }
  }

  @Test
  void aMetricsPortNeedsAPrometheusRegistry() {
    assertThatThrownBy(
            () ->
                KClient.forTarget("127.0.0.1:1")
                    .metricsPort(0)
                    .meterRegistry(new SimpleMeterRegistry())
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("metricsPort: 0 with meterRegistry: ")
        .hasMessageContaining("(expected: a PrometheusMeterRegistry");
    assertThatThrownBy(() -> KClient.forTarget("127.0.0.1:1").metricsPort(70000))
        .hasMessage("metricsPort: 70000 (expected: 0..65535, 0 picks a free port)");
  }
}
