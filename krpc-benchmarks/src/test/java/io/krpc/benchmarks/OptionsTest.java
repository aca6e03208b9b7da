package io.krpc.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class OptionsTest {
  @Test
  void parsesDurationsIntegersAndFlagsAfterTheCommand() {
    Options options =
        Options.parse(
            new String[] {
              "overhead",
              "--duration=1.5s",
              "--warmup=250ms",
              "--concurrency=8",
              "--no-files",
              "--long=PT2M"
            });

    assertThat(options.duration("duration", Duration.ZERO)).isEqualTo(Duration.ofMillis(1500));
    assertThat(options.duration("warmup", Duration.ZERO)).isEqualTo(Duration.ofMillis(250));
    assertThat(options.duration("long", Duration.ZERO)).isEqualTo(Duration.ofMinutes(2));
    assertThat(options.duration("absent", Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
    assertThat(options.integer("concurrency", 1)).isEqualTo(8);
    assertThat(options.flag("no-files")).isTrue();
    assertThat(options.flag("other")).isFalse();
  }

  @Test
  void badValuesNameTheOption() {
    Options options = Options.parse(new String[] {"x", "--duration=soon", "--concurrency=many"});
    assertThatThrownBy(() -> options.duration("duration", Duration.ZERO))
        .hasMessage("--duration: soon (expected: a duration such as 10s, 500ms, 2m or PT10S)");
    assertThatThrownBy(() -> options.integer("concurrency", 1))
        .hasMessage("--concurrency: many (expected: an integer)");
    assertThatThrownBy(() -> Options.parse(new String[] {"x", "stray"}))
        .hasMessage("stray (expected: --name=value)");
  }
}
