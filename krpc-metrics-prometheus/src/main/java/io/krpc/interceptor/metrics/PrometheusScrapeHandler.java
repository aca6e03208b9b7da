package io.krpc.interceptor.metrics;

import static io.krpc.common.Checks.notNull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A JDK {@link HttpHandler} that answers {@code GET} (and {@code HEAD}) with the Prometheus text
 * exposition format (version 0.0.4) of a {@link PrometheusMeterRegistry}; other methods get 405.
 * Mount it on your own {@code com.sun.net.httpserver.HttpServer}:
 *
 * <pre>{@code
 * HttpServer http = HttpServer.create(new InetSocketAddress(8080), 0);
 * http.createContext("/metrics", PrometheusScrapeHandler.of(registry));
 * http.start();
 * }</pre>
 *
 * For any other HTTP stack, serve {@link #scrape()} with {@link #CONTENT_TYPE}. {@link
 * PrometheusHttpServer} does all of this on a port of its own.
 *
 * <p>Thread-safe.
 */
public final class PrometheusScrapeHandler implements HttpHandler {
  /** The content type of the text exposition format that {@link #scrape()} returns. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final PrometheusMeterRegistry registry;

  private PrometheusScrapeHandler(PrometheusMeterRegistry registry) {
    this.registry = registry;
  }

  /** Returns a handler that scrapes {@code registry} on every request. */
  public static PrometheusScrapeHandler of(PrometheusMeterRegistry registry) {
    return new PrometheusScrapeHandler(notNull(registry, "registry"));
  }

  /** Returns the current values of every meter, in the text format of {@link #CONTENT_TYPE}. */
  public String scrape() {
    return registry.scrape();
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      boolean head = "HEAD".equals(method);
      if (!head && !"GET".equals(method)) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      exchange.sendResponseHeaders(200, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }
}
