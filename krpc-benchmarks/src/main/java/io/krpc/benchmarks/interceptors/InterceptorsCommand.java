package io.krpc.benchmarks.interceptors;

import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.internal.MarkdownReport;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code interceptors}: runs {@link InterceptorBenchmark} under JMH with the GC profiler and prints
 * one markdown row per interceptor: ns/op and B/op, and what each adds to the bare call.
 *
 * <p>Options: {@code --chains=bare,recovery,...} (default: all), {@code --forks=1}, {@code
 * --warmup-iterations=3} and {@code --iterations=5} of 1 s each; the table goes to {@code
 * interceptors.md} in the results directory ({@code --results=DIR}), replaced, or added to with
 * {@code --append}; {@code --no-files} writes nothing.
 */
public final class InterceptorsCommand {
  private InterceptorsCommand() {}

  /**
   * Runs the benchmark with the options in {@code args}, {@code args[0]} being {@code
   * interceptors}.
   */
  public static void run(String[] args) throws RunnerException {
    Options parsed = Options.parse(args);
    String chains = parsed.string("chains", null);
    int forks = parsed.integer("forks", 1);
    int warmup = parsed.integer("warmup-iterations", 3);
    int iterations = parsed.integer("iterations", 5);
    Path out = parsed.flag("no-files") ? null : parsed.resultsDir().resolve("interceptors.md");
    boolean append = parsed.flag("append");
    if (forks < 0 || warmup < 0 || iterations < 1) {
      throw new IllegalArgumentException(
          "--forks: "
              + forks
              + ", --warmup-iterations: "
              + warmup
              + ", --iterations: "
              + iterations
              + " (expected: >= 0, >= 0, >= 1)");
    }
    exposeClassPathToForks();
    ChainedOptionsBuilder options =
        new OptionsBuilder()
            .include(InterceptorBenchmark.class.getName())
            .forks(forks)
            .warmupIterations(warmup)
            .warmupTime(TimeValue.seconds(1))
            .measurementIterations(iterations)
            .measurementTime(TimeValue.seconds(1))
            .addProfiler(GCProfiler.class)
            .jvmArgsAppend("-Xms512m", "-Xmx512m");
    if (chains != null) {
      options.param("chain", chains.split(","));
    }
    Collection<RunResult> results = new Runner(options.build()).run();
    String table = table(results, forks, warmup, iterations);
    System.out.println();
    System.out.println(table);
    if (out != null) {
      MarkdownReport.write(out, "Interceptor cost (JMH)", String.join(" ", args), table, append);
    }
  }

  private static String table(Collection<RunResult> results, int forks, int warmup, int iters) {
    List<Row> rows = new ArrayList<>();
    for (RunResult result : results) {
      String chain = result.getParams().getParam("chain");
      Result<?> primary = result.getPrimaryResult();
      Result<?> alloc = result.getSecondaryResults().get("gc.alloc.rate.norm");
      rows.add(
          new Row(
              chain,
              primary.getScore(),
              primary.getScoreError(),
              alloc != null ? alloc.getScore() : Double.NaN));
    }
    Row bare = rows.stream().filter(r -> r.chain.equals("bare")).findFirst().orElse(null);
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "Blocking unary call, in-process transport, direct executors; JMH %d fork(s), %d x 1 s warm-up,"
                + " %d x 1 s measurement, -prof gc.%n%n",
            forks,
            warmup,
            iters));
    sb.append("| chain | ns/op | ± (99.9%) | B/op | added ns/op | added B/op |\n");
    sb.append("|---|---:|---:|---:|---:|---:|\n");
    for (Row row : rows) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %.0f | %.0f | %.0f | %s | %s |%n",
              row.chain,
              row.nanos,
              row.error,
              row.bytes,
              bare == null || row.equals(bare)
                  ? "–"
                  : String.format(Locale.ROOT, "%+.0f", row.nanos - bare.nanos),
              bare == null || row.equals(bare)
                  ? "–"
                  : String.format(Locale.ROOT, "%+.0f", row.bytes - bare.bytes)));
    }
    return sb.toString();
  }

  /**
   * JMH starts its forks with {@code java.class.path}; under {@code exec:java} that is Maven's own
   * launcher, so point it at the class loader that actually loaded the benchmark.
   */
  private static void exposeClassPathToForks() {
    ClassLoader loader = InterceptorBenchmark.class.getClassLoader();
    if (!(loader instanceof URLClassLoader urls)) {
      return; // started with a plain java -cp: java.class.path is already right
    }
    List<String> entries = new ArrayList<>();
    for (URL url : urls.getURLs()) {
      if ("file".equals(url.getProtocol())) {
        entries.add(new File(url.getPath()).getAbsolutePath());
      }
    }
    if (!entries.isEmpty()) {
      System.setProperty("java.class.path", String.join(File.pathSeparator, entries));
    }
  }

  private record Row(String chain, double nanos, double error, double bytes) {}
}
