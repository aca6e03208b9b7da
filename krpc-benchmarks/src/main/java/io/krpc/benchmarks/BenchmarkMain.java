package io.krpc.benchmarks;

import io.krpc.benchmarks.discovery.DiscoverySuite;
import io.krpc.benchmarks.interceptors.InterceptorsCommand;
import io.krpc.benchmarks.lb.LbCommand;
import io.krpc.benchmarks.load.LoadResult;
import io.krpc.benchmarks.overhead.OverheadSuite;
import io.krpc.benchmarks.overhead.Target;
import io.krpc.benchmarks.overhead.Workload;
import io.krpc.benchmarks.overload.OverloadCommand;
import io.krpc.benchmarks.scale.ScaleCommand;
import io.krpc.benchmarks.scale.WatchCostCommand;
import java.util.Map;

/**
 * Entry point of the benchmark suite: {@code BenchmarkMain <command> [--option=value ...]}.
 *
 * <pre>{@code
 * ./mvnw -q -B -DskipTests -pl krpc-benchmarks -am package exec:java \
 *     -Dexec.args="overhead --duration=10s"
 * }</pre>
 *
 * <p>Commands:
 *
 * <ul>
 *   <li>{@code overhead}: raw grpc-java, KRPC (default and full governance, on grpc-java's default
 *       executor, with the service declared blocking) and Armeria on the same workloads, one of
 *       them a handler that blocks; see {@link OverheadSuite}
 *   <li>{@code discovery}: start-to-first-call through the registries, resolver update cost;
 *       options {@code --runs=50 --results=DIR --no-files}
 *   <li>{@code lb}: the load-balancing matrix, krpc_p2c against round_robin with one slow backend
 *       of four at several service times and concurrencies; see {@link LbCommand}
 *   <li>{@code interceptors}: JMH, the per-call cost of each governance interceptor and of the
 *       default chain; see {@link InterceptorsCommand}
 *   <li>{@code overload}: a CPU-bound server at 1x, 2x and 4x its capacity, with and without the
 *       BBR limiter; see {@link OverloadCommand}
 *   <li>{@code scale}: a fleet of 10,000 instances and 200 watching registries on a 3-member etcd,
 *       a rolling restart, a 30,000-instance service; see {@link ScaleCommand}
 *   <li>{@code watchcost}: what one etcd watch stream and one watcher cost a member, per request
 *       shape; see {@link WatchCostCommand}
 *   <li>{@code smoke}: every configuration for a moment; fails only when calls fail (CI)
 * </ul>
 *
 * <p>To add a command, add a {@code case} to the switch in {@link #run}.
 */
public final class BenchmarkMain {
  // Held so that the level sticks: grpc-java warns through JUL each time a resolver reports a
  // service with no instances yet, which the discovery runs do on purpose.
  private static final java.util.logging.Logger GRPC_LOGGER =
      java.util.logging.Logger.getLogger("io.grpc");

  private BenchmarkMain() {}

  /** Runs the command in {@code args[0]}; exits with status 1 on failure, 2 on bad usage. */
  public static void main(String[] args) throws Exception {
    int status;
    try {
      status = run(args);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      status = 2;
    }
    // exec:java keeps the JVM; only a standalone run exits with the status.
    if (status != 0) {
      System.err.println(usage());
      throw new IllegalStateException("benchmark command failed with status " + status);
    }
  }

  /** Runs one command and returns its exit status. */
  public static int run(String[] args) throws Exception {
    GRPC_LOGGER.setLevel(java.util.logging.Level.SEVERE);
    String command = args.length == 0 ? "help" : args[0];
    Options options = Options.parse(args);
    Environment.command(args);
    switch (command) {
      case "overhead":
        OverheadSuite.main(options);
        return 0;
      case "discovery":
        DiscoverySuite.main(options);
        return 0;
      case "lb":
        LbCommand.run(args);
        return 0;
      case "interceptors":
        InterceptorsCommand.run(args);
        return 0;
      case "overload":
        OverloadCommand.run(args);
        return 0;
      case "scale":
        ScaleCommand.run(args);
        return 0;
      case "watchcost":
        WatchCostCommand.run(args);
        return 0;
      case "smoke":
        return smoke(options);
      case "help":
        System.out.println(usage());
        return 0;
      default:
        System.err.println("unknown command: " + command);
        return 2;
    }
  }

  /**
   * Every configuration and workload for a moment, then a short discovery run, every load-balancing
   * row for a moment and one call to an overload server JVM.
   */
  static int smoke(Options options) throws Exception {
    Map<Workload, Map<Target.Kind, LoadResult>> results =
        OverheadSuite.main(
            Options.parse(
                new String[] {
                  "overhead",
                  "--duration=400ms",
                  "--warmup=50ms",
                  "--concurrency=4",
                  "--blocking-concurrency=8",
                  "--configs=a,b,c,d,e,f,g",
                  "--no-files"
                }));
    int failures = 0;
    for (Map<Target.Kind, LoadResult> row : results.values()) {
      for (LoadResult r : row.values()) {
        if (r.successes() == 0 || r.errors() > 0) {
          System.err.println("smoke: failing cell: " + r.summary());
          failures++;
        }
      }
    }
    DiscoverySuite.main(
        Options.parse(new String[] {"discovery", "--runs=3", "--instances=100", "--no-files"}));
    LbCommand.run(
        new String[] {
          "lb",
          "--fast=2ms",
          "--concurrency=4",
          "--warmup=100ms",
          "--duration=300ms",
          "--recovery-limit=300ms",
          "--no-pin",
          "--no-files"
        });
    OverloadCommand.smoke();
    ScaleCommand.Result scale =
        ScaleCommand.run(
            new String[] {
              "scale",
              "--members=1",
              "--instances=200",
              "--services=10",
              "--clients=4",
              "--watch=5",
              "--restart=20",
              "--down=100ms",
              "--big=2000",
              "--own=4",
              "--no-files"
            });
    // timing is not asserted: only that every registry used one stream and changes arrived
    if (scale.streamsPerRegistry() != 1.0
        || scale.observations() < scale.expectedObservations() / 2) {
      System.err.println("smoke: scale: " + scale);
      failures++;
    }
    // two tiny points of the etcd watch-cost probe (it fails when etcd's gauges never show them)
    WatchCostCommand.run(
        new String[] {"watchcost", "--points=10x0,10x2", "--repeat=1", "--keys=2", "--no-files"});
    System.out.println(failures == 0 ? "smoke: OK" : "smoke: " + failures + " cells failed");
    return failures == 0 ? 0 : 1;
  }

  static String usage() {
    return "usage: BenchmarkMain overhead|discovery|lb|interceptors|overload|scale|watchcost|smoke"
        + " [--option=value ...]";
  }
}
