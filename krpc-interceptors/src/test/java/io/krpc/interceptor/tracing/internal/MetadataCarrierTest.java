package io.krpc.interceptor.tracing.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import org.junit.jupiter.api.Test;

class MetadataCarrierTest {
  private final Metadata metadata = new Metadata();

  @Test
  void setReplacesAndGetReadsAsciiHeaders() {
    MetadataCarrier.INSTANCE.set(metadata, "traceparent", "one");
    MetadataCarrier.INSTANCE.set(metadata, "traceparent", "two");

    assertThat(MetadataCarrier.INSTANCE.get(metadata, "traceparent")).isEqualTo("two");
    assertThat(metadata.getAll(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER)))
        .containsExactly("two");
    assertThat(MetadataCarrier.INSTANCE.keys(metadata)).containsExactly("traceparent");
  }

  @Test
  void ignoresBinaryKeysAndMissingCarrier() {
    MetadataCarrier.INSTANCE.set(metadata, "x-bin", "v");

    assertThat(metadata.keys()).isEmpty();
    assertThat(MetadataCarrier.INSTANCE.get(metadata, "x-bin")).isNull();
    assertThat(MetadataCarrier.INSTANCE.get(null, "traceparent")).isNull();
    assertThat(MetadataCarrier.INSTANCE.get(metadata, "absent")).isNull();
  }

  @Test
  void parsesAuthorities() {
    assertThat(HostAndPort.parseAuthority("example.com:443"))
        .isEqualTo(new HostAndPort("example.com", 443));
    assertThat(HostAndPort.parseAuthority("example.com"))
        .isEqualTo(new HostAndPort("example.com", -1));
    assertThat(HostAndPort.parseAuthority("[::1]:9001")).isEqualTo(new HostAndPort("::1", 9001));
    assertThat(HostAndPort.parseAuthority("[::1]")).isEqualTo(new HostAndPort("::1", -1));
    assertThat(HostAndPort.parseAuthority("")).isNull();
  }
}
