package io.krpc.examples.tour;

import io.grpc.StatusRuntimeException;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.registry.etcd.EtcdRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A tour of KRPC's features in one JVM, in well under a minute: each step starts greeter KServers
 * registered in a registry, calls them through a KClient, prints what happened and checks that it
 * showed what it promises. The steps are in {@link TourSteps}.
 *
 * <p>Needs nothing installed: the registry is in memory. {@code --etcd=http://127.0.0.1:2379}
 * (comma-separated for several endpoints) runs every step against a real etcd instead. Throws, so
 * the process fails, when a step did not show what it promises.
 */
public final class Tour {
  /** Held so that its level sticks: JUL keeps loggers weakly. */
  private static final Logger GRPC_JUL = Logger.getLogger("io.grpc");

  private final Registry registry;
  private final String registryName;
  private final PrintStream out;

  /** Makes service names unique per run, so that a shared etcd never mixes two runs. */
  private final String runId = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000));

  private final Deque<AutoCloseable> stepResources = new ArrayDeque<>();
  private final List<String> notShown = new ArrayList<>();
  private int step;

  Tour(Registry registry, String registryName, PrintStream out) {
    this.registry = registry;
    this.registryName = registryName;
    this.out = out;
  }

  /** Runs the tour; {@code --etcd=URL[,URL...]} for a real etcd. */
  public static void main(String[] args) throws Exception {
    quietLogs();
    String etcd = null;
    for (String arg : args) {
      if (arg.startsWith("--etcd=") && arg.length() > "--etcd=".length()) {
        etcd = arg.substring("--etcd=".length());
      } else {
        throw new IllegalArgumentException(
            "unknown argument: "
                + arg
                + " (expected: none, or --etcd=http://HOST:PORT[,http://HOST:PORT...])");
      }
    }
    long start = System.nanoTime();
    List<String> failed;
    try (Registry registry =
        etcd == null
            ? new InMemoryRegistry()
            : EtcdRegistry.builder().endpoints(etcd.split(",")).build()) {
      failed = new Tour(registry, etcd == null ? "in-memory" : "etcd " + etcd, System.out).run();
    }
    System.out.printf(
        Locale.ROOT,
        "%nTour finished in %.1f s: %d of %d steps showed what they " + "promise.%n",
        (System.nanoTime() - start) / 1e9,
        TourSteps.COUNT - failed.size(),
        TourSteps.COUNT);
    if (!failed.isEmpty()) {
      throw new IllegalStateException("steps that did not show what they promise: " + failed);
    }
  }

  /**
   * The tour's own output is what a newcomer reads; KRPC's INFO lines (every server start and stop)
   * would bury it. WARN and above stay, on standard output so that they appear in order (the
   * breaker opening is part of the tour). The slow-call log line is printed by the tour itself
   * (under {@code mvn -q exec:java} Maven's own logger would hide it), so its logger is quieted
   * here to print it once. The handler exception's stack trace, which the server logs at ERROR, is
   * left out and described instead; so are grpc-java's own (JUL) warnings about a channel that
   * starts before discovery answers. A user's own {@code -D} settings win.
   */
  private static void quietLogs() {
    GRPC_JUL.setLevel(Level.SEVERE);
    String timeout = "org.slf4j.simpleLogger.log.io.krpc.interceptor.client.TimeoutInterceptor";
    System.setProperty(timeout, System.getProperty(timeout, "error"));
    System.setProperty(
        "org.slf4j.simpleLogger.defaultLogLevel",
        System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    System.setProperty(
        "org.slf4j.simpleLogger.logFile",
        System.getProperty("org.slf4j.simpleLogger.logFile", "System.out"));
    String recovery = "org.slf4j.simpleLogger.log.io.krpc.interceptor.server.RecoveryInterceptor";
    System.setProperty(recovery, System.getProperty(recovery, "off"));
  }

  /** Runs every step; returns the titles of those that did not show what they promise. */
  List<String> run() {
    out.printf(
        "KRPC tour: %d steps, registry: %s%s%n",
        TourSteps.COUNT,
        registryName,
        registryName.equals("in-memory") ? " (--etcd=http://127.0.0.1:2379 for a real etcd)" : "");
    new TourSteps(this).runAll();
    return notShown;
  }

  /** A step's verdict: whether it showed its point, and the one line that says what it showed. */
  record Verdict(boolean shown, String summary) {}

  /** A step body; its servers and clients are closed when it returns. */
  interface StepBody {
    Verdict run() throws Exception;
  }

  /** Runs one step: prints its title, runs it, closes what it opened, prints its verdict. */
  void step(String title, StepBody body) {
    step++;
    out.printf("%n[%d/%d] %s%n", step, TourSteps.COUNT, title);
    long start = System.nanoTime();
    Verdict verdict;
    try {
      verdict = body.run();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      verdict = new Verdict(false, "failed: " + e);
    } finally {
      closeStepResources();
    }
    out.printf(
        Locale.ROOT,
        "      => %s: %s (%.1f s)%n",
        verdict.shown() ? "shown" : "NOT SHOWN",
        verdict.summary(),
        (System.nanoTime() - start) / 1e9);
    if (!verdict.shown()) {
      notShown.add(title);
    }
  }

  private void closeStepResources() {
    while (!stepResources.isEmpty()) {
      try {
        stepResources.pop().close();
      } catch (Exception e) {
        out.println("      (closing failed: " + e + ")");
      }
    }
  }

  /** Prints one indented line of a step. */
  void say(String format, Object... args) {
    out.printf(Locale.ROOT, "      " + format + "%n", args);
  }

  /** Closes {@code resource} when the current step ends. */
  <T extends AutoCloseable> T closeAtStepEnd(T resource) {
    stepResources.push(resource);
    return resource;
  }

  /** The service name of a step, unique to this run. */
  String service(String name) {
    return "tour-" + name + "-" + runId;
  }

  /** Starts a greeter KServer of {@code service} on a free loopback port, closed at step end. */
  KServer server(String service, TourGreeter greeter, UnaryOperator<KServer.Builder> options) {
    KServer server =
        options
            .apply(
                KServer.builder()
                    .serviceName(service)
                    .host("127.0.0.1")
                    .port(0)
                    .registry(registry)
                    .deregisterDelay(Duration.ofMillis(100))
                    .shutdownGracePeriod(Duration.ofSeconds(5))
                    .addService(greeter))
            .start();
    greeter.endpoint(server.instance().endpoint());
    return closeAtStepEnd(server);
  }

  /** A KClient of {@code service}, discovering it in the tour's registry, closed at step end. */
  KClient client(String service, UnaryOperator<KClient.Builder> options) {
    return closeAtStepEnd(
        options
            .apply(
                KClient.forService(service).registry(registry).closeTimeout(Duration.ofSeconds(5)))
            .build());
  }

  static GreeterGrpc.GreeterBlockingStub stub(KClient client) {
    return GreeterGrpc.newBlockingStub(client.channel());
  }

  static HelloReply hello(KClient client, String name) {
    return stub(client)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .sayHello(HelloRequest.newBuilder().setName(name).build());
  }

  /** Calls until every one of {@code servers} has answered (at most 10 s). */
  static void awaitAnswersFrom(KClient client, Collection<KServer> servers)
      throws InterruptedException {
    Set<String> wanted = new HashSet<>();
    servers.forEach(s -> wanted.add(s.instance().endpoint()));
    Set<String> seen = new HashSet<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!seen.containsAll(wanted)) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("servers " + wanted + " did not all answer; seen " + seen);
      }
      try {
        seen.add(
            stub(client)
                .withWaitForReady()
                .withDeadlineAfter(2, TimeUnit.SECONDS)
                .sayHello(HelloRequest.newBuilder().setName("warm-up").build())
                .getServer());
      } catch (StatusRuntimeException e) {
        Thread.sleep(20); // discovery or a connection is still on its way
      }
    }
  }
}
