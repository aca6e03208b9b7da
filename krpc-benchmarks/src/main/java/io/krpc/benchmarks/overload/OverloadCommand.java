package io.krpc.benchmarks.overload;

import io.grpc.Status;
import io.krpc.KClient;
import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.internal.MarkdownReport;
import io.krpc.benchmarks.load.LoadGenerator;
import io.krpc.benchmarks.load.LoadResult;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.interceptor.client.AdaptiveThrottlingInterceptor;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code overload}: a server whose handler burns a fixed amount of CPU per call; its capacity is
 * measured first with a closed loop, then it is offered 1x, 2x and 4x that capacity at a fixed rate
 * (open loop, latency from each call's intended start), once without and once with the adaptive
 * (BBR) limiter. Prints goodput (successful calls per second), p99 of the successful calls, the
 * shed ratio (RESOURCE_EXHAUSTED) and the timeout ratio (the client deadline, which ends the calls
 * of an unprotected server). The server runs in a child JVM ({@link OverloadServer}); with two or
 * more cores and {@code taskset} at hand it is pinned to the upper half of the cores and this JVM,
 * the load generator, to the lower half, as if they ran on two machines: otherwise the handlers'
 * CPU burn starves the load generator, whose own lag then shows as latency.
 *
 * <p>Options: {@code --burn=5ms} CPU per call, {@code --deadline=1s} client deadline, {@code
 * --capacity-concurrency=N} closed-loop concurrency (4 x the server's cores), {@code --no-pin} to
 * leave both JVMs unpinned, {@code --throttle} to add rows where the client also runs {@link
 * AdaptiveThrottlingInterceptor}, {@code --min-capacity=N} to give the limiter this {@code
 * minCapacity} instead of its default, {@code --warmup=5s} and {@code --duration=8s} per run,
 * {@code --factors=1,2,4}; the table goes to {@code overload.md} in the results directory ({@code
 * --results=DIR}), replaced, or added to with {@code --append}; {@code --no-files} writes nothing.
 */
public final class OverloadCommand {
  static final Duration NORMAL_PHASE = Duration.ofSeconds(3);

  private OverloadCommand() {}

  /**
   * Runs the benchmark with the options in {@code args}, {@code args[0]} being {@code overload}.
   */
  public static void run(String[] args) throws Exception {
    Settings options = Settings.from(Options.parse(args));
    pin(options);
    LoadResult capacityRun = measure(options, false, false, 0, 0);
    double capacity = capacityRun.successes() / seconds(capacityRun);
    System.out.printf(
        Locale.ROOT,
        "capacity: %.0f calls/s, p99 %.2f ms (closed loop, %d in flight)%n",
        capacity,
        capacityRun.p99Micros() / 1000,
        options.capacityConcurrency);
    List<Row> rows = new ArrayList<>();
    for (double factor : options.factors) {
      for (int mode = 0; mode < (options.throttle ? 3 : 2); mode++) {
        boolean limiter = mode > 0;
        boolean throttle = mode == 2;
        settle();
        LoadResult result = measure(options, limiter, throttle, factor * capacity, capacity / 2);
        rows.add(new Row(factor, limiter, throttle, result));
      }
    }
    String table = table(options, capacity, capacityRun, rows);
    System.out.println();
    System.out.println(table);
    if (options.out != null) {
      MarkdownReport.write(
          options.out,
          "Overload: adaptive (BBR) limiter vs none",
          String.join(" ", args),
          table,
          options.append);
    }
  }

  /**
   * One run against a fresh server: closed loop when {@code rate} is 0, else fixed rate. With a
   * {@code normalRate}, the server first serves that rate for {@link #NORMAL_PHASE} (not measured):
   * overload hits a server that was running normally, as in production, and the limiter has seen
   * the server's normal latency (its {@code minRT}) before the step.
   */
  private static LoadResult measure(
      Settings options, boolean withLimiter, boolean throttle, double rate, double normalRate)
      throws InterruptedException, IOException {
    try (ServerProcess server =
        ServerProcess.start(
            options.burn.toNanos(), withLimiter, options.serverCpus, options.minCapacity)) {
      return measure(options, server, withLimiter, throttle, rate, normalRate);
    }
  }

  /**
   * Splits the cores between the server JVMs to come ({@code serverCpus}) and this one, or leaves
   * both unpinned ({@code serverCpus} null) with {@code --no-pin}, fewer than two cores or no
   * {@code taskset}.
   */
  private static void pin(Settings options) throws InterruptedException {
    int cores = Runtime.getRuntime().availableProcessors();
    options.serverCores = cores;
    if (options.pin && cores >= 2 && Files.isExecutable(Path.of("/usr/bin/taskset"))) {
      int clientCores = cores / 2;
      String clientCpus = clientCores == 1 ? "0" : "0-" + (clientCores - 1);
      String serverCpus =
          clientCores == cores - 1
              ? Integer.toString(clientCores)
              : clientCores + "-" + (cores - 1);
      String failure = taskset(clientCpus);
      if (failure == null) {
        options.serverCpus = serverCpus;
        options.clientCpus = clientCpus;
        options.serverCores = cores - clientCores;
        System.out.println(
            "server JVMs pinned to CPU " + serverCpus + ", load generator to CPU " + clientCpus);
      } else {
        System.out.println("taskset failed (" + failure + "); unpinned");
      }
    } else {
      System.out.println("server and load generator unpinned, sharing " + cores + " cores");
    }
    if (options.capacityConcurrency == 0) {
      // Enough that the server never waits for the next call while a reply travels back.
      options.capacityConcurrency = 4 * options.serverCores;
    }
  }

  /** Pins every thread of this JVM to {@code cpus}; returns null, or why it failed. */
  private static String taskset(String cpus) throws InterruptedException {
    try {
      Process p =
          new ProcessBuilder(
                  "taskset", "-a", "-p", "-c", cpus, Long.toString(ProcessHandle.current().pid()))
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return p.waitFor() == 0 ? null : out.trim();
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static LoadResult measure(
      Settings options,
      ServerProcess server,
      boolean withLimiter,
      boolean throttle,
      double rate,
      double normalRate)
      throws InterruptedException {
    KClient.Builder clientBuilder = KClient.forTarget("127.0.0.1:" + server.port());
    if (throttle) {
      clientBuilder.intercept(AdaptiveThrottlingInterceptor.create());
    }
    KClient client = clientBuilder.build();
    try {
      GreeterGrpc.GreeterFutureStub stub = GreeterGrpc.newFutureStub(client.channel());
      HelloRequest request = HelloRequest.newBuilder().setName("overload").build();
      long deadline = options.deadline.toMillis();
      if (normalRate > 0) {
        LoadGenerator.builder(
                () -> stub.withDeadlineAfter(deadline, TimeUnit.MILLISECONDS).sayHello(request))
            .name("normal load before the step")
            .rate(normalRate)
            .warmup(Duration.ZERO)
            .duration(NORMAL_PHASE)
            .build()
            .run();
      }
      String name =
          rate == 0
              ? "capacity"
              : String.format(
                  Locale.ROOT,
                  "%s limiter%s, %.0f/s",
                  withLimiter ? "with" : "no",
                  throttle ? " + client throttling" : "",
                  rate);
      LoadGenerator.Builder load =
          LoadGenerator.builder(
                  () -> stub.withDeadlineAfter(deadline, TimeUnit.MILLISECONDS).sayHello(request))
              .name(name)
              .warmup(options.warmup)
              .duration(options.duration);
      if (rate == 0) {
        load.concurrency(options.capacityConcurrency);
      } else {
        // Room for every call the deadline can keep outstanding, so the schedule never waits.
        load.rate(rate).maxOutstanding((int) Math.max(1000, rate * deadline / 1000 * 2));
      }
      LoadResult result = load.build().run();
      System.out.println(result.summary());
      return result;
    } finally {
      client.close();
    }
  }

  /**
   * Starts one server JVM with the limiter and makes one call through it: the child-JVM plumbing
   * (class path under exec:java, port hand-over, shutdown) works. For {@code smoke}.
   */
  public static void smoke() throws Exception {
    try (ServerProcess server =
        ServerProcess.start(Duration.ofMillis(1).toNanos(), true, null, 0)) {
      KClient client = KClient.forTarget("127.0.0.1:" + server.port()).build();
      try {
        GreeterGrpc.newBlockingStub(client.channel())
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .sayHello(HelloRequest.newBuilder().setName("smoke").build());
      } finally {
        client.close();
      }
    }
    System.out.println("overload: a limited server JVM answered");
  }

  /** Lets the process CPU average and the previous run's threads calm down between runs. */
  private static void settle() throws InterruptedException {
    System.gc();
    Thread.sleep(3000);
  }

  private static double seconds(LoadResult r) {
    return r.elapsed().toNanos() / 1e9;
  }

  private static double ratio(LoadResult r, Status.Code code) {
    return r.calls() == 0 ? 0 : (double) r.errorsByCode().getOrDefault(code, 0L) / r.calls();
  }

  static String table(Settings options, double capacity, LoadResult capacityRun, List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "One KServer whose handler burns %d µs of CPU per call, in its own JVM %s;"
                + " limiter minCapacity %d; client deadline %d ms; a fresh server for each row serves half its capacity for"
                + " 3 s, then the offered rate steps up: %d s warm-up (the step) + %d s measured."
                + " Capacity measured first with a closed loop of %d calls in flight:"
                + " **%.0f calls/s**, p99 %.2f ms. Latency of fixed-rate runs counts from each call's"
                + " intended start.%n%n",
            options.burn.toNanos() / 1000,
            options.serverCpus == null
                ? "sharing the cores with the load generator's"
                : "pinned to CPU "
                    + options.serverCpus
                    + " (the load generator's JVM to CPU "
                    + options.clientCpus
                    + ")",
            options.minCapacity > 0
                ? options.minCapacity
                : AdaptiveLimitInterceptor.DEFAULT_MIN_CAPACITY,
            options.deadline.toMillis(),
            options.warmup.toSeconds(),
            options.duration.toSeconds(),
            options.capacityConcurrency,
            capacity,
            capacityRun.p99Micros() / 1000));
    sb.append(
        "| offered | limiter | offered calls/s | goodput calls/s | goodput / capacity |"
            + " p99 ms (OK calls) | shed | deadline exceeded |\n");
    sb.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (Row row : rows) {
      LoadResult r = row.result;
      double goodput = r.successes() / seconds(r);
      String limiter = row.throttle ? "BBR + client throttling" : row.limiter ? "BBR" : "none";
      sb.append(
          String.format(
              Locale.ROOT,
              "| %.0fx | %s | %.0f | %.0f | %.0f%% | %.2f | %.1f%% | %.1f%% |%n",
              row.factor,
              limiter,
              row.factor * capacity,
              goodput,
              goodput / capacity * 100,
              r.p99Micros() / 1000,
              ratio(r, Status.Code.RESOURCE_EXHAUSTED) * 100,
              ratio(r, Status.Code.DEADLINE_EXCEEDED) * 100));
    }
    Row base = find(rows, 1, true);
    Row top = find(rows, 4, true);
    if (base != null && top != null) {
      double goodput = top.result.successes() / seconds(top.result) / capacity;
      double p99 = top.result.p99Micros() / base.result.p99Micros();
      sb.append(
          String.format(
              Locale.ROOT,
              "%nGoal at 4x with the limiter: goodput >= 90%% of capacity: %.0f%% (%s); p99 within 3x"
                  + " of the 1x p99: %.2fx (%s).%n",
              goodput * 100,
              goodput >= 0.9 ? "met" : "missed",
              p99,
              top.result.successes() > 0 && p99 <= 3 ? "met" : "missed"));
    }
    return sb.toString();
  }

  private static Row find(List<Row> rows, double factor, boolean limiter) {
    return rows.stream()
        .filter(r -> r.factor == factor && r.limiter == limiter && !r.throttle)
        .findFirst()
        .orElse(null);
  }

  record Row(double factor, boolean limiter, boolean throttle, LoadResult result) {}

  /** The command's options, read from the shared {@link Options}. */
  static final class Settings {
    Duration burn;
    Duration deadline;

    /** 0 until {@code pin} sets its default, 4 x the server's cores. */
    int capacityConcurrency;

    boolean pin;

    /** Adds rows where the client also runs AdaptiveThrottlingInterceptor. */
    boolean throttle;

    /** The limiter's minCapacity, or 0 for its default. */
    int minCapacity;

    /** The CPUs of the server JVMs and of this one, or null when unpinned. */
    String serverCpus;

    String clientCpus;
    int serverCores;
    Duration warmup;
    Duration duration;
    double[] factors;
    Path out;
    boolean append;

    static Settings from(Options options) {
      Settings s = new Settings();
      s.burn = options.duration("burn", Duration.ofMillis(5));
      s.deadline = options.duration("deadline", Duration.ofSeconds(1));
      s.capacityConcurrency = options.integer("capacity-concurrency", 0);
      s.pin = !options.flag("no-pin");
      s.throttle = options.flag("throttle");
      s.minCapacity = options.integer("min-capacity", 0);
      s.warmup = options.duration("warmup", Duration.ofSeconds(5));
      s.duration = options.duration("duration", Duration.ofSeconds(8));
      String[] parts = options.string("factors", "1,2,4").split(",");
      s.factors = new double[parts.length];
      for (int i = 0; i < parts.length; i++) {
        s.factors[i] = Double.parseDouble(parts[i]);
        if (!(s.factors[i] > 0)) {
          throw new IllegalArgumentException("--factors: " + parts[i] + " (expected: > 0)");
        }
      }
      s.out = options.flag("no-files") ? null : options.resultsDir().resolve("overload.md");
      s.append = options.flag("append");
      if (s.burn.isNegative()
          || s.burn.isZero()
          || s.deadline.isNegative()
          || s.deadline.isZero()
          || s.capacityConcurrency < 0
          || s.minCapacity < 0) {
        throw new IllegalArgumentException(
            "--burn: "
                + s.burn
                + ", --deadline: "
                + s.deadline
                + ", --capacity-concurrency: "
                + s.capacityConcurrency
                + ", --min-capacity: "
                + s.minCapacity
                + " (expected: --burn and --deadline > 0, the others >= 0)");
      }
      return s;
    }
  }
}
