package io.krpc.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class SvgBarChartTest {
  @Test
  void drawsOneBarPerSeriesAndCategoryWithItsValue() {
    String svg =
        SvgBarChart.builder("T & <co>")
            .series("raw", "krpc")
            .panel(
                "calls/s", List.of("unary", "stream"), new double[][] {{30000, 29000}, {500, -1}})
            .build();

    assertThat(svg).startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"").endsWith("</svg>\n");
    assertThat(svg).contains("T &amp; &lt;co&gt;", ">30k<", ">29k<", ">500<", ">n/a<");
    // Two legend swatches, three bars, and the white background.
    assertThat(svg.split("<rect ", -1)).hasSize(1 + 1 + 2 + 3);
  }

  @Test
  void rejectsValuesThatDoNotMatchTheCategoriesOrSeries() {
    SvgBarChart.Builder builder = SvgBarChart.builder("t").series("a", "b");
    assertThatThrownBy(() -> builder.panel("y", List.of("x"), new double[][] {{1}}))
        .hasMessage("values row: 1 values (expected: 2, one per series)");
    assertThatThrownBy(() -> builder.panel("y", List.of("x", "z"), new double[][] {{1, 2}}))
        .hasMessage("values: 1 rows (expected: 2, one per category)");
  }
}
