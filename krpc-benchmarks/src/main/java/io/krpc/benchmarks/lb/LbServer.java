package io.krpc.benchmarks.lb;

import com.google.common.util.concurrent.MoreExecutors;
import io.krpc.KServer;
import io.krpc.benchmarks.lb.DelayedGreeter.Behaviour;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * The server side of the {@code lb} benchmark, run in its own JVM (as the overload benchmark's
 * server) so that the client's latencies are not the servers' scheduling: {@code args[0]} {@link
 * DelayedGreeter}s, each behind its own KServer on 127.0.0.1. Prints {@code PORTS p0 p1 ...} once
 * serving, then answers one line per command on standard input:
 *
 * <ul>
 *   <li>{@code set <i> <baseMicros> <tailRatio> <tailMicros> <failureRatio>}: {@code OK};
 *   <li>{@code counts}: {@code COUNTS c0 c1 ...}, the calls each server received so far;
 *   <li>{@code delays}: {@code DELAYS <p50> <p99> <max>}, microseconds, of the delays served since
 *       the last {@code delays} by all servers.
 * </ul>
 *
 * Stops when its standard input closes.
 */
public final class LbServer {
  static final String PORTS_LINE = "PORTS";

  /** System property: {@code loop} for one event loop that also schedules the replies. */
  static final String LOOP_PROPERTY = "krpc.lb.loop";

  private LbServer() {}

  /** Serves until standard input closes. */
  public static void main(String[] args) throws IOException {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 4;
    // With -Dkrpc.lb.loop=loop (lb --one-loop) and epoll, one event loop serves all four servers
    // and schedules their replies (see EventLoops); otherwise grpc-java's default transport and a
    // timer thread.
    EventLoops loop =
        "loop".equals(System.getProperty(LOOP_PROPERTY))
            ? EventLoops.createOrNull("lb-server-loop")
            : null;
    ScheduledExecutorService timer =
        loop != null
            ? loop.group()
            : Executors.newScheduledThreadPool(
                2,
                r -> {
                  Thread t = new Thread(r, "lb-server-timer");
                  t.setDaemon(true);
                  return t;
                });
    DelayedGreeter.Lateness lateness = new DelayedGreeter.Lateness();
    List<DelayedGreeter> greeters = new ArrayList<>();
    List<KServer> servers = new ArrayList<>();
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    try {
      StringBuilder ports = new StringBuilder(PORTS_LINE);
      for (int i = 0; i < n; i++) {
        DelayedGreeter greeter =
            new DelayedGreeter(timer, lateness, "server-" + i, Behaviour.fixed(1000));
        greeters.add(greeter);
        KServer server = start(greeter, loop);
        servers.add(server);
        ports.append(' ').append(server.port());
      }
      out.println(ports);
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        out.println(answer(line.trim().split(" "), greeters));
      }
    } finally {
      servers.forEach(KServer::close);
      if (loop != null) {
        loop.close();
      } else {
        timer.shutdownNow();
      }
    }
  }

  private static String answer(String[] command, List<DelayedGreeter> greeters) {
    switch (command[0]) {
      case "set":
        greeters
            .get(Integer.parseInt(command[1]))
            .setBehaviour(
                new Behaviour(
                    Long.parseLong(command[2]),
                    Double.parseDouble(command[3]),
                    Long.parseLong(command[4]),
                    Double.parseDouble(command[5])));
        return "OK";
      case "counts":
        StringBuilder counts = new StringBuilder("COUNTS");
        greeters.forEach(g -> counts.append(' ').append(g.calls()));
        return counts.toString();
      case "delays":
        Histogram h = new Histogram(3);
        greeters.forEach(g -> g.servedDelays(h));
        return String.format(
            java.util.Locale.ROOT,
            "DELAYS %.1f %.1f %.1f",
            h.getValueAtPercentile(50) / 1000.0,
            h.getValueAtPercentile(99) / 1000.0,
            h.getMaxValue() / 1000.0);
      default:
        return "ERROR unknown command: " + String.join(" ", command);
    }
  }

  private static KServer start(DelayedGreeter greeter, @Nullable EventLoops loop) {
    KServer.Builder builder = KServer.builder();
    if (loop != null) {
      builder.serverCustomizer(loop::onServer);
    }
    return builder
        .serviceName(LbCommand.SERVICE)
        .host("127.0.0.1")
        .port(0)
        .addService(greeter)
        .executor(MoreExecutors.directExecutor()) // the handler only schedules its reply
        .tracing(false)
        .metrics(false)
        .healthService(false)
        .reflectionService(false)
        .deregisterDelay(Duration.ZERO)
        .shutdownHook(false)
        .start();
  }
}
