package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdClusterExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A watch whose start revision is compacted away before it is opened (the list was answered, then
 * etcd moved on and compacted), on a real etcd and the real shared watch stream: the watcher must
 * re-list and lose no update.
 */
class ServiceWatcherCompactionIT {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  @Test
  void compactionBeforeTheWatchStartsLosesNoUpdate() throws Exception {
    InstanceRecordCodec codec = new InstanceRecordCodec("/krpc/services/");
    ServiceInstance first = ServiceInstance.of("compacted", "127.0.0.1", 1);
    ServiceInstance second = ServiceInstance.of("compacted", "127.0.0.1", 2);
    ServiceInstance third = ServiceInstance.of("compacted", "127.0.0.1", 3);
    String[] endpoints = etcd.endpoints().toArray(String[]::new);
    ThreadStateScheduler state = new ThreadStateScheduler(r -> new Thread(r, "test-state"));
    ExecutorService notifier = Executors.newSingleThreadExecutor();
    CountDownLatch listAnswered = new CountDownLatch(1);
    try (Client raw = Client.builder().endpoints(endpoints).build();
        JetcdGateway jetcd =
            new JetcdGateway(
                EtcdConnection.own(
                    etcd.endpoints(),
                    order -> Client.builder().endpoints(order.toArray(String[]::new)).build()),
                new GrpcWatchTransport.Settings(
                    GrpcWatchTransport.uris(etcd.endpoints()),
                    null,
                    null,
                    null,
                    Duration.ofSeconds(5),
                    4 << 20),
                state,
                Duration.ofSeconds(5))) {
      EtcdGateway gateway =
          new ForwardingGateway(jetcd) {
            @Override
            public CompletableFuture<RangePage> range(
                String from, String end, long revision, int limit, boolean serializable) {
              return super.range(from, end, revision, limit, serializable)
                  .whenComplete((r, e) -> listAnswered.countDown());
            }
          };
      put(raw, codec, first);
      ServiceWatcher watcher =
          new ServiceWatcher(
              "compacted",
              gateway,
              new KrpcRecordFormat("/krpc/services/"),
              state,
              notifier,
              new WatchOptions(
                  Duration.ofSeconds(5),
                  Duration.ofSeconds(2),
                  1000,
                  Duration.ZERO,
                  Duration.ZERO));
      List<List<ServiceInstance>> snapshots = new CopyOnWriteArrayList<>();
      Registry.Listener listener = snapshots::add;
      CountDownLatch release = new CountDownLatch(1);
      // the list request goes out, then the state thread is held so its answer waits
      state.execute(
          () -> {
            watcher.add(new ServiceWatcher.Subscription("compacted", listener, s -> {}));
            watcher.start();
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      assertThat(listAnswered.await(5, TimeUnit.SECONDS)).isTrue();
      put(raw, codec, second);
      raw.getKVClient().delete(bytes(codec.key(first))).get();
      long revision = put(raw, codec, third);
      raw.getKVClient().compact(revision).get();
      release.countDown();

      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  !snapshots.isEmpty()
                      && snapshots.get(snapshots.size() - 1).equals(List.of(second, third)));
      // the stale list was published first, then the re-list after the compaction
      assertThat(snapshots.get(0)).containsExactly(first);
      CompletableFuture<Void> closed = new CompletableFuture<>();
      state.execute(
          () -> {
            watcher.close();
            jetcd.mux().close();
            closed.complete(null);
          });
      closed.get(5, TimeUnit.SECONDS);
    } finally {
      state.shutdown();
      notifier.shutdownNow();
    }
  }

  private static long put(Client raw, InstanceRecordCodec codec, ServiceInstance instance)
      throws Exception {
    return raw.getKVClient()
        .put(bytes(codec.key(instance)), ByteSequence.from(codec.encode(instance)))
        .get()
        .getHeader()
        .getRevision();
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }
}
