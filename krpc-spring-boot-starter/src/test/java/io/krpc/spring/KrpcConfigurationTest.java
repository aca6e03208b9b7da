package io.krpc.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.examples.GreeterService;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.registry.etcd.EtcdRegistry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.grpc.client.autoconfigure.GrpcClientAutoConfiguration;
import org.springframework.boot.grpc.server.autoconfigure.GrpcServerAutoConfiguration;
import org.springframework.boot.grpc.server.autoconfigure.GrpcServerServicesAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.grpc.client.GlobalClientInterceptor;
import org.springframework.grpc.client.GrpcChannelFactory;
import org.springframework.grpc.server.GlobalServerInterceptor;

/** Which beans the properties make, and that bad values fail start-up naming property and value. */
class KrpcConfigurationTest {
  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  SslAutoConfiguration.class,
                  GrpcServerServicesAutoConfiguration.class,
                  GrpcServerAutoConfiguration.class,
                  GrpcClientAutoConfiguration.class,
                  KrpcRegistryAutoConfiguration.class,
                  KrpcServerAutoConfiguration.class,
                  KrpcClientAutoConfiguration.class,
                  KrpcGovernanceAutoConfiguration.class,
                  KrpcActuatorAutoConfiguration.class))
          .withPropertyValues(
              "spring.grpc.server.port=0",
              "spring.grpc.server.address=127.0.0.1",
              "krpc.server.host=127.0.0.1");

  private ApplicationContextRunner server() {
    return runner
        .withBean(GreeterService.class, () -> new GreeterService(() -> "test"))
        .withPropertyValues("spring.application.name=greeter");
  }

  @Test
  void noEndpointsMeansTheInMemoryRegistry() {
    server()
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(Registry.class)).isInstanceOf(InMemoryRegistry.class);
              // registered on the real port once the server started
              assertThat(context.getBean(Registry.class).lookup("greeter"))
                  .singleElement()
                  .satisfies(i -> assertThat(i.port()).isPositive());
            });
  }

  @Test
  void registersTheAddressSpringBoundWhenItIsSpecific() {
    new ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                SslAutoConfiguration.class,
                GrpcServerServicesAutoConfiguration.class,
                GrpcServerAutoConfiguration.class,
                KrpcRegistryAutoConfiguration.class,
                KrpcServerAutoConfiguration.class))
        .withBean(GreeterService.class, () -> new GreeterService(() -> "test"))
        .withPropertyValues(
            "spring.grpc.server.port=0",
            "spring.grpc.server.address=127.0.0.1",
            "spring.application.name=greeter")
        .run(
            context ->
                assertThat(context.getBean(Registry.class).lookup("greeter"))
                    .singleElement()
                    .satisfies(i -> assertThat(i.host()).isEqualTo("127.0.0.1")));
  }

  @Test
  void endpointsMakeAnEtcdRegistry() {
    runner
        .withPropertyValues("krpc.registry.etcd.endpoints=http://127.0.0.1:1")
        .run(
            context ->
                assertThat(context.getBean(Registry.class)).isInstanceOf(EtcdRegistry.class));
  }

  @Test
  void recordFormatsForAGoFleet() {
    runner
        .withPropertyValues(
            "krpc.registry.etcd.endpoints=http://127.0.0.1:1",
            "krpc.registry.etcd.record-formats=krpc,krpc-go,go-zero",
            "krpc.registry.etcd.record-format-prefixes.go-zero=/rpc/")
        .run(context -> assertThat(context).hasNotFailed());
  }

  @Test
  void clashingRecordFormatsNameTheProperty() {
    // go-zero and etcd naming both without prefix: their keys of one service would mix
    runner
        .withPropertyValues(
            "krpc.registry.etcd.endpoints=http://127.0.0.1:1",
            "krpc.registry.etcd.record-formats=go-zero,etcd-naming")
        .run(
            context ->
                assertFailure(
                    context, "krpc.registry.etcd.record-formats", "GO_ZERO, ETCD_NAMING"));
  }

  @Test
  void badRecordFormatPrefixNamesPropertyAndValue() {
    runner
        .withPropertyValues(
            "krpc.registry.etcd.endpoints=http://127.0.0.1:1",
            "krpc.registry.etcd.record-formats=krpc,kratos",
            "krpc.registry.etcd.record-format-prefixes.kratos=micro services")
        .run(
            context ->
                assertFailure(
                    context, "krpc.registry.etcd.record-format-prefixes.kratos", "micro services"));
  }

  @Test
  void theApplicationsRegistryWins() {
    InMemoryRegistry mine = new InMemoryRegistry();
    runner
        .withBean(Registry.class, () -> mine)
        .withPropertyValues("krpc.registry.etcd.endpoints=http://127.0.0.1:1")
        .run(context -> assertThat(context.getBean(Registry.class)).isSameAs(mine));
  }

  @Test
  void clientChannelsGetTheRegistry() {
    runner
        .withPropertyValues("spring.grpc.client.channel.greeter.target=krpc:///greeter")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              // a krpc:/// target would fail to resolve without the registry argument
              context.getBean(GrpcChannelFactory.class).createChannel("greeter").shutdownNow();
            });
  }

  @Test
  void governancePropertiesMakeGlobalInterceptorsInTheStatedOrder() {
    server()
        .withPropertyValues(
            "krpc.governance.rate-limit.[greeter.Greeter/SayHello].capacity=10",
            "krpc.governance.adaptive-limit.enabled=true",
            "krpc.governance.circuit-breaker.enabled=true",
            "krpc.governance.timeout.default-deadline=2s",
            "krpc.governance.throttling.enabled=true")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              List<String> server =
                  List.of(
                      "krpcServerTracingInterceptor",
                      "krpcServerMetricsInterceptor",
                      "krpcAdaptiveLimitInterceptor",
                      "krpcRateLimitInterceptor");
              List<String> client =
                  List.of(
                      "krpcClientTracingInterceptor",
                      "krpcClientMetricsInterceptor",
                      "krpcTimeoutInterceptor",
                      "krpcCircuitBreakerInterceptor",
                      "krpcThrottlingInterceptor");
              assertOrdered(context, server, GlobalServerInterceptor.class);
              assertOrdered(context, client, GlobalClientInterceptor.class);
            });
  }

  @Test
  void observabilitySpringInstallsNoKrpcMetricsOrTracing() {
    server()
        .withPropertyValues("krpc.observability=spring")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context)
                  .doesNotHaveBean("krpcServerMetricsInterceptor")
                  .doesNotHaveBean("krpcServerTracingInterceptor")
                  .doesNotHaveBean("krpcClientMetricsInterceptor");
            });
  }

  @Test
  void configurationMetadataIsGenerated() throws Exception {
    try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
      String metadata = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(metadata)
          .contains(
              "\"krpc.server.weight\"",
              "\"krpc.registry.etcd.endpoints\"",
              "\"krpc.server.deregister-delay\"",
              "\"krpc.governance.circuit-breaker.enabled\"",
              "\"krpc.observability\"");
    }
  }

  private static void assertOrdered(
      AssertableApplicationContext context,
      List<String> names,
      Class<? extends java.lang.annotation.Annotation> global) {
    int previous = Integer.MIN_VALUE;
    for (String name : names) {
      assertThat(context.findAnnotationOnBean(name, global)).as(name).isNotNull();
      org.springframework.core.annotation.Order order =
          context.findAnnotationOnBean(name, org.springframework.core.annotation.Order.class);
      assertThat(order).as(name).isNotNull();
      assertThat(order.value()).as(name).isGreaterThan(previous);
      previous = order.value();
    }
  }

  @Test
  void badWeightNamesPropertyAndValue() {
    server()
        .withPropertyValues("krpc.server.weight=0")
        .run(context -> assertFailure(context, "krpc.server.weight", "0"));
  }

  @Test
  void badEndpointNamesPropertyAndValue() {
    runner
        .withPropertyValues("krpc.registry.etcd.endpoints=etcd-host:2379")
        .run(context -> assertFailure(context, "krpc.registry.etcd.endpoints", "etcd-host:2379"));
  }

  @Test
  void badDurationNamesPropertyAndValue() {
    runner
        .withPropertyValues("krpc.client.greeter.decay-time=-5s")
        .run(context -> assertFailure(context, "krpc.client.greeter.decay-time", "-5s"));
  }

  @Test
  void retryAndHedgingTogetherNameBoth() {
    runner
        .withPropertyValues(
            "krpc.client.greeter.retry.max-attempts=3",
            "krpc.client.greeter.hedging.max-attempts=2")
        .run(
            context ->
                assertFailure(
                    context,
                    "krpc.client.greeter.retry.max-attempts: 3",
                    "krpc.client.greeter.hedging.max-attempts: 2"));
  }

  @Test
  void policyOptionsOnAPolicyWithoutThemNameThePolicyProperty() {
    runner
        .withPropertyValues("krpc.client.greeter.decay-time=5s")
        .run(
            context ->
                assertFailure(
                    context,
                    "spring.grpc.client.channel.greeter.default.load-balancing-policy",
                    "round_robin"));
  }

  @Test
  void p2cOptionsOnWrrNameBothProperties() {
    runner
        .withPropertyValues(
            "krpc.client.greeter.decay-time=5s",
            "spring.grpc.client.channel.greeter.default.load-balancing-policy=krpc_wrr")
        .run(
            context ->
                assertFailure(
                    context,
                    "krpc.client.greeter.decay-time",
                    "spring.grpc.client.channel.greeter.default.load-balancing-policy: 'krpc_wrr'"));
  }

  @Test
  void missingServiceNameNamesBothProperties() {
    runner
        .withBean(GreeterService.class, () -> new GreeterService(() -> "test"))
        .run(
            context ->
                assertFailure(context, "krpc.server.service-name", "spring.application.name"));
  }

  @Test
  void krpcAndSpringObservationTogetherFail() {
    runner
        .withPropertyValues("spring.grpc.server.observation.enabled=true")
        .run(
            context ->
                assertFailure(
                    context,
                    "spring.grpc.server.observation.enabled: true",
                    "krpc.observability: krpc"));
  }

  @Test
  void badRateLimitNamesPropertyAndValue() {
    server()
        .withPropertyValues("krpc.governance.rate-limit.[greeter.Greeter/SayHello].capacity=0")
        .run(
            context ->
                assertFailure(
                    context, "krpc.governance.rate-limit[greeter.Greeter/SayHello].capacity", "0"));
  }

  private static void assertFailure(AssertableApplicationContext context, String... expected) {
    assertThat(context).hasFailed();
    List<String> messages = new ArrayList<>();
    for (Throwable t = context.getStartupFailure(); t != null; t = t.getCause()) {
      messages.add(String.valueOf(t.getMessage()));
      // what Boot's failure analyzer prints for a binding failure: "Property: ... Value: ..."
      if (t instanceof BindException bind && bind.getProperty() != null) {
        messages.add(
            "Property: "
                + bind.getProperty().getName()
                + " Value: "
                + bind.getProperty().getValue());
      }
    }
    String all = String.join("\n", messages);
    for (String part : expected) {
      assertThat(all).contains(part);
    }
  }
}
