package io.krpc.spring.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloReply;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.registry.Registry;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.EtcdRegistry;
import io.krpc.testing.EtcdClusterExtension;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Boot client app (this test's context) and a Boot server app on real sockets, discovering each
 * other through a real etcd; the actuators over real HTTP.
 */
@SpringBootTest(
    classes = GreeterClientApp.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KrpcStarterIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private static final JsonMapper json = JsonMapper.builder().build();
  private static ConfigurableApplicationContext server;
  private static Registry etcdView;

  @Autowired ConfigurableApplicationContext client;
  @Autowired GreeterGrpc.GreeterBlockingStub greeter;

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    for (String property : Apps.common(etcd.endpointsString())) {
      int eq = property.indexOf('=');
      registry.add(property.substring(0, eq), () -> property.substring(eq + 1));
    }
    registry.add("spring.application.name", () -> "greeter-client");
    registry.add("spring.grpc.client.channel.greeter.target", () -> "krpc:///greeter");
    registry.add(
        "spring.grpc.client.channel.greeter.default.load-balancing-policy", () -> "krpc_p2c");
    registry.add("krpc.client.greeter.decay-time", () -> "5s");
    registry.add("krpc.client.greeter.retry.max-attempts", () -> "3");
  }

  @BeforeAll
  static void startServer() {
    server =
        Apps.server(
            etcd.endpointsString(),
            "krpc.server.weight=7",
            "krpc.server.metadata.zone=a",
            "krpc.registry.etcd.lease-ttl=5s",
            // Spring pushes greeter.Greeter's health from the ping indicator alone, which the krpc
            // indicator's OUT_OF_SERVICE cannot hold down: only the drain-aware push can
            "spring.grpc.server.health.service.[greeter.Greeter].include=ping");
    etcdView = EtcdRegistry.builder().endpoints(etcd.endpoints()).build();
  }

  @AfterAll
  static void stop() {
    Apps.close(server);
    if (etcdView != null) {
      etcdView.close();
    }
  }

  @Test
  @Order(1)
  void serverRegistersOnItsRealPortAndClientDiscoversIt() {
    int port = Apps.grpcPort(server);
    assertThat(port).isPositive();
    List<ServiceInstance> instances = etcdView.lookup("greeter");
    assertThat(instances)
        .singleElement()
        .satisfies(
            instance -> {
              assertThat(instance.endpoint()).isEqualTo("127.0.0.1:" + port);
              assertThat(instance.weight()).isEqualTo(7);
              assertThat(instance.metadata()).containsEntry("zone", "a");
            });
    HelloReply reply =
        greeter
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .sayHello(HelloRequest.newBuilder().setName("boot").build());
    assertThat(reply.getServer()).isEqualTo("127.0.0.1:" + port);
  }

  @Test
  @Order(2)
  void oneHealthAndOneReflectionServiceSprings() {
    List<String> services =
        server.getBean(GreeterServerApp.StartedServer.class).server().getServices().stream()
            .map(s -> s.getServiceDescriptor().getName())
            .toList();
    assertThat(services)
        .containsOnlyOnce(
            "grpc.health.v1.Health", ServerReflectionGrpc.SERVICE_NAME, "greeter.Greeter");
  }

  @Test
  @Order(3)
  void actuatorShowsRegistrationWatchesChannelsAndPrpcMeters() throws Exception {
    greeter
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .sayHello(HelloRequest.newBuilder().setName("metrics").build());

    JsonNode serverView = getJson(server, "/actuator/krpc");
    assertThat(serverView.at("/registry/type").asString()).isEqualTo("etcd");
    assertThat(serverView.at("/registry/reachable").asBoolean()).isTrue();
    assertThat(serverView.at("/server/state").asString()).isEqualTo("REGISTERED");
    assertThat(serverView.at("/server/inRegistry").asBoolean()).isTrue();
    assertThat(serverView.at("/server/endpoint").asString())
        .isEqualTo("127.0.0.1:" + Apps.grpcPort(server));

    // the lease: the same id etcd holds the record under, the configured TTL, kept alive
    JsonNode lease = serverView.at("/server/lease");
    assertThat(lease.isObject()).as("lease in %s", serverView).isTrue();
    assertThat(lease.at("/ttl").asString()).isEqualTo("PT5S");
    try (Client raw = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
      List<KeyValue> kvs =
          raw.getKVClient()
              .get(
                  ByteSequence.from("/krpc/services/greeter/", StandardCharsets.UTF_8),
                  GetOption.builder().isPrefix(true).build())
              .get(5, TimeUnit.SECONDS)
              .getKvs();
      assertThat(kvs).hasSize(1);
      long leaseId = kvs.get(0).getLease();
      assertThat(lease.at("/id").asString()).isEqualTo(Long.toHexString(leaseId));
      long etcdTtl =
          raw.getLeaseClient()
              .timeToLive(leaseId, LeaseOption.DEFAULT)
              .get(5, TimeUnit.SECONDS)
              .getTTL();
      assertThat(etcdTtl).isPositive();
    }
    // kept alive every TTL/3: the time since etcd last confirmed it stays under the TTL
    Duration since = Duration.parse(lease.at("/sinceKeepAlive").asString());
    Duration expiresIn = Duration.parse(lease.at("/expiresIn").asString());
    assertThat(since).isLessThan(Duration.ofSeconds(5));
    assertThat(expiresIn).isPositive().isEqualTo(Duration.ofSeconds(5).minus(since));
    Instant last = Instant.parse(lease.at("/lastKeepAlive").asString());
    assertThat(last).isBetween(Instant.now().minusSeconds(5), Instant.now());
    // and a later keep-alive moves it on
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                Instant.parse(
                        getJson(server, "/actuator/krpc")
                            .at("/server/lease/lastKeepAlive")
                            .asString())
                    .isAfter(last.plusMillis(500)));

    JsonNode clientView = getJson(client, "/actuator/krpc");
    assertThat(clientView.at("/watchedServices/greeter/instances").asInt()).isEqualTo(1);
    assertThat(clientView.at("/channels/greeter/target").asString()).isEqualTo("krpc:///greeter");
    assertThat(clientView.at("/channels/greeter/loadBalancingPolicy").asString())
        .isEqualTo("krpc_p2c");
    assertThat(
            clientView
                .at("/channels/greeter/serviceConfig/loadBalancingConfig/0/krpc_p2c/decayTime")
                .asString())
        .isEqualTo("5000ms");

    String serverMetrics = Apps.get(server, "/actuator/prometheus").body();
    assertThat(serverMetrics)
        .contains("prpc_server_req_client_handle_total{")
        .contains("method=\"/greeter.Greeter/SayHello\"")
        .contains("server=\"greeter\"");
    String clientMetrics = Apps.get(client, "/actuator/prometheus").body();
    assertThat(clientMetrics)
        .contains("prpc_client_req_client_handle_total{")
        .contains("server=\"greeter\"");
    // KRPC measures, Spring's observation interceptors are off: no call is measured twice
    assertThat(serverMetrics).doesNotContain("grpc_server_seconds");
    assertThat(clientMetrics).doesNotContain("grpc_client_seconds");

    JsonNode health = getJson(server, "/actuator/health/krpc");
    assertThat(health.at("/status").asString()).isEqualTo("UP");
  }

  @Test
  @Order(4)
  void drainTurnsNotServingDeregistersAndSurvivesSpringsHealthPush() throws Exception {
    HttpResponse<String> drained = Apps.post(server, "/actuator/krpc/drain");
    assertThat(drained.statusCode()).isEqualTo(200);
    assertThat(etcdView.lookup("greeter")).isEmpty();
    ManagedChannel channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", Apps.grpcPort(server)).usePlaintext().build();
    try {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
      assertThat(status(health, "")).isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(status(health, "greeter.Greeter")).isEqualTo(ServingStatus.NOT_SERVING);
      // Spring pushes health every 200 ms here: ten pushes later it must still be NOT_SERVING
      Thread.sleep(2_000);
      assertThat(status(health, "")).isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(status(health, "greeter.Greeter")).isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(getJson(server, "/actuator/health/krpc").at("/status").asString())
          .isEqualTo("OUT_OF_SERVICE");
      // the client saw the instance go
      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  getJson(client, "/actuator/krpc").at("/watchedServices/greeter/instances").asInt()
                      == 0);

      assertThat(Apps.post(server, "/actuator/krpc/undrain").statusCode()).isEqualTo(200);
      assertThat(etcdView.lookup("greeter")).hasSize(1);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> status(health, "") == ServingStatus.SERVING);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  getJson(client, "/actuator/krpc").at("/watchedServices/greeter/instances").asInt()
                      == 1);
      greeter
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .sayHello(HelloRequest.newBuilder().setName("back").build());
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  @Order(5)
  void etcdAwayNeverTakesTheServingAppDown() throws Exception {
    etcd.cluster().member(0).stop();
    try {
      // past the probe's 5 s cache, so the indicator really asks etcd
      await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () ->
                  !getJson(server, "/actuator/health/krpc")
                      .at("/details/registry/reachable")
                      .asBoolean());
      HttpResponse<String> health = Apps.get(server, "/actuator/health");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(json.readTree(health.body()).at("/components/krpc/status").asString())
          .isEqualTo("UP");
      // and calls keep flowing on the last known instances
      greeter
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .sayHello(HelloRequest.newBuilder().setName("no etcd").build());
    } finally {
      etcd.cluster().member(0).restart(true);
      etcd.cluster().awaitHealthy();
    }
  }

  private static ServingStatus status(HealthGrpc.HealthBlockingStub health, String service) {
    return health
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build())
        .getStatus();
  }

  private static JsonNode getJson(ConfigurableApplicationContext app, String path)
      throws Exception {
    HttpResponse<String> response = Apps.get(app, path);
    assertThat(response.statusCode()).as(path + ": " + response.body()).isIn(200, 503);
    return json.readTree(response.body());
  }
}
