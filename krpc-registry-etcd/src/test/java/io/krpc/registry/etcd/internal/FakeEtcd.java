package io.krpc.registry.etcd.internal;

import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * An etcd in memory for the state machines' unit tests: keys, revisions, leases and watches that
 * answer at once, and switches for what real etcd does to clients (go away, hang, refuse, expire a
 * lease, compact a watch away, break a watch).
 */
final class FakeEtcd implements EtcdGateway {
  record Kv(byte[] value, long modRevision, long lease) {}

  final TreeMap<String, Kv> store = new TreeMap<>();
  final Map<Long, Set<String>> leases = new HashMap<>();
  final List<FakeWatch> watches = new ArrayList<>();
  final List<CompletableFuture<?>> hanging = new ArrayList<>();
  final List<String> calls = new ArrayList<>();
  long revision = 1;
  long raftTerm = 2;
  long nextLease = 100;
  int generation;
  final List<Long> reconnectsSeen = new ArrayList<>();
  boolean down;
  boolean hang;
  Throwable refuseRange;
  Throwable probeError;
  Heard heard;

  // ---- what a test does to etcd

  long putByHand(String key, String value) {
    return write(key, value.getBytes(StandardCharsets.UTF_8), 0);
  }

  void deleteByHand(String key) {
    remove(key);
  }

  /** etcd forgets a lease (it expired, or etcd lost its data): its keys go. */
  void expireLease(long lease) {
    Set<String> keys = leases.remove(lease);
    if (keys != null) {
      new ArrayList<>(keys).forEach(this::remove);
    }
  }

  /** Every watch is told its start revision was compacted away; they are over. */
  void compactWatches() {
    List<FakeWatch> all = new ArrayList<>(watches);
    watches.clear();
    all.forEach(w -> w.listener.onCompacted(revision));
  }

  /** etcd ends every watch with {@code error}; they are over. */
  void failWatches(Throwable error) {
    List<FakeWatch> all = new ArrayList<>(watches);
    watches.clear();
    all.forEach(w -> w.listener.onFailed(error));
  }

  static Throwable unavailable() {
    return Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException();
  }

  int count(String call) {
    return (int) calls.stream().filter(call::equals).count();
  }

  // ---- the gateway

  @Override
  public CompletableFuture<RangePage> range(
      String fromKey, String endKey, long atRevision, int limit, boolean serializable) {
    calls.add(serializable ? "range-serializable" : "range");
    if (refuseRange != null) {
      return CompletableFuture.failedFuture(refuseRange);
    }
    return answer(
        () -> {
          List<EtcdRecord> records = new ArrayList<>();
          boolean more = false;
          for (Map.Entry<String, Kv> e : store.subMap(fromKey, endKey).entrySet()) {
            if (records.size() == limit) {
              more = true;
              break;
            }
            records.add(
                new EtcdRecord(e.getKey(), e.getValue().value(), e.getValue().modRevision()));
          }
          return new RangePage(records, more, atRevision > 0 ? atRevision : revision);
        });
  }

  @Override
  public CompletableFuture<Header> probe(String key) {
    calls.add("probe");
    if (probeError != null && !down) {
      return CompletableFuture.failedFuture(probeError);
    }
    return answer(() -> new Header(raftTerm, revision));
  }

  @Override
  public CompletableFuture<Long> grant(long ttlSeconds) {
    calls.add("grant");
    return answer(
        () -> {
          long id = nextLease++;
          leases.put(id, new HashSet<>());
          return id;
        });
  }

  @Override
  public CompletableFuture<Long> keepAliveOnce(long leaseId) {
    calls.add("keepAlive");
    return answer(() -> leases.containsKey(leaseId) ? 10L : 0L);
  }

  @Override
  public CompletableFuture<Void> revoke(long leaseId) {
    calls.add("revoke");
    return answer(
        () -> {
          expireLease(leaseId);
          return null;
        });
  }

  @Override
  public CompletableFuture<Long> put(EtcdRecord record, long leaseId) {
    calls.add("put");
    return answer(() -> putUnder(record, leaseId));
  }

  @Override
  public CompletableFuture<Long> putAll(List<EtcdRecord> records, long leaseId) {
    calls.add("putAll");
    return answer(
        () -> {
          long last = revision;
          for (EtcdRecord r : records) {
            last = putUnder(r, leaseId);
          }
          return last;
        });
  }

  @Override
  public CompletableFuture<Void> delete(String key) {
    calls.add("delete");
    return answer(
        () -> {
          remove(key);
          return null;
        });
  }

  @Override
  public CompletableFuture<Void> deleteAll(List<String> keys) {
    calls.add("deleteAll");
    return answer(
        () -> {
          keys.forEach(this::remove);
          return null;
        });
  }

  @Override
  public Watch watch(String prefix, long fromRevision, WatchListener listener) {
    calls.add("watch");
    FakeWatch watch = new FakeWatch(prefix, fromRevision, listener);
    watches.add(watch);
    return () -> watches.remove(watch);
  }

  @Override
  public void reconnect(long seen) {
    calls.add("reconnect");
    reconnectsSeen.add(seen);
    generation++;
    probeError = null; // fresh connections authenticate again
  }

  @Override
  public long generation() {
    return generation;
  }

  @Override
  public Heard lastHeard() {
    return heard;
  }

  /** etcd answered some call on the current connection at {@code atNanos}. */
  void answered(long atNanos) {
    heard = new Heard(new Header(raftTerm, revision), atNanos);
  }

  // ---- inside

  private long putUnder(EtcdRecord record, long leaseId) {
    if (!leases.containsKey(leaseId)) {
      throw new IllegalStateException("etcdserver: requested lease not found");
    }
    leases.get(leaseId).add(record.key());
    return write(record.key(), record.value(), leaseId);
  }

  private long write(String key, byte[] value, long lease) {
    revision++;
    store.put(key, new Kv(value, revision, lease));
    notifyWatches(new Change(key, value, revision));
    return revision;
  }

  private void remove(String key) {
    Kv old = store.remove(key);
    if (old != null) {
      revision++;
      if (old.lease() != 0 && leases.containsKey(old.lease())) {
        leases.get(old.lease()).remove(key);
      }
      notifyWatches(new Change(key, null, revision));
    }
  }

  private void notifyWatches(Change change) {
    for (FakeWatch w : new ArrayList<>(watches)) {
      if (change.key().startsWith(w.prefix) && change.modRevision() >= w.fromRevision) {
        w.listener.onChanges(List.of(change), revision);
      }
    }
  }

  private <T> CompletableFuture<T> answer(java.util.function.Supplier<T> value) {
    if (down) {
      return CompletableFuture.failedFuture(unavailable());
    }
    if (hang) {
      CompletableFuture<T> pending = new CompletableFuture<>();
      hanging.add(pending);
      return pending;
    }
    try {
      return CompletableFuture.completedFuture(value.get());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  record FakeWatch(String prefix, long fromRevision, WatchListener listener) {}
}
