package io.krpc.benchmarks.scale;

import io.krpc.testing.EtcdMember;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
    long watchers,
    long goroutines) {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /**
   * The first of the two forced garbage collections a probe makes in every member (etcd runs with
   * {@code --enable-pprof}; a heap profile with {@code gc=1} collects first); {@link #of} makes the
   * second and reads the heap right after it. Two, because Go's {@code sync.Pool}s (gRPC's buffers
   * among them) survive one collection as its victim cache and are dropped by the next.
   */
  static void settle(List<EtcdMember> members) {
    for (EtcdMember member : members) {
      forceGc(member);
    }
  }

  /** Go's memory figures of a member, read right after a forced garbage collection. */
  record MemStats(long heapAlloc, long heapInuse, long stackInuse) {}

  /**
   * Forces a garbage collection in {@code member} and returns the heap and stacks Go reports right
   * after it: the {@code # HeapAlloc}, {@code # HeapInuse} and {@code # Stack} (in use / from the
   * system) lines of the text heap profile ({@code gc=1&debug=1}), which Go reads with {@code
   * runtime.ReadMemStats} straight after writing the profile.
   *
   * <p>Not {@code go_memstats_heap_alloc_bytes} from {@code /metrics}: read after a {@code gc=1}
   * profile, that gauge also counts the garbage made since the collection, above all the binary
   * profile's own encoding, which grows with every allocation site Go has sampled since the process
   * started. On one member, 3,000 puts grew the gauge by 2.8-3.3 MB where the live heap grew by
   * 1.58 MB (these lines) and 1.56 MB (a heap profile sampling every byte): the gauge nearly
   * doubled what a fleet adds.
   */
  static MemStats memStatsAfterGc(EtcdMember member) {
    String text;
    try {
      text =
          HTTP.send(
                  HttpRequest.newBuilder(
                          URI.create(member.endpoint() + "/debug/pprof/heap?gc=1&debug=1"))
                      .timeout(Duration.ofSeconds(20))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted reading " + member.name() + "'s heap", e);
    }
    return new MemStats(
        memStat(text, "HeapAlloc", member),
        memStat(text, "HeapInuse", member),
        memStat(text, "Stack", member));
  }

  private static long memStat(String heapProfileText, String name, EtcdMember member) {
    String prefix = "# " + name + " = ";
    for (String line : heapProfileText.split("\n")) {
      if (line.startsWith(prefix)) {
        // "# Stack = inuse / sys": the first figure
        return Long.parseLong(line.substring(prefix.length()).split("/", 2)[0].trim());
      }
    }
    throw new IllegalStateException(
        member.name() + "'s text heap profile (/debug/pprof/heap?debug=1) has no " + prefix.trim());
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

  // runtime.MemProfileRate in Debian's etcd 3.4.23 (Go 1.19.8, non-PIE, stripped): found from
  // runtime.init's inlined store of the 512 KiB default; valid only for this build
  private static final String DEBIAN_ETCD_BUILD_ID = "1c7d76a9f3bb327ea515919c8180a9a16b51ca91";
  private static final long DEBIAN_ETCD_MEM_PROFILE_RATE_ADDRESS = 0x18c19a0L;
  private static final long GO_DEFAULT_MEM_PROFILE_RATE = 512 * 1024;

  /**
   * Makes the member's heap profiles sample one allocation per {@code rate} bytes instead of Go's
   * 512 KiB, so a profile can place a few MiB of growth. Go 1.19 ignores {@code
   * GODEBUG=memprofilerate} (golang/go#55100: runtime.init resets the rate after the environment is
   * read), so the rate is written into the running process through {@code /proc/PID/mem}, at the
   * variable's address in Debian's etcd 3.4.23; only allocations made after the write are sampled
   * at the new rate. Refuses any other binary (by its GNU build ID) and any process whose rate is
   * not Go's default when read there.
   */
  static void setMemProfileRate(EtcdMember member, long rate) {
    Path exe = Path.of("/proc/" + member.pid() + "/exe");
    String buildId = gnuBuildId(exe);
    if (!DEBIAN_ETCD_BUILD_ID.equals(buildId)) {
      throw new IllegalStateException(
          "--memprofilerate: works only with Debian's etcd 3.4.23 (build ID "
              + DEBIAN_ETCD_BUILD_ID
              + "); "
              + exe
              + " has build ID "
              + buildId);
    }
    try (java.io.RandomAccessFile mem =
        new java.io.RandomAccessFile("/proc/" + member.pid() + "/mem", "rw")) {
      long old = readLong(mem, DEBIAN_ETCD_MEM_PROFILE_RATE_ADDRESS);
      if (old != GO_DEFAULT_MEM_PROFILE_RATE) {
        throw new IllegalStateException(
            "--memprofilerate: " + member.name() + " reads " + old + " where Go's default is");
      }
      ByteBuffer value = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(rate);
      mem.seek(DEBIAN_ETCD_MEM_PROFILE_RATE_ADDRESS);
      mem.write(value.array());
      if (readLong(mem, DEBIAN_ETCD_MEM_PROFILE_RATE_ADDRESS) != rate) {
        throw new IllegalStateException(
            "--memprofilerate: the write to " + member.name() + " did not hold");
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static long readLong(java.io.RandomAccessFile file, long offset) throws IOException {
    byte[] bytes = new byte[8];
    file.seek(offset);
    file.readFully(bytes);
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  /** The GNU build ID of an ELF64 little-endian file (its PT_NOTE segments), or "" without one. */
  static String gnuBuildId(Path elf) {
    try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(elf)) {
      ByteBuffer header = read(file, 0, 64);
      long phoff = header.getLong(0x20);
      int phentsize = Short.toUnsignedInt(header.getShort(0x36));
      int phnum = Short.toUnsignedInt(header.getShort(0x38));
      for (int i = 0; i < phnum; i++) {
        ByteBuffer ph = read(file, phoff + (long) i * phentsize, phentsize);
        if (ph.getInt(0) != 4) { // PT_NOTE
          continue;
        }
        ByteBuffer notes = read(file, ph.getLong(8), (int) ph.getLong(32));
        while (notes.remaining() >= 12) {
          int nameSize = notes.getInt();
          int descSize = notes.getInt();
          int type = notes.getInt();
          byte[] name = new byte[(nameSize + 3) & ~3];
          byte[] desc = new byte[(descSize + 3) & ~3];
          notes.get(name).get(desc);
          if (type == 3 && nameSize == 4 && name[0] == 'G' && name[1] == 'N' && name[2] == 'U') {
            StringBuilder hex = new StringBuilder();
            for (int b = 0; b < descSize; b++) {
              hex.append(String.format(java.util.Locale.ROOT, "%02x", desc[b]));
            }
            return hex.toString();
          }
        }
      }
      return "";
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  private static ByteBuffer read(java.nio.channels.FileChannel file, long offset, int size)
      throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    while (buffer.hasRemaining() && file.read(buffer, offset + buffer.position()) >= 0) {
      // keep reading
    }
    return buffer.flip().order(ByteOrder.LITTLE_ENDIAN);
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

  /**
   * Reads {@code member}: its heap and stacks right after a forced collection (see {@link
   * #memStatsAfterGc}; after {@link #settle}, the second), its RSS and its watch gauges.
   */
  static EtcdProbe of(EtcdMember member) {
    MemStats mem = memStatsAfterGc(member);
    long rss = rss(member);
    String metrics = metrics(member);
    return new EtcdProbe(
        rss,
        mem.heapAlloc(),
        mem.heapInuse(),
        mem.stackInuse(),
        gauge(metrics, "etcd_debugging_mvcc_watch_stream_total"),
        gauge(metrics, "etcd_debugging_mvcc_watcher_total"),
        gauge(metrics, "go_goroutines"));
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
