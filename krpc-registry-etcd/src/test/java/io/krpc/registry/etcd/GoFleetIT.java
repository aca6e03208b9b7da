package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.krpc.KClient;
import io.krpc.KServer;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import io.krpc.testing.EtcdClusterExtension;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KRPC in a Go fleet, against real etcd and the Go peers of {@code src/test/go}: the Go libraries'
 * own code (etcd's naming and resolver, go-zero's discov) or an exact repetition of it (Go KRPC,
 * Kratos' etcd registry, whose modules the module proxy does not serve).
 */
@SuppressWarnings("ReferenceEquality") // RecordFormat constants are compared by identity on purpose
class GoFleetIT {
  private static final Logger logger = LoggerFactory.getLogger(GoFleetIT.class);
  private static final RecordFormat GO_ZERO = RecordFormat.GO_ZERO.withKeyPrefix("/rpc/");
  private static final RecordFormat[] ALL = {
    RecordFormat.KRPC, RecordFormat.KRPC_GO, RecordFormat.ETCD_NAMING, GO_ZERO, RecordFormat.KRATOS
  };
  private static final Duration WAIT = Duration.ofSeconds(20);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private final TestResources resources = new TestResources();
  private final List<GoPeer> peers = new ArrayList<>();
  private Client raw;
  private String endpoints;

  @BeforeEach
  void setUp() {
    endpoints = String.join(",", etcd.endpoints());
    raw =
        resources.add(Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build());
  }

  @AfterEach
  void tearDown() throws Exception {
    for (GoPeer peer : peers) {
      peer.close();
    }
    resources.close();
  }

  private EtcdRegistry registry(RecordFormat... formats) {
    return resources.add(
        EtcdRegistry.builder()
            .endpoints(etcd.endpoints())
            .leaseTtl(Duration.ofSeconds(2))
            .recordFormats(formats)
            .build());
  }

  private GoPeer go(GoPeer peer) {
    peers.add(peer);
    return peer;
  }

  private static String goArgPrefix(RecordFormat format) {
    return format == GO_ZERO ? "/rpc/" : format.keyPrefix();
  }

  private List<KeyValue> keys(String prefix) throws Exception {
    return raw.getKVClient()
        .get(
            ByteSequence.from(prefix, StandardCharsets.UTF_8),
            GetOption.builder().isPrefix(true).build())
        .get(5, TimeUnit.SECONDS)
        .getKvs();
  }

  @Test
  void goLibrariesWriteByteForByteWhatKrpcWritesAndKrpcReadsIt() throws Exception {
    for (RecordFormat format :
        List.of(
            RecordFormat.KRPC_GO,
            RecordFormat.ETCD_NAMING,
            RecordFormat.GO_ZERO,
            RecordFormat.KRATOS)) {
      String service = "bytes-" + format.name().toLowerCase().replace('_', '-');
      boolean carriesMetadata = format == RecordFormat.ETCD_NAMING || format == RecordFormat.KRATOS;
      ServiceInstance instance =
          ServiceInstance.builder(service, "10.0.0.1", 9001)
              .weight(format == RecordFormat.KRPC_GO ? 300 : 100)
              .metadata(carriesMetadata ? Map.of("zone", "a&<b>") : Map.of())
              .build();
      GoPeer peer =
          go(
              GoPeer.register(
                  "-format",
                  format.name(),
                  "-etcd",
                  endpoints,
                  "-service",
                  service,
                  "-host",
                  "10.0.0.1",
                  "-port",
                  "9001",
                  "-weight",
                  "300",
                  "-meta",
                  "zone=a&<b>"));

      List<KeyValue> written = keys(format.servicePrefix(service));
      assertThat(written).as("%s records", format).hasSize(1);
      KeyValue kv = written.get(0);
      assertThat(kv.getLease()).as("%s lease", format).isNotZero();
      assertThat(kv.getKey().toString(StandardCharsets.UTF_8))
          .as("%s key", format)
          .isEqualTo(format.key(instance, kv.getLease()));
      assertThat(kv.getValue().toString(StandardCharsets.UTF_8))
          .as("%s value", format)
          .isEqualTo(new String(format.encode(instance), StandardCharsets.UTF_8));
      assertThat(registry(format).lookup(service))
          .as("%s read by KRPC", format)
          .containsExactly(instance);

      assertThat(peer.finish(WAIT)).isZero();
      assertThat(keys(format.servicePrefix(service)))
          .as("%s after deregistration", format)
          .isEmpty();
    }
  }

  @Test
  void kclientCallsServersRegisteredOnlyInEachFormat() throws Exception {
    String service = "mixed";
    List<AtomicInteger> calls = new ArrayList<>();
    for (RecordFormat format : ALL) {
      AtomicInteger count = new AtomicInteger();
      calls.add(count);
      if (format == RecordFormat.KRPC) {
        resources.add(server(service, registry(RecordFormat.KRPC), 0, count));
      } else {
        KServer plain = resources.add(server(service, null, 0, count));
        go(
            GoPeer.register(
                "-format",
                format.name(),
                "-prefix",
                goArgPrefix(format),
                "-etcd",
                endpoints,
                "-service",
                service,
                "-port",
                Integer.toString(plain.port())));
      }
    }
    KClient client = resources.add(KClient.forService(service).registry(registry(ALL)).build());
    SimpleServiceGrpc.SimpleServiceBlockingStub stub =
        SimpleServiceGrpc.newBlockingStub(client.channel());
    await()
        .atMost(WAIT)
        .until(
            () -> {
              stub.withWaitForReady()
                  .withDeadlineAfter(5, TimeUnit.SECONDS)
                  .unaryRpc(SimpleRequest.getDefaultInstance());
              return calls.stream().allMatch(c -> c.get() > 0);
            });
    for (int i = 0; i < 25; i++) {
      stub.withDeadlineAfter(5, TimeUnit.SECONDS).unaryRpc(SimpleRequest.getDefaultInstance());
    }
    // round robin over five: every server, whichever format announced it, takes its share
    assertThat(calls).allSatisfy(c -> assertThat(c.get()).isGreaterThanOrEqualTo(5));

    // a plain grpc-java channel, formats named in the etcd:// target
    io.grpc.ManagedChannel channel =
        io.grpc.ManagedChannelBuilder.forTarget(
                "etcd:///"
                    + etcd.endpoints().get(0).replace("http://", "")
                    + "/"
                    + service
                    + "?formats=KRPC,KRPC_GO,ETCD_NAMING,GO_ZERO:/rpc/,KRATOS")
            .defaultLoadBalancingPolicy("round_robin")
            .usePlaintext()
            .build();
    try {
      int before = calls.stream().mapToInt(AtomicInteger::get).min().orElseThrow();
      await()
          .atMost(WAIT)
          .until(
              () -> {
                SimpleServiceGrpc.newBlockingStub(channel)
                    .withWaitForReady()
                    .withDeadlineAfter(5, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.getDefaultInstance());
                return calls.stream().allMatch(c -> c.get() > before);
              });
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void goReadersSeeAKserverRegisteredInAllFormats() throws Exception {
    String service = "allformats";
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String address = "127.0.0.1:" + port;
    List<GoPeer> watchers = new ArrayList<>();
    for (RecordFormat format : ALL) {
      if (format == RecordFormat.KRPC) {
        continue;
      }
      String expected = format == RecordFormat.KRPC_GO ? address + "/w250/true" : address;
      GoPeer watcher =
          go(
              GoPeer.start(
                  "watch",
                  "-format",
                  format.name(),
                  "-prefix",
                  goArgPrefix(format),
                  "-etcd",
                  endpoints,
                  "-service",
                  service,
                  "-expect",
                  expected));
      watcher.awaitLine("STATE", WAIT); // watching before the KServer writes
      watchers.add(watcher);
    }
    KServer server =
        KServer.builder()
            .serviceName(service)
            .port(port)
            .host("127.0.0.1")
            .weight(250)
            .registry(registry(ALL))
            .deregisterDelay(Duration.ZERO)
            .start();
    resources.add(server);
    for (GoPeer watcher : watchers) {
      // Go KRPC's watcher splits each new key by '/' (a key of another shape would panic it),
      // Kratos' re-reads the namespace and fails on any value it cannot unmarshal
      watcher.awaitLine("EXPECTED", WAIT);
      assertThat(watcher.finish(WAIT)).isZero();
    }
    // a grpc-go client dialing etcd:///allformats through etcd's resolver
    GoPeer caller = go(GoPeer.start("call", "-etcd", endpoints, "-service", service, "-n", "20"));
    assertThat(caller.awaitLine("CALLS", WAIT)).isEqualTo("CALLS ok=20 failed=0");

    // nothing of KRPC's own shape under a Go library's prefix
    for (KeyValue kv : keys("/kim/prpc/")) {
      assertThat(kv.getKey().toString(StandardCharsets.UTF_8).split("/")).hasSize(6);
    }
    server.close();
    for (RecordFormat format : ALL) {
      assertThat(keys(format.servicePrefix(service))).as("%s after close", format).isEmpty();
    }
  }

  @Test
  void everyFormatComesBackAfterTheLeaseIsLostAndBadRecordsAreSkipped() throws Exception {
    String service = "restored";
    ServiceInstance instance = ServiceInstance.of(service, "127.0.0.1", 9001);
    EtcdRegistry registry = registry(ALL);
    registry.register(instance);
    RecordingListener listener = new RecordingListener();
    registry.watch(service, listener);
    await().atMost(WAIT).until(() -> List.of(instance).equals(listener.last()));
    long lease = keys(RecordFormat.KRPC.servicePrefix(service)).get(0).getLease();
    for (RecordFormat format : ALL) {
      assertThat(keys(format.servicePrefix(service)))
          .as("%s", format)
          .singleElement()
          .satisfies(kv -> assertThat(kv.getLease()).isEqualTo(lease));
    }
    // a record no Go library would read, next to ours: skipped, the rest keeps working
    raw.getKVClient()
        .put(
            ByteSequence.from("/kim/prpc/restored/10.0.0.9/1", StandardCharsets.UTF_8),
            ByteSequence.from("{\"ip\":", StandardCharsets.UTF_8))
        .get(5, TimeUnit.SECONDS);

    raw.getLeaseClient().revoke(lease).get(5, TimeUnit.SECONDS); // every key goes at once
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              for (RecordFormat format : ALL) {
                List<KeyValue> kvs = keys(format.servicePrefix(service));
                if (format == RecordFormat.KRPC_GO) {
                  kvs = kvs.stream().filter(kv -> kv.getLease() != 0).toList();
                }
                assertThat(kvs)
                    .as("%s restored", format)
                    .singleElement()
                    .satisfies(kv -> assertThat(kv.getLease()).isNotZero().isNotEqualTo(lease));
                assertThat(kvs.get(0).getKey().toString(StandardCharsets.UTF_8))
                    .isEqualTo(format.key(instance, kvs.get(0).getLease()));
              }
            });
    assertThat(registry.lookup(service)).containsExactly(instance);
    assertThat(listener.last()).containsExactly(instance);
  }

  @Test
  void migrationFromGoKrpcUnderLoadLosesNoCall() throws Exception {
    String service = "migrating";
    EtcdRegistry clientRegistry = registry(RecordFormat.KRPC, RecordFormat.KRPC_GO);
    AtomicInteger goA = new AtomicInteger();
    AtomicInteger goB = new AtomicInteger();
    AtomicInteger java1 = new AtomicInteger();
    AtomicInteger java2 = new AtomicInteger();
    // two Go KRPC servers: the Go registration code announces their ports in Go KRPC's format
    KServer backendA = resources.add(server(service, null, 0, goA));
    KServer backendB = resources.add(server(service, null, 0, goB));
    GoPeer registrationA =
        go(
            GoPeer.register(
                "-format",
                "KRPC_GO",
                "-etcd",
                endpoints,
                "-service",
                service,
                "-port",
                Integer.toString(backendA.port())));
    GoPeer registrationB =
        go(
            GoPeer.register(
                "-format",
                "KRPC_GO",
                "-etcd",
                endpoints,
                "-service",
                service,
                "-port",
                Integer.toString(backendB.port())));
    // the first Java server writes both formats, so Go clients keep finding it
    KServer first =
        resources.add(
            server(service, registry(RecordFormat.KRPC, RecordFormat.KRPC_GO), 300, java1));
    KClient client = resources.add(KClient.forService(service).registry(clientRegistry).build());
    Load load = new Load(SimpleServiceGrpc.newBlockingStub(client.channel()));
    try {
      await().atMost(WAIT).until(() -> goA.get() > 0 && goB.get() > 0 && java1.get() > 0);

      // the Go servers leave, one at a time: deregister, wait until clients saw it, stop
      for (GoPeer registration : List.of(registrationA, registrationB)) {
        KServer backend = registration == registrationA ? backendA : backendB;
        assertThat(registration.finish(WAIT)).isZero();
        String gone = "127.0.0.1:" + backend.port();
        await()
            .atMost(WAIT)
            .until(
                () ->
                    clientRegistry.lookup(service).stream()
                        .noneMatch(i -> i.endpoint().equals(gone)));
        // the client's watch shares the registry's cache; give its balancer a beat to switch
        long seen = load.ok.get();
        await().atMost(WAIT).until(() -> load.ok.get() > seen + 20);
        backend.close();
      }
      KServer second =
          resources.add(
              server(service, registry(RecordFormat.KRPC, RecordFormat.KRPC_GO), 300, java2));
      await().atMost(WAIT).until(() -> java2.get() > 20);

      // a Go KRPC client (reader) sees exactly the two Java servers, with their weight
      GoPeer goClient =
          go(
              GoPeer.start(
                  "watch",
                  "-format",
                  "KRPC_GO",
                  "-etcd",
                  endpoints,
                  "-service",
                  service,
                  "-expect",
                  "127.0.0.1:"
                      + first.port()
                      + "/w300/true,127.0.0.1:"
                      + second.port()
                      + "/w300/true"));
      goClient.awaitLine("EXPECTED", WAIT);
    } finally {
      load.close();
    }
    logger.info("migration: {} calls, {} failed", load.ok.get(), load.failed.get());

    assertThat(load.failed.get()).isZero();
    assertThat(load.ok.get()).isGreaterThan(100);
  }

  private static KServer server(
      String service, Registry registry, int weight, AtomicInteger calls) {
    KServer.Builder builder =
        KServer.builder()
            .serviceName(service)
            .port(0)
            .host("127.0.0.1")
            .deregisterDelay(Duration.ofMillis(300))
            .addService(
                new SimpleServiceGrpc.SimpleServiceImplBase() {
                  @Override
                  public void unaryRpc(
                      SimpleRequest request, StreamObserver<SimpleResponse> response) {
                    calls.incrementAndGet();
                    response.onNext(SimpleResponse.getDefaultInstance());
                    response.onCompleted();
                  }
                });
    if (registry != null) {
      builder.registry(registry).weight(weight == 0 ? 100 : weight);
    }
    return builder.start();
  }

  /** Calls in a loop on one thread until closed, counting results. */
  private static final class Load implements AutoCloseable {
    final AtomicLong ok = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;

    Load(SimpleServiceGrpc.SimpleServiceBlockingStub stub) {
      thread =
          new Thread(
              () -> {
                for (int i = 0; running && i < 200_000; i++) {
                  try {
                    stub.withDeadlineAfter(2, TimeUnit.SECONDS)
                        .unaryRpc(SimpleRequest.getDefaultInstance());
                    ok.incrementAndGet();
                  } catch (RuntimeException e) {
                    failed.incrementAndGet();
                    logger.warn("call failed: {}", e.toString());
                  }
                }
              },
              "gofleet-load");
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(5000);
    }
  }
}
