package io.krpc.interceptor.metrics;

import static io.krpc.common.Checks.notNull;

import com.sun.net.httpserver.HttpServer;
import io.krpc.common.DaemonThreads;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP server that serves a {@link PrometheusMeterRegistry} at {@code /metrics} in the
 * Prometheus text format, on the JDK's built-in {@code com.sun.net.httpserver}.
 *
 * <pre>{@code
 * try (PrometheusHttpServer metrics = PrometheusHttpServer.start(registry,
 *     new InetSocketAddress(9464))) {
 *   // scrape http://<host>:9464/metrics
 * }
 * }</pre>
 *
 * <p>Requests are served one at a time on a daemon thread of its own; scrapes are rare and cheap.
 * To serve the metrics from an HTTP server of your own, mount {@link PrometheusScrapeHandler}.
 *
 * <p>Thread-safe; {@link #close()} may be called from any thread, more than once.
 */
public final class PrometheusHttpServer implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(PrometheusHttpServer.class);

  /** The path the metrics are served at. */
  public static final String PATH = "/metrics";

  private final HttpServer server;
  private final ExecutorService executor;

  private PrometheusHttpServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Binds {@code address} (port 0 picks a free port) and starts serving {@code registry} at {@link
   * #PATH}.
   *
   * @throws UncheckedIOException if the address cannot be bound
   */
  public static PrometheusHttpServer start(
      PrometheusMeterRegistry registry, InetSocketAddress address) {
    notNull(registry, "registry");
    notNull(address, "address");
    HttpServer server;
    try {
      server = HttpServer.create(address, 0);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot bind the metrics endpoint to " + address, e);
    }
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            DaemonThreads.named("krpc-metrics-http-" + server.getAddress().getPort()));
    server.setExecutor(executor);
    server.createContext(PATH, PrometheusScrapeHandler.of(registry));
    server.start();
    InetSocketAddress bound = server.getAddress();
    logger.info(
        "Serving Prometheus metrics at http://{}:{}{}",
        bound.getHostString(),
        bound.getPort(),
        PATH);
    return new PrometheusHttpServer(server, executor);
  }

  /** Returns the bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Returns the bound address. */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** Stops serving at once; a scrape in progress is cut off. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdown();
    try {
      if (!executor.awaitTermination(1, TimeUnit.SECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      executor.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
