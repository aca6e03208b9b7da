package io.krpc.interceptor.tracing.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import org.junit.jupiter.api.Test;

class RpcTracingTest {
  /** What GlobalOpenTelemetry.get() hands out when nothing is installed: the no-op, wrapped. */
  private static OpenTelemetry wrap(TracerProvider tracerProvider, ContextPropagators propagators) {
    return new OpenTelemetry() {
      @Override
      public TracerProvider getTracerProvider() {
        return tracerProvider;
      }

      @Override
      public ContextPropagators getPropagators() {
        return propagators;
      }
    };
  }

  @Test
  void theNoopAndAnyWrapperOfItAreNoop() {
    assertThat(RpcTracing.of(OpenTelemetry.noop()).isNoop()).isTrue();
    assertThat(RpcTracing.of(wrap(TracerProvider.noop(), ContextPropagators.noop())).isNoop())
        .isTrue();
  }

  @Test
  void aRealTracerOrARealPropagatorIsNotNoop() {
    try (SdkTracerProvider sdk = SdkTracerProvider.builder().build()) {
      assertThat(RpcTracing.of(OpenTelemetrySdk.builder().setTracerProvider(sdk).build()).isNoop())
          .isFalse();
    }
    OpenTelemetry propagatingOnly =
        wrap(
            TracerProvider.noop(),
            ContextPropagators.create(
                io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator.getInstance()));
    assertThat(RpcTracing.of(propagatingOnly).isNoop()).isFalse();
  }
}
