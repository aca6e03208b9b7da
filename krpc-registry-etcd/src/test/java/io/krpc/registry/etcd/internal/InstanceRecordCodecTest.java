package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.krpc.registry.ServiceInstance;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InstanceRecordCodecTest {
  private final InstanceRecordCodec codec = new InstanceRecordCodec("/krpc/services/");

  @Test
  void roundTrips() {
    ServiceInstance instance =
        ServiceInstance.builder("greeter", "10.0.0.5", 9001)
            .weight(200)
            .metadata(Map.of("zone", "a", "v", "2"))
            .build();
    String key = codec.key(instance);
    assertThat(key).isEqualTo("/krpc/services/greeter/10.0.0.5:9001");
    byte[] value = codec.encode(instance);
    assertThat(new String(value, StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"version\":1,\"host\":\"10.0.0.5\",\"port\":9001,\"weight\":200,"
                + "\"metadata\":{\"v\":\"2\",\"zone\":\"a\"}}");
    assertThat(codec.decode("greeter", key, value)).isEqualTo(instance);
  }

  @Test
  void ipv6KeyUsesBrackets() {
    ServiceInstance instance = ServiceInstance.of("greeter", "::1", 9001);
    assertThat(codec.key(instance)).isEqualTo("/krpc/services/greeter/[::1]:9001");
    assertThat(codec.decode("greeter", codec.key(instance), codec.encode(instance)))
        .isEqualTo(instance);
  }

  @Test
  void weightAndMetadataAreOptional() {
    assertThat(decode("{\"version\":1,\"host\":\"h\",\"port\":1}"))
        .isEqualTo(ServiceInstance.of("greeter", "h", 1));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "not json at all|not JSON",
        "[1,2]|not a JSON object",
        "{\"version\":2,\"host\":\"h\",\"port\":1}|unknown format version 2",
        "{\"host\":\"h\",\"port\":1}|'version' is missing",
        "{\"version\":1,\"host\":\"\",\"port\":1}|host",
        "{\"version\":1,\"host\":5,\"port\":1}|'host' is missing or not a string",
        "{\"version\":1,\"host\":\"h\",\"port\":\"1\"}|'port' is missing or not a number",
        "{\"version\":1,\"host\":\"h\",\"port\":70000}|port: 70000",
        "{\"version\":1,\"host\":\"h\",\"port\":1.5}|not an integer",
        "{\"version\":1,\"host\":\"h\",\"port\":1,\"weight\":0}|weight: 0",
        "{\"version\":1,\"host\":\"h\",\"port\":1,\"metadata\":[]}|metadata is not a JSON object",
        "{\"version\":1,\"host\":\"h\",\"port\":1,\"metadata\":{\"a\":1}}|metadata value of 'a'",
        "{\"version\":1,\"host\":\"other\",\"port\":1}|key does not match",
      })
  void rejectsMalformedValues(String json, String reason) {
    assertThatThrownBy(() -> decode(json))
        .isInstanceOf(InstanceRecordCodec.MalformedRecordException.class)
        .hasMessageContaining(reason);
  }

  private ServiceInstance decode(String json) {
    String host =
        json.contains("\"other\"") ? "h" : json.replaceAll(".*\"host\":\"([^\"]*)\".*", "$1");
    return codec.decode(
        "greeter", "/krpc/services/greeter/" + host + ":1", json.getBytes(StandardCharsets.UTF_8));
  }
}
