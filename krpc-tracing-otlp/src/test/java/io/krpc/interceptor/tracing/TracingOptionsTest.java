package io.krpc.interceptor.tracing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TracingOptionsTest {

  @Test
  void defaults() {
    TracingOptions options = TracingOptions.builder().serviceName("greeter").build();

    assertThat(options.endpoint()).isEqualTo("http://127.0.0.1:4317");
    assertThat(options.serviceName()).isEqualTo("greeter");
    assertThat(options.samplingRatio()).isEqualTo(1.0);
    assertThat(options.exportTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(options.registerGlobal()).isFalse();
    assertThat(options.toBuilder().samplingRatio(0.5).build().serviceName()).isEqualTo("greeter");
  }

  @Test
  void aNullNamesTheOption() {
    assertThatThrownBy(() -> TracingOptions.builder().endpoint(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("endpoint: null (expected: not null)");
    assertThatThrownBy(() -> TracingOptions.builder().exportTimeout(null))
        .hasMessage("exportTimeout: null (expected: not null)");
  }

  @Test
  void rejectsSamplingRatioOutsideZeroToOne() {
    assertThatThrownBy(() -> TracingOptions.builder().samplingRatio(1.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("samplingRatio: 1.5 (expected: >= 0 and <= 1)");
    assertThatThrownBy(() -> TracingOptions.builder().samplingRatio(-0.1))
        .hasMessage("samplingRatio: -0.1 (expected: >= 0 and <= 1)");
    assertThatThrownBy(() -> TracingOptions.builder().samplingRatio(Double.NaN))
        .hasMessage("samplingRatio: NaN (expected: >= 0 and <= 1)");
    assertThat(TracingOptions.builder().samplingRatio(0).serviceName("s").build().samplingRatio())
        .isZero();
  }

  @Test
  void rejectsEndpointThatIsNoHttpUrl() {
    assertThatThrownBy(() -> TracingOptions.builder().endpoint("127.0.0.1:4317"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("endpoint: 127.0.0.1:4317 (expected: an http(s)://host:port URL)");
    assertThatThrownBy(() -> TracingOptions.builder().endpoint("http://bad host"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void requiresServiceName() {
    assertThatThrownBy(() -> TracingOptions.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("serviceName: not set (expected: a service name)");
    assertThatThrownBy(() -> TracingOptions.builder().serviceName(" "))
        .hasMessage("serviceName: ' ' (expected: not blank)");
  }

  @Test
  void rejectsNonPositiveExportTimeout() {
    assertThatThrownBy(() -> TracingOptions.builder().exportTimeout(Duration.ZERO))
        .hasMessage("exportTimeout: PT0S (expected: > 0)");
  }
}
