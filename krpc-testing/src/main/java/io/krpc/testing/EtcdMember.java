package io.krpc.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One member of an {@link EtcdCluster}: a child process that tests can stop, kill, restart and
 * pause. Obtained from {@link EtcdCluster#member(int)}. Thread-safe.
 */
public final class EtcdMember {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
  private static final Pattern IS_LEADER = Pattern.compile("(?m)^etcd_server_is_leader 1(\\.0)?$");

  private final EtcdCluster cluster;
  private final int index;
  private final String name;
  private final Path binary;
  private final Path dir;
  private final int clientPort;
  private final int peerPort;
  private final int metricsPort;
  private @Nullable Process process;
  private boolean paused;

  EtcdMember(
      EtcdCluster cluster,
      int index,
      String name,
      Path binary,
      Path dir,
      int clientPort,
      int peerPort,
      int metricsPort) {
    this.cluster = cluster;
    this.index = index;
    this.name = name;
    this.binary = binary;
    this.dir = dir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.metricsPort = metricsPort;
  }

  /** This member's index in its cluster, 0-based. */
  public int index() {
    return index;
  }

  /** The member name, {@code n1}, {@code n2}, ... */
  public String name() {
    return name;
  }

  /** The client URL, {@code http://127.0.0.1:port} ({@code https} with TLS). */
  public String endpoint() {
    return (cluster.tls() ? "https" : "http") + "://127.0.0.1:" + clientPort;
  }

  /** The client port; it stays the same across restarts. */
  public int clientPort() {
    return clientPort;
  }

  int peerPort() {
    return peerPort;
  }

  /** The etcd data directory. */
  public Path dataDir() {
    return dir.resolve("data");
  }

  /** The file that receives this member's output, kept across restarts and wipes. */
  public Path logFile() {
    return dir.resolve("etcd.log");
  }

  /** Whether the process is alive (a paused process is alive). */
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Whether the process is stopped by {@link #pause()}. */
  public synchronized boolean isPaused() {
    return paused && isRunning();
  }

  /** The process id; fails when the member is not running. */
  public synchronized long pid() {
    checkRunning("pid");
    return process().pid();
  }

  /**
   * Stops the member gracefully (SIGTERM), then kill -9 after 10 s. Does nothing if not running.
   */
  public synchronized void stop() {
    if (!isRunning()) {
      return;
    }
    if (paused) {
      resume();
    }
    process().destroy();
    if (!waitFor(Duration.ofSeconds(10))) {
      process().destroyForcibly();
      waitFor(Duration.ofSeconds(10));
    }
  }

  /** Kills the member at once (SIGKILL, as {@code kill -9}). Does nothing if not running. */
  public synchronized void kill() {
    if (!isRunning()) {
      return;
    }
    process().destroyForcibly();
    waitFor(Duration.ofSeconds(10));
    paused = false;
  }

  /**
   * Stops the member if it runs, then starts it again on the same ports and waits until it is
   * healthy. With {@code keepData} false its data directory is wiped first; that is only possible
   * in a one-member cluster (a wiped member cannot rejoin its peers): for three members use {@link
   * EtcdCluster#restart(boolean)}.
   */
  public synchronized void restart(boolean keepData) {
    if (!keepData && cluster.size() > 1) {
      throw new IllegalStateException(
          "restart(keepData=false) of one member of a "
              + cluster.size()
              + "-member cluster: a wiped member cannot rejoin; use "
              + "EtcdCluster.restart(false) to wipe the whole cluster");
    }
    stop();
    if (!keepData) {
      wipe();
    }
    launch(!keepData);
    awaitHealthy(System.nanoTime() + cluster.startTimeout().toNanos());
  }

  /** Freezes the process (SIGSTOP): its sockets stay open but it answers nothing. */
  public synchronized void pause() {
    checkRunning("pause");
    signal("STOP");
    paused = true;
  }

  /** Resumes a process frozen by {@link #pause()} (SIGCONT). */
  public synchronized void resume() {
    checkRunning("resume");
    signal("CONT");
    paused = false;
  }

  /** Whether {@code /health} answers healthy right now (500 ms timeout). */
  public boolean isHealthy() {
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(metricsUrl() + "/health"))
                  .timeout(Duration.ofMillis(500))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 && response.body().contains("\"health\":\"true\"");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public String toString() {
    return name + "(" + endpoint() + ")";
  }

  // ---- package-private, used by EtcdCluster

  /** Whether this member says it is the raft leader (plain-HTTP metrics, even with TLS). */
  boolean isLeader() {
    synchronized (this) {
      if (!isRunning() || paused) {
        return false;
      }
    }
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(metricsUrl() + "/metrics"))
                  .timeout(Duration.ofMillis(500))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 && IS_LEADER.matcher(response.body()).find();
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private String metricsUrl() {
    return "http://127.0.0.1:" + metricsPort;
  }

  synchronized void launch(boolean newCluster) {
    if (isRunning()) {
      return;
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
    String peerUrl = "http://127.0.0.1:" + peerPort;
    List<String> command =
        new ArrayList<>(
            List.of(
                binary.toString(),
                "--name",
                name,
                "--data-dir",
                dataDir().toString(),
                "--listen-client-urls",
                endpoint(),
                "--advertise-client-urls",
                endpoint(),
                "--listen-peer-urls",
                peerUrl,
                "--initial-advertise-peer-urls",
                peerUrl,
                "--initial-cluster",
                cluster.initialCluster(),
                "--initial-cluster-token",
                cluster.clusterToken(),
                "--initial-cluster-state",
                "new",
                "--listen-metrics-urls",
                metricsUrl(),
                // /debug/pprof/heap?gc=1 forces a garbage collection: benchmarks read settled heaps
                "--enable-pprof",
                "--logger",
                "zap",
                "--log-outputs",
                "stderr"));
    command.addAll(cluster.tlsFlags());
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
    try {
      process = builder.start();
      paused = false;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + binary, e);
    }
  }

  synchronized void wipe() {
    if (isRunning()) {
      throw new IllegalStateException("wipe: member " + name + " is running");
    }
    EtcdCluster.deleteRecursively(dataDir());
  }

  void awaitHealthy(long deadlineNanos) {
    while (true) {
      synchronized (this) {
        if (!isRunning()) {
          throw new IllegalStateException(
              "etcd member "
                  + name
                  + " exited with code "
                  + (process == null ? "?" : process().exitValue())
                  + "; see "
                  + logFile()
                  + ":\n"
                  + logTail());
        }
      }
      if (isHealthy()) {
        return;
      }
      if (System.nanoTime() - deadlineNanos > 0) {
        throw new IllegalStateException(
            "etcd member "
                + name
                + " at "
                + endpoint()
                + " not healthy within "
                + cluster.startTimeout()
                + "; see "
                + logFile()
                + ":\n"
                + logTail());
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for etcd member " + name, e);
      }
    }
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(log not readable: " + e + ")";
    }
  }

  private boolean waitFor(Duration timeout) {
    try {
      return process().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void signal(String signal) {
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + signal, Long.toString(process().pid()))
              .redirectErrorStream(true)
              .start();
      if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + process().pid() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run kill -" + signal, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sending SIG" + signal, e);
    }
  }

  private void checkRunning(String operation) {
    if (!isRunning()) {
      throw new IllegalStateException(operation + ": etcd member " + name + " is not running");
    }
  }

  /** The process, once started (callers have checked that it runs). */
  private Process process() {
    Process p = process;
    if (p == null) {
      throw new IllegalStateException("etcd member " + name + " was never started");
    }
    return p;
  }
}
