package io.krpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.BindableService;
import io.grpc.ClientInterceptor;
import io.grpc.ServerInterceptor;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every builder option refuses nonsense with a message naming the option, value and expectation.
 */
class BuilderValidationTest {

  @Test
  void serverOptions() {
    KServer.Builder b = KServer.builder();
    assertThatThrownBy(() -> b.serviceName("no spaces"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("serviceName: 'no spaces' (expected: [a-zA-Z0-9._-]+)");
    assertThatThrownBy(() -> b.serviceName(null))
        .hasMessage("serviceName: null (expected: not null)");
    assertThatThrownBy(() -> b.port(-1))
        .hasMessage("port: -1 (expected: 0..65535, 0 picks a free port)");
    assertThatThrownBy(() -> b.port(65_536))
        .hasMessage("port: 65536 (expected: 0..65535, 0 picks a free port)");
    assertThatThrownBy(() -> b.weight(0)).hasMessage("weight: 0 (expected: 1..10000)");
    assertThatThrownBy(() -> b.weight(10_001)).hasMessage("weight: 10001 (expected: 1..10000)");
    assertThatThrownBy(() -> b.host(" "))
        .hasMessage("host: ' ' (expected: a host name or IP literal)");
    assertThatThrownBy(() -> b.host(null)).hasMessage("host: null (expected: not null)");
    assertThatThrownBy(() -> b.registry(null)).hasMessage("registry: null (expected: not null)");
    assertThatThrownBy(() -> b.addService((BindableService) null))
        .hasMessage("service: null (expected: not null)");
    assertThatThrownBy(() -> b.intercept((ServerInterceptor) null))
        .hasMessage("interceptor: null (expected: not null)");
    assertThatThrownBy(() -> b.maxInboundMessageSize(0))
        .hasMessage("maxInboundMessageSize: 0 (expected: > 0 bytes)");
    assertThatThrownBy(() -> b.metricsPort(70_000))
        .hasMessage("metricsPort: 70000 (expected: 0..65535, 0 picks a free port)");
    assertThatThrownBy(() -> b.deregisterDelay(Duration.ofSeconds(-1)))
        .hasMessage("deregisterDelay: PT-1S (expected: >= 0)");
    assertThatThrownBy(() -> b.shutdownGracePeriod(null))
        .hasMessage("shutdownGracePeriod: null (expected: not null)");
    assertThatThrownBy(() -> b.metadata(null)).hasMessage("metadata: null (expected: not null)");
  }

  @Test
  void serverStartChecksCombinations() {
    assertThatThrownBy(() -> KServer.builder().port(0).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("serviceName: null (expected: a service name, required)");
    try (InMemoryRegistry registry = new InMemoryRegistry()) {
      assertThatThrownBy(() -> KServer.builder().registry(registry).start())
          .isInstanceOf(IllegalStateException.class)
          .hasMessage(
              "serviceName: null (expected: a service name, required when a registry is set)");
    }
    assertThatThrownBy(
            () -> KServer.builder().serviceName("s").port(9464).metricsPort(9464).start())
        .hasMessage("metricsPort: 9464 (expected: a port other than port 9464)");
  }

  @Test
  void startTwiceIsRefused() {
    KServer.Builder builder =
        KServer.builder().serviceName("s").host("127.0.0.1").port(0).deregisterDelay(Duration.ZERO);
    try (KServer server = builder.start()) {
      assertThat(server.port()).isPositive();
      assertThatThrownBy(builder::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage(
              "start(): this builder already started a KServer (expected: one start() per builder)");
    }
  }

  @Test
  void portInUseIsReportedWithThePort() throws Exception {
    try (ServerSocket taken = new ServerSocket(0)) {
      assertThatThrownBy(
              () -> KServer.builder().serviceName("s").port(taken.getLocalPort()).start())
          .hasMessage("KServer s cannot bind port " + taken.getLocalPort());
    }
  }

  @Test
  void failedRegistrationStopsTheServerAndSaysWhy() throws Exception {
    Registry broken =
        new Registry() {
          @Override
          public void register(ServiceInstance instance) {
            throw new RegistryException("etcd at http://127.0.0.1:1 unreachable");
          }

          @Override
          public void deregister(ServiceInstance instance) {}

          @Override
          public Watch watch(String serviceName, Listener listener) {
            return () -> {};
          }

          @Override
          public List<ServiceInstance> lookup(String serviceName) {
            return List.of();
          }

          @Override
          public void close() {}
        };
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    assertThatThrownBy(
            () ->
                KServer.builder()
                    .serviceName("s")
                    .host("127.0.0.1")
                    .port(port)
                    .registry(broken)
                    .start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "KServer s started on port "
                + port
                + " but could not register: "
                + "etcd at http://127.0.0.1:1 unreachable; it was stopped");
    // The port is free again: what start() began, it stopped.
    try (ServerSocket again = new ServerSocket(port)) {
      assertThat(again.isBound()).isTrue();
    }
    broken.close();
  }

  @Test
  void clientOptions() {
    assertThatThrownBy(() -> KClient.forService("bad name"))
        .hasMessage("serviceName: 'bad name' (expected: [a-zA-Z0-9._-]+)");
    assertThatThrownBy(() -> KClient.forTarget(" "))
        .hasMessage("target: ' ' (expected: host:port or a target URI)");
    KClient.Builder b = KClient.forService("greeter");
    assertThatThrownBy(() -> b.loadBalancing("fastest"))
        .hasMessage(
            "loadBalancing: 'fastest' (expected: a registered load-balancing policy "
                + "such as round_robin, krpc_p2c or krpc_wrr)");
    assertThatThrownBy(() -> b.loadBalancing("krpc_p2c", java.util.Map.of("decayTime", "-1s")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("loadBalancing config of krpc_p2c: {decayTime=-1s} (")
        .hasMessageContaining("decayTime");
    assertThat(
            KClient.forService("greeter")
                .loadBalancing("krpc_wrr", java.util.Map.of("slowStart", "30s")))
        .isNotNull();
    assertThatThrownBy(() -> b.maxInboundMessageSize(-1))
        .hasMessage("maxInboundMessageSize: -1 (expected: > 0 bytes)");
    assertThatThrownBy(() -> b.intercept((ClientInterceptor) null))
        .hasMessage("interceptor: null (expected: not null)");
    assertThatThrownBy(() -> b.closeTimeout(Duration.ofMillis(-1)))
        .hasMessage("closeTimeout: PT-0.001S (expected: >= 0)");
    assertThatThrownBy(b::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "registry: null (expected: a Registry to discover 'greeter' in; "
                + "use KClient.forTarget(address) for a fixed address)");
    try (InMemoryRegistry registry = new InMemoryRegistry()) {
      assertThatThrownBy(() -> KClient.forTarget("127.0.0.1:1").registry(registry).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("registry: ");
    }
  }
}
