package io.krpc.spring.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.interceptor.client.AdaptiveThrottlingInterceptor;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.grpc.client.GrpcChannelFactory;

/**
 * KRPC's governance acting on real calls through Spring, configured by properties alone: a Boot
 * client (this test's context) and two Boot servers on real sockets, sharing one in-memory
 * registry. Server A reports the health service {@code probe} SERVING, server B NOT_SERVING, and
 * the client's channel checks {@code probe}, so every call goes to A until the test flips them.
 */
@SpringBootTest(
    classes = GovernanceIT.ClientApp.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.application.name=governance-client",
      "spring.grpc.server.port=0",
      "spring.grpc.client.channel.greeter.target=krpc:///greeter",
      "spring.grpc.client.channel.greeter.default.load-balancing-policy=krpc_p2c",
      "krpc.client.greeter.health-check-service=probe",
      "krpc.governance.timeout.default-deadline=1s",
      "krpc.governance.timeout.slow-threshold=250ms",
      "krpc.governance.circuit-breaker.enabled=true",
      "krpc.governance.circuit-breaker.timeout=1s",
      "krpc.governance.circuit-breaker.per-method=true"
    })
@ExtendWith(OutputCaptureExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GovernanceIT {
  static final Registry REGISTRY = new InMemoryRegistry();
  private static final String STREAM = "greeter.Greeter/SayHelloStream";

  private static ConfigurableApplicationContext serverA;
  private static ConfigurableApplicationContext serverB;

  @Autowired GreeterGrpc.GreeterBlockingStub greeter;
  @Autowired GovernanceServerApp.Spans clientSpans;

  /** The client: a stub on channel greeter, the shared registry, spans in memory. */
  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class ClientApp {
    @Bean
    Registry sharedRegistry() {
      return REGISTRY;
    }

    @Bean
    GovernanceServerApp.Spans spans() {
      return new GovernanceServerApp.Spans();
    }

    @Bean
    OpenTelemetry openTelemetry(GovernanceServerApp.Spans spans) {
      return GovernanceServerApp.Spans.sdk(spans);
    }

    @Bean
    GreeterGrpc.GreeterBlockingStub greeter(GrpcChannelFactory channels) {
      return GreeterGrpc.newBlockingStub(channels.createChannel("greeter"));
    }
  }

  @BeforeAll
  static void startServers() {
    serverA = server("SERVING");
    serverB = server("NOT_SERVING");
  }

  @AfterAll
  static void stopServers() {
    Apps.close(serverA);
    Apps.close(serverB);
  }

  private static ConfigurableApplicationContext server(String probe) {
    return new SpringApplicationBuilder(GovernanceServerApp.class)
        .initializers(c -> c.getBeanFactory().registerSingleton("sharedRegistry", REGISTRY))
        .properties(
            "spring.main.web-application-type=none",
            "spring.application.name=greeter",
            "spring.grpc.server.port=0",
            "spring.grpc.server.address=127.0.0.1",
            "krpc.server.host=127.0.0.1",
            "krpc.server.deregister-delay=0s",
            "test.probe=" + probe,
            "krpc.governance.rate-limit.[" + STREAM + "].capacity=3",
            "krpc.governance.rate-limit.[" + STREAM + "].tokens-per-second=0.5",
            "krpc.governance.adaptive-limit.enabled=true",
            // any CPU use counts as high: the in-flight count alone decides (see the last test)
            "krpc.governance.adaptive-limit.cpu-threshold=0.001")
        .run();
  }

  private GreeterGrpc.GreeterBlockingStub withDeadline() {
    return greeter.withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  private static String endpoint(ConfigurableApplicationContext server) {
    return server.getBean(GovernanceServerApp.TestGreeter.class).endpoint();
  }

  private static int calls(ConfigurableApplicationContext server) {
    return server.getBean(GovernanceServerApp.TestGreeter.class).calls.get();
  }

  private String hello(String name) {
    return withDeadline().sayHello(HelloRequest.newBuilder().setName(name).build()).getServer();
  }

  private static Status failure(Runnable call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
    assertThat(e).as("the call failed").isNotNull();
    return e.getStatus();
  }

  @Test
  @Order(1)
  void tracingPropagatesTheTraceparentToTheServer() {
    // the first call waits until A's health check passes
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> hello("warm-up") != null);
    clientSpans.finished.clear();
    GovernanceServerApp.Spans serverSpans = serverA.getBean(GovernanceServerApp.Spans.class);
    serverSpans.finished.clear();

    assertThat(hello("trace")).isEqualTo(endpoint(serverA));

    SpanData client =
        clientSpans.finished.stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().get();
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> serverSpans.finished.stream().anyMatch(s -> s.getKind() == SpanKind.SERVER));
    SpanData server =
        serverSpans.finished.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().get();
    // the server's span continues the client's trace: W3C traceparent went over the wire
    assertThat(server.getTraceId()).isEqualTo(client.getTraceId());
    assertThat(server.getParentSpanId()).isEqualTo(client.getSpanId());
    assertThat(server.getName()).contains("greeter.Greeter/SayHello");
  }

  @Test
  @Order(2)
  void healthCheckingSendsNothingToANotServingInstance() {
    int bBefore = calls(serverB);
    for (int i = 0; i < 20; i++) {
      assertThat(hello("a")).isEqualTo(endpoint(serverA));
    }
    assertThat(calls(serverB)).isEqualTo(bBefore);

    // flip: A NOT_SERVING, B SERVING; the calls move to B
    setProbe(serverA, ServingStatus.NOT_SERVING);
    setProbe(serverB, ServingStatus.SERVING);
    await().atMost(Duration.ofSeconds(10)).until(() -> hello("b").equals(endpoint(serverB)));
    int aBefore = calls(serverA);
    for (int i = 0; i < 20; i++) {
      assertThat(hello("b")).isEqualTo(endpoint(serverB));
    }
    assertThat(calls(serverA)).isEqualTo(aBefore);

    // and back, for the tests after this one
    setProbe(serverB, ServingStatus.NOT_SERVING);
    setProbe(serverA, ServingStatus.SERVING);
    await().atMost(Duration.ofSeconds(10)).until(() -> hello("a").equals(endpoint(serverA)));
    for (int i = 0; i < 5; i++) {
      assertThat(hello("a")).isEqualTo(endpoint(serverA));
    }
  }

  private static void setProbe(ConfigurableApplicationContext server, ServingStatus status) {
    server.getBean(HealthStatusManager.class).setStatus("probe", status);
  }

  @Test
  @Order(3)
  void defaultDeadlineCutsASlowCallAndSlowCallsAreLogged(CapturedOutput output) {
    long start = System.nanoTime();
    // no deadline of its own: krpc.governance.timeout.default-deadline (1 s) applies
    Status status =
        failure(() -> greeter.sayHello(HelloRequest.newBuilder().setName("sleep:3000").build()));
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(millis).isBetween(900L, 2_900L);

    // slower than krpc.governance.timeout.slow-threshold (250 ms) but within the deadline
    assertThat(greeter.sayHello(HelloRequest.newBuilder().setName("sleep:400").build()).getServer())
        .isEqualTo(endpoint(serverA));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                output.getOut().contains("slow call: method=greeter.Greeter/SayHello")
                    && output.getOut().contains("status=DEADLINE_EXCEEDED")
                    && output.getOut().contains("status=OK"));
  }

  @Test
  @Order(4)
  void circuitBreakerOpensAfterFailuresAndClosesAgain() {
    // gobreaker's default rule: more than 5 consecutive failures open it
    for (int i = 0; i < 6; i++) {
      assertThat(failure(() -> hello("fail")).getCode()).isEqualTo(Status.Code.INTERNAL);
    }
    int before = calls(serverA);
    Status open = failure(() -> hello("ok"));
    assertThat(open.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(open.getDescription()).contains("circuit breaker").contains("OPEN");
    // refused on the client: the server never saw the call
    assertThat(calls(serverA)).isEqualTo(before);
    // per method: the other method still goes through
    assertThat(withDeadline().sayHelloStream(HelloRequest.getDefaultInstance()).hasNext()).isTrue();

    // krpc.governance.circuit-breaker.timeout (1 s) later a trial call closes it again
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(() -> hello("ok").equals(endpoint(serverA)));
    assertThat(hello("ok")).isEqualTo(endpoint(serverA));
  }

  @Test
  @Order(5)
  void rateLimitRefusesPastItsRate() {
    // 3 calls of burst and 0.5 calls/s: within a few seconds the bucket runs dry
    int ok = 0;
    Status refused = null;
    long start = System.nanoTime();
    for (int i = 0; i < 10 && refused == null; i++) {
      try {
        withDeadline().sayHelloStream(HelloRequest.getDefaultInstance()).forEachRemaining(r -> {});
        ok++;
      } catch (StatusRuntimeException e) {
        refused = e.getStatus();
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    assertThat(refused).isNotNull();
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription()).startsWith("rate limited: " + STREAM);
    // the burst (less the one call of test 4, maybe refilled since), plus what refilled meanwhile
    assertThat(ok).isBetween(2, 3 + (int) Math.ceil(seconds * 0.5));
  }

  @Test
  @Order(6)
  void clientThrottlingRefusesLocallyWhileTheServerRefuses() {
    ConfigurableApplicationContext throttled =
        new SpringApplicationBuilder(ClientApp.class)
            .properties(
                "spring.main.web-application-type=none",
                "spring.application.name=throttled-client",
                "spring.grpc.server.port=0",
                "spring.grpc.client.channel.greeter.target=krpc:///greeter",
                "spring.grpc.client.channel.greeter.default.load-balancing-policy=krpc_p2c",
                "krpc.client.greeter.health-check-service=probe",
                "krpc.governance.throttling.enabled=true",
                "krpc.governance.throttling.k=1.5")
            .run();
    try {
      GreeterGrpc.GreeterBlockingStub stub =
          throttled.getBean(GreeterGrpc.GreeterBlockingStub.class);
      int serverRefused = 0;
      int clientRefused = 0;
      for (int i = 0; i < 40; i++) {
        try {
          stub.withDeadlineAfter(5, TimeUnit.SECONDS)
              .sayHelloStream(HelloRequest.getDefaultInstance())
              .forEachRemaining(r -> {});
        } catch (StatusRuntimeException e) {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          if (e.getStatus().getDescription().startsWith("rate limited")) {
            serverRefused++;
          } else {
            assertThat(e.getStatus().getDescription())
                .startsWith(AdaptiveThrottlingInterceptor.THROTTLED_DESCRIPTION);
            clientRefused++;
          }
        }
      }
      assertThat(serverRefused).isPositive();
      // once the server refused most calls, the client refuses some itself, never sending them
      assertThat(clientRefused).isPositive();
    } finally {
      Apps.close(throttled);
    }
  }

  @Test
  @Order(7)
  void adaptiveLimiterShedsWhenMoreAreInFlightThanItsCapacity() throws Exception {
    MeterRegistry meters = serverA.getBean(MeterRegistry.class);
    assertThat(meters.find("krpc_server_limiter_estimated_capacity").gauge()).isNotNull();
    // 12 slow calls at once against a capacity of 4 (its floor; the CPU threshold is ~0 here)
    ExecutorService pool = Executors.newFixedThreadPool(12);
    List<Future<Status>> results = new ArrayList<>();
    try {
      for (int i = 0; i < 12; i++) {
        results.add(
            pool.submit(
                () -> {
                  try {
                    hello("sleep:1000");
                    return Status.OK;
                  } catch (StatusRuntimeException e) {
                    return e.getStatus();
                  }
                }));
      }
      List<Status> statuses = new ArrayList<>();
      for (Future<Status> result : results) {
        statuses.add(result.get(10, TimeUnit.SECONDS));
      }
      assertThat(statuses)
          .anyMatch(
              s ->
                  s.getCode() == Status.Code.RESOURCE_EXHAUSTED
                      && s.getDescription().startsWith(AdaptiveLimitInterceptor.SHED_DESCRIPTION));
      assertThat(statuses).anyMatch(Status::isOk);
      Counter shed = meters.find("krpc_server_limiter_shed").counter();
      assertThat(shed).isNotNull();
      assertThat(shed.count()).isPositive();
    } finally {
      pool.shutdownNow();
    }
  }
}
