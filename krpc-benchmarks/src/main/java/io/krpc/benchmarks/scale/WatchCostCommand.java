package io.krpc.benchmarks.scale;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchProgressRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.krpc.benchmarks.Options;
import io.krpc.benchmarks.internal.MarkdownReport;
import io.krpc.registry.etcd.EtcdRegistry;
import io.krpc.testing.EtcdCluster;
import io.krpc.testing.EtcdMember;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * What a watch stream and a watcher cost one etcd member, measured precisely: one member, one
 * connection, {@code S} streams of {@code W} watchers each, opened through etcd's generated Watch
 * stubs in a chosen request shape, the member's memory read after forced collections before and
 * after, each point repeated and the medians kept.
 *
 * <p>{@code --points=200x0,200x20,...} ({@code S x W}), {@code --shapes=ours,...}, {@code
 * --repeat=3}. Shapes: {@code ours} (what {@code EtcdRegistry} sends: a prefix range per service,
 * start revision = list revision + 1, require-leader metadata), {@code noleader} (no
 * require-leader), {@code norev} (start revision 0), {@code pastrev} (a start revision already
 * written: the watchers start unsynced), {@code progress} ({@code ours}, then one progress request
 * per stream answered), {@code key} (one key, no range end), {@code same} (every watcher on one
 * prefix), {@code distinct} (a prefix of its own per watcher), {@code registry} ({@code S}
 * EtcdRegistry instances sharing one connection, each watching {@code W} services), {@code go} (the
 * same watches through etcd's own Go client, one connection, one stream per group of {@code W}: the
 * program given with {@code --go=PATH}, for comparison only; it prints {@code READY} once every
 * watch is created and holds them until its stdin closes).
 */
public final class WatchCostCommand {
  private WatchCostCommand() {}

  private static final Metadata.Key<String> HAS_LEADER =
      Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);
  private static final int SERVICES = 100;
  private static String goProbe = "";
  private static String profiles = "";

  /** One reading of the member. */
  record Reading(
      long heapAlloc1,
      long heapInuse1,
      long heapAlloc,
      long heapInuse,
      long stackInuse,
      long goroutines,
      long rss,
      long streams,
      long watchers) {
    static final String[] NAMES = {
      "heap_alloc (1 GC)",
      "heap_inuse (1 GC)",
      "heap_alloc",
      "heap_inuse",
      "stack_inuse",
      "goroutines",
      "RSS",
    };

    long[] values() {
      return new long[] {heapAlloc1, heapInuse1, heapAlloc, heapInuse, stackInuse, goroutines, rss};
    }
  }

  /** Runs the probe with {@code args} ({@code watchcost --option=value ...}). */
  public static void run(String[] args) throws Exception {
    Options options = Options.parse(args);
    int repeat = options.integer("repeat", 3);
    List<String> shapes = Arrays.asList(options.string("shapes", "ours").split(","));
    List<int[]> points = new ArrayList<>();
    for (String p :
        options.string("points", "200x0,200x20,200x40,400x0,400x20,400x40").split(",")) {
      String[] sw = p.split("x");
      points.add(new int[] {Integer.parseInt(sw[0]), Integer.parseInt(sw[1])});
    }
    int keysPerService = options.integer("keys", 10);
    goProbe = options.string("go", "");
    profiles = options.string("profiles", "");
    StringBuilder report = new StringBuilder();
    try (EtcdCluster cluster = EtcdCluster.builder().members(1).start()) {
      EtcdMember member = cluster.member(0);
      long pastRevision;
      try (Client client = Client.builder().endpoints(cluster.endpoints().get(0)).build()) {
        for (int s = 0; s < SERVICES; s++) {
          for (int k = 0; k < keysPerService; k++) {
            client
                .getKVClient()
                .put(
                    bytes(prefix(s) + "10.0.0." + k),
                    bytes("{\"host\":\"10.0.0." + k + "\",\"port\":9000}"))
                .get();
          }
        }
        // an unrelated write after which pastrev's start revision lies behind the store's
        pastRevision =
            client.getKVClient().put(bytes("/other/a"), bytes("1")).get().getHeader().getRevision();
        client.getKVClient().put(bytes("/other/b"), bytes("1")).get();
      }
      URI endpoint = URI.create(cluster.endpoints().get(0));
      ManagedChannel channel =
          ManagedChannelBuilder.forAddress(endpoint.getHost(), endpoint.getPort())
              .usePlaintext()
              .build();
      try {
        // warm the connection and the member's code paths once
        measure(member, channel, cluster, "ours", 50, 20, pastRevision);
        report.append(
            String.format(
                Locale.ROOT,
                "One etcd member (%s), %d services of %d keys, one connection from this JVM."
                    + " Each cell is the median over %d repeats of (after − before) for S streams"
                    + " of W watchers, the member's heap and stacks read right after forced GCs (pprof"
                    + " gc=1&debug=1, twice: the MemStats Go prints with the profile, which leave"
                    + " out the garbage made since the GC; the \"1 GC\" columns after the first"
                    + " only).%n%n",
                version(member),
                SERVICES,
                keysPerService,
                repeat));
        report.append("| shape | S | W |");
        for (String name : Reading.NAMES) {
          report.append(' ').append(name).append(" |");
        }
        report.append(" streams / watchers seen |\n|---|---:|---:|");
        report.append("---:|".repeat(Reading.NAMES.length)).append("---:|\n");
        Map<String, long[]> medians = new LinkedHashMap<>();
        for (String shape : shapes) {
          for (int[] point : points) {
            int s = point[0];
            int w = point[1];
            List<long[]> deltas = new ArrayList<>();
            long[] seen = new long[2];
            for (int r = 0; r < repeat; r++) {
              Reading[] ab = measure(member, channel, cluster, shape, s, w, pastRevision);
              long[] before = ab[0].values();
              long[] after = ab[1].values();
              long[] delta = new long[before.length];
              for (int i = 0; i < delta.length; i++) {
                delta[i] = after[i] - before[i];
              }
              deltas.add(delta);
              seen[0] = ab[1].streams() - ab[0].streams();
              seen[1] = ab[1].watchers() - ab[0].watchers();
            }
            long[] median = new long[Reading.NAMES.length];
            for (int i = 0; i < median.length; i++) {
              long[] column = new long[deltas.size()];
              for (int r = 0; r < column.length; r++) {
                column[r] = deltas.get(r)[i];
              }
              Arrays.sort(column);
              median[i] = column[column.length / 2];
            }
            medians.put(shape + ":" + s + "x" + w, median);
            report.append(String.format(Locale.ROOT, "| %s | %d | %d |", shape, s, w));
            for (int i = 0; i < median.length; i++) {
              report.append(' ').append(i == 5 ? String.valueOf(median[i]) : kb(median[i]));
              report.append(" |");
            }
            report.append(String.format(Locale.ROOT, " %d / %d |%n", seen[0], seen[1]));
            System.out.println(report);
          }
        }
        report.append(
            "\nPer stream (a W = 0 point: Δ / S) and per watcher ((Δ(S, W) − Δ(S, 0)) / (S·W),"
                + " the same shape's W = 0 point, else ours'):\n\n| shape | S | W | per ");
        report.append(String.join(" | per ", Reading.NAMES)).append(" |\n|---|---:|---:|");
        report.append("---:|".repeat(Reading.NAMES.length)).append('\n');
        for (Map.Entry<String, long[]> e : medians.entrySet()) {
          String[] key = e.getKey().split("[:x]");
          String shape = key[0];
          int s = Integer.parseInt(key[1]);
          int w = Integer.parseInt(key[2]);
          long[] zero = w == 0 ? null : medians.get(shape + ":" + s + "x0");
          if (w > 0 && zero == null) {
            zero = medians.get("ours:" + s + "x0");
          }
          if (s == 0 || (w > 0 && zero == null)) {
            continue;
          }
          report.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %d | %d (%s) |",
                  shape,
                  s,
                  w,
                  w == 0 ? "stream" : "watcher"));
          for (int i = 0; i < Reading.NAMES.length; i++) {
            double per =
                w == 0
                    ? e.getValue()[i] / (double) s
                    : (e.getValue()[i] - zero[i]) / (double) (s * w);
            report.append(
                i == 5
                    ? String.format(Locale.ROOT, " %.2f |", per)
                    : String.format(Locale.ROOT, " %.0f B |", per));
          }
          report.append('\n');
        }
      } finally {
        channel.shutdownNow();
      }
    }
    System.out.println(report);
    if (!options.flag("no-files")) {
      MarkdownReport.write(
          options.resultsDir().resolve("etcd-watch-cost.md"),
          "What a watch stream and a watcher cost etcd",
          String.join(" ", args),
          report.toString(),
          false);
    }
  }

  /** Opens S streams of W watchers in {@code shape}, reads before and after, closes them. */
  private static Reading[] measure(
      EtcdMember member,
      ManagedChannel channel,
      EtcdCluster cluster,
      String shape,
      int streams,
      int watchers,
      long pastRevision)
      throws Exception {
    Reading before = read(member);
    profile(member, shape + "-" + streams + "x" + watchers + "-before");
    Reading after;
    if (shape.equals("go")) {
      if (goProbe.isEmpty()) {
        throw new IllegalArgumentException("shape go: --go=PATH (the Go probe program) missing");
      }
      Process process =
          new ProcessBuilder(
                  goProbe,
                  cluster.endpoints().get(0),
                  String.valueOf(streams),
                  String.valueOf(watchers),
                  String.valueOf(currentRevision(member) + 1))
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      try {
        java.io.BufferedReader out =
            new java.io.BufferedReader(
                new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line;
        do {
          line = out.readLine();
        } while (line != null && !line.equals("READY"));
        if (line == null) {
          throw new IllegalStateException("watchcost: the Go probe ended before READY");
        }
        await(
            () -> {
              Reading now = read(member, false);
              return now.streams() - before.streams() == (watchers == 0 ? 0 : streams)
                  && now.watchers() - before.watchers() == (long) streams * watchers;
            },
            "Go probe's streams and watchers on the gauges");
        after = read(member);
        profile(member, shape + "-" + streams + "x" + watchers + "-after");
      } finally {
        process.getOutputStream().close();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    } else if (shape.equals("registry")) {
      List<EtcdRegistry> registries = new ArrayList<>();
      AtomicLong complete = new AtomicLong();
      try {
        for (int i = 0; i < streams; i++) {
          EtcdRegistry registry = EtcdRegistry.builder().endpoints(cluster.endpoints()).build();
          registries.add(registry);
          for (int k = 0; k < watchers; k++) {
            boolean[] seen = new boolean[1];
            registry.watch(
                ScaleCommand.service(service(i, k, watchers)),
                list -> {
                  if (!seen[0]) {
                    seen[0] = true;
                    complete.incrementAndGet();
                  }
                });
          }
        }
        await(() -> complete.get() == (long) streams * watchers, "registries listed");
        await(
            () -> read(member, false).watchers() - before.watchers() == (long) streams * watchers,
            "watchers created");
        after = read(member);
        profile(member, shape + "-" + streams + "x" + watchers + "-after");
      } finally {
        registries.forEach(EtcdRegistry::close);
      }
    } else {
      List<ClientCallStreamObserver<WatchRequest>> calls = new ArrayList<>();
      CountDownLatch created = new CountDownLatch(streams * watchers);
      CountDownLatch progressed = new CountDownLatch(shape.equals("progress") ? streams : 0);
      long startRevision =
          switch (shape) {
            case "norev" -> 0;
            case "pastrev" -> pastRevision;
            default -> currentRevision(member) + 1;
          };
      try {
        for (int s = 0; s < streams; s++) {
          WatchGrpc.WatchStub stub = WatchGrpc.newStub(channel);
          if (!shape.equals("noleader")) {
            Metadata headers = new Metadata();
            headers.put(HAS_LEADER, "true");
            stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
          }
          @SuppressWarnings("unchecked")
          ClientCallStreamObserver<WatchRequest>[] call = new ClientCallStreamObserver[1];
          StreamObserver<WatchRequest> requests =
              stub.watch(
                  new ClientResponseObserver<WatchRequest, WatchResponse>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<WatchRequest> stream) {
                      call[0] = stream;
                    }

                    @Override
                    public void onNext(WatchResponse response) {
                      if (response.getCreated()) {
                        created.countDown();
                      } else if (response.getWatchId() == -1 && response.getEventsCount() == 0) {
                        progressed.countDown();
                      }
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
          calls.add(call[0]);
          for (int k = 0; k < watchers; k++) {
            String key = key(shape, s, k, watchers);
            WatchCreateRequest.Builder create =
                WatchCreateRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8(key))
                    .setStartRevision(startRevision);
            if (!shape.equals("key")) {
              create.setRangeEnd(ByteString.copyFromUtf8(prefixEnd(key)));
            }
            requests.onNext(WatchRequest.newBuilder().setCreateRequest(create).build());
          }
          if (shape.equals("progress")) {
            requests.onNext(
                WatchRequest.newBuilder()
                    .setProgressRequest(WatchProgressRequest.getDefaultInstance())
                    .build());
          }
        }
        if (!created.await(2, TimeUnit.MINUTES) || !progressed.await(1, TimeUnit.MINUTES)) {
          throw new IllegalStateException("watchcost: creates not answered");
        }
        await(
            () -> {
              Reading now = read(member, false);
              return now.streams() - before.streams() == streams
                  && now.watchers() - before.watchers() == (long) streams * watchers
                  && slowWatchers(member) == 0;
            },
            "streams and watchers on the gauges");
        after = read(member);
        profile(member, shape + "-" + streams + "x" + watchers + "-after");
      } finally {
        for (ClientCallStreamObserver<WatchRequest> call : calls) {
          call.cancel("watchcost done", null);
        }
      }
    }
    await(
        () -> {
          Reading now = read(member, false);
          return now.streams() == before.streams() && now.watchers() == before.watchers();
        },
        "streams closed");
    return new Reading[] {before, after};
  }

  private static String key(String shape, int stream, int watcher, int watchers) {
    return switch (shape) {
      case "same" -> prefix(0);
      case "distinct" -> "/krpc/probe/" + stream + "/" + watcher + "/";
      default -> prefix(service(stream, watcher, watchers));
    };
  }

  /** The scale benchmark's choice: client c watches services c, c + step, c + 2·step, ... */
  private static int service(int client, int k, int watch) {
    int step = Math.max(1, SERVICES / Math.max(1, watch));
    return (client + k * step) % SERVICES;
  }

  private static String prefix(int service) {
    return "/krpc/services/" + ScaleCommand.service(service) + "/";
  }

  private static String prefixEnd(String prefix) {
    byte[] end = prefix.getBytes(StandardCharsets.UTF_8);
    end[end.length - 1]++;
    return new String(end, StandardCharsets.UTF_8);
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static long currentRevision(EtcdMember member) {
    // the store's revision, as etcd's own gauge reports it
    return gauge(EtcdProbe.metrics(member), "etcd_debugging_mvcc_current_revision");
  }

  private static long slowWatchers(EtcdMember member) {
    return gauge(EtcdProbe.metrics(member), "etcd_debugging_mvcc_slow_watcher_total");
  }

  private static String version(EtcdMember member) {
    for (String line : EtcdProbe.metrics(member).split("\n")) {
      if (line.startsWith("etcd_server_version{")) {
        return "etcd " + line.replaceAll(".*server_version=\"([^\"]*)\".*", "$1");
      }
    }
    return "etcd";
  }

  /**
   * With {@code --profiles=DIR}: saves the member's heap profile (Go's, self-symbolized; compare
   * two with {@code go tool pprof -sample_index=inuse_space -base before after}).
   */
  private static void profile(EtcdMember member, String name) {
    if (!profiles.isEmpty()) {
      EtcdProbe.saveHeapProfile(member, java.nio.file.Path.of(profiles, name + ".pb.gz"));
    }
  }

  private static Reading read(EtcdMember member) {
    return read(member, true);
  }

  /**
   * With {@code settle}: two forced collections (the second empties sync.Pool victims), the heap
   * read right after each ({@link EtcdProbe#memStatsAfterGc}); without: the gauges as they stand.
   */
  private static Reading read(EtcdMember member, boolean settle) {
    if (!settle) {
      String m = EtcdProbe.metrics(member);
      return reading(
          member,
          m,
          new EtcdProbe.MemStats(
              gauge(m, "go_memstats_heap_alloc_bytes"),
              gauge(m, "go_memstats_heap_inuse_bytes"),
              gauge(m, "go_memstats_stack_inuse_bytes")),
          null);
    }
    EtcdProbe.MemStats first = EtcdProbe.memStatsAfterGc(member);
    EtcdProbe.MemStats second = EtcdProbe.memStatsAfterGc(member);
    return reading(member, EtcdProbe.metrics(member), second, first);
  }

  private static Reading reading(
      EtcdMember member,
      String metrics,
      EtcdProbe.MemStats mem,
      EtcdProbe.@Nullable MemStats afterOneGc) {
    return new Reading(
        afterOneGc == null ? 0 : afterOneGc.heapAlloc(),
        afterOneGc == null ? 0 : afterOneGc.heapInuse(),
        mem.heapAlloc(),
        mem.heapInuse(),
        mem.stackInuse(),
        gauge(metrics, "go_goroutines"),
        EtcdProbe.rss(member),
        gauge(metrics, "etcd_debugging_mvcc_watch_stream_total"),
        gauge(metrics, "etcd_debugging_mvcc_watcher_total"));
  }

  /** A gauge the probe cannot do without: a member that does not report it ends the run. */
  private static long gauge(String metrics, String name) {
    long value = EtcdProbe.gauge(metrics, name);
    if (value < 0) {
      throw new IllegalStateException("etcd's /metrics has no " + name);
    }
    return value;
  }

  private static String kb(long bytes) {
    return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("watchcost: not done within 2 min: " + what);
      }
      Thread.sleep(50);
    }
  }
}
