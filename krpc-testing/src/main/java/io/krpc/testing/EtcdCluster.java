package io.krpc.testing;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real etcd, one member or a three-member cluster, running as child processes on loopback with
 * free ports and temporary data directories. For integration tests of code that talks to etcd.
 *
 * <pre>{@code
 * try (EtcdCluster etcd = EtcdCluster.builder().members(3).start()) {
 *   String endpoints = etcd.endpointsString(); // "http://127.0.0.1:41234,http://127.0.0.1:..."
 *   etcd.member(etcd.leaderIndex()).kill(); // kill -9 the leader
 * }
 * }</pre>
 *
 * <p>The binary is {@link Builder#binary(Path)}, else the {@code KRPC_ETCD_BINARY} environment
 * variable, else {@code etcd} on the {@code PATH}. When none is found, {@link Builder#start()}
 * fails with a message that says how to install etcd; it never skips. Each member writes its output
 * to {@code etcd.log} in its own directory, not to the test console. In JUnit 5 tests prefer {@link
 * EtcdClusterExtension}.
 *
 * <p>Thread-safe: the methods of the cluster and its members may be called from any thread.
 */
public final class EtcdCluster implements AutoCloseable {

  private static final Logger logger = LoggerFactory.getLogger(EtcdCluster.class);

  /** Environment variable that names the etcd binary. */
  public static final String BINARY_ENV = "KRPC_ETCD_BINARY";

  private final Path baseDir;
  private final List<EtcdMember> members;
  private final Duration startTimeout;
  private final List<String> tlsFlags;
  private int generation;

  private EtcdCluster(Builder builder, Path binary) {
    this.startTimeout = builder.startTimeout;
    try {
      this.baseDir = Files.createTempDirectory("krpc-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory for etcd", e);
    }
    int count = builder.members;
    this.tlsFlags = builder.tlsFlags();
    int[] ports = freePorts(3 * count);
    List<EtcdMember> list = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      list.add(
          new EtcdMember(
              this,
              i,
              "n" + (i + 1),
              binary,
              baseDir.resolve("n" + (i + 1)),
              ports[3 * i],
              ports[3 * i + 1],
              ports[3 * i + 2]));
    }
    this.members = List.copyOf(list);
  }

  /** Starts a builder: one member, start timeout 30 s. */
  public static Builder builder() {
    return new Builder();
  }

  /** The members' client URLs, {@code http://127.0.0.1:port}, in member order. */
  public List<String> endpoints() {
    return members.stream().map(EtcdMember::endpoint).collect(Collectors.toUnmodifiableList());
  }

  /** The client URLs joined by commas, as {@code --endpoints} flags and jetcd expect them. */
  public String endpointsString() {
    return String.join(",", endpoints());
  }

  /** {@code 127.0.0.1:p1,127.0.0.1:p2,...}: the authority of an {@code etcd://} target. */
  public String authority() {
    return members.stream()
        .map(m -> "127.0.0.1:" + m.clientPort())
        .collect(Collectors.joining(","));
  }

  /** The number of members. */
  public int size() {
    return members.size();
  }

  /** The member at {@code index} (0-based). */
  public EtcdMember member(int index) {
    if (index < 0 || index >= members.size()) {
      throw new IndexOutOfBoundsException(
          "member: " + index + " (expected: 0.." + (members.size() - 1) + ")");
    }
    return members.get(index);
  }

  /** All members, in order. */
  public List<EtcdMember> members() {
    return members;
  }

  /**
   * The index of the current leader, asking the running members; {@code -1} when none of them
   * answers or knows a leader.
   */
  public int leaderIndex() {
    for (EtcdMember member : members) {
      if (member.isLeader()) {
        return member.index();
      }
    }
    return -1;
  }

  /**
   * Stops every member and starts them again, keeping or wiping their data. Wiping starts a new
   * cluster (a fresh cluster token), as after a disaster recovery from nothing.
   */
  public synchronized void restart(boolean keepData) {
    members.forEach(EtcdMember::stop);
    if (!keepData) {
      generation++;
      members.forEach(EtcdMember::wipe);
    }
    members.forEach(m -> m.launch(!keepData));
    awaitHealthy();
  }

  /**
   * Blocks until every running, unpaused member reports healthy, or fails after the start timeout.
   */
  public void awaitHealthy() {
    long deadline = System.nanoTime() + startTimeout.toNanos();
    for (EtcdMember member : members) {
      if (member.isRunning() && !member.isPaused()) {
        member.awaitHealthy(deadline);
      }
    }
  }

  /** Stops all members (kill -9 when they do not stop in 10 s) and deletes their directories. */
  @Override
  public synchronized void close() {
    for (EtcdMember member : members) {
      try {
        member.stop();
      } catch (RuntimeException e) {
        logger.warn("Could not stop etcd member {}", member.name(), e);
      }
    }
    deleteRecursively(baseDir);
  }

  @Override
  public String toString() {
    return "EtcdCluster" + endpoints();
  }

  // ---- used by EtcdMember

  String initialCluster() {
    return members.stream()
        .map(m -> m.name() + "=http://127.0.0.1:" + m.peerPort())
        .collect(Collectors.joining(","));
  }

  synchronized String clusterToken() {
    return "krpc-" + baseDir.getFileName() + "-" + generation;
  }

  Duration startTimeout() {
    return startTimeout;
  }

  boolean tls() {
    return !tlsFlags.isEmpty();
  }

  List<String> tlsFlags() {
    return tlsFlags;
  }

  private synchronized void startAll() {
    try {
      members.forEach(m -> m.launch(true));
      awaitHealthy();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  logger.warn("Could not delete {}", p, e);
                }
              });
    } catch (IOException e) {
      logger.warn("Could not delete {}", dir, e);
    }
  }

  private static int[] freePorts(int count) {
    int[] ports = new int[count];
    Set<Integer> seen = new HashSet<>();
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      InetAddress loopback = InetAddress.getByName("127.0.0.1");
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0, 1, loopback);
        sockets.add(socket);
        if (!seen.add(socket.getLocalPort())) {
          i--;
          continue;
        }
        ports[i] = socket.getLocalPort();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find free loopback ports for etcd", e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // the port was only probed
        }
      }
    }
    return ports;
  }

  static Path findBinary(
      @Nullable Path configured, @Nullable String envValue, @Nullable String pathValue) {
    if (configured != null) {
      if (!Files.isExecutable(configured)) {
        throw new IllegalStateException(
            "etcd binary " + configured + " is not an executable file. " + installHint());
      }
      return configured;
    }
    if (envValue != null && !envValue.isBlank()) {
      Path path = Paths.get(envValue.trim());
      if (!Files.isExecutable(path)) {
        throw new IllegalStateException(
            BINARY_ENV + "=" + envValue + " is not an executable file. " + installHint());
      }
      return path;
    }
    if (pathValue != null) {
      for (String dir : pathValue.split(java.io.File.pathSeparator)) {
        if (dir.isEmpty()) {
          continue;
        }
        Path candidate = Paths.get(dir, "etcd");
        if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException(
        "No etcd binary found on the PATH and " + BINARY_ENV + " is not set. " + installHint());
  }

  private static String installHint() {
    return "Install etcd (Debian/Ubuntu: 'apt-get install etcd-server'; or download a release from "
        + "https://github.com/etcd-io/etcd/releases) or set "
        + BINARY_ENV
        + " to the path of the etcd binary.";
  }

  /** Builder of {@link EtcdCluster}; {@link #start()} launches it. */
  public static final class Builder {
    private int members = 1;
    private @Nullable Path binary;
    private Duration startTimeout = Duration.ofSeconds(30);
    private @Nullable Path certFile;
    private @Nullable Path keyFile;
    private @Nullable Path clientCaFile;

    private Builder() {}

    /**
     * Serves clients over TLS with this PEM certificate (valid for {@code 127.0.0.1}) and key; the
     * endpoints become {@code https://}. Health and leader checks use a plain-HTTP metrics port.
     * Default: plain HTTP.
     */
    public Builder serverTls(Path certFile, Path keyFile) {
      this.certFile = readable(certFile, "serverTls certFile");
      this.keyFile = readable(keyFile, "serverTls keyFile");
      return this;
    }

    /**
     * Requires client certificates signed by the CAs in {@code caFile}; needs {@link #serverTls}.
     */
    public Builder clientCertAuth(Path caFile) {
      this.clientCaFile = readable(caFile, "clientCertAuth caFile");
      return this;
    }

    private List<String> tlsFlags() {
      if (certFile == null) {
        if (clientCaFile != null) {
          throw new IllegalStateException("clientCertAuth: set without serverTls (expected: both)");
        }
        return List.of();
      }
      List<String> flags =
          new ArrayList<>(
              List.of(
                  "--cert-file",
                  certFile.toString(),
                  "--key-file",
                  requireNonNull(keyFile, "keyFile: null (expected: not null)").toString()));
      if (clientCaFile != null) {
        flags.addAll(List.of("--client-cert-auth", "--trusted-ca-file", clientCaFile.toString()));
      }
      return List.copyOf(flags);
    }

    private static Path readable(Path file, String name) {
      requireNonNull(file, name + ": null (expected: not null)");
      if (!Files.isReadable(file)) {
        throw new IllegalArgumentException(name + ": " + file + " (expected: a readable file)");
      }
      return file;
    }

    /** Number of members: 1 or 3; default 1. */
    public Builder members(int members) {
      if (members != 1 && members != 3) {
        throw new IllegalArgumentException("members: " + members + " (expected: 1 or 3)");
      }
      this.members = members;
      return this;
    }

    /**
     * The etcd binary; default: {@code KRPC_ETCD_BINARY}, else {@code etcd} on the {@code PATH}.
     */
    public Builder binary(Path binary) {
      this.binary = requireNonNull(binary, "binary: null (expected: not null)");
      return this;
    }

    /** How long {@link #start()} and restarts wait for health; default 30 s. */
    public Builder startTimeout(Duration startTimeout) {
      requireNonNull(startTimeout, "startTimeout: null (expected: not null)");
      if (startTimeout.isNegative() || startTimeout.isZero()) {
        throw new IllegalArgumentException("startTimeout: " + startTimeout + " (expected: > 0)");
      }
      this.startTimeout = startTimeout;
      return this;
    }

    /**
     * Launches the members and returns once every one reports healthy.
     *
     * @throws IllegalStateException when no etcd binary is found (the message says how to install
     *     one) or the cluster does not become healthy in time (the message names the log file)
     */
    public EtcdCluster start() {
      EtcdCluster cluster = new EtcdCluster(this, findBinary());
      cluster.startAll();
      return cluster;
    }

    // ---- for EtcdClusterExtension's choice of backend

    Path findBinary() {
      return EtcdCluster.findBinary(binary, System.getenv(BINARY_ENV), System.getenv("PATH"));
    }

    /** Whether the user named a binary, here or in {@code KRPC_ETCD_BINARY}. */
    boolean binaryNamed() {
      String env = System.getenv(BINARY_ENV);
      return binary != null || (env != null && !env.isBlank());
    }

    int memberCount() {
      return members;
    }

    Duration startTimeoutValue() {
      return startTimeout;
    }
  }
}
