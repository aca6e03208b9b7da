package io.krpc.benchmarks.lb;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.LoadBalancerRegistry;
import io.krpc.KClient;
import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.internal.MarkdownReport;
import io.krpc.benchmarks.lb.DelayedGreeter.Behaviour;
import io.krpc.benchmarks.load.LoadGenerator;
import io.krpc.benchmarks.load.LoadResult;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.ServiceInstance;
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
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * {@code lb}: the load-balancing matrix. Four greeter servers in a JVM of their own ({@link
 * LbServer}; with two or more cores and {@code taskset} that JVM is pinned to the upper half of the
 * cores and this one, the client, to the lower half, as the overload benchmark does; {@code
 * --no-pin} leaves both unpinned), listed in an in-memory registry; for every fast service time
 * ({@code --fast=0.5ms,1ms,2ms,10ms}) and every number of calls in flight ({@code
 * --concurrency=4,16,64}) one cell of five rows, measured back to back: {@code krpc_p2c} over four
 * healthy servers (its p99 is the baseline; the four shares show whether equal servers get equal
 * shares), then {@code round_robin} and {@code krpc_p2c} with server 0 ten times slower, then both
 * with server 0 answering 5% of its calls 100 times slower; then (unless {@code --no-recovery}) how
 * long {@code krpc_p2c} takes, after the slow server heals, to send it a quarter of the calls
 * again.
 *
 * <p>Each row has a fresh client, {@code --warmup=1s} and {@code --duration=3s} (longer where a row
 * needs more calls: see {@link Bench#forCalls}); its latency is that of every call started in the
 * window, waited for to its end. The servers reply from a timer thread (a slow backend, not an
 * overloaded one; both sides on grpc-java's default event loops), early by the timer's measured
 * lateness so that a 0.5 ms delay is 0.5 ms (the delays served are reported per cell); the client's
 * calls complete, and the next ones start, on the transport's thread (direct executor). {@code
 * --one-loop} runs each side on one Netty event loop instead ({@link EventLoops}; the servers reply
 * from their loop's scheduler): it served the delays more exactly but did not lower the client's
 * p99 (results/lb.md), so it is not the default. Neither side runs the tracing and metrics
 * interceptors, so that the harness's own CPU use stays small beside the service times compared.
 * {@code --legs} prints, per row, the p50/p99 of each call's way to the server, served delay and
 * way back (from both JVMs' System.nanoTime, one clock on one machine), the client's calls per
 * second, CPU time and bytes allocated per call, and adds a round_robin row over the four healthy
 * servers, so that both policies' cost per call is compared at the same load (not in the table).
 * Every row's client CPU time and allocation per call go to the raw file ({@code *_cpu_us}, {@code
 * *_alloc_b}).
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
    String serverCpus = pin(options.pin);
    InMemoryRegistry registry = new InMemoryRegistry();
    List<Map<String, Double>> cells = new ArrayList<>();
    String pass = Instant.now().toString();
    List<String> serverJvm =
        options.oneLoop ? List.of("-D" + LbServer.LOOP_PROPERTY + "=loop") : List.of();
    EventLoops loop = options.oneLoop ? EventLoops.createOrNull("lb-client-loop") : null;
    System.out.println(
        loop != null
            ? "one event loop per side (client: all channels; servers: all four, replies scheduled on it)"
            : "grpc-java's default event loops; servers reply from a timer thread");
    try (ServerCluster cluster = ServerCluster.start(4, serverCpus, serverJvm)) {
      for (int port : cluster.ports()) {
        registry.register(ServiceInstance.builder(SERVICE, "127.0.0.1", port).weight(100).build());
      }
      Bench bench = new Bench(registry, cluster, options, loop);
      // JIT (of both JVMs), class loading, connection setup and the servers' timer lead would
      // otherwise land in the first cell.
      cluster.setAll(Behaviour.fixed(micros(options.fasts.get(0))));
      int most = options.concurrencies.stream().mapToInt(Integer::intValue).max().orElse(1);
      int least = options.concurrencies.stream().mapToInt(Integer::intValue).min().orElse(1);
      bench.measure(RR, most, options.duration);
      bench.measure(P2C, most, options.duration);
      bench.measure(P2C, least, options.duration);
      var unused = cluster.servedDelays();
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
      registry.close();
      if (loop != null) {
        loop.close();
      }
    }
    System.out.println();
    System.out.println(LbReport.table(List.of(cells)));
  }

  /**
   * With {@code pin}, two or more cores and {@code taskset}, pins this JVM (the client) to the
   * lower half of the cores and returns the upper half for the servers' JVM, as the overload
   * benchmark does; otherwise returns null (both unpinned).
   */
  private static String pin(boolean pin) throws InterruptedException {
    int cores = Runtime.getRuntime().availableProcessors();
    if (!pin || cores < 2 || !Files.isExecutable(Path.of("/usr/bin/taskset"))) {
      System.out.println("servers' JVM and client unpinned, sharing " + cores + " cores");
      return null;
    }
    int clientCores = cores / 2;
    String clientCpus = clientCores == 1 ? "0" : "0-" + (clientCores - 1);
    String serverCpus =
        clientCores == cores - 1 ? Integer.toString(clientCores) : clientCores + "-" + (cores - 1);
    try {
      Process p =
          new ProcessBuilder(
                  "taskset",
                  "-a",
                  "-p",
                  "-c",
                  clientCpus,
                  Long.toString(ProcessHandle.current().pid()))
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        System.out.println("taskset failed (" + out.trim() + "); unpinned");
        return null;
      }
    } catch (IOException e) {
      System.out.println("taskset failed (" + e + "); unpinned");
      return null;
    }
    System.out.println(
        "servers' JVM pinned to CPU " + serverCpus + ", client to CPU " + clientCpus);
    return serverCpus;
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

  /** Runs the rows of the matrix against the four servers. */
  static final class Bench {
    /** Calls the healthy row and round_robin's tail row take at least (see {@link #forCalls}). */
    static final int MIN_CALLS = 6000;

    private final InMemoryRegistry registry;
    private final ServerCluster cluster;
    private final Settings options;
    private final @Nullable EventLoops loop;

    Bench(
        InMemoryRegistry registry,
        ServerCluster cluster,
        Settings options,
        @Nullable EventLoops loop) {
      this.registry = registry;
      this.cluster = cluster;
      this.options = options;
      this.loop = loop;
    }

    /** One cell: the five rows and the recovery, as named figures. */
    Map<String, Double> cell(long fast, int concurrency) throws InterruptedException {
      Map<String, Double> cell = new LinkedHashMap<>();
      cell.put("fast_us", (double) fast);
      cell.put("concurrency", (double) concurrency);
      cluster.setAll(Behaviour.fixed(fast));
      var unused = cluster.servedDelays(); // from the cell before
      // Enough calls that four shares of a quarter are told apart from sampling noise: with 1000
      // calls (10 ms x4 in 3 s) one server's share alone varies by +-5 % of itself.
      Row healthy =
          measure(P2C, concurrency, forCalls(options.duration, MIN_CALLS, fast, concurrency, 1));
      double[] served = cluster.servedDelays();
      cell.put("served_p50", served[0]);
      cell.put("served_p99", served[1]);
      cell.put("healthy_p50", healthy.p50);
      cell.put("healthy_p99", healthy.p99);
      cell.put("healthy_spread", healthy.spread());
      for (int i = 0; i < healthy.shares.length; i++) {
        cell.put("healthy_share_" + i, healthy.shares[i]);
      }
      cell.put("healthy_calls_s", healthy.callsPerSecond);
      cell.put("healthy_errors", (double) healthy.errors);
      cell.put("healthy_cpu_us", healthy.cpuMicrosPerCall);
      cell.put("healthy_alloc_b", healthy.allocatedBytesPerCall);
      if (options.legs) {
        // The client's cost per call of each policy at the same load (both rows with a slow
        // server run at different call rates: round_robin waits on it, krpc_p2c does not).
        Row rrHealthy =
            measure(RR, concurrency, forCalls(options.duration, MIN_CALLS, fast, concurrency, 1));
        cell.put("healthy_rr_p50", rrHealthy.p50);
        cell.put("healthy_rr_p99", rrHealthy.p99);
        cell.put("healthy_rr_calls_s", rrHealthy.callsPerSecond);
        cell.put("healthy_rr_cpu_us", rrHealthy.cpuMicrosPerCall);
        cell.put("healthy_rr_alloc_b", rrHealthy.allocatedBytesPerCall);
      }
      Behaviour slow = Behaviour.fixed(fast * 10);
      Behaviour tail = new Behaviour(fast, 0.05, fast * 100, 0);
      for (String scenario : List.of("slow", "tail")) {
        cluster.set(0, scenario.equals("slow") ? slow : tail);
        // Every call started in the window is waited for (see measure), so a 100x answer that
        // starts late still counts. round_robin sends 1.25 % of its calls to the 100x tail, so its
        // p99 shows the tail only with enough calls: with 1400 (10 ms x4 in 8 s) about 18 are slow
        // where the p99 needs 15, and it missed its own tail in one pass of three. Its window
        // holds about MIN_CALLS calls (an answer takes 2.24x the fast time on average there).
        Duration window =
            scenario.equals("slow")
                ? options.duration
                : max(options.duration, Duration.ofNanos(fast * 1000 * 100 * 8));
        Duration rrWindow =
            scenario.equals("slow")
                ? window
                : max(window, forCalls(options.duration, MIN_CALLS, fast, concurrency, 2.24));
        Row rr = measure(RR, concurrency, rrWindow);
        Row p2c = measure(P2C, concurrency, window);
        cell.put(scenario + "_rr_p99", rr.p99);
        cell.put(scenario + "_rr_share", rr.shares[0]);
        cell.put(scenario + "_p99", p2c.p99);
        cell.put(scenario + "_share", p2c.shares[0]);
        cell.put(scenario + "_calls_s", p2c.callsPerSecond);
        cell.put(scenario + "_errors", (double) (p2c.errors + rr.errors));
        cell.put(scenario + "_rr_cpu_us", rr.cpuMicrosPerCall);
        cell.put(scenario + "_cpu_us", p2c.cpuMicrosPerCall);
        cell.put(scenario + "_rr_alloc_b", rr.allocatedBytesPerCall);
        cell.put(scenario + "_alloc_b", p2c.allocatedBytesPerCall);
      }
      if (options.recovery) {
        cluster.set(0, slow);
        cell.put("recovery_ms", recovery(fast, concurrency));
      }
      return cell;
    }

    /**
     * At least {@code min}, and long enough for about {@code calls} calls of {@code meanRtts} times
     * the fast time each (plus 0.3 ms of the harness's own) with {@code concurrency} in flight.
     */
    static Duration forCalls(
        Duration min, int calls, long fastMicros, int concurrency, double meanRtts) {
      double rttNanos = (fastMicros * meanRtts + 300) * 1000;
      return max(min, Duration.ofNanos(Math.round(calls * rttNanos / concurrency)));
    }

    private static Duration max(Duration a, Duration b) {
      return a.compareTo(b) >= 0 ? a : b;
    }

    /**
     * One row: a warm-up, then the window. Latency is that of every call started in the window,
     * each waited for to its end (the generator drains them): a generator's own histogram holds the
     * calls that end in the window, which leaves out a slow answer that starts late in it, and with
     * a 1 s answer among 10 ms ones that is a good part of a tail near 1 % (round_robin's p99 at 10
     * ms x4 then missed its own tail).
     */
    Row measure(String policy, int concurrency, Duration window) throws InterruptedException {
      KClient client = client(policy);
      try {
        LoadGenerator warmup = generator(client, policy, concurrency, options.warmup, null);
        warmup.run();
        Window started = new Window();
        LoadGenerator generator = generator(client, policy, concurrency, window, started);
        long[] before = cluster.counts();
        started.open(window);
        LoadResult result = generator.run();
        long[] after = cluster.counts();
        long total = 0;
        for (int i = 0; i < after.length; i++) {
          total += after[i] - before[i];
        }
        double[] shares = new double[after.length];
        for (int i = 0; i < after.length; i++) {
          shares[i] = total == 0 ? 0 : (double) (after[i] - before[i]) / total;
        }
        Histogram h = started.latencies;
        if (options.legs) {
          System.out.printf(
              Locale.ROOT,
              "  %s x%d: p50 %.2f p99 %.2f ms; %s; client %.0f calls/s, CPU %.1f us/call (%.0f%%"
                  + " of a core), %.0f B/call%n",
              policy,
              concurrency,
              h.getValueAtPercentile(50) / 1e6,
              h.getValueAtPercentile(99) / 1e6,
              started.legs(),
              result.throughput(),
              result.cpuNanosPerCall() / 1000,
              result.cpuNanosPerCall() * result.throughput() / 1e7,
              result.allocatedBytesPerCall());
        }
        return new Row(
            h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(50) / 1000.0,
            h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(99) / 1000.0,
            result.throughput(),
            result.errors(),
            shares,
            result.cpuNanosPerCall() < 0 ? -1 : result.cpuNanosPerCall() / 1000,
            result.allocatedBytesPerCall());
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
            generator(
                client, P2C, concurrency, pre.plus(options.recoveryLimit).plusMillis(300), null);
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
        cluster.set(0, Behaviour.fixed(fast));
        long healed = System.nanoTime();
        List<long[]> samples = new ArrayList<>();
        samples.add(cluster.counts());
        double result = -1;
        while (System.nanoTime() - healed < options.recoveryLimit.toNanos()) {
          Thread.sleep(sampleMillis);
          long[] now = cluster.counts();
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
      KClient.Builder builder = KClient.forService(SERVICE);
      if (loop != null) {
        builder.channelCustomizer(loop::onChannel);
      }
      return builder
          .registry(registry)
          .loadBalancing(policy)
          .executor(MoreExecutors.directExecutor()) // callbacks only start the next call
          .tracing(false)
          .metrics(false)
          .build();
    }

    private static LoadGenerator generator(
        KClient client,
        String policy,
        int concurrency,
        Duration duration,
        @Nullable Window window) {
      GreeterGrpc.GreeterFutureStub stub = GreeterGrpc.newFutureStub(client.channel());
      HelloRequest request = HelloRequest.newBuilder().setName("lb").build();
      Supplier<ListenableFuture<HelloReply>> call =
          window == null
              ? () -> stub.sayHello(request)
              : () -> window.track(stub.sayHello(request));
      return LoadGenerator.builder(call)
          .name(policy + " x" + concurrency)
          .concurrency(concurrency)
          .warmup(Duration.ZERO)
          .duration(duration)
          .progress(QUIET)
          .build();
    }
  }

  /**
   * The latencies of the calls started between {@link #open} and its end, recorded when each ends
   * (however late).
   */
  static final class Window {
    final Histogram latencies = new ConcurrentHistogram(3);

    /** Client's call start to the server's handler, nanoseconds. */
    final Histogram there = new ConcurrentHistogram(3);

    /** The server's handler to its reply: the delay served. */
    final Histogram served = new ConcurrentHistogram(3);

    /** Latency of the calls that servers 1-3 answered (server 0 is the slow one). */
    final Histogram others = new ConcurrentHistogram(3);

    /** The server's reply to the client's completion. */
    final Histogram back = new ConcurrentHistogram(3);

    final LongAdder errors = new LongAdder();
    private volatile long start = Long.MAX_VALUE;
    private volatile long end = Long.MIN_VALUE;

    private void legs(String message, long begun, long done) {
      int space = message.indexOf(' ');
      if (space < 0) {
        return;
      }
      try {
        long received = Long.parseLong(message.substring(0, space));
        long sent = Long.parseLong(message.substring(space + 1));
        there.recordValue(Math.max(0, received - begun));
        served.recordValue(Math.max(0, sent - received));
        back.recordValue(Math.max(0, done - sent));
      } catch (NumberFormatException e) {
        // not the lb servers' reply: no legs
      }
    }

    /** "there p50/p99, served p50/p99, back p50/p99" in milliseconds, for the log. */
    String legs() {
      return String.format(
          Locale.ROOT,
          "there %.2f/%.2f served %.2f/%.2f back %.2f/%.2f ms; servers 1-3 p99 %.2f p99.9 %.2f",
          there.getValueAtPercentile(50) / 1e6,
          there.getValueAtPercentile(99) / 1e6,
          served.getValueAtPercentile(50) / 1e6,
          served.getValueAtPercentile(99) / 1e6,
          back.getValueAtPercentile(50) / 1e6,
          back.getValueAtPercentile(99) / 1e6,
          others.getValueAtPercentile(99) / 1e6,
          others.getValueAtPercentile(99.9) / 1e6);
    }

    void open(Duration length) {
      long now = System.nanoTime();
      end = now + length.toNanos();
      start = now;
    }

    ListenableFuture<HelloReply> track(ListenableFuture<HelloReply> call) {
      long begun = System.nanoTime();
      if (begun >= start && begun < end) {
        // Added before the generator's own listener, so it runs first (direct executor).
        call.addListener(
            () -> {
              long done = System.nanoTime();
              long latency = done - begun;
              try {
                HelloReply reply = Futures.getDone(call);
                latencies.recordValue(latency);
                legs(reply.getMessage(), begun, done);
                if (!reply.getServer().equals("server-0")) {
                  others.recordValue(latency);
                }
              } catch (ExecutionException | CancellationException e) {
                errors.increment();
              }
            },
            MoreExecutors.directExecutor());
      }
      return call;
    }
  }

  /**
   * One row's figures: latency in microseconds, each server's share of the calls, and the client
   * JVM's CPU time (every thread: calls, event loops, JIT, GC) and allocation per call in the
   * window (-1 when the JVM cannot tell); the servers run in their own JVM, so this is the client's
   * cost alone.
   */
  record Row(
      double p50,
      double p99,
      double callsPerSecond,
      long errors,
      double[] shares,
      double cpuMicrosPerCall,
      double allocatedBytesPerCall) {
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
    boolean pin;
    boolean oneLoop;
    boolean legs;
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
      s.pin = !options.flag("no-pin");
      s.oneLoop = options.flag("one-loop");
      s.legs = options.flag("legs");
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
