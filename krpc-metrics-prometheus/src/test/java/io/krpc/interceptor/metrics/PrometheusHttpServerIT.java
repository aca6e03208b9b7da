package io.krpc.interceptor.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PrometheusHttpServerIT {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final PrometheusHttpServer server =
      PrometheusHttpServer.start(
          registry, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));

  @AfterEach
  void tearDown() {
    server.close();
    registry.close();
  }

  @Test
  void servesTextFormatAtMetrics() throws Exception {
    Counter.builder("krpc.test.hits").register(registry).increment(3);

    HttpResponse<String> response = send("GET", server.port(), "/metrics");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("text/plain; version=0.0.4; charset=utf-8");
    assertThat(response.body()).contains("krpc_test_hits_total 3.0");
    assertThat(server.port()).isPositive();
    assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();
  }

  @Test
  void answersHeadWithoutBodyAndRefusesPost() throws Exception {
    HttpResponse<String> head = send("HEAD", server.port(), "/metrics");
    HttpResponse<String> post = send("POST", server.port(), "/metrics");

    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
  }

  @Test
  void stopsServingOnClose() {
    int port = server.port();

    server.close();
    server.close(); // idempotent

    assertThatThrownBy(() -> send("GET", port, "/metrics")).isInstanceOf(IOException.class);
  }

  @Test
  void handlerMountsOnAnHttpServerOfYourOwn() throws Exception {
    HttpServer own =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    own.createContext("/internal/prometheus", PrometheusScrapeHandler.of(registry));
    own.start();
    try {
      Counter.builder("krpc.test.mounted").register(registry).increment();

      HttpResponse<String> response =
          send("GET", own.getAddress().getPort(), "/internal/prometheus");

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).contains("krpc_test_mounted_total 1.0");
    } finally {
      own.stop(0);
    }
  }

  private HttpResponse<String> send(String method, int port, String path) throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .timeout(Duration.ofSeconds(5))
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
