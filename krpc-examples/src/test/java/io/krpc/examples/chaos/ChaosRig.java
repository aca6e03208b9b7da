package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.StatusRuntimeException;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.etcd.EtcdRegistry;
import io.krpc.testing.EtcdCluster;
import io.krpc.testing.EtcdMember;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one chaos scenario runs on: greeter KServers registered in a real etcd (in this JVM or
 * in child JVMs), KClients discovering them, and the checks that nothing leaks once the scenario
 * has closed it all: no leftover KRPC/grpc/etcd threads, no lease left in etcd, every client
 * channel terminated, every child process gone.
 *
 * <p>Each server gets its own {@link EtcdRegistry} (its own lease), as separate processes would.
 */
final class ChaosRig implements AutoCloseable {
  static final String SERVICE = "greeter";
  private static final Logger logger = LoggerFactory.getLogger(ChaosRig.class);

  /** Threads KRPC, grpc-java, Netty, jetcd (vert.x) or this suite start. */
  private static final Pattern RPC_THREAD =
      Pattern.compile("(?i).*(grpc|krpc|etcd|vert\\.?x|netty|epoll|eventloop|chaos-load).*");

  /** Generous: the first etcd call of a fresh JVM on a loaded 2-core CI machine is slow. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  /**
   * The deadline of the load's calls where a scenario promises zero failures: far above a loopback
   * call, but a shared CI machine can stall a JVM for a second or more.
   */
  static final Duration DEADLINE = Duration.ofSeconds(5);

  private static final Pattern LEASES = Pattern.compile("found (\\d+) leases");

  final EtcdCluster etcd;
  private final Duration leaseTtl;
  private final Set<Thread> threadsBefore;
  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
  private final List<KClient> clients = new ArrayList<>();
  private final List<ChildServer> children = new ArrayList<>();

  ChaosRig(EtcdCluster etcd, Duration leaseTtl) {
    this.etcd = etcd;
    this.leaseTtl = leaseTtl;
    this.threadsBefore = Set.copyOf(Thread.getAllStackTraces().keySet());
  }

  /** A registry on this rig's etcd with its lease TTL, closed with the rig. */
  EtcdRegistry registry() {
    EtcdRegistry registry =
        EtcdRegistry.builder()
            .endpoints(etcd.endpoints())
            .leaseTtl(leaseTtl)
            .requestTimeout(REQUEST_TIMEOUT)
            .build();
    closeables.push(registry);
    return registry;
  }

  /** A greeter server in this JVM; {@code port} 0 picks one. */
  LocalServer startServer(int port, Duration handlerDelay) {
    LocalServer server = new LocalServer(registry(), port, handlerDelay);
    closeables.push(server);
    return server;
  }

  /** A greeter server in its own JVM, registered with {@code childLeaseTtl}. */
  ChildServer startChild(Duration childLeaseTtl, Duration handlerDelay)
      throws IOException, InterruptedException {
    ChildServer child = ChildServer.start(etcd.endpointsString(), childLeaseTtl, handlerDelay);
    children.add(child);
    closeables.push(child);
    return child;
  }

  /** A client of the greeter service, customised by {@code options}. */
  KClient client(UnaryOperator<KClient.Builder> options) {
    KClient client =
        options
            .apply(
                KClient.forService(SERVICE)
                    .registry(registry())
                    .closeTimeout(Duration.ofSeconds(5)))
            .build();
    clients.add(client);
    closeables.push(client);
    return client;
  }

  /** A steady load on {@code client}, started at once and stopped first when the rig closes. */
  SteadyLoad load(KClient client, int ratePerSecond, Duration deadline) {
    SteadyLoad load = new SteadyLoad(client.channel(), ratePerSecond, deadline);
    closeables.push(load);
    return load.start();
  }

  /**
   * Calls until every endpoint in {@code endpoints} has answered (at most 20 s), so a scenario
   * starts with a client that knows all its servers.
   */
  static void awaitAnswersFrom(KClient client, Collection<String> endpoints) {
    GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(client.channel());
    Set<String> seen = new HashSet<>();
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(5))
        .until(
            () -> {
              try {
                seen.add(
                    stub.withWaitForReady()
                        .withDeadlineAfter(2, TimeUnit.SECONDS)
                        .sayHello(HelloRequest.newBuilder().setName("warm-up").build())
                        .getServer());
              } catch (StatusRuntimeException e) {
                logger.debug("warm-up call failed: {}", e.getStatus());
              }
              return seen.containsAll(endpoints);
            });
  }

  /** The number of leases etcd holds, asked with {@code etcdctl lease list} of a running member. */
  int etcdLeases() throws IOException, InterruptedException {
    String endpoints =
        etcd.members().stream()
            .filter(EtcdMember::isRunning)
            .map(EtcdMember::endpoint)
            .collect(Collectors.joining(","));
    Process p =
        new ProcessBuilder(
                "etcdctl",
                "--endpoints=" + endpoints,
                "--dial-timeout=2s",
                "--command-timeout=3s",
                "lease",
                "list")
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(10, TimeUnit.SECONDS);
    Matcher m = LEASES.matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("etcdctl lease list said: " + out);
    }
    return Integer.parseInt(m.group(1));
  }

  /** The greeter instances registered in etcd, asked through a new registry; -1 on error. */
  int registeredInstances() {
    try (EtcdRegistry probe =
        EtcdRegistry.builder()
            .endpoints(
                etcd.members().stream()
                    .filter(EtcdMember::isRunning)
                    .map(EtcdMember::endpoint)
                    .toList())
            .requestTimeout(Duration.ofSeconds(2))
            .build()) {
      return probe.lookup(SERVICE).size();
    } catch (RuntimeException e) {
      logger.debug("lookup failed: {}", e.toString());
      return -1;
    }
  }

  /** Closes everything, newest first, then asserts that nothing leaked. */
  @Override
  public void close() throws Exception {
    Exception first = null;
    while (!closeables.isEmpty()) {
      try {
        closeables.pop().close();
      } catch (Exception e) {
        logger.warn("close failed", e);
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
    for (ChildServer child : children) {
      assertThat(child.isAlive()).as("%s still running", child).isFalse();
    }
    for (KClient client : clients) {
      assertThat(client.channel().isTerminated()).as("channel of %s terminated", client).isTrue();
    }
    // A killed child's lease lives until its TTL runs out; a closed registry revokes its own.
    await("no lease left in etcd")
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> etcdLeases() == 0);
    await("no leftover threads")
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(() -> assertThat(leftoverThreads()).as("leftover threads").isEmpty());
  }

  /** Live threads started since the rig was made that are non-daemon or RPC threads. */
  List<String> leftoverThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && !threadsBefore.contains(t))
        .filter(t -> !t.getName().startsWith("awaitility"))
        .filter(t -> !t.isDaemon() || RPC_THREAD.matcher(t.getName()).matches())
        .map(t -> t.getName() + (t.isDaemon() ? "" : " (non-daemon)"))
        .sorted()
        .toList();
  }

  /** A greeter KServer in this JVM with a switchable handler; restartable on the same port. */
  static final class LocalServer implements AutoCloseable {
    private final EtcdRegistry registry;
    final ChaosGreeter greeter;
    private volatile KServer server;
    private volatile int port;

    LocalServer(EtcdRegistry registry, int port, Duration handlerDelay) {
      this.registry = registry;
      this.greeter = new ChaosGreeter(() -> "127.0.0.1:" + this.port, handlerDelay);
      this.port = port;
      start();
    }

    /** Starts (again) on the same port; the first start with port 0 picks one. */
    void start() {
      server =
          KServer.builder()
              .serviceName(SERVICE)
              .host("127.0.0.1")
              .port(port)
              .registry(registry)
              .addService(greeter)
              .deregisterDelay(Duration.ofMillis(500))
              .shutdownGracePeriod(Duration.ofSeconds(5))
              .start();
      port = server.port();
    }

    String endpoint() {
      return "127.0.0.1:" + port;
    }

    int port() {
      return port;
    }

    /** Graceful close: NOT_SERVING, deregister, deregister delay, drain. */
    @Override
    public void close() {
      server.close();
    }
  }
}
