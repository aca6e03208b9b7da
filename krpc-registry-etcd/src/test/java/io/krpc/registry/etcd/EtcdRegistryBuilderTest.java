package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EtcdRegistryBuilderTest {

  @Test
  void settersValidateAtOnce(@TempDir Path dir) {
    EtcdRegistry.Builder builder = EtcdRegistry.builder();
    assertThatThrownBy(() -> builder.endpoints("ftp://x:1"))
        .hasMessage("endpoints: 'ftp://x:1' (expected: http://host:port or https://host:port)");
    assertThatThrownBy(() -> builder.endpoints("http://nohost"))
        .hasMessageContaining("expected: http://host:port");
    assertThatThrownBy(() -> builder.endpoints(new String[0]))
        .hasMessage("endpoints: [] (expected: at least one)");
    assertThatThrownBy(() -> builder.dialTimeout(Duration.ZERO))
        .hasMessage("dialTimeout: PT0S (expected: > 0)");
    assertThatThrownBy(() -> builder.requestTimeout(Duration.ofSeconds(-1)))
        .hasMessage("requestTimeout: PT-1S (expected: > 0)");
    assertThatThrownBy(() -> builder.leaseTtl(Duration.ofMillis(500)))
        .hasMessage("leaseTtl: PT0.5S (expected: >= PT1S)");
    assertThatThrownBy(() -> builder.keyPrefix("krpc"))
        .hasMessageContaining("keyPrefix: 'krpc' (expected: starts and ends with '/'");
    assertThatThrownBy(() -> builder.username("")).hasMessage("username: '' (expected: not empty)");
    assertThatThrownBy(() -> builder.trustCertificates(dir.resolve("missing.pem")))
        .hasMessageContaining("trustCertificates: ")
        .hasMessageContaining("(expected: a readable file)");
    assertThatThrownBy(() -> builder.endpoints((String) null))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void aNullNamesTheOption() {
    EtcdRegistry.Builder builder = EtcdRegistry.builder();
    assertThatThrownBy(() -> builder.endpoints((String[]) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("endpoints: null (expected: not null)");
    assertThatThrownBy(() -> builder.endpoints("http://127.0.0.1:2379", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("endpoints: [http://127.0.0.1:2379, null] (expected: no null)");
    assertThatThrownBy(() -> builder.leaseTtl(null))
        .hasMessage("leaseTtl: null (expected: not null)");
    assertThatThrownBy(() -> builder.recordFormats(RecordFormat.KRPC, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageStartingWith("recordFormats: [KRPC")
        .hasMessageEndingWith(", null] (expected: no null)");
    assertThatThrownBy(() -> builder.password(null))
        .hasMessage("password: null (expected: not null)");
  }

  @Test
  void scaleSettersValidateAtOnce() {
    EtcdRegistry.Builder builder = EtcdRegistry.builder();
    assertThatThrownBy(() -> builder.maxInboundMessageSize(1024))
        .hasMessage("maxInboundMessageSize: 1024 (expected: >= 65536)");
    assertThatThrownBy(() -> builder.pageLimit(0)).hasMessage("pageLimit: 0 (expected: 1..100000)");
    assertThatThrownBy(() -> builder.coalesce(Duration.ofMillis(-1)))
        .hasMessage("coalesce: PT-0.001S (expected: 0..PT10S)");
    assertThatThrownBy(() -> builder.watchProgressInterval(Duration.ZERO))
        .hasMessage("watchProgressInterval: PT0S (expected: > 0)");
    builder
        .maxInboundMessageSize(64 << 10)
        .pageLimit(1)
        .coalesce(Duration.ZERO)
        .watchProgressInterval(Duration.ofMillis(1));
  }

  @Test
  void buildChecksCombinations() {
    assertThatThrownBy(() -> EtcdRegistry.builder().build())
        .hasMessage("endpoints: not set (expected: at least one etcd URL)");
    assertThatThrownBy(
            () -> EtcdRegistry.builder().endpoints("127.0.0.1:2379").username("u").build())
        .hasMessage("username and password: only username is set (expected: both or neither)");
    assertThatThrownBy(
            () ->
                EtcdRegistry.builder()
                    .endpoints("http://127.0.0.1:2379", "https://127.0.0.1:2380")
                    .build())
        .hasMessageContaining("expected: all http:// or all https://");
  }

  @Test
  void buildDoesNotContactEtcd() {
    // nothing listens on port 1; build() must still return at once
    EtcdRegistry registry = EtcdRegistry.builder().endpoints("127.0.0.1:1").build();
    io.krpc.registry.Registry.Watch watch = registry.watch("greeter", instances -> {});
    registry.close();
    registry.close(); // idempotent
    watch.cancel(); // after close: no exception
    assertThatThrownBy(() -> registry.watch("greeter", instances -> {}))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void providerParsesTargets() throws Exception {
    assertThat(parse("etcd://127.0.0.1:2379/greeter"))
        .isEqualTo(target("greeter", "http://127.0.0.1:2379"));
    assertThat(parse("etcd:///127.0.0.1:2379,127.0.0.1:2380/greeter"))
        .isEqualTo(target("greeter", "http://127.0.0.1:2379", "http://127.0.0.1:2380"));
    assertThat(parse("etcd://127.0.0.1:2379,127.0.0.1:2380/greeter"))
        .isEqualTo(target("greeter", "http://127.0.0.1:2379", "http://127.0.0.1:2380"));
    assertThat(parse("etcd://etcd-a,etcd-b:3000/greeter"))
        .isEqualTo(target("greeter", "http://etcd-a:2379", "http://etcd-b:3000"));
    assertThat(parse("etcd:///greeter")).isEqualTo(target("greeter", "http://127.0.0.1:2379"));
    assertThatThrownBy(() -> parse("etcd://127.0.0.1:2379/"))
        .hasMessageContaining("expected: etcd://host:port/<service>");
    assertThatThrownBy(() -> parse("etcd://127.0.0.1:2379/a/b"))
        .hasMessageContaining("expected: etcd://host:port/<service>");
    assertThat(
            java.util.ServiceLoader.load(io.grpc.NameResolverProvider.class).stream()
                .map(java.util.ServiceLoader.Provider::type))
        .contains(EtcdNameResolverProvider.class);
  }

  private static EtcdNameResolverProvider.Target parse(String target) throws Exception {
    return EtcdNameResolverProvider.parse(new java.net.URI(target));
  }

  private static EtcdNameResolverProvider.Target target(String service, String... endpoints) {
    return new EtcdNameResolverProvider.Target(
        java.util.List.of(endpoints), service, java.util.List.of(RecordFormat.KRPC));
  }
}
