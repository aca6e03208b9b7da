package io.krpc.benchmarks.scale;

import io.krpc.testing.EtcdMember;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What one etcd member costs right now: its RSS, its Go heap (live bytes, {@code heap_alloc}, and
 * the spans holding them, {@code heap_inuse}), its goroutine stacks and watch gauges.
 */
record EtcdProbe(
    long rssBytes,
    long heapAllocBytes,
    long heapInUseBytes,
    long stackInUseBytes,
    long watchStreams,
    long watchers) {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /**
   * Forces two garbage collections in every member (etcd runs with {@code --enable-pprof}; a heap
   * profile with {@code gc=1} collects first) and waits a second, so heap figures compare settled
   * heaps rather than garbage. Two, because Go's {@code sync.Pool}s (gRPC's buffers among them)
   * survive one collection as its victim cache and are dropped by the next.
   */
  static void settle(List<EtcdMember> members) {
    for (int round = 0; round < 2; round++) {
      for (EtcdMember member : members) {
        forceGc(member);
      }
    }
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Range calls the members have started so far, from etcd's own {@code grpc_server_started_total}
   * (all members summed). A registry's connection probe is a count-only Range; while the fleet is
   * idle (no lookups, no re-lists) it is the only Range sent, so the difference over an idle period
   * is the probes the clients sent, seen from etcd.
   */
  static long rangesStarted(List<EtcdMember> members) {
    long sum = 0;
    for (EtcdMember member : members) {
      String metrics = metrics(member);
      for (String line : metrics.split("\n")) {
        if (line.startsWith("grpc_server_started_total{")
            && line.contains("grpc_method=\"Range\"")) {
          sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).trim());
        }
      }
    }
    return sum;
  }

  /** Forces a garbage collection in {@code member} (a heap profile with {@code gc=1}). */
  static void forceGc(EtcdMember member) {
    try {
      HTTP.send(
          HttpRequest.newBuilder(URI.create(member.endpoint() + "/debug/pprof/heap?gc=1"))
              .timeout(Duration.ofSeconds(10))
              .build(),
          HttpResponse.BodyHandlers.discarding());
    } catch (IOException e) {
      // a member without pprof: its heap is read unsettled
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Saves the member's heap profile (Go's, self-symbolized) to {@code file}. */
  static void saveHeapProfile(EtcdMember member, Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      HTTP.send(
          HttpRequest.newBuilder(URI.create(member.endpoint() + "/debug/pprof/heap"))
              .timeout(Duration.ofSeconds(10))
              .build(),
          HttpResponse.BodyHandlers.ofFile(file));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The member's resident set size, or -1 when /proc does not say. */
  static long rss(EtcdMember member) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + member.pid() + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  static String metrics(EtcdMember member) {
    try {
      return HTTP.send(
              HttpRequest.newBuilder(URI.create(member.endpoint() + "/metrics"))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  static EtcdProbe of(EtcdMember member) {
    String metrics = metrics(member);
    return new EtcdProbe(
        rss(member),
        gauge(metrics, "go_memstats_heap_alloc_bytes"),
        gauge(metrics, "go_memstats_heap_inuse_bytes"),
        gauge(metrics, "go_memstats_stack_inuse_bytes"),
        gauge(metrics, "etcd_debugging_mvcc_watch_stream_total"),
        gauge(metrics, "etcd_debugging_mvcc_watcher_total"));
  }

  /** The value of an unlabelled gauge in a {@code /metrics} text, or -1 when it is not there. */
  static long gauge(String metrics, String name) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + " ")) {
        return (long) Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    return -1;
  }
}
