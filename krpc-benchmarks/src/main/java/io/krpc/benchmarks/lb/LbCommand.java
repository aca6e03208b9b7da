package io.krpc.benchmarks.lb;

import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.LoadBalancerRegistry;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.internal.MarkdownReport;
import io.krpc.benchmarks.lb.DelayedGreeter.Behaviour;
import io.krpc.benchmarks.load.LoadGenerator;
import io.krpc.benchmarks.load.LoadResult;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.InMemoryRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code lb}: the load-balancing matrix. Four in-JVM greeter servers behind one in-memory registry;
 * for every fast service time ({@code --fast=0.5ms,1ms,2ms,10ms}) and every number of calls in
 * flight ({@code --concurrency=4,16,64}) one cell of five rows, measured back to back: {@code
 * krpc_p2c} over four healthy servers (its p99 is the baseline; the four shares show whether equal
 * servers get equal shares), then {@code round_robin} and {@code krpc_p2c} with server 0 ten times
 * slower, then both with server 0 answering 5% of its calls 100 times slower; then (unless {@code
 * --no-recovery}) how long {@code krpc_p2c} takes, after the slow server heals, to send it a
 * quarter of the calls again.
 *
 * <p>Each row has a fresh client, {@code --warmup=1s} and {@code --duration=3s}. The servers reply
 * from a timer on a direct executor (a slow backend, not an overloaded one), and neither side runs
 * the tracing and metrics interceptors, so that the harness's own CPU use stays small beside the
 * service times compared.
 *
 * <p>One run is one pass over the matrix; its figures are appended to {@code --raw=FILE} (default
 * {@code lb-raw.tsv} in the results directory). {@code lb --report} reads every pass in that file
 * and writes the table of their medians to {@code lb.md}; {@code --no-files} writes nothing.
 */
public final class LbCommand {
  static final String SERVICE = "lb-bench";
  static final String P2C = "krpc_p2c";
  static final String RR = "round_robin";
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  private LbCommand() {}

  /** Runs the benchmark with the options in {@code args}, {@code args[0]} being {@code lb}. */
  public static void run(String[] args) throws Exception {
    Settings options = Settings.from(Options.parse(args));
    if (options.report) {
      LbReport.write(options.raw, options.out, String.join(" ", args));
      return;
    }
    ScheduledExecutorService timer =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "lb-bench-timer");
              t.setDaemon(true);
              return t;
            });
    InMemoryRegistry registry = new InMemoryRegistry();
    List<KServer> servers = new ArrayList<>();
    List<DelayedGreeter> cluster = new ArrayList<>();
    List<Map<String, Double>> cells = new ArrayList<>();
    String pass = Instant.now().toString();
    try {
      for (int i = 0; i < 4; i++) {
        DelayedGreeter greeter = new DelayedGreeter(timer, "server-" + i, Behaviour.fixed(1000));
        cluster.add(greeter);
        servers.add(start(greeter, registry));
      }
      Bench bench = new Bench(registry, cluster, options);
      // JIT, class loading and connection setup would otherwise land in the first cell.
      bench.setAll(Behaviour.fixed(micros(options.fasts.get(0))));
      bench.measure(
          RR, options.concurrencies.get(options.concurrencies.size() - 1), options.duration);
      for (Duration fast : options.fasts) {
        for (int concurrency : options.concurrencies) {
          Map<String, Double> cell = bench.cell(micros(fast), concurrency);
          cells.add(cell);
          System.out.println(LbReport.line(cell));
          if (options.raw != null) {
            appendRaw(options.raw, pass, cell);
          }
        }
      }
    } finally {
      servers.forEach(KServer::close);
      timer.shutdownNow();
    }
    System.out.println();
    System.out.println(LbReport.table(List.of(cells)));
  }

  private static long micros(Duration d) {
    return TimeUnit.NANOSECONDS.toMicros(d.toNanos());
  }

  private static void appendRaw(Path raw, String pass, Map<String, Double> cell)
      throws IOException {
    StringBuilder line = new StringBuilder("pass=").append(pass);
    cell.forEach((k, v) -> line.append('\t').append(k).append('=').append(v));
    if (raw.getParent() != null) {
      Files.createDirectories(raw.getParent());
    }
    Files.writeString(
        raw,
        line.append('\n'),
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  static KServer start(DelayedGreeter greeter, InMemoryRegistry registry) {
    return KServer.builder()
        .serviceName(SERVICE)
        .host("127.0.0.1")
        .port(0)
        .weight(100)
        .registry(registry)
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

  /** Runs the rows of the matrix against the four servers. */
  static final class Bench {
    private final InMemoryRegistry registry;
    private final List<DelayedGreeter> cluster;
    private final Settings options;

    Bench(InMemoryRegistry registry, List<DelayedGreeter> cluster, Settings options) {
      this.registry = registry;
      this.cluster = cluster;
      this.options = options;
    }

    void setAll(Behaviour behaviour) {
      cluster.forEach(g -> g.setBehaviour(behaviour));
    }

    /** One cell: the five rows and the recovery, as named figures. */
    Map<String, Double> cell(long fast, int concurrency) throws InterruptedException {
      Map<String, Double> cell = new LinkedHashMap<>();
      cell.put("fast_us", (double) fast);
      cell.put("concurrency", (double) concurrency);
      setAll(Behaviour.fixed(fast));
      Row healthy = measure(P2C, concurrency, options.duration);
      cell.put("healthy_p50", healthy.result.p50Micros());
      cell.put("healthy_p99", healthy.result.p99Micros());
      cell.put("healthy_spread", healthy.spread());
      for (int i = 0; i < healthy.shares.length; i++) {
        cell.put("healthy_share_" + i, healthy.shares[i]);
      }
      cell.put("healthy_calls_s", healthy.result.throughput());
      cell.put("healthy_errors", (double) healthy.result.errors());
      Behaviour slow = Behaviour.fixed(fast * 10);
      Behaviour tail = new Behaviour(fast, 0.05, fast * 100, 0);
      for (String scenario : List.of("slow", "tail")) {
        cluster.get(0).setBehaviour(scenario.equals("slow") ? slow : tail);
        // A 100x answer that starts late in the window ends after it, unmeasured: keep that share
        // small, or round_robin's p99 misses its own tail (1.25% of its calls).
        Duration window =
            scenario.equals("slow")
                ? options.duration
                : max(options.duration, Duration.ofNanos(fast * 1000 * 100 * 8));
        Row rr = measure(RR, concurrency, window);
        Row p2c = measure(P2C, concurrency, window);
        cell.put(scenario + "_rr_p99", rr.result.p99Micros());
        cell.put(scenario + "_rr_share", rr.shares[0]);
        cell.put(scenario + "_p99", p2c.result.p99Micros());
        cell.put(scenario + "_share", p2c.shares[0]);
        cell.put(scenario + "_calls_s", p2c.result.throughput());
        cell.put(scenario + "_errors", (double) (p2c.result.errors() + rr.result.errors()));
      }
      if (options.recovery) {
        cluster.get(0).setBehaviour(slow);
        cell.put("recovery_ms", recovery(fast, concurrency));
      }
      return cell;
    }

    private static Duration max(Duration a, Duration b) {
      return a.compareTo(b) >= 0 ? a : b;
    }

    Row measure(String policy, int concurrency, Duration window) throws InterruptedException {
      KClient client = client(policy);
      try {
        LoadGenerator warmup = generator(client, policy, concurrency, options.warmup);
        warmup.run();
        long[] before = counts();
        LoadResult result = generator(client, policy, concurrency, window).run();
        long[] after = counts();
        long total = 0;
        for (int i = 0; i < after.length; i++) {
          total += after[i] - before[i];
        }
        double[] shares = new double[after.length];
        for (int i = 0; i < after.length; i++) {
          shares[i] = total == 0 ? 0 : (double) (after[i] - before[i]) / total;
        }
        return new Row(result, shares);
      } finally {
        client.close();
      }
    }

    /**
     * Runs krpc_p2c with server 0 slow for 2 s, heals it and returns the milliseconds until its
     * share of the calls over the last 300 ms reaches 20% (a quarter is fair), or -1 when it does
     * not within {@link Settings#recoveryLimit}.
     */
    private double recovery(long fast, int concurrency) throws InterruptedException {
      KClient client = client(P2C);
      long sampleMillis = 50;
      int window = 6; // samples: 300 ms
      try {
        Duration pre = Duration.ofSeconds(2);
        LoadGenerator generator =
            generator(client, P2C, concurrency, pre.plus(options.recoveryLimit).plusMillis(300));
        Thread load =
            new Thread(
                () -> {
                  try {
                    generator.run();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                "lb-recovery-load");
        load.start();
        Thread.sleep(pre.toMillis());
        cluster.get(0).setBehaviour(Behaviour.fixed(fast));
        long healed = System.nanoTime();
        List<long[]> samples = new ArrayList<>();
        samples.add(counts());
        double result = -1;
        while (System.nanoTime() - healed < options.recoveryLimit.toNanos()) {
          Thread.sleep(sampleMillis);
          long[] now = counts();
          samples.add(now);
          long[] from = samples.get(Math.max(0, samples.size() - 1 - window));
          long total = 0;
          for (int i = 0; i < now.length; i++) {
            total += now[i] - from[i];
          }
          if (total > 0 && (double) (now[0] - from[0]) / total >= 0.20) {
            result = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - healed);
            break;
          }
        }
        load.join();
        return result;
      } finally {
        client.close();
      }
    }

    private KClient client(String policy) {
      return KClient.forService(SERVICE)
          .registry(registry)
          .loadBalancing(policy)
          .executor(MoreExecutors.directExecutor()) // callbacks only start the next call
          .tracing(false)
          .metrics(false)
          .build();
    }

    private static LoadGenerator generator(
        KClient client, String policy, int concurrency, Duration duration) {
      GreeterGrpc.GreeterFutureStub stub = GreeterGrpc.newFutureStub(client.channel());
      HelloRequest request = HelloRequest.newBuilder().setName("lb").build();
      return LoadGenerator.builder(() -> stub.sayHello(request))
          .name(policy + " x" + concurrency)
          .concurrency(concurrency)
          .warmup(Duration.ZERO)
          .duration(duration)
          .progress(QUIET)
          .build();
    }

    private long[] counts() {
      return cluster.stream().mapToLong(DelayedGreeter::calls).toArray();
    }
  }

  record Row(LoadResult result, double[] shares) {
    /** How far apart the largest and smallest share are: max / min - 1. */
    double spread() {
      double min = 1;
      double max = 0;
      for (double s : shares) {
        min = Math.min(min, s);
        max = Math.max(max, s);
      }
      return min == 0 ? Double.POSITIVE_INFINITY : max / min - 1;
    }
  }

  static boolean registered(String policy) {
    return LoadBalancerRegistry.getDefaultRegistry().getProvider(policy) != null;
  }

  /** The command's options, read from the shared {@link Options}. */
  static final class Settings {
    List<Duration> fasts;
    List<Integer> concurrencies;
    Duration warmup;
    Duration duration;
    Duration recoveryLimit;
    boolean recovery;
    boolean report;
    Path raw;
    Path out;

    static Settings from(Options options) {
      Settings s = new Settings();
      s.fasts = new ArrayList<>();
      for (String f : options.string("fast", "0.5ms,1ms,2ms,10ms").split(",")) {
        s.fasts.add(parseMillis("fast", f));
      }
      s.concurrencies = new ArrayList<>();
      for (String c : options.string("concurrency", "4,16,64").split(",")) {
        try {
          int n = Integer.parseInt(c.trim());
          if (n < 1) {
            throw new NumberFormatException();
          }
          s.concurrencies.add(n);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("--concurrency: " + c + " (expected: >= 1)");
        }
      }
      s.warmup = options.duration("warmup", Duration.ofSeconds(1));
      s.duration = options.duration("duration", Duration.ofSeconds(3));
      s.recoveryLimit = options.duration("recovery-limit", Duration.ofSeconds(5));
      s.recovery = !options.flag("no-recovery");
      s.report = options.flag("report");
      boolean files = !options.flag("no-files");
      s.raw =
          files
              ? Path.of(
                  options.string("raw", options.resultsDir().resolve("lb-raw.tsv").toString()))
              : null;
      s.out = files ? options.resultsDir().resolve("lb.md") : null;
      return s;
    }

    /** "0.5ms" or "2ms": fractional milliseconds, which {@link Options#duration} refuses. */
    private static Duration parseMillis(String name, String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      try {
        if (v.endsWith("ms")) {
          double ms = Double.parseDouble(v.substring(0, v.length() - 2));
          if (ms > 0) {
            return Duration.ofNanos(Math.round(ms * 1_000_000));
          }
        }
      } catch (NumberFormatException e) {
        // the message below
      }
      throw new IllegalArgumentException(
          "--"
              + name
              + ": "
              + value
              + " (expected: a list of positive millisecond times such as 0.5ms,2ms)");
    }
  }

  /** Writes {@code table} with its conditions to {@code out}. */
  static void writeReport(Path out, String command, String body) {
    MarkdownReport.write(out, "Load balancing: the krpc_p2c matrix", command, body, false);
  }
}
