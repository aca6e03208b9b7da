package io.krpc.benchmarks.lb;

import io.grpc.LoadBalancerRegistry;
import io.krpc.benchmarks.Options;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.benchmarks.load.LoadGenerator;
import io.krpc.benchmarks.load.LoadResult;
import io.krpc.benchmarks.internal.MarkdownReport;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.InMemoryRegistry;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code lb}: four in-JVM greeter servers behind one in-memory registry, one of them slow, driven at
 * a fixed concurrency through each load-balancing policy in turn; prints p50, p99, p99.9,
 * throughput and the slow server's share of the calls side by side, plus a {@code krpc_p2c} run
 * over four healthy servers as the baseline.
 *
 * <p>Options: {@code --concurrency=4}, {@code --warmup=2s} and {@code --duration=8s} per row,
 * {@code --fast=10ms} and {@code --slow=100ms} handler latency (the defaults keep the service time
 * well above this harness's own scheduling jitter, a few ms at p99 on two cores, which would
 * otherwise be what the policies compare), {@code --tail} to make the slow
 * server answer 5% of its calls in 100 ms (and the rest in the fast time) instead,
 * {@code --policies=a,b} to run a subset, {@code --p2c-decay=1s,250ms} to add {@code krpc_p2c}
 * rows (healthy and slow) with other decay times; the table goes to {@code lb.md} in the results
 * directory ({@code --results=DIR}), replaced, or added to with {@code --append}; {@code
 * --no-files} writes nothing.
 */
public final class LbCommand {
  static final String SLOW_SERVICE = "lb-bench";
  static final String HEALTHY_SERVICE = "lb-bench-healthy";
  static final String HEALTHY = "4 healthy";
  static final String SLOW = "1 of 4 slow";
  static final List<String> POLICIES =
      List.of("round_robin", "least_request_experimental", "krpc_p2c", "krpc_wrr");

  private LbCommand() {}

  /** Runs the benchmark with the options in {@code args}, {@code args[0]} being {@code lb}. */
  public static void run(String[] args) throws Exception {
    Settings options = Settings.from(Options.parse(args));
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "lb-bench-timer");
      t.setDaemon(true);
      return t;
    });
    InMemoryRegistry registry = new InMemoryRegistry();
    List<KServer> servers = new ArrayList<>();
    List<DelayedGreeter> slowCluster = new ArrayList<>();
    List<DelayedGreeter> healthyCluster = new ArrayList<>();
    List<Row> rows = new ArrayList<>();
    try {
      long fast = TimeUnit.NANOSECONDS.toMicros(options.fast.toNanos());
      for (int i = 0; i < 4; i++) {
        DelayedGreeter greeter = i > 0 ? new DelayedGreeter(timer, "fast-" + i, fast, 0, 0)
            : options.tail ? new DelayedGreeter(timer, "slow", fast, 0.05, 100_000)
            : new DelayedGreeter(timer, "slow", TimeUnit.NANOSECONDS.toMicros(options.slow.toNanos()),
                0, 0);
        slowCluster.add(greeter);
        servers.add(start(SLOW_SERVICE, greeter, registry));
        DelayedGreeter healthy = new DelayedGreeter(timer, "healthy-" + i, fast, 0, 0);
        healthyCluster.add(healthy);
        servers.add(start(HEALTHY_SERVICE, healthy, registry));
      }
      // JIT, class loading and connection setup would otherwise land in the first row.
      measure("JVM warm-up", "round_robin", HEALTHY_SERVICE, healthyCluster, registry, options);
      if (registered("krpc_p2c")) {
        rows.add(measure(HEALTHY, "krpc_p2c", HEALTHY_SERVICE, healthyCluster, registry, options));
      }
      for (String policy : options.policies) {
        if (registered(policy)) {
          rows.add(measure(SLOW, policy, SLOW_SERVICE, slowCluster, registry, options));
        }
      }
      for (String decay : options.p2cDecays) {
        if (registered("krpc_p2c")) {
          rows.add(measure(HEALTHY, "krpc_p2c", Map.of("decayTime", decay), HEALTHY_SERVICE,
              healthyCluster, registry, options));
          rows.add(measure(SLOW, "krpc_p2c", Map.of("decayTime", decay), SLOW_SERVICE,
              slowCluster, registry, options));
        }
      }
    } finally {
      servers.forEach(KServer::close);
      timer.shutdownNow();
    }
    String table = table(rows, options, slowCluster.get(0).describe());
    System.out.println();
    System.out.println(table);
    if (options.out != null) {
      MarkdownReport.write(options.out, "Load balancing: " + (options.tail
              ? "one backend of four answers 5% of its calls in 100 ms"
              : "one backend of four is " + options.slow.toNanos() / options.fast.toNanos()
                  + "x slower")
              + ", concurrency " + options.concurrency,
          String.join(" ", args), table, options.append);
    }
  }

  private static boolean registered(String policy) {
    if (LoadBalancerRegistry.getDefaultRegistry().getProvider(policy) != null) {
      return true;
    }
    System.out.println("policy " + policy + " is not registered in this JVM; skipped");
    return false;
  }

  private static KServer start(String service, DelayedGreeter greeter, InMemoryRegistry registry) {
    return KServer.builder()
        .serviceName(service)
        .host("127.0.0.1")
        .port(0)
        .weight(100)
        .registry(registry)
        .addService(greeter)
        .deregisterDelay(Duration.ZERO)
        .shutdownHook(false)
        .start();
  }

  private static Row measure(String scenario, String policy, String service,
      List<DelayedGreeter> cluster, InMemoryRegistry registry, Settings options)
      throws InterruptedException {
    return measure(scenario, policy, Map.of(), service, cluster, registry, options);
  }

  private static Row measure(String scenario, String policy, Map<String, ?> config,
      String service, List<DelayedGreeter> cluster, InMemoryRegistry registry, Settings options)
      throws InterruptedException {
    String label = config.isEmpty() ? policy : policy + " " + config;
    KClient client = KClient.forService(service).registry(registry)
        .loadBalancing(policy, config).build();
    try {
      GreeterGrpc.GreeterFutureStub stub = GreeterGrpc.newFutureStub(client.channel());
      HelloRequest request = HelloRequest.newBuilder().setName("lb").build();
      long[] before = cluster.stream().mapToLong(DelayedGreeter::calls).toArray();
      long[] gcBefore = gcCountAndMillis();
      LoadResult result = LoadGenerator.builder(() -> stub.sayHello(request))
          .name(label + " / " + scenario)
          .concurrency(options.concurrency)
          .warmup(options.warmup)
          .duration(options.duration)
          .build()
          .run();
      long total = 0;
      for (int i = 0; i < cluster.size(); i++) {
        total += cluster.get(i).calls() - before[i];
      }
      double firstShare = total == 0 ? 0 : (double) (cluster.get(0).calls() - before[0]) / total;
      long[] gcAfter = gcCountAndMillis();
      System.out.println(result.summary());
      return new Row(scenario, label, result, firstShare, gcAfter[0] - gcBefore[0],
          gcAfter[1] - gcBefore[1]);
    } finally {
      client.close();
    }
  }

  static String table(List<Row> rows, Settings options, String slowServer) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT,
        "Four in-JVM greeter servers on loopback (in-memory registry), fixed concurrency %d,"
            + " %s warm-up + %s measured per row. Fast servers answer in %s; the slow one"
            + " in %s (a scheduled reply, so it stays responsive). \"Server 0 share\" is the share"
            + " of calls (warm-up included) that went to server 0, the slow one in the slow"
            + " scenario (a fair share is 25%%). GCs: collections during the row (warm-up"
            + " included) and their total time.%n%n",
        options.concurrency, human(options.warmup), human(options.duration), human(options.fast),
        slowServer));
    sb.append("| backends | policy | p50 ms | p99 ms | p99.9 ms | calls/s | server 0 share | errors"
        + " | GCs (ms) |\n");
    sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row row : rows) {
      LoadResult r = row.result;
      sb.append(String.format(Locale.ROOT,
          "| %s | %s | %.2f | %.2f | %.2f | %.0f | %.2f%% | %d | %d (%d) |%n",
          row.scenario, row.policy, r.p50Micros() / 1000, r.p99Micros() / 1000,
          r.p999Micros() / 1000, r.throughput(), row.firstShare * 100, r.errors(), row.gcs,
          row.gcMillis));
    }
    Row baseline = find(rows, HEALTHY, "krpc_p2c");
    Row p2c = find(rows, SLOW, "krpc_p2c");
    Row rr = find(rows, SLOW, "round_robin");
    if (baseline != null && p2c != null && rr != null) {
      double vsHealthy = p2c.result.p99Micros() / baseline.result.p99Micros();
      double vsRr = p2c.result.p99Micros() / rr.result.p99Micros();
      sb.append(String.format(Locale.ROOT,
          "%nGoal: krpc_p2c p99 with one slow backend <= 1.5x its all-healthy p99: %.2fx (%s);"
              + " <= 1/5 of round_robin's: %.2fx = 1/%.1f (%s).%n",
          vsHealthy, vsHealthy <= 1.5 ? "met" : "missed", vsRr, 1 / vsRr,
          vsRr <= 0.2 ? "met" : "missed"));
    }
    return sb.toString();
  }

  private static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  private static Row find(List<Row> rows, String scenario, String policy) {
    return rows.stream().filter(r -> r.scenario.equals(scenario) && r.policy.equals(policy))
        .findFirst().orElse(null);
  }

  /**
   * GC pauses stall every call in flight at once; krpc_p2c's peak-EWMA remembers such a stall for
   * the endpoints that had calls out (not for an avoided one), so the table shows them per row.
   */
  private static long[] gcCountAndMillis() {
    long count = 0;
    long millis = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      count += Math.max(0, gc.getCollectionCount());
      millis += Math.max(0, gc.getCollectionTime());
    }
    return new long[] {count, millis};
  }

  record Row(String scenario, String policy, LoadResult result, double firstShare, long gcs,
      long gcMillis) {}

  /** The command's options, read from the shared {@link Options}. */
  static final class Settings {
    int concurrency;
    Duration warmup;
    Duration duration;
    Duration fast;
    Duration slow;
    boolean tail;
    List<String> policies;
    List<String> p2cDecays;
    Path out;
    boolean append;

    static Settings from(Options options) {
      Settings s = new Settings();
      s.concurrency = options.integer("concurrency", 4);
      s.warmup = options.duration("warmup", Duration.ofSeconds(2));
      s.duration = options.duration("duration", Duration.ofSeconds(8));
      s.fast = options.duration("fast", Duration.ofMillis(10));
      s.slow = options.duration("slow", Duration.ofMillis(100));
      s.tail = options.flag("tail");
      s.policies = List.of(options.string("policies", String.join(",", POLICIES)).split(","));
      String decays = options.string("p2c-decay", "");
      s.p2cDecays = decays.isEmpty() ? List.of() : List.of(decays.split(","));
      s.out = options.flag("no-files") ? null : options.resultsDir().resolve("lb.md");
      s.append = options.flag("append");
      if (s.concurrency < 1) {
        throw new IllegalArgumentException(
            "--concurrency: " + s.concurrency + " (expected: >= 1)");
      }
      if (s.fast.isNegative() || s.fast.compareTo(s.slow) > 0) {
        throw new IllegalArgumentException("--fast: " + s.fast + ", --slow: " + s.slow
            + " (expected: 0 <= fast <= slow)");
      }
      return s;
    }
  }
}
