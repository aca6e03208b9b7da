package io.krpc.interceptor.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.krpc.common.HostAddress;
import io.krpc.interceptor.client.ClientMetricsInterceptor;
import io.krpc.interceptor.obstesting.CallType;
import io.krpc.interceptor.obstesting.ObservedSimpleService;
import io.krpc.interceptor.server.ServerMetricsInterceptor;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class MetricsInterceptorsTest {
  private static final String SERVER = "simple";
  private static final String IP = HostAddress.hostIpv4().getHostAddress();

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ObservedSimpleService service = new ObservedSimpleService();
  private Server server;
  private ManagedChannel channel;
  private Channel intercepted;

  @BeforeEach
  void setUp() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .addService(
                ServerInterceptors.intercept(
                    service, ServerMetricsInterceptor.create(registry, SERVER)))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    intercepted =
        ClientInterceptors.intercept(channel, ClientMetricsInterceptor.create(registry, SERVER));
  }

  @AfterEach
  void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
    registry.close();
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void countsOkAndErrorCallsOnBothSides(CallType type) {
    assertThat(type.call(intercepted, "a").getCode()).isEqualTo(Status.Code.OK);
    assertThat(type.call(intercepted, "b").getCode()).isEqualTo(Status.Code.OK);
    assertThat(type.call(intercepted, ObservedSimpleService.FAIL).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);

    for (String side : new String[] {"server", "client"}) {
      assertThat(count(side, type, "OK")).as(side).isEqualTo(2.0);
      assertThat(count(side, type, "INVALID_ARGUMENT")).as(side).isEqualTo(1.0);
      assertThat(
              registry.get("prpc." + side + ".req.client.handle").tags(tags(type)).timer().count())
          .as(side)
          .isEqualTo(3);
      assertThat(inFlight(side, type)).as(side).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(CallType.class)
  void cancelledCallIsCountedAsCancelledAndLeavesNoCallInFlight(CallType type) throws Exception {
    CallType.Call call = type.start(intercepted, ObservedSimpleService.HANG);
    assertThat(service.hanging.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(inFlight("server", type)).isEqualTo(1.0);
    assertThat(inFlight("client", type)).isEqualTo(1.0);

    call.cancel();

    assertThat(call.join().getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(count("client", type, "CANCELLED")).isEqualTo(1.0);
    assertThat(inFlight("client", type)).isZero();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(count("server", type, "CANCELLED")).isEqualTo(1.0);
              assertThat(inFlight("server", type)).isZero();
            });
  }

  @Test
  void handlerExceptionIsCountedAsUnknown() {
    Status status = CallType.UNARY.call(intercepted, ObservedSimpleService.THROW);

    assertThat(status.getCode()).isEqualTo(Status.Code.UNKNOWN);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(count("server", CallType.UNARY, "UNKNOWN")).isEqualTo(1.0);
              assertThat(inFlight("server", CallType.UNARY)).isZero();
            });
    assertThat(count("client", CallType.UNARY, "UNKNOWN")).isEqualTo(1.0);
  }

  @Test
  void prometheusTextHasTheGoKrpcNamesAndLabels() {
    CallType.UNARY.call(intercepted, "a");
    CallType.UNARY.call(intercepted, ObservedSimpleService.FAIL);

    String text = registry.scrape();

    String labels =
        "ip=\"" + IP + "\",method=\"/grpc.testing.SimpleService/UnaryRpc\"," + "server=\"simple\"";
    for (String side : new String[] {"server", "client"}) {
      String prefix = "prpc_" + side + "_req_client_handle";
      assertThat(text)
          .contains("# TYPE " + prefix + "_total counter")
          .contains(prefix + "_total{code=\"OK\"," + labels + "} 1.0")
          .contains(prefix + "_total{code=\"INVALID_ARGUMENT\"," + labels + "} 1.0")
          .contains("# TYPE " + prefix + "_seconds histogram")
          .contains(prefix + "_seconds_bucket{" + labels + ",le=\"0.001\"}")
          .contains(prefix + "_seconds_bucket{" + labels + ",le=\"0.1\"}")
          .contains(prefix + "_seconds_bucket{" + labels + ",le=\"10.0\"}")
          .contains(prefix + "_seconds_count{" + labels + "} 2")
          .contains("prpc_" + side + "_req_in_flight{" + labels + "} 0.0");
    }
  }

  @Test
  void metersAreCachedPerMethodAndCode() {
    for (int i = 0; i < 5; i++) {
      CallType.UNARY.call(intercepted, "a");
      CallType.BIDI_STREAMING.call(intercepted, "a");
    }

    // per side and method: one timer, one gauge, one counter (code OK)
    assertThat(registry.getMeters()).hasSize(2 * 2 * 3);
  }

  @Test
  void serversSharingRegistryAndLabelsShareTheInFlightGauge() throws Exception {
    ObservedSimpleService secondService = new ObservedSimpleService();
    String name = InProcessServerBuilder.generateName();
    Server second =
        InProcessServerBuilder.forName(name)
            .addService(
                ServerInterceptors.intercept(
                    secondService, ServerMetricsInterceptor.create(registry, SERVER)))
            .build()
            .start();
    ManagedChannel secondChannel = InProcessChannelBuilder.forName(name).build();
    try {
      CallType.Call first = CallType.UNARY.start(intercepted, ObservedSimpleService.HANG);
      CallType.Call other = CallType.UNARY.start(secondChannel, ObservedSimpleService.HANG);
      assertThat(service.hanging.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(secondService.hanging.await(10, TimeUnit.SECONDS)).isTrue();

      assertThat(inFlight("server", CallType.UNARY)).isEqualTo(2.0);

      first.cancel();
      other.cancel();
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> assertThat(inFlight("server", CallType.UNARY)).isZero());
    } finally {
      secondChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      second.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private double count(String side, CallType type, String code) {
    Counter counter =
        registry
            .find("prpc." + side + ".req.client.handle.total")
            .tags(tags(type))
            .tag("code", code)
            .counter();
    return counter == null ? 0 : counter.count();
  }

  private double inFlight(String side, CallType type) {
    return registry.get("prpc." + side + ".req.in.flight").tags(tags(type)).gauge().value();
  }

  private static Tags tags(CallType type) {
    return Tags.of("method", "/" + type.fullMethodName(), "server", SERVER, "ip", IP);
  }
}
