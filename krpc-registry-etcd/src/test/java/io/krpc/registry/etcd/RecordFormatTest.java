package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.krpc.registry.ServiceInstance;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The keys and values of every format, byte for byte, and how foreign records are read. */
class RecordFormatTest {
  private static final ServiceInstance PLAIN = ServiceInstance.of("greeter", "10.0.0.1", 9001);
  private static final ServiceInstance RICH =
      ServiceInstance.builder("greeter", "10.0.0.1", 9001)
          .weight(300)
          .metadata(Map.of("zone", "a<b>&\"c\"", "az", "1"))
          .build();

  private static String value(RecordFormat format, ServiceInstance instance) {
    return new String(format.encode(instance), StandardCharsets.UTF_8);
  }

  private static ServiceInstance read(RecordFormat format, String key, String value) {
    return format.decode("greeter", key, value.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void goKrpcWritesItsEndpointStruct() {
    assertThat(RecordFormat.KRPC_GO.key(PLAIN, 7)).isEqualTo("/kim/prpc/greeter/10.0.0.1/9001");
    assertThat(value(RecordFormat.KRPC_GO, RICH))
        .isEqualTo(
            "{\"server_name\":\"greeter\",\"ip\":\"10.0.0.1\",\"port\":9001,\"weight\":300,"
                + "\"enable\":true}");
    assertThat(
            read(
                RecordFormat.KRPC_GO,
                "/kim/prpc/greeter/10.0.0.1/9001",
                value(RecordFormat.KRPC_GO, RICH)))
        .isEqualTo(RICH.toBuilder().metadata(Map.of()).build());
  }

  @Test
  void goKrpcDisabledIsNotRoutableAndMissingWeightIsTheDefault() {
    assertThat(
            read(
                RecordFormat.KRPC_GO,
                "k",
                "{\"ip\":\"10.0.0.2\",\"port\":1,\"weight\":5," + "\"enable\":false}"))
        .isNull();
    assertThat(read(RecordFormat.KRPC_GO, "k", "{\"IP\":\"10.0.0.2\",\"Port\":1,\"enable\":true}"))
        .isEqualTo(ServiceInstance.of("greeter", "10.0.0.2", 1));
    assertThatThrownBy(
            () -> read(RecordFormat.KRPC_GO, "k", "{\"ip\":\"\",\"port\":1," + "\"enable\":true}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> read(RecordFormat.KRPC_GO, "k", "{\"ip\":\"h\",\"port\":\"1\"}"))
        .hasMessageContaining("port");
  }

  @Test
  void etcdNamingWritesGoUpdateJson() {
    assertThat(RecordFormat.ETCD_NAMING.key(PLAIN, 7)).isEqualTo("greeter/10.0.0.1:9001");
    assertThat(value(RecordFormat.ETCD_NAMING, PLAIN))
        .isEqualTo("{\"Op\":0,\"Addr\":\"10.0.0.1:9001\",\"Metadata\":null}");
    assertThat(value(RecordFormat.ETCD_NAMING, RICH))
        .isEqualTo(
            "{\"Op\":0,\"Addr\":"
                + "\"10.0.0.1:9001\",\"Metadata\":{\"az\":\"1\",\"zone\":\"a\\u003cb\\u003e\\u0026\\\"c\\\"\"}}");
    assertThat(read(RecordFormat.ETCD_NAMING, "greeter/x", value(RecordFormat.ETCD_NAMING, RICH)))
        .isEqualTo(RICH.toBuilder().weight(100).build());
    assertThat(read(RecordFormat.ETCD_NAMING, "greeter/x", "{\"Op\":1,\"Addr\":\"10.0.0.1:9001\"}"))
        .isNull();
    assertThat(
            read(
                RecordFormat.ETCD_NAMING,
                "greeter/x",
                "{\"Op\":0,\"Addr\":\"[::1]:9001\",\"Metadata\":[1,2]}"))
        .isEqualTo(ServiceInstance.of("greeter", "::1", 9001));
    assertThatThrownBy(() -> read(RecordFormat.ETCD_NAMING, "greeter/x", "10.0.0.1:9001"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void goZeroKeysByLeaseAndStoresTheAddress() {
    assertThat(RecordFormat.GO_ZERO.key(PLAIN, 7587862348431296611L))
        .isEqualTo("greeter/7587862348431296611");
    assertThat(RecordFormat.GO_ZERO.withKeyPrefix("/rpc/").key(PLAIN, 12))
        .isEqualTo("/rpc/greeter/12");
    assertThat(value(RecordFormat.GO_ZERO, RICH)).isEqualTo("10.0.0.1:9001");
    assertThat(read(RecordFormat.GO_ZERO, "greeter/1", "10.0.0.9:80"))
        .isEqualTo(ServiceInstance.of("greeter", "10.0.0.9", 80));
    assertThatThrownBy(() -> read(RecordFormat.GO_ZERO, "greeter/1", "{\"Op\":0}"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void kratosWritesItsServiceInstance() {
    assertThat(RecordFormat.KRATOS.key(PLAIN, 7)).isEqualTo("/microservices/greeter/10.0.0.1:9001");
    assertThat(value(RecordFormat.KRATOS, PLAIN))
        .isEqualTo(
            "{\"id\":\"10.0.0.1:9001\",\"name\":"
                + "\"greeter\",\"version\":\"\",\"metadata\":{},\"endpoints\":"
                + "[\"grpc://10.0.0.1:9001?isSecure=false\"]}");
    assertThat(value(RecordFormat.KRATOS, RICH))
        .contains("\"metadata\":{\"az\":\"1\",\"weight\":\"300\",\"zone\":");
    assertThat(read(RecordFormat.KRATOS, "k", value(RecordFormat.KRATOS, RICH))).isEqualTo(RICH);
    assertThat(
            read(
                RecordFormat.KRATOS,
                "k",
                "{\"id\":\"x\",\"name\":\"greeter\",\"endpoints\":"
                    + "[\"http://10.0.0.1:8000\",\"grpc://10.0.0.1:9000\"]}"))
        .isEqualTo(ServiceInstance.of("greeter", "10.0.0.1", 9000));
    assertThat(
            read(
                RecordFormat.KRATOS,
                "k",
                "{\"name\":\"greeter\",\"endpoints\":"
                    + "[\"grpcs://10.0.0.1:9000\",\"grpc://10.0.0.1:9001?isSecure=true\"]}"))
        .isNull();
    assertThat(
            read(
                RecordFormat.KRATOS,
                "k",
                "{\"name\":\"other\",\"endpoints\":" + "[\"grpc://10.0.0.1:9000\"]}"))
        .isNull();
    assertThatThrownBy(() -> read(RecordFormat.KRATOS, "k", "{\"name\":1}"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void goStringEscapes() {
    ServiceInstance odd =
        PLAIN.toBuilder()
            .metadata(Map.of("k", "tab\tnl\nu\u0001\u2028\\é\uD83D\uDE00\b\f"))
            .build();
    assertThat(value(RecordFormat.ETCD_NAMING, odd))
        .isEqualTo(
            "{\"Op\":0,\"Addr\":\"10.0.0.1:9001\","
                + "\"Metadata\":{\"k\":\"tab\\tnl\\nu\\u0001\\u2028\\\\é\uD83D\uDE00\\b\\f\"}}");
  }

  @Test
  void prefixesAreValidatedAndFormatsKeptApart() {
    assertThatThrownBy(() -> RecordFormat.KRATOS.withKeyPrefix("/microservices"))
        .hasMessageContaining("keyPrefix: '/microservices'");
    EtcdRegistry.Builder builder = EtcdRegistry.builder().endpoints("http://127.0.0.1:2379");
    assertThatThrownBy(() -> builder.recordFormats(RecordFormat.KRPC, RecordFormat.KRPC))
        .hasMessageContaining("listed twice");
    builder.recordFormats(RecordFormat.ETCD_NAMING, RecordFormat.GO_ZERO);
    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ETCD_NAMING('') and GO_ZERO('')");
    builder.recordFormats(RecordFormat.KRATOS.withKeyPrefix("/"), RecordFormat.KRPC_GO);
    assertThatThrownBy(builder::build).hasMessageContaining("same keys"); // service "kim"
    builder.recordFormats(RecordFormat.KRPC).keyPrefix("/kim/prpc/");
    assertThatThrownBy(builder::build).hasMessageContaining("keyPrefix: '/kim/prpc/' lies under");
    builder.keyPrefix("/krpc/services/");
    builder
        .recordFormats(
            RecordFormat.KRPC,
            RecordFormat.KRPC_GO,
            RecordFormat.ETCD_NAMING,
            RecordFormat.GO_ZERO.withKeyPrefix("/rpc/"),
            RecordFormat.KRATOS)
        .build()
        .close();
  }

  @Test
  void krpcFormatFollowsTheBuilderKeyPrefix() {
    assertThat(
            EtcdRegistry.builder()
                .keyPrefix("/x/")
                .recordFormats(RecordFormat.KRPC, RecordFormat.KRPC_GO)
                .resolvedFormats())
        .containsExactly(RecordFormat.KRPC.withKeyPrefix("/x/"), RecordFormat.KRPC_GO);
  }

  @Test
  void resolverTargetsNameFormats() {
    EtcdNameResolverProvider.Target target =
        EtcdNameResolverProvider.parse(
            java.net.URI.create(
                "etcd://127.0.0.1:2379/greeter?formats=KRPC,krpc_go,GO_ZERO:/rpc/"));
    assertThat(target.serviceName()).isEqualTo("greeter");
    assertThat(target.formats())
        .containsExactly(
            RecordFormat.KRPC, RecordFormat.KRPC_GO, RecordFormat.GO_ZERO.withKeyPrefix("/rpc/"));
    assertThatThrownBy(
            () ->
                EtcdNameResolverProvider.parse(
                    java.net.URI.create("etcd://127.0.0.1:2379/greeter?formats=CONSUL")))
        .hasMessageContaining("'CONSUL'");
  }
}
