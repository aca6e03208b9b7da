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

/** What one etcd member costs right now: its RSS, Go heap in use and watch gauges. */
record EtcdProbe(long rssBytes, long heapInUseBytes, long watchStreams, long watchers) {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /**
   * Forces a garbage collection in every member (etcd runs with {@code --enable-pprof}; a heap
   * profile with {@code gc=1} collects first) and waits a second, so heap figures compare settled
   * heaps rather than garbage.
   */
  static void settle(List<EtcdMember> members) {
    for (EtcdMember member : members) {
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
        return;
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

  private static String metrics(EtcdMember member) {
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
    long rss = 0;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + member.pid() + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException e) {
      rss = -1;
    }
    String metrics = metrics(member);
    return new EtcdProbe(
        rss,
        gauge(metrics, "go_memstats_heap_inuse_bytes"),
        gauge(metrics, "etcd_debugging_mvcc_watch_stream_total"),
        gauge(metrics, "etcd_debugging_mvcc_watcher_total"));
  }

  private static long gauge(String metrics, String name) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + " ")) {
        return (long) Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    return -1;
  }
}
