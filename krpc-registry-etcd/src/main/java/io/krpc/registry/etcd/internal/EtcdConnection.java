package io.krpc.registry.etcd.internal;

import com.google.errorprone.annotations.ThreadSafe;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.etcd.jetcd.Client;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to etcd: a jetcd {@link Client} (reads, writes, leases) whose gRPC channel also
 * carries the watch streams, replaced on request, and shared by reference count between the
 * registries of a JVM that have the same endpoints, credentials and TLS files.
 *
 * <p>Why replace it: jetcd's gRPC channel backs off its reconnects exponentially (up to two
 * minutes) while etcd is down, so after a long outage it may not notice etcd's return for a long
 * time. {@link ConnectionMonitor} calls {@link #reconnect(long)} while etcd does not answer, and
 * the fresh channel connects at once when etcd is back. Callers fetch {@link #client()} for each
 * operation and never keep it. A reconnect only replaces the generation its caller saw fail, and at
 * most once per {@link #MIN_RECONNECT_GAP_NANOS}, so a hundred registries sharing the connection
 * replace it once, not a hundred times.
 *
 * <p>Why share it: etcd's gRPC server keeps buffers and goroutines for every HTTP/2 connection
 * (about 100 KB; see the scale benchmark), far more than a watch stream (about 18 KB) or a watcher.
 * Two registries of one JVM talking to the same etcd with the same identity gain nothing from two
 * connections.
 *
 * <p>The endpoints are shuffled once per connection (jetcd picks the first member that answers, so
 * a fleet of JVMs spreads over the members) and rotated by one on every reconnect (a member that
 * accepts connections but does not answer is left for the next).
 */
@ThreadSafe
public final class EtcdConnection {
  private static final Logger logger = LoggerFactory.getLogger(EtcdConnection.class);
  static final long MIN_RECONNECT_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /**
   * The least time between two replacements of a client whose channel is connected: a connected
   * channel that does not answer is a frozen member or a forgotten token (a replacement helps) or
   * an overloaded etcd (a replacement breaks every watch stream on it and makes things worse).
   */
  static final long MIN_REPLACE_CONNECTED_GAP_NANOS = TimeUnit.SECONDS.toNanos(3);

  @GuardedBy("POOL")
  private static final Map<Object, EtcdConnection> POOL = new HashMap<>();

  private static final @Nullable Reflection REFLECTION = Reflection.find();

  private final @Nullable Object key;
  private final Function<List<String>, Client> factory;
  private final LongSupplier nanoTime;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final List<String> endpoints;

  @GuardedBy("lock")
  private Client client;

  @GuardedBy("lock")
  private long generation;

  @GuardedBy("lock")
  private long lastReconnectNanos;

  @GuardedBy("lock")
  private int references = 1;

  @GuardedBy("lock")
  private boolean closed;

  @GuardedBy("lock")
  private @Nullable CompletableFuture<EtcdGateway.Header> probe;

  @GuardedBy("lock")
  private long probeStartedNanos;

  /**
   * The newest answer etcd gave on this connection, by any of its users; written without a lock by
   * every response (a stale write only makes a probe run that could have been skipped).
   */
  private volatile @Nullable Answer lastAnswer;

  private record Answer(long generation, long raftTerm, long revision, long atNanos) {}

  /**
   * A connection of the JVM's pool: the one already open under {@code key} (its count raised), or a
   * new one. {@code factory} builds a new, unconnected jetcd client for the endpoints in the order
   * given; it must not block.
   */
  public static EtcdConnection shared(
      Object key, List<String> endpoints, Function<List<String>, Client> factory) {
    synchronized (POOL) {
      EtcdConnection existing = POOL.get(key);
      if (existing != null && existing.retain()) {
        return existing;
      }
      EtcdConnection created = new EtcdConnection(key, endpoints, factory, System::nanoTime);
      POOL.put(key, created);
      return created;
    }
  }

  /** A connection of its own, outside the pool. */
  public static EtcdConnection own(List<String> endpoints, Function<List<String>, Client> factory) {
    return new EtcdConnection(null, endpoints, factory, System::nanoTime);
  }

  EtcdConnection(
      @Nullable Object key,
      List<String> endpoints,
      Function<List<String>, Client> factory,
      LongSupplier nanoTime) {
    this.key = key;
    this.factory = factory;
    this.nanoTime = nanoTime;
    List<String> shuffled = new ArrayList<>(endpoints);
    Collections.shuffle(shuffled);
    synchronized (lock) {
      this.endpoints = shuffled;
      this.client = factory.apply(List.copyOf(shuffled));
      this.lastReconnectNanos = nanoTime.getAsLong() - MIN_RECONNECT_GAP_NANOS;
    }
  }

  private boolean retain() {
    synchronized (lock) {
      if (closed) {
        return false;
      }
      references++;
      return true;
    }
  }

  /** The current client. */
  public Client client() {
    synchronized (lock) {
      return client;
    }
  }

  /**
   * The gRPC channel under the current client, for the watch stream; null when this jetcd does not
   * let it be reached (the watch stream then opens a channel of its own).
   */
  @Nullable ManagedChannel channel() {
    Client current = client();
    return REFLECTION == null ? null : REFLECTION.channel(current);
  }

  /** Whether watch streams ride the jetcd channel (one connection per registry, or per pool). */
  static boolean channelReachable() {
    return REFLECTION != null;
  }

  /** Incremented by each reconnect that replaced the client. */
  public long generation() {
    synchronized (lock) {
      return generation;
    }
  }

  /**
   * Notes that etcd answered a call made on generation {@code seen} (its header's raft term and
   * revision): proof of life that lets every user of the connection skip its probe. Any thread.
   */
  void heard(long seen, long raftTerm, long revision) {
    lastAnswer = new Answer(seen, raftTerm, revision, nanoTime.getAsLong());
  }

  /** The newest answer on the current generation, or null; see {@link EtcdGateway#lastHeard()}. */
  EtcdGateway.@Nullable Heard lastHeard() {
    Answer answer = lastAnswer;
    if (answer == null || answer.generation() != generation()) {
      return null;
    }
    return new EtcdGateway.Heard(
        new EtcdGateway.Header(answer.raftTerm(), answer.revision()), answer.atNanos());
  }

  /** How many registries use this connection; for tests. */
  int references() {
    synchronized (lock) {
      return references;
    }
  }

  /**
   * A count-only read whose header tells the raft term and revision, shared by everyone using this
   * connection: a probe sent less than {@code maxAgeNanos} ago (answered or still in flight) is
   * answered again instead of sending another. A failed probe is never reused once it failed.
   */
  CompletableFuture<EtcdGateway.Header> probe(
      long maxAgeNanos, Function<Client, CompletableFuture<EtcdGateway.Header>> send) {
    Client current;
    long sentOn;
    CompletableFuture<EtcdGateway.Header> started;
    synchronized (lock) {
      long now = nanoTime.getAsLong();
      CompletableFuture<EtcdGateway.Header> last = probe;
      if (last != null
          && now - probeStartedNanos < maxAgeNanos
          && !last.isCompletedExceptionally()) {
        return last.copy(); // a caller's cancel (its timeout) must not fail the others
      }
      current = client;
      sentOn = generation;
      started = new CompletableFuture<>();
      probe = started;
      probeStartedNanos = now;
    }
    CompletableFuture<EtcdGateway.Header> sent;
    try {
      sent = send.apply(current);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    var unused =
        sent.whenComplete(
            (header, error) -> {
              if (error != null) {
                started.completeExceptionally(error);
              } else {
                heard(sentOn, header.raftTerm(), header.revision());
                started.complete(header);
              }
            });
    return started.copy();
  }

  /**
   * Gets generation {@code seen} talking to etcd again, unless someone sharing the connection did
   * already: a channel that is not connected is told to retry at once (gRPC's reconnect backoff
   * would hide etcd's return for up to two minutes); a connected one (a frozen member, a forgotten
   * token) or one that cannot be reached is replaced by a new client on the next member, closing
   * the old one (its calls and watches fail). At most one replacement per {@link
   * #MIN_RECONNECT_GAP_NANOS}, and per {@link #MIN_REPLACE_CONNECTED_GAP_NANOS} while connected.
   */
  public void reconnect(long seen) {
    Client old;
    synchronized (lock) {
      long now = nanoTime.getAsLong();
      if (closed || seen != generation || now - lastReconnectNanos < MIN_RECONNECT_GAP_NANOS) {
        return;
      }
      ManagedChannel channel = REFLECTION == null ? null : REFLECTION.channel(client);
      if (channel != null) {
        ConnectivityState state = channel.getState(false);
        if (state != ConnectivityState.READY) {
          channel.resetConnectBackoff();
          return;
        }
        if (now - lastReconnectNanos < MIN_REPLACE_CONNECTED_GAP_NANOS) {
          return;
        }
      }
      lastReconnectNanos = now;
      Collections.rotate(endpoints, -1);
      old = client;
      client = factory.apply(List.copyOf(endpoints));
      generation++;
      probe = null;
    }
    logger.info("Replaced the etcd connection (generation {})", seen + 1);
    closeQuietly(old);
  }

  /** Releases one reference; the last one closes the client. */
  public void release() {
    Client old;
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (--references > 0) {
        return;
      }
      closed = true;
      old = client;
    }
    if (key != null) {
      synchronized (POOL) {
        POOL.remove(key, this);
      }
    }
    closeQuietly(old);
  }

  private static void closeQuietly(Client client) {
    try {
      client.close();
    } catch (RuntimeException e) {
      logger.debug("Closing a jetcd client failed", e);
    }
  }

  /**
   * jetcd 0.8 keeps its channel in {@code ClientImpl.connectionManager.getChannel()}, neither
   * public. Reaching it lets the watch stream share the connection instead of opening a second one
   * to etcd; a jetcd that moved it makes {@link #find()} return null and the watch stream opens its
   * own channel as before ({@code EtcdRegistryIT} checks the shared path is the one in use).
   */
  private record Reflection(Field manager, Method channel) {
    static @Nullable Reflection find() {
      try {
        Class<?> impl = Class.forName("io.etcd.jetcd.impl.ClientImpl");
        Field manager = impl.getDeclaredField("connectionManager");
        manager.setAccessible(true);
        Method channel = manager.getType().getDeclaredMethod("getChannel");
        channel.setAccessible(true);
        if (!ManagedChannel.class.isAssignableFrom(channel.getReturnType())) {
          return null;
        }
        return new Reflection(manager, channel);
      } catch (ReflectiveOperationException | RuntimeException e) {
        logger.info(
            "jetcd's channel cannot be reached ({}); the watch stream opens a connection of its"
                + " own",
            e.toString());
        return null;
      }
    }

    @Nullable ManagedChannel channel(Client client) {
      try {
        Object connectionManager = manager.get(client);
        return connectionManager == null
            ? null
            : (ManagedChannel) channel.invoke(connectionManager);
      } catch (ReflectiveOperationException | RuntimeException e) {
        logger.debug("jetcd's channel cannot be reached", e);
        return null;
      }
    }
  }
}
