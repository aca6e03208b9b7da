package io.krpc.interceptor.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.krpc.interceptor.client.ClientMetricsInterceptor;
import io.krpc.interceptor.obstesting.CallType;
import io.krpc.interceptor.obstesting.ObservedSimpleService;
import io.krpc.interceptor.server.ServerMetricsInterceptor;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus server (the {@code prometheus} binary on PATH, Debian package {@code
 * prometheus}) scrapes a {@link PrometheusHttpServer} in front of a gRPC server on real sockets,
 * and its query API returns the KRPC request counter.
 */
class PrometheusScrapeIT {
  private static Path prometheusBinary;

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  @TempDir Path workDir;
  private Server server;
  private ManagedChannel channel;
  private PrometheusHttpServer metricsEndpoint;
  private Process prometheus;

  @BeforeAll
  static void findPrometheus() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "prometheus");
      if (Files.isExecutable(candidate)) {
        prometheusBinary = candidate;
        return;
      }
    }
    fail(
        "The 'prometheus' binary is not on PATH; this test needs a real Prometheus server. "
            + "Install it with 'apt-get install -y prometheus' (.ci/run does so when missing).");
  }

  @BeforeEach
  void startServers() throws IOException {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                ServerInterceptors.intercept(
                    new ObservedSimpleService(),
                    ServerMetricsInterceptor.create(registry, "simple")))
            .build()
            .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    metricsEndpoint =
        PrometheusHttpServer.start(
            registry, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
  }

  @AfterEach
  void stopAll() throws Exception {
    if (prometheus != null) {
      prometheus.destroy();
      if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
        prometheus.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
    metricsEndpoint.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    registry.close();
  }

  @Test
  void prometheusScrapesTheRequestCounter() throws Exception {
    var intercepted =
        ClientInterceptors.intercept(channel, ClientMetricsInterceptor.create(registry, "simple"));
    for (int i = 0; i < 3; i++) {
      assertThat(CallType.UNARY.call(intercepted, "a").getCode()).isEqualTo(Status.Code.OK);
    }
    assertThat(CallType.BIDI_STREAMING.call(intercepted, ObservedSimpleService.FAIL).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);

    int prometheusPort = startPrometheus();

    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .untilAsserted(
            () ->
                assertThat(
                        query(prometheusPort, "prpc_server_req_client_handle_total{code=\"OK\"}"))
                    .contains("\"__name__\":\"prpc_server_req_client_handle_total\"")
                    .contains("\"method\":\"/grpc.testing.SimpleService/UnaryRpc\"")
                    .contains("\"server\":\"simple\"")
                    .contains("\"ip\":\"127.0.0.1\"")
                    .contains("\"code\":\"OK\"")
                    .contains(",\"3\"]"));
    assertThat(query(prometheusPort, "prpc_server_req_client_handle_total{code!=\"OK\"}"))
        .contains("\"method\":\"/grpc.testing.SimpleService/BidiStreamingRpc\"")
        .contains("\"code\":\"INVALID_ARGUMENT\"")
        .contains(",\"1\"]");
    assertThat(query(prometheusPort, "sum(prpc_client_req_client_handle_total)"))
        .contains(",\"4\"]");
    assertThat(query(prometheusPort, "sum(prpc_server_req_client_handle_seconds_count)"))
        .contains(",\"4\"]");
  }

  private int startPrometheus() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Path config = workDir.resolve("prometheus.yml");
    Files.writeString(
        config,
        String.join(
            "\n",
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "scrape_configs:",
            "  - job_name: krpc",
            "    static_configs:",
            "      - targets: ['127.0.0.1:" + metricsEndpoint.port() + "']",
            ""));
    Path log = workDir.resolve("prometheus.log");
    prometheus =
        new ProcessBuilder(
                prometheusBinary.toString(),
                "--config.file=" + config,
                "--storage.tsdb.path=" + workDir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .ignoreExceptions()
          .until(() -> get(port, "/-/ready").statusCode() == 200);
    } catch (RuntimeException e) {
      throw new AssertionError(
          "Prometheus did not become ready; alive="
              + prometheus.isAlive()
              + ", log:\n"
              + Files.readString(log),
          e);
    }
    return port;
  }

  private String query(int port, String promQl) throws Exception {
    HttpResponse<String> response =
        get(port, "/api/v1/query?query=" + URLEncoder.encode(promQl, StandardCharsets.UTF_8));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response.body();
  }

  private HttpResponse<String> get(int port, String pathAndQuery) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
