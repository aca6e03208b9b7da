package io.krpc.benchmarks.discovery;

import io.krpc.benchmarks.Environment;
import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.overhead.EchoGreeter;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.registry.etcd.EtcdRegistry;
import io.krpc.testing.EtcdCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Discovery figures: time from {@code KServer.start()} to a client's first successful call through
 * each registry (median and p99 over {@code --runs}, default 50), and the cost of a registry change
 * for a service with 1,000 and 10,000 instances ({@code --instances=1000,10000}).
 */
public final class DiscoverySuite {
  private DiscoverySuite() {}

  /** Runs the figures from command-line options and prints (and writes) the table. */
  public static void main(Options options) throws Exception {
    int runs = options.integer("runs", 50);
    List<String> rows = new ArrayList<>();
    rows.add(rawBaseline(runs));
    try (InMemoryRegistry registry = new InMemoryRegistry()) {
      rows.addAll(startToFirstCall("in-memory", registry, runs));
    }
    if (!options.flag("no-etcd")) {
      rows.addAll(etcd(runs));
    }
    for (String n : options.string("instances", "1000,10000").split(",")) {
      int instances = Integer.parseInt(n.trim());
      int rounds = options.integer("rounds", 20);
      ResolverUpdateCost.measure(instances, Math.min(rounds, 4)); // warm-up
      Stats stats = Stats.of(ResolverUpdateCost.measure(instances, rounds));
      String row =
          String.format(
              Locale.ROOT,
              "| resolver update, %,d instances (in-memory registry) | %s |",
              instances,
              stats.row());
      System.out.println(row);
      rows.add(row);
    }
    String table =
        "| measurement | runs | median ms | p99 ms | max ms |\n"
            + "|---|---:|---:|---:|---:|\n"
            + String.join("\n", rows)
            + "\n";
    System.out.println();
    System.out.println(table);
    if (!options.flag("no-files")) {
      Path dir = options.resultsDir();
      Files.createDirectories(dir);
      Files.writeString(
          dir.resolve("discovery.md"),
          "# Discovery figures\n\n"
              + Environment.describe()
              + "\n"
              + "Start to first call: from the call to `KServer.start()` (bind, serve, register) to"
              + " the first reply a client gets, server and client in one JVM on loopback. "
              + "\"waiting client\": the client's call (wait-for-ready) was already in flight; "
              + "\"new client\": the client was built after `start()` returned. The baseline is what"
              + " any new grpc-java channel pays for its first call (connect, HTTP/2 handshake) to a"
              + " server already running, with no registry. Resolver update: from"
              + " `register`/`deregister` of one instance to the resolver handing the channel the whole"
              + " new list.\n\n"
              + table);
      System.out.println("wrote " + dir.resolve("discovery.md"));
    }
  }

  /** Baseline: a new plain grpc-java channel's first call to a server that is already running. */
  static String rawBaseline(int runs) throws Exception {
    io.grpc.Server server =
        io.grpc.Grpc.newServerBuilderForPort(0, io.grpc.InsecureServerCredentials.create())
            .addService(new EchoGreeter())
            .build()
            .start();
    try {
      for (int i = 0; i < Math.min(runs, 5); i++) {
        StartToFirstCall.rawNewChannel(server.getPort());
      }
      long[] nanos = new long[runs];
      for (int i = 0; i < runs; i++) {
        nanos[i] = StartToFirstCall.rawNewChannel(server.getPort());
      }
      String row =
          "| baseline: new grpc-java channel's first call to a running server, no registry"
              + " | "
              + Stats.of(nanos).row()
              + " |";
      System.out.println(row);
      return row;
    } finally {
      server.shutdownNow();
    }
  }

  /**
   * Start-to-first-call rows through a one-member etcd on loopback, or a note why there are none.
   */
  static List<String> etcd(int runs) throws Exception {
    EtcdCluster cluster;
    try {
      cluster = EtcdCluster.builder().members(1).start();
    } catch (RuntimeException e) {
      String row = "| start to first call, etcd registry | skipped: " + e.getMessage() + " | | | |";
      System.out.println(row);
      return List.of(row);
    }
    try (cluster;
        EtcdRegistry registry = EtcdRegistry.builder().endpoints(cluster.endpoints()).build()) {
      return startToFirstCall("etcd", registry, runs);
    }
  }

  /** Start-to-first-call rows for {@code registry}; warms up with a few runs first. */
  static List<String> startToFirstCall(String name, Registry registry, int runs) throws Exception {
    StartToFirstCall bench = new StartToFirstCall(registry, "disc");
    for (int i = 0; i < Math.min(runs, 5); i++) {
      bench.waitingClient(-1 - i);
      bench.newClient(-1 - i);
    }
    long[] waiting = new long[runs];
    long[] startOnly = new long[runs];
    long[] fresh = new long[runs];
    for (int i = 0; i < runs; i++) {
      waiting[i] = bench.waitingClient(i);
      startOnly[i] = bench.lastStartNanos();
      fresh[i] = bench.newClient(i);
    }
    List<String> rows =
        List.of(
            String.format(
                "| KServer.start() alone (bind, serve, register), %s registry | %s |",
                name, Stats.of(startOnly).row()),
            String.format(
                "| start to first call, %s registry, waiting client | %s |",
                name, Stats.of(waiting).row()),
            String.format(
                "| start to first call, %s registry, new client | %s |",
                name, Stats.of(fresh).row()));
    rows.forEach(System.out::println);
    return rows;
  }
}
