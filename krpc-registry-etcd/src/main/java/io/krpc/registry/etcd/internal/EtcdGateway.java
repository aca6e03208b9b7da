package io.krpc.registry.etcd.internal;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Everything the registry's state machines ask of etcd, and nothing more: paged range reads, the
 * lease calls, puts and deletes, one count-only probe, and watches. The production gateway ({@link
 * JetcdGateway}) runs them on jetcd and on the registry's one shared watch stream ({@link
 * WatchMux}); unit tests answer them by hand on fake time.
 *
 * <p>Futures may complete on any thread; state machines hop back to their {@link StateScheduler}
 * before touching their state. Keys are UTF-8 strings, values raw bytes.
 */
public interface EtcdGateway {

  /**
   * One page of the keys in {@code [fromKey, endKey)} in key order, at most {@code limit} of them,
   * read at {@code revision} (0: the newest). {@code serializable} reads answer from the member the
   * client talks to without a round through the leader.
   */
  CompletableFuture<RangePage> range(
      String fromKey, String endKey, long revision, int limit, boolean serializable);

  /** A count-only read of {@code key}: cheap, and its header tells the raft term and revision. */
  CompletableFuture<Header> probe(String key);

  /** Grants a lease of {@code ttlSeconds}; completes with its id. */
  CompletableFuture<Long> grant(long ttlSeconds);

  /**
   * Renews {@code leaseId} once; completes with the remaining TTL, {@code <= 0} when it is gone.
   */
  CompletableFuture<Long> keepAliveOnce(long leaseId);

  /** Revokes {@code leaseId}, deleting its keys. */
  CompletableFuture<Void> revoke(long leaseId);

  /** Puts one record under {@code leaseId}; completes with the revision it was written at. */
  CompletableFuture<Long> put(EtcdRecord record, long leaseId);

  /**
   * Puts every record under {@code leaseId}, in as few transactions as etcd allows; completes with
   * the revision of the last one.
   */
  CompletableFuture<Long> putAll(List<EtcdRecord> records, long leaseId);

  /** Deletes {@code key}. */
  CompletableFuture<Void> delete(String key);

  /** Deletes every one of {@code keys} in one transaction. */
  CompletableFuture<Void> deleteAll(List<String> keys);

  /**
   * Watches the keys under {@code prefix} from {@code fromRevision} on; events reach {@code
   * listener} on any thread until the watch fails or is cancelled.
   */
  Watch watch(String prefix, long fromRevision, WatchListener listener);

  /**
   * Drops the current connections and opens fresh ones (which also fetch a fresh auth token):
   * gRPC's reconnect backoff would otherwise hide etcd's return for up to two minutes. Does nothing
   * when the connections are no longer those of generation {@code seen} (someone sharing them
   * replaced them already).
   */
  void reconnect(long seen);

  /** Incremented by each {@link #reconnect(long)} that replaced the connections. */
  long generation();

  /**
   * The newest answer etcd gave on the current connections (any successful call, a keep-alive, a
   * watch event or progress answer, by this registry or another sharing the connection), or null
   * when none arrived since they were made. The connection monitor skips its probe while this is
   * recent enough.
   */
  default @Nullable Heard lastHeard() {
    return null;
  }

  /** A key and its value; {@code modRevision} is 0 for records about to be written. */
  record EtcdRecord(String key, byte[] value, long modRevision) {}

  /**
   * One page of a range read: its records, whether more follow, and the revision it was read at.
   */
  record RangePage(List<EtcdRecord> records, boolean more, long revision) {}

  /** What a response header tells: the raft term and the store revision. */
  record Header(long raftTerm, long revision) {}

  /** An answer's header and when it arrived, on the {@link StateScheduler}'s clock. */
  record Heard(Header header, long atNanos) {}

  /** One change seen by a watch: {@code value} is null for a deletion. */
  record Change(String key, byte @Nullable [] value, long modRevision) {
    boolean isDelete() {
      return value == null;
    }
  }

  /** A running watch. */
  interface Watch {
    /** Stops the watch; no callback follows. */
    void cancel();
  }

  /** Callbacks of one watch, on any thread, one at a time. */
  interface WatchListener {
    /** Changes at revisions up to {@code revision}, in order. */
    void onChanges(List<Change> changes, long revision);

    /**
     * The watch cannot continue from where it was: its start revision was compacted away. The
     * watcher must list again; the watch is over.
     */
    void onCompacted(long compactRevision);

    /**
     * The watch's stream broke; the gateway resumes it from the next revision by itself and calls
     * {@link #onResumed()} when it runs again (no change is lost).
     */
    void onInterrupted(Throwable cause);

    /** The watch runs again after {@link #onInterrupted}. */
    void onResumed();

    /**
     * etcd refused or ended the watch for a reason retrying the stream does not fix; it is over.
     */
    void onFailed(Throwable cause);
  }
}
