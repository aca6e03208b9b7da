package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import org.jspecify.annotations.Nullable;

/**
 * Opens etcd Watch RPC streams (etcd's {@code Watch.Watch}, one bidirectional stream carrying many
 * watches) for a {@link WatchMux}. The production transport ({@link GrpcWatchTransport}) runs them
 * on a gRPC channel of its own; tests script them.
 */
interface WatchTransport {

  /** Opens a stream; {@code listener} is called on any thread, one call at a time. */
  Stream open(StreamListener listener);

  /**
   * The last stream failed: the next {@link #open} goes to another member when there are several,
   * and authenticates again when {@code tokenRejected}.
   */
  void failed(boolean tokenRejected);

  /** Drops the current connection; streams on it fail. */
  void reconnect();

  /** One open stream. */
  interface Stream {
    void send(WatchRequest request);

    /** Ends the stream; its listener hears nothing more. */
    void close();
  }

  /** Callbacks of one stream. */
  interface StreamListener {
    void onResponse(WatchResponse response);

    /** The stream ended: with an error, or {@code null} when etcd closed it cleanly. */
    void onClosed(@Nullable Throwable error);
  }
}
