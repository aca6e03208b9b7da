package io.krpc.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceInstanceTest {

  @Test
  void defaultsAndEndpoint() {
    ServiceInstance instance = ServiceInstance.of("greeter", "10.0.0.5", 9001);
    assertThat(instance.weight()).isEqualTo(100);
    assertThat(instance.metadata()).isEmpty();
    assertThat(instance.endpoint()).isEqualTo("10.0.0.5:9001");
    assertThat(ServiceInstance.of("greeter", "::1", 9001).endpoint()).isEqualTo("[::1]:9001");
  }

  @Test
  void metadataIsCopiedAndImmutable() {
    Map<String, String> metadata = new HashMap<>(Map.of("zone", "a"));
    ServiceInstance instance =
        ServiceInstance.builder("greeter", "h", 1).metadata(metadata).weight(7).build();
    metadata.put("zone", "b");
    assertThat(instance.metadata()).containsEntry("zone", "a");
    assertThatThrownBy(() -> instance.metadata().put("x", "y"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(instance.toBuilder().build()).isEqualTo(instance);
  }

  @Test
  void rejectsInvalidFieldsWithNamedMessages() {
    assertThatThrownBy(() -> ServiceInstance.of("bad name", "h", 1))
        .hasMessage("serviceName: 'bad name' (expected: [a-zA-Z0-9._-]+)");
    assertThatThrownBy(() -> ServiceInstance.of("", "h", 1))
        .hasMessage("serviceName: '' (expected: [a-zA-Z0-9._-]+)");
    assertThatThrownBy(() -> ServiceInstance.of("s", " ", 1))
        .hasMessage("host: ' ' (expected: a host name or IP literal, not blank)");
    assertThatThrownBy(() -> ServiceInstance.of("s", "h", 0))
        .hasMessage("port: 0 (expected: 1..65535)");
    assertThatThrownBy(() -> ServiceInstance.of("s", "h", 65_536))
        .hasMessage("port: 65536 (expected: 1..65535)");
    assertThatThrownBy(() -> ServiceInstance.builder("s", "h", 1).weight(0))
        .hasMessage("weight: 0 (expected: 1..10000)");
    assertThatThrownBy(() -> new ServiceInstance("s", "h", 1, 10_001, Map.of()))
        .hasMessage("weight: 10001 (expected: 1..10000)");
    assertThatThrownBy(() -> ServiceInstance.of(null, "h", 1))
        .hasMessage("serviceName: null (expected: not null)");
  }
}
