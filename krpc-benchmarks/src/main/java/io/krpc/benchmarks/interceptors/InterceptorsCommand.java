package io.krpc.benchmarks.interceptors;

import io.krpc.benchmarks.internal.MarkdownReport;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
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
 * <p>Options: {@code --chains=bare,recovery,...} (default: all), {@code --forks=N} (1),
 * {@code --warmup=N} (3) and {@code --iterations=N} (5) of 1 s each, {@code --out=FILE} to save the
 * table as markdown, {@code --append=FILE} to add it to a file.
 */
public final class InterceptorsCommand {
  private InterceptorsCommand() {}

  /** Runs the benchmark on its own: {@code java ... InterceptorsCommand [options]}. */
  public static void main(String[] args) throws RunnerException {
    run(args);
  }

  /** Runs the benchmark with the options in {@code args} (the subcommand name already removed). */
  public static void run(String[] args) throws RunnerException {
    String chains = null;
    int forks = 1;
    int warmup = 3;
    int iterations = 5;
    String out = null;
    boolean append = false;
    for (String arg : args) {
      if (arg.startsWith("--chains=")) {
        chains = arg.substring("--chains=".length());
      } else if (arg.startsWith("--forks=")) {
        forks = Integer.parseInt(arg.substring("--forks=".length()));
      } else if (arg.startsWith("--warmup=")) {
        warmup = Integer.parseInt(arg.substring("--warmup=".length()));
      } else if (arg.startsWith("--iterations=")) {
        iterations = Integer.parseInt(arg.substring("--iterations=".length()));
      } else if (arg.startsWith("--out=") || arg.startsWith("--append=")) {
        out = arg.substring(arg.indexOf('=') + 1);
        append = arg.startsWith("--append=");
      } else {
        throw new IllegalArgumentException(
            "interceptors: unknown option " + arg
                + " (expected: --chains=a,b --forks=N --warmup=N --iterations=N --out=FILE"
                + " --append=FILE)");
      }
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
      MarkdownReport.write(out, "Interceptor cost (JMH)", "interceptors " + String.join(" ", args),
          table, append);
    }
  }

  private static String table(Collection<RunResult> results, int forks, int warmup, int iters) {
    List<Row> rows = new ArrayList<>();
    for (RunResult result : results) {
      String chain = result.getParams().getParam("chain");
      Result<?> primary = result.getPrimaryResult();
      Result<?> alloc = result.getSecondaryResults().get("gc.alloc.rate.norm");
      rows.add(new Row(chain, primary.getScore(), primary.getScoreError(),
          alloc != null ? alloc.getScore() : Double.NaN));
    }
    Row bare = rows.stream().filter(r -> r.chain.equals("bare")).findFirst().orElse(null);
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT,
        "Blocking unary call, in-process transport, direct executors; JMH %d fork(s), %d x 1 s warm-up,"
            + " %d x 1 s measurement, -prof gc.%n%n", forks, warmup, iters));
    sb.append("| chain | ns/op | ± (99.9%) | B/op | added ns/op | added B/op |\n");
    sb.append("|---|---:|---:|---:|---:|---:|\n");
    for (Row row : rows) {
      sb.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %s | %s |%n",
          row.chain, row.nanos, row.error, row.bytes,
          bare == null || row == bare ? "–" : String.format(Locale.ROOT, "%+.0f", row.nanos - bare.nanos),
          bare == null || row == bare ? "–" : String.format(Locale.ROOT, "%+.0f", row.bytes - bare.bytes)));
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
