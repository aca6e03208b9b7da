package io.krpc.benchmarks.scale;

import com.sun.management.OperatingSystemMXBean;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.internal.MarkdownReport;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.EtcdRegistry;
import io.krpc.registry.etcd.RecordFormat;
import io.krpc.testing.EtcdCluster;
import io.krpc.testing.EtcdMember;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A fleet on a real etcd cluster: {@code --instances} (10,000) instances over {@code --services}
 * (100) services, registered by one server registry per group of services; {@code --clients} (200)
 * client registries each watching {@code --watch} (20) services; a rolling restart of {@code
 * --restart} (1,000) instances (deregister, {@code --down} 200 ms, register again); then one
 * service of {@code --big} (30,000) instances with {@code --metadata} (200) bytes of metadata each,
 * listed by a fresh registry.
 *
 * <p>Reports each member's RSS and Go heap, etcd's watch stream and watcher gauges (its {@code
 * /metrics}) before and after the clients, change-to-listener latency (from the start of the {@code
 * deregister}/{@code register} call to the listener's snapshot without/with the instance) and the
 * client JVM's CPU. Everything but etcd runs in this JVM.
 */
public final class ScaleCommand {
  private ScaleCommand() {}

  // --profiles=DIR: where probes save the members' heap profiles; empty: not saved
  private static String profiles = "";

  /** What a run measured, for the smoke check. */
  public record Result(
      double streamsPerRegistry,
      long observations,
      long expectedObservations,
      long bigListMillis) {}

  /** Runs the benchmark with {@code args} ({@code scale --option=value ...}). */
  public static Result run(String[] args) throws Exception {
    Options options = Options.parse(args);
    int members = options.integer("members", 3);
    int instances = options.integer("instances", 10_000);
    int services = options.integer("services", 100);
    int clients = options.integer("clients", 200);
    int watch = Math.min(services, options.integer("watch", 20));
    int restart = Math.min(instances, options.integer("restart", 1_000));
    int big = options.integer("big", 30_000);
    int metadataBytes = options.integer("metadata", 200);
    Duration down = options.duration("down", Duration.ofMillis(200));
    // negative: EtcdRegistry's default
    Duration coalesce = options.duration("coalesce", Duration.ofMillis(-1));
    int own = options.integer("own", 100);
    String share = options.string("share", "default");
    if (!List.of("default", "true", "false").contains(share)) {
      throw new IllegalArgumentException(
          "--share: " + share + " (expected: true, false or default)");
    }
    boolean files = !options.flag("no-files");
    profiles = options.string("profiles", "");
    // > 0: the members' heap profiles sample every N bytes (see EtcdProbe.setMemProfileRate)
    int memProfileRate = options.integer("memprofilerate", 0);
    StringBuilder report = new StringBuilder();
    try (EtcdCluster cluster = EtcdCluster.builder().members(members).start();
        Fleet fleet = new Fleet(cluster.endpoints(), coalesce, share)) {
      if (memProfileRate > 0) {
        for (EtcdMember member : cluster.members()) {
          EtcdProbe.setMemProfileRate(member, memProfileRate);
        }
      }
      List<EtcdProbe> empty = probe(cluster, "empty");
      // 1. the servers
      long t0 = System.nanoTime();
      fleet.registerAll(instances, services);
      long populateMillis = millisSince(t0);
      List<EtcdProbe> servers = probe(cluster, "servers");
      // 2. the clients
      fleet.createClients(clients, services, watch);
      List<EtcdProbe> listed = probe(cluster, "listed");
      t0 = System.nanoTime();
      fleet.startWatches(services, watch);
      await(
          "every client sees every watched service in full",
          () -> fleet.clientsComplete(instances / services),
          Duration.ofMinutes(3));
      long clientsMillis = millisSince(t0);
      Thread.sleep(3000);
      List<EtcdProbe> watching = probe(cluster, "watching");
      long ranges0 = EtcdProbe.rangesStarted(cluster.members());
      long idle0 = System.nanoTime();
      double idleCores = fleet.cores(() -> sleep(Duration.ofSeconds(5)));
      // seen from etcd: a connection probe is a count-only Range, the only Range an idle fleet
      // sends
      double idleProbesPerSecond =
          (EtcdProbe.rangesStarted(cluster.members()) - ranges0)
              * 1e9
              / (System.nanoTime() - idle0);
      // 3. the rolling restart
      fleet.resetLatencies();
      double restartCores = fleet.cores(() -> fleet.rollingRestart(restart, down));
      boolean converged =
          awaitQuietly(() -> fleet.clientsComplete(instances / services), Duration.ofSeconds(30));
      Histogram appear = fleet.appear.getIntervalHistogram();
      Histogram disappear = fleet.disappear.getIntervalHistogram();
      Histogram afterCommit = fleet.afterCommit.getIntervalHistogram();
      long expected = 2L * restart * clients * watch / services;
      long missed = expected - appear.getTotalCount() - disappear.getTotalCount();
      Histogram calls = fleet.calls.getIntervalHistogram();
      // 4. registries with a connection of their own (one registry per JVM, as most fleets run):
      // what the connection costs etcd, then what the watches on it add
      Own ownCost = own > 0 ? ownConnections(cluster, own, services, watch) : null;
      // 5. one big service
      BigList bigList = big > 0 ? bigService(cluster, big, metadataBytes) : null;

      long streamsBefore = sum(servers, EtcdProbe::watchStreams);
      long streamsAfter = sum(watching, EtcdProbe::watchStreams);
      long watchersDelta = sum(watching, EtcdProbe::watchers) - sum(servers, EtcdProbe::watchers);
      double streamsPerRegistry = (streamsAfter - streamsBefore) / (double) clients;
      // per watching registry: everything the clients added, and the watches alone (from the
      // same registries after they had looked their services up)
      Growth added = Growth.between(servers, watching, clients);
      Growth watches = Growth.between(listed, watching, clients);

      report.append(
          String.format(
              Locale.ROOT,
              "%d etcd members, %d instances over %d services (registered in %d ms by %d server "
                  + "registries), %d client registries watching %d services each (%d watches; all "
                  + "complete after %d ms).%n%n",
              members,
              instances,
              services,
              populateMillis,
              fleet.servers.size(),
              clients,
              watch,
              clients * watch,
              clientsMillis));
      report.append(
          "| etcd member | RSS empty | RSS with servers | RSS with clients | Go heap live"
              + " (heap_alloc) with servers → clients | Go heap in use (heap_inuse) with servers →"
              + " clients | watch streams | watchers |\n"
              + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
      for (int i = 0; i < members; i++) {
        report.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | %s | %s | %s → %s | %s → %s | %d → %d | %d → %d |%n",
                cluster.member(i).name(),
                mib(empty.get(i).rssBytes()),
                mib(servers.get(i).rssBytes()),
                mib(watching.get(i).rssBytes()),
                mib(servers.get(i).heapAllocBytes()),
                mib(watching.get(i).heapAllocBytes()),
                mib(servers.get(i).heapInUseBytes()),
                mib(watching.get(i).heapInUseBytes()),
                servers.get(i).watchStreams(),
                watching.get(i).watchStreams(),
                servers.get(i).watchers(),
                watching.get(i).watchers()));
      }
      report.append(
          String.format(
              Locale.ROOT,
              "%n%s Heaps and stacks are read right after the second of two forced GCs in every"
                  + " member (the second drops what Go's sync.Pools kept through the first), from"
                  + " the MemStats lines of Go's text heap profile, not from /metrics, which also"
                  + " counts the garbage made since. heap_alloc is the live bytes; heap_inuse the"
                  + " spans holding them, with the free slots between.%n",
              "true".equals(share)
                  ? "Every registry above shares this JVM's one connection to etcd (a jetcd channel"
                      + " to the members: reads, writes, leases and each registry's own watch"
                      + " stream), so the figures per watching registry below are its watch stream"
                      + " and watchers plus 1/"
                      + (clients + fleet.servers.size())
                      + " of the connection; the cost of a connection is measured apart with "
                      + own
                      + " registries of their own connection."
                  : ("false".equals(share)
                          ? "Registries here have a connection of their own (--share=false)"
                          : "Registries here use EtcdRegistry's default for connection sharing (on"
                              + " since 2026-12-05: the registries of a JVM with the same endpoints"
                              + " and identity share one connection)")
                      + "; the cost of a connection and of the watches on it are measured apart"
                      + " with "
                      + own
                      + " registries of their own connection."));
      report.append(
          String.format(
              Locale.ROOT,
              "%n| measure | value |%n|---|---:|%n"
                  + "| watch streams per client registry (etcd gauge) | %.2f |%n"
                  + "| watchers added per client registry (etcd gauge) | %.1f |%n"
                  + "| etcd RSS per watching registry (its watches + its share of the"
                  + " connections), all members | %.1f KB |%n"
                  + "| etcd Go heap live (heap_alloc) per watching registry (same), all members |"
                  + " %.1f KB |%n"
                  + "| etcd Go heap in use (heap_inuse) per watching registry (same), all members |"
                  + " %.1f KB |%n"
                  + "| etcd goroutine stacks (stack_inuse) per watching registry (same), all members"
                  + " | %.1f KB |%n"
                  + "| … of which the watches alone (one stream, %d watchers; read from the same"
                  + " registries after they had looked their services up): Go heap live / in use /"
                  + " stacks / RSS, all members | %.1f / %.1f / %.1f / %.1f KB |%n"
                  + "| … goroutines they added, per registry, all members | %.2f |%n"
                  + "| rolling restart of %d instances (down %d ms each): change → listener p50 / p99 / max"
                  + " | %.1f / %.1f / %.1f ms |%n"
                  + "| … instance gone → listener p50 / p99 | %.1f / %.1f ms |%n"
                  + "| … instance back → listener p50 / p99 | %.1f / %.1f ms |%n"
                  + "| … of which the deregister/register call itself (etcd commit) p50 / p99 |"
                  + " %.1f / %.1f ms |%n"
                  + "| change → listener from the call's return (the change committed) p50 / p99 /"
                  + " max | %.1f / %.1f / %.1f ms |%n"
                  + "| … changes a listener saw before the call returned (counted as 0 above) |"
                  + " %.1f %% |%n"
                  + "| coalescing interval of the client registries | %s |%n"
                  + "| observations recorded / expected (missed: a delete and re-put within one"
                  + " coalescing interval) | %d / %d |%n"
                  + "| all clients converged after the restart | %s |%n"
                  + "| client JVM CPU, idle (%d registries + %d servers) | %.2f cores |%n"
                  + "| … connection probes (count-only Range) etcd received meanwhile | %.1f /s |%n"
                  + "| client JVM CPU during the rolling restart | %.2f cores |%n"
                  + "| listeners told \"etcd does not answer\" until here (etcd was up: false"
                  + " alarms) | %d |%n",
              streamsPerRegistry,
              watchersDelta / (double) clients,
              added.rss / 1024.0,
              added.live / 1024.0,
              added.heap / 1024.0,
              added.stack / 1024.0,
              watch,
              watches.live / 1024.0,
              watches.heap / 1024.0,
              watches.stack / 1024.0,
              watches.rss / 1024.0,
              (sum(watching, EtcdProbe::goroutines) - sum(listed, EtcdProbe::goroutines))
                  / (double) clients,
              restart,
              down.toMillis(),
              p(merge(appear, disappear), 50),
              p(merge(appear, disappear), 99),
              merge(appear, disappear).getMaxValue() / 1000.0,
              p(disappear, 50),
              p(disappear, 99),
              p(appear, 50),
              p(appear, 99),
              p(calls, 50),
              p(calls, 99),
              p(afterCommit, 50),
              p(afterCommit, 99),
              afterCommit.getMaxValue() / 1000.0,
              100.0 * fleet.beforeReturn.get() / Math.max(1, afterCommit.getTotalCount()),
              coalesce.isNegative() ? "EtcdRegistry's default" : coalesce.toMillis() + " ms",
              appear.getTotalCount() + disappear.getTotalCount(),
              expected,
              converged,
              clients,
              fleet.servers.size(),
              idleCores,
              idleProbesPerSecond,
              restartCores,
              fleet.listenerErrors.get()));
      if (ownCost != null) {
        report.append(
            String.format(
                Locale.ROOT,
                "| %d registries with a connection of their own, connected (each has looked up the"
                    + " services it will watch), not"
                    + " watching: etcd Go heap live / in use / RSS per connection, all members |"
                    + " %.1f / %.1f / %.1f KB |%n"
                    + "| … then each watching %d services: the watch part alone (one stream, %d"
                    + " watchers), added Go heap live / in use / RSS / stacks per registry, all"
                    + " members | %.1f / %.1f / %.1f / %.1f KB |%n"
                    + "| … so one registry alone on its connection costs etcd in all (connection +"
                    + " watches), Go heap live / in use / RSS | %.1f / %.1f / %.1f KB |%n",
                own,
                ownCost.perConnection.live / 1024.0,
                ownCost.perConnection.heap / 1024.0,
                ownCost.perConnection.rss / 1024.0,
                watch,
                watch,
                ownCost.perWatching.live / 1024.0,
                ownCost.perWatching.heap / 1024.0,
                ownCost.perWatching.rss / 1024.0,
                ownCost.perWatching.stack / 1024.0,
                (ownCost.perConnection.live + ownCost.perWatching.live) / 1024.0,
                (ownCost.perConnection.heap + ownCost.perWatching.heap) / 1024.0,
                (ownCost.perConnection.rss + ownCost.perWatching.rss) / 1024.0));
      }
      if (bigList != null) {
        report.append(
            String.format(
                Locale.ROOT,
                "| one service of %d instances (%d B metadata, %.1f MB of records): written in |"
                    + " %d ms |%n"
                    + "| … fresh registry, watch() to the first full snapshot (paged, %d keys a page) |"
                    + " %d ms |%n"
                    + "| … lookup() | %d ms |%n"
                    + "| … one unpaged get through a client with grpc-java's 4 MiB limit | %s |%n",
                big,
                metadataBytes,
                bigList.megabytes,
                bigList.writeMillis,
                1000,
                bigList.watchMillis,
                bigList.lookupMillis,
                bigList.unpaged));
      }
      System.out.println(report);
      if (files) {
        MarkdownReport.write(
            options.resultsDir().resolve("scale.md"),
            "Scale: a fleet on etcd",
            String.join(" ", args),
            report.toString(),
            false);
      }
      return new Result(
          streamsPerRegistry,
          expected - missed,
          expected,
          bigList == null ? 0 : bigList.watchMillis);
    }
  }

  // ---- registries with a connection of their own

  private record Own(Growth perConnection, Growth perWatching) {}

  /** What the members grew by, summed over them, per one of {@code count} registries. */
  private record Growth(double live, double heap, double stack, double rss) {
    static Growth between(List<EtcdProbe> before, List<EtcdProbe> after, int count) {
      return new Growth(
          delta(before, after, EtcdProbe::heapAllocBytes) / (double) count,
          delta(before, after, EtcdProbe::heapInUseBytes) / (double) count,
          delta(before, after, EtcdProbe::stackInUseBytes) / (double) count,
          delta(before, after, EtcdProbe::rssBytes) / (double) count);
    }

    private static long delta(
        List<EtcdProbe> before,
        List<EtcdProbe> after,
        java.util.function.ToLongFunction<EtcdProbe> figure) {
      return sum(after, figure) - sum(before, figure);
    }
  }

  private static Own ownConnections(EtcdCluster cluster, int count, int services, int watch)
      throws Exception {
    List<EtcdRegistry> registries = new ArrayList<>();
    try {
      List<EtcdProbe> before = probe(cluster, "own-before");
      for (int i = 0; i < count; i++) {
        EtcdRegistry registry =
            EtcdRegistry.builder().endpoints(cluster.endpoints()).shareConnection(false).build();
        registries.add(registry);
        // the services it will watch, looked up first: the lookups go round robin over its
        // connections to the members, so each connection has carried list-sized answers before
        // the "connected" probe. grpc-go keeps a connection's frame write buffer at the largest
        // frame it has written (up to 16 KB); read after a single lookup, that buffer grew on the
        // other connections during the watch's lists and counted as the watch's (~32 KB a
        // registry in a heap-profile diff), though it is the connection's and is there for any
        // client that reads.
        for (String service : Fleet.watched(i, services, watch)) {
          registry.lookup(service);
        }
      }
      List<EtcdProbe> connected = probe(cluster, "own-connected");
      AtomicLong complete = new AtomicLong();
      for (int i = 0; i < count; i++) {
        for (String service : Fleet.watched(i, services, watch)) {
          boolean[] seen = new boolean[1];
          registries
              .get(i)
              .watch(
                  service,
                  list -> {
                    if (!seen[0]) {
                      seen[0] = true;
                      complete.incrementAndGet();
                    }
                  });
        }
      }
      await(
          "every own-connection registry lists its services",
          () -> complete.get() == (long) count * watch,
          Duration.ofMinutes(2));
      Thread.sleep(2000);
      List<EtcdProbe> watching = probe(cluster, "own-watching");
      return new Own(
          Growth.between(before, connected, count), Growth.between(connected, watching, count));
    } finally {
      registries.forEach(EtcdRegistry::close);
    }
  }

  // ---- the big service

  private record BigList(
      double megabytes, long writeMillis, long watchMillis, long lookupMillis, String unpaged) {}

  private static BigList bigService(EtcdCluster cluster, int count, int metadataBytes)
      throws Exception {
    String padding = "x".repeat(Math.max(0, metadataBytes - 10));
    long bytes = 0;
    long t0 = System.nanoTime();
    try (Client client =
        Client.builder().endpoints(cluster.endpoints().toArray(String[]::new)).build()) {
      long lease = client.getLeaseClient().grant(600).get().getID();
      PutOption option = PutOption.builder().withLeaseId(lease).build();
      List<Op> batch = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        ServiceInstance instance =
            ServiceInstance.builder("big", host(i), 9000).metadata(Map.of("pad", padding)).build();
        byte[] value = RecordFormat.KRPC.encode(instance);
        String key = RecordFormat.KRPC.key(instance, lease);
        bytes += key.length() + value.length;
        batch.add(
            Op.put(
                ByteSequence.from(key, StandardCharsets.UTF_8), ByteSequence.from(value), option));
        if (batch.size() == 128 || i == count - 1) {
          client.getKVClient().txn().Then(batch.toArray(Op[]::new)).commit().get();
          batch.clear();
        }
      }
      long writeMillis = millisSince(t0);
      String unpaged;
      try (Client small =
          Client.builder().endpoints(cluster.endpoints().toArray(String[]::new)).build()) {
        small
            .getKVClient()
            .get(
                ByteSequence.from("/krpc/services/big/", StandardCharsets.UTF_8),
                GetOption.builder().isPrefix(true).build())
            .get(30, TimeUnit.SECONDS);
        unpaged = "answered";
      } catch (Exception e) {
        Throwable root = e;
        while (root.getCause() != null) {
          root = root.getCause();
        }
        unpaged = "fails: " + String.valueOf(root.getMessage()).replace("|", "/");
        if (unpaged.length() > 90) {
          unpaged = unpaged.substring(0, 90) + "…";
        }
      }
      try (EtcdRegistry registry = EtcdRegistry.builder().endpoints(cluster.endpoints()).build()) {
        AtomicLong seen = new AtomicLong();
        long w0 = System.nanoTime();
        registry.watch("big", list -> seen.set(list.size()));
        await("the big service listed in full", () -> seen.get() == count, Duration.ofMinutes(1));
        long watchMillis = millisSince(w0);
        long l0 = System.nanoTime();
        int listed = registry.lookup("big").size();
        long lookupMillis = millisSince(l0);
        if (listed != count) {
          throw new IllegalStateException("lookup(big) listed " + listed + " of " + count);
        }
        client.getLeaseClient().revoke(lease).get();
        return new BigList(bytes / 1e6, writeMillis, watchMillis, lookupMillis, unpaged);
      }
    }
  }

  // ---- the fleet

  /** The server and client registries, and what their listeners saw. */
  private static final class Fleet implements AutoCloseable {
    final List<String> endpoints;
    final List<EtcdRegistry> servers = new ArrayList<>();
    final List<EtcdRegistry> clients = new ArrayList<>();
    final List<Tracker> trackers = new ArrayList<>();
    final Map<String, List<ServiceInstance>> byServer = new ConcurrentHashMap<>();
    final Map<String, Long> registeredAt = new ConcurrentHashMap<>();
    final Map<String, Long> deregisteredAt = new ConcurrentHashMap<>();
    final Recorder appear = new Recorder(3);
    final Recorder disappear = new Recorder(3);
    final Recorder calls = new Recorder(3);
    // from the moment the deregister/register call returned (the change is committed then); a
    // listener that saw the change before the call returned counts 0
    final Recorder afterCommit = new Recorder(3);
    final Map<String, Long> committedAt = new ConcurrentHashMap<>();
    final AtomicLong beforeReturn = new AtomicLong();
    final AtomicLong listenerErrors = new AtomicLong();
    final ExecutorService pool = Executors.newFixedThreadPool(20);
    final Duration coalesce;
    final String share;

    Fleet(List<String> endpoints, Duration coalesce, String share) {
      this.endpoints = endpoints;
      this.coalesce = coalesce;
      this.share = share;
    }

    EtcdRegistry.Builder builder() {
      EtcdRegistry.Builder builder = EtcdRegistry.builder().endpoints(endpoints);
      return "default".equals(share) ? builder : builder.shareConnection("true".equals(share));
    }

    void registerAll(int instances, int services) throws Exception {
      int serverCount = Math.min(20, services);
      List<List<ServiceInstance>> perServer = new ArrayList<>();
      for (int s = 0; s < serverCount; s++) {
        servers.add(builder().build());
        perServer.add(new ArrayList<>());
      }
      for (int i = 0; i < instances; i++) {
        int service = i % services;
        perServer
            .get(service % serverCount)
            .add(
                ServiceInstance.builder(service(service), host(i), 9000)
                    .metadata(Map.of("zone", "z" + (i % 3)))
                    .build());
      }
      List<Future<?>> done = new ArrayList<>();
      for (int s = 0; s < serverCount; s++) {
        EtcdRegistry registry = servers.get(s);
        List<ServiceInstance> mine = perServer.get(s);
        byServer.put(String.valueOf(s), mine);
        done.add(pool.submit(() -> mine.forEach(registry::register)));
      }
      for (Future<?> f : done) {
        f.get();
      }
    }

    /**
     * Builds {@code count} client registries, each looking up the {@code watch} services it will
     * watch (so etcd's figures can tell the watches from the reads and connections before them).
     */
    void createClients(int count, int services, int watch) {
      for (int c = 0; c < count; c++) {
        EtcdRegistry.Builder builder = builder();
        if (!coalesce.isNegative()) {
          builder.coalesce(coalesce);
        }
        EtcdRegistry registry = builder.build();
        clients.add(registry);
        for (String service : watched(c, services, watch)) {
          registry.lookup(service);
        }
      }
    }

    /** Starts each client registry's watches of its {@code watch} services. */
    void startWatches(int services, int watch) {
      for (int c = 0; c < clients.size(); c++) {
        for (String service : watched(c, services, watch)) {
          Tracker tracker = new Tracker(service);
          trackers.add(tracker);
          clients.get(c).watch(service, tracker);
        }
      }
    }

    /** The {@code watch} services registry number {@code client} watches (spread over all). */
    static List<String> watched(int client, int services, int watch) {
      int step = Math.max(1, services / watch);
      List<String> names = new ArrayList<>();
      for (int k = 0; k < watch; k++) {
        names.add(service((client + k * step) % services));
      }
      return names;
    }

    boolean clientsComplete(int perService) {
      for (Tracker t : trackers) {
        if (t.size != perService) {
          return false;
        }
      }
      return true;
    }

    void resetLatencies() {
      appear.getIntervalHistogram();
      disappear.getIntervalHistogram();
      calls.getIntervalHistogram();
      afterCommit.getIntervalHistogram();
      beforeReturn.set(0);
    }

    /** Restarts {@code count} instances spread over the fleet, one server thread per registry. */
    void rollingRestart(int count, Duration down) {
      int serverCount = servers.size();
      List<Future<?>> done = new ArrayList<>();
      for (int s = 0; s < serverCount; s++) {
        EtcdRegistry registry = servers.get(s);
        List<ServiceInstance> mine = byServer.get(String.valueOf(s));
        int share = count / serverCount + (s < count % serverCount ? 1 : 0);
        int stride = Math.max(1, mine.size() / Math.max(1, share));
        done.add(
            pool.submit(
                () -> {
                  for (int j = 0; j < share && j * stride < mine.size(); j++) {
                    ServiceInstance instance = mine.get(j * stride);
                    String id = instance.serviceName() + "/" + instance.endpoint();
                    long t = System.nanoTime();
                    committedAt.remove("-" + id);
                    deregisteredAt.put(id, t);
                    timed(() -> registry.deregister(instance), "deregister " + id);
                    long end = System.nanoTime();
                    committedAt.put("-" + id, end);
                    calls.recordValue((end - t) / 1000);
                    sleep(down);
                    t = System.nanoTime();
                    committedAt.remove("+" + id);
                    registeredAt.put(id, t);
                    timed(() -> registry.register(instance), "register " + id);
                    end = System.nanoTime();
                    committedAt.put("+" + id, end);
                    calls.recordValue((end - t) / 1000);
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        try {
          f.get();
        } catch (Exception e) {
          throw new IllegalStateException("rolling restart failed", e);
        }
      }
    }

    /**
     * Runs {@code call}; when it fails, writes every thread's stack to a file first (the cause of a
     * timeout is in what the threads were doing while it ran out).
     */
    void timed(Runnable call, String what) {
      try {
        call.run();
      } catch (RuntimeException e) {
        StringBuilder dump = new StringBuilder(what + " failed: " + e + "\n\n");
        for (ThreadInfo info : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
          dump.append(info.getThreadName()).append(' ').append(info.getThreadState()).append('\n');
          for (StackTraceElement frame : info.getStackTrace()) {
            dump.append("    at ").append(frame).append('\n');
          }
          dump.append('\n');
        }
        try {
          Path file = Files.createTempFile("scale-threads-", ".txt");
          Files.writeString(file, dump);
          System.err.println("scale: " + what + " failed; threads in " + file);
        } catch (IOException io) {
          e.addSuppressed(io);
        }
        throw e;
      }
    }

    /** Runs {@code work} and returns the cores this JVM used meanwhile. */
    double cores(Runnable work) {
      OperatingSystemMXBean os =
          (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      long cpu0 = os.getProcessCpuTime();
      long t0 = System.nanoTime();
      work.run();
      return (os.getProcessCpuTime() - cpu0) / (double) (System.nanoTime() - t0);
    }

    @Override
    public void close() {
      pool.shutdownNow();
      clients.forEach(EtcdRegistry::close);
      servers.forEach(EtcdRegistry::close);
    }

    /** One client's view of one service: records when endpoints leave and come back. */
    final class Tracker implements Registry.Listener {
      final String service;
      Set<String> known = new HashSet<>();
      volatile int size = -1;

      Tracker(String service) {
        this.service = service;
      }

      @Override
      public void onError(RegistryException error) {
        listenerErrors.incrementAndGet(); // etcd is up throughout: every one is a false alarm
      }

      @Override
      public void onUpdate(List<ServiceInstance> instances) {
        long now = System.nanoTime();
        Set<String> current = new HashSet<>(instances.size() * 2);
        for (ServiceInstance instance : instances) {
          current.add(instance.endpoint());
        }
        for (String endpoint : current) {
          if (!known.contains(endpoint)) {
            Long at = registeredAt.get(service + "/" + endpoint);
            if (at != null) {
              appear.recordValue(Math.max(0, now - at) / 1000);
              Long committed = committedAt.get("+" + service + "/" + endpoint);
              afterCommit.recordValue(committed == null ? 0 : Math.max(0, now - committed) / 1000);
              if (committed == null) {
                beforeReturn.incrementAndGet();
              }
            }
          }
        }
        for (String endpoint : known) {
          if (!current.contains(endpoint)) {
            Long at = deregisteredAt.get(service + "/" + endpoint);
            if (at != null) {
              disappear.recordValue(Math.max(0, now - at) / 1000);
              Long committed = committedAt.get("-" + service + "/" + endpoint);
              afterCommit.recordValue(committed == null ? 0 : Math.max(0, now - committed) / 1000);
              if (committed == null) {
                beforeReturn.incrementAndGet();
              }
            }
          }
        }
        known = current;
        size = instances.size();
      }
    }
  }

  // ---- helpers

  static String service(int index) {
    return String.format(Locale.ROOT, "svc-%03d", index);
  }

  static String host(int i) {
    return "10." + ((i >> 16) & 255) + "." + ((i >> 8) & 255) + "." + (i & 255);
  }

  /**
   * Every member right after its second forced GC (see {@link EtcdProbe#memStatsAfterGc}); with
   * {@code --profiles=DIR} each member's heap profile is saved as {@code
   * DIR/<label>-<member>.pb.gz} too (compare two with {@code go tool pprof
   * -sample_index=inuse_space -base}).
   */
  private static List<EtcdProbe> probe(EtcdCluster cluster, String label) {
    EtcdProbe.settle(cluster.members());
    List<EtcdProbe> probes = new ArrayList<>();
    for (EtcdMember member : cluster.members()) {
      probes.add(EtcdProbe.of(member));
      if (!profiles.isEmpty()) {
        EtcdProbe.saveHeapProfile(
            member, Path.of(profiles, label + "-" + member.name() + ".pb.gz"));
      }
    }
    return probes;
  }

  private static long sum(List<EtcdProbe> probes, java.util.function.ToLongFunction<EtcdProbe> f) {
    return probes.stream().mapToLong(f).sum();
  }

  private static Histogram merge(Histogram a, Histogram b) {
    Histogram h = a.copy();
    h.add(b);
    return h;
  }

  private static double p(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
  }

  private static String mib(long bytes) {
    return bytes < 0 ? "?" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  private static long millisSince(long t0) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void await(String what, BooleanSupplier condition, Duration limit) {
    if (!awaitQuietly(condition, limit)) {
      throw new IllegalStateException("scale: not done within " + limit + ": " + what);
    }
  }

  private static boolean awaitQuietly(BooleanSupplier condition, Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      sleep(Duration.ofMillis(20));
    }
    return true;
  }
}
