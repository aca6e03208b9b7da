package io.krpc.registry.etcd.internal;

import com.google.errorprone.annotations.ThreadSafe;
import io.etcd.jetcd.Client;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the jetcd {@link Client} of one registry and replaces it on request.
 *
 * <p>Why replace it: jetcd's gRPC channel backs off its reconnects exponentially (up to two
 * minutes) while etcd is down, so after a long outage it may not notice etcd's return for a long
 * time. {@link ConnectionMonitor} calls {@link #reconnect()} while etcd does not answer, and the
 * fresh channel connects at once when etcd is back. Callers fetch {@link #client()} for each
 * operation and never keep it.
 */
@ThreadSafe
public final class EtcdConnection implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(EtcdConnection.class);

  private final Supplier<Client> factory;
  private final Object lock = new Object();
  private Client client;
  private long generation;
  private boolean closed;

  /** {@code factory} builds a new, unconnected jetcd client; it must not block. */
  public EtcdConnection(Supplier<Client> factory) {
    this.factory = factory;
    this.client = factory.get();
  }

  /** The current client. */
  public Client client() {
    synchronized (lock) {
      return client;
    }
  }

  /** Incremented by each {@link #reconnect()}. */
  public long generation() {
    synchronized (lock) {
      return generation;
    }
  }

  /** Replaces the client by a new one and closes the old one (its calls and watches fail). */
  public void reconnect() {
    Client old;
    synchronized (lock) {
      if (closed) {
        return;
      }
      old = client;
      client = factory.get();
      generation++;
    }
    closeQuietly(old);
  }

  @Override
  public void close() {
    Client old;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      old = client;
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
}
