package io.krpc.registry.etcd.internal;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** An {@link EtcdGateway} that forwards every call; tests override the calls they watch. */
class ForwardingGateway implements EtcdGateway {
  private final EtcdGateway delegate;

  ForwardingGateway(EtcdGateway delegate) {
    this.delegate = delegate;
  }

  @Override
  public CompletableFuture<RangePage> range(
      String fromKey, String endKey, long revision, int limit, boolean serializable) {
    return delegate.range(fromKey, endKey, revision, limit, serializable);
  }

  @Override
  public CompletableFuture<Header> probe(String key) {
    return delegate.probe(key);
  }

  @Override
  public CompletableFuture<Long> grant(long ttlSeconds) {
    return delegate.grant(ttlSeconds);
  }

  @Override
  public CompletableFuture<Long> keepAliveOnce(long leaseId) {
    return delegate.keepAliveOnce(leaseId);
  }

  @Override
  public CompletableFuture<Void> revoke(long leaseId) {
    return delegate.revoke(leaseId);
  }

  @Override
  public CompletableFuture<Long> put(EtcdRecord record, long leaseId) {
    return delegate.put(record, leaseId);
  }

  @Override
  public CompletableFuture<Long> putAll(List<EtcdRecord> records, long leaseId) {
    return delegate.putAll(records, leaseId);
  }

  @Override
  public CompletableFuture<Void> delete(String key) {
    return delegate.delete(key);
  }

  @Override
  public CompletableFuture<Void> deleteAll(List<String> keys) {
    return delegate.deleteAll(keys);
  }

  @Override
  public Watch watch(String prefix, long fromRevision, WatchListener listener) {
    return delegate.watch(prefix, fromRevision, listener);
  }

  @Override
  public void reconnect(long seen) {
    delegate.reconnect(seen);
  }

  @Override
  public long generation() {
    return delegate.generation();
  }
}
