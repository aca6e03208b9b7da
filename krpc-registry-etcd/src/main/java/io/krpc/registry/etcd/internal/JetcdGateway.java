package io.krpc.registry.etcd.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Response;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The production {@link EtcdGateway}: reads, writes and leases through jetcd (a client replaced by
 * {@link #reconnect(long)}, possibly shared with the JVM's other registries), watches on the
 * registry's one {@link WatchMux} stream over the same connection.
 */
final class JetcdGateway implements EtcdGateway, AutoCloseable {
  /** etcd's default {@code --max-txn-ops}: the most operations one transaction may carry. */
  static final int MAX_TXN_OPS = 128;

  /**
   * How long a probe's answer is good for everyone sharing the connection: registries sharing it
   * probe at their own pace (every 500 ms), and within this much of each other one request answers
   * them all. It is what an outage may go unnoticed longer than with a probe of one's own.
   */
  static final long PROBE_SHARE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final EtcdConnection connection;
  private final GrpcWatchTransport watchTransport;
  private final WatchMux mux;

  /** Takes over one reference to {@code connection}, released by {@link #close()}. */
  JetcdGateway(
      EtcdConnection connection,
      GrpcWatchTransport.Settings watchSettings,
      StateScheduler scheduler,
      Duration progressInterval) {
    this.connection = connection;
    this.watchTransport = new GrpcWatchTransport(watchSettings, connection);
    this.mux = new WatchMux(watchTransport, scheduler, progressInterval);
  }

  @Override
  public CompletableFuture<RangePage> range(
      String fromKey, String endKey, long revision, int limit, boolean serializable) {
    GetOption option =
        GetOption.builder()
            .withRange(bytes(endKey))
            .withLimit(limit)
            .withRevision(revision)
            .withSerializable(serializable)
            .withSortField(GetOption.SortTarget.KEY)
            .withSortOrder(GetOption.SortOrder.ASCEND)
            .build();
    long generation = connection.generation();
    return heard(generation, connection.client().getKVClient().get(bytes(fromKey), option))
        .thenApply(
            response -> {
              List<EtcdRecord> records = new ArrayList<>(response.getKvs().size());
              for (KeyValue kv : response.getKvs()) {
                records.add(
                    new EtcdRecord(
                        kv.getKey().toString(StandardCharsets.UTF_8),
                        kv.getValue().getBytes(),
                        kv.getModRevision()));
              }
              return new RangePage(records, response.isMore(), response.getHeader().getRevision());
            });
  }

  @Override
  public CompletableFuture<Header> probe(String key) {
    return connection.probe(
        PROBE_SHARE_NANOS,
        client ->
            client
                .getKVClient()
                .get(bytes(key), GetOption.builder().withCountOnly(true).build())
                .thenApply(
                    r -> new Header(r.getHeader().getRaftTerm(), r.getHeader().getRevision())));
  }

  @Override
  public CompletableFuture<Long> grant(long ttlSeconds) {
    long generation = connection.generation();
    return heard(generation, connection.client().getLeaseClient().grant(ttlSeconds))
        .thenApply(r -> r.getID());
  }

  @Override
  public CompletableFuture<Long> keepAliveOnce(long leaseId) {
    long generation = connection.generation();
    return heard(generation, connection.client().getLeaseClient().keepAliveOnce(leaseId))
        .thenApply(r -> r.getTTL());
  }

  @Override
  public CompletableFuture<Void> revoke(long leaseId) {
    long generation = connection.generation();
    return heard(generation, connection.client().getLeaseClient().revoke(leaseId))
        .thenApply(r -> null);
  }

  @Override
  public CompletableFuture<Long> put(EtcdRecord record, long leaseId) {
    long generation = connection.generation();
    return heard(
            generation,
            connection
                .client()
                .getKVClient()
                .put(
                    bytes(record.key()),
                    ByteSequence.from(record.value()),
                    PutOption.builder().withLeaseId(leaseId).build()))
        .thenApply(r -> r.getHeader().getRevision());
  }

  @Override
  public CompletableFuture<Long> putAll(List<EtcdRecord> records, long leaseId) {
    PutOption option = PutOption.builder().withLeaseId(leaseId).build();
    CompletableFuture<Long> chain = CompletableFuture.completedFuture(0L);
    for (int from = 0; from < records.size(); from += MAX_TXN_OPS) {
      List<EtcdRecord> chunk = records.subList(from, Math.min(records.size(), from + MAX_TXN_OPS));
      Op[] puts =
          chunk.stream()
              .map(r -> Op.put(bytes(r.key()), ByteSequence.from(r.value()), option))
              .toArray(Op[]::new);
      chain =
          chain.thenCompose(
              previous -> {
                long generation = connection.generation();
                return heard(
                        generation, connection.client().getKVClient().txn().Then(puts).commit())
                    .thenApply(r -> r.getHeader().getRevision());
              });
    }
    return chain;
  }

  @Override
  public CompletableFuture<Void> delete(String key) {
    long generation = connection.generation();
    return heard(generation, connection.client().getKVClient().delete(bytes(key)))
        .thenApply(r -> null);
  }

  @Override
  public CompletableFuture<Void> deleteAll(List<String> keys) {
    Op[] deletes =
        keys.stream()
            .map(k -> Op.delete(bytes(k), io.etcd.jetcd.options.DeleteOption.DEFAULT))
            .toArray(Op[]::new);
    long generation = connection.generation();
    return heard(generation, connection.client().getKVClient().txn().Then(deletes).commit())
        .thenApply(r -> null);
  }

  @Override
  public Watch watch(String prefix, long fromRevision, WatchListener listener) {
    return mux.watch(prefix, fromRevision, listener);
  }

  @Override
  public void reconnect(long seen) {
    if (connection.generation() == seen) {
      watchTransport.reconnect();
    }
    connection.reconnect(seen);
  }

  @Override
  public long generation() {
    return connection.generation();
  }

  @Override
  public @Nullable Heard lastHeard() {
    return connection.lastHeard();
  }

  /** Notes {@code call}'s answer as proof that the connection of {@code generation} lives. */
  private <R extends Response> CompletableFuture<R> heard(
      long generation, CompletableFuture<R> call) {
    return call.whenComplete(
        (response, error) -> {
          if (response != null) {
            Response.Header header = response.getHeader();
            connection.heard(generation, header.getRaftTerm(), header.getRevision());
          }
        });
  }

  /** Whether the watch stream rides the connection's channel; for tests. */
  boolean watchRidesConnection() {
    return watchTransport.ridesSharedChannel();
  }

  /** The connection, possibly shared with other registries; for tests. */
  EtcdConnection connection() {
    return connection;
  }

  /** The watch multiplexer; confined to the state scheduler. */
  WatchMux mux() {
    return mux;
  }

  /** Closes the watches (call on the state scheduler) and the connections. */
  @Override
  public void close() {
    mux.close();
    watchTransport.close();
    connection.release();
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }
}
