package io.krpc.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Writes grouped bar charts as SVG text, so that the benchmark tooling draws its own figures.
 *
 * <pre>{@code
 * String svg =
 *     SvgBarChart.builder("Throughput and p99 by configuration")
 *         .series("raw", "KRPC")
 *         .panel("throughput (calls/s)", List.of("unary 16 B"), new double[][] {{30000, 29000}})
 *         .build();
 * }</pre>
 *
 * <p>Each panel is one chart: a group of bars per category, one bar per series, a y axis scaled to
 * the panel's largest value and the value above each bar. Panels fill a grid of {@link
 * Builder#columns(int) columns} (default 1), row by row, each with its own scale.
 */
public final class SvgBarChart {
  private static final String[] COLORS = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"
  };
  private static final int WIDTH = 960;
  private static final int PANEL_HEIGHT = 280;
  private static final int LEFT = 70;
  private static final int RIGHT = 20;
  private static final int GAP = 60;
  private static final int TOP = 60;

  private SvgBarChart() {}

  /** A chart with {@code title}. */
  public static Builder builder(String title) {
    return new Builder(title);
  }

  /** Collects the series names and panels; {@link #build()} renders the SVG. */
  public static final class Builder {
    private final String title;
    private List<String> series = List.of();
    private final List<Panel> panels = new ArrayList<>();
    private int columns = 1;

    private Builder(String title) {
      this.title = Objects.requireNonNull(title, "title");
    }

    /** Panels per row, 1..6; default 1. */
    public Builder columns(int columns) {
      if (columns < 1 || columns > 6) {
        throw new IllegalArgumentException("columns: " + columns + " (expected: 1..6)");
      }
      this.columns = columns;
      return this;
    }

    /** The series, one bar of each per category, in legend order. */
    public Builder series(String... names) {
      this.series = List.of(names);
      return this;
    }

    /** Adds a panel: {@code values[category][series]}; a value below 0 draws no bar ("n/a"). */
    public Builder panel(String yLabel, List<String> categories, double[][] values) {
      if (values.length != categories.size()) {
        throw new IllegalArgumentException(
            "values: "
                + values.length
                + " rows (expected: "
                + categories.size()
                + ", one per category)");
      }
      for (double[] row : values) {
        if (row.length != series.size()) {
          throw new IllegalArgumentException(
              "values row: "
                  + row.length
                  + " values (expected: "
                  + series.size()
                  + ", one per series)");
        }
      }
      panels.add(new Panel(yLabel, List.copyOf(categories), values));
      return this;
    }

    /** The SVG document. */
    public String build() {
      int rows = (panels.size() + columns - 1) / columns;
      int height = TOP + rows * (PANEL_HEIGHT + 40) + 10;
      StringBuilder svg = new StringBuilder();
      svg.append(
          String.format(
              Locale.ROOT,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n",
              WIDTH,
              height,
              WIDTH,
              height));
      svg.append(
          String.format(
              Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
      svg.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"22\" font-size=\"16\" font-weight=\"bold\">%s</text>%n",
              LEFT,
              escape(title)));
      int x = LEFT;
      for (int s = 0; s < series.size(); s++) {
        svg.append(
            String.format(
                Locale.ROOT,
                "<rect x=\"%d\" y=\"34\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"45\">%s</text>%n",
                x,
                COLORS[s % COLORS.length],
                x + 16,
                escape(series.get(s))));
        x += 16 + 7 * series.get(s).length() + 20;
      }
      int panelWidth = (WIDTH - LEFT - RIGHT - (columns - 1) * GAP) / columns;
      for (int i = 0; i < panels.size(); i++) {
        int left = LEFT + (i % columns) * (panelWidth + GAP);
        int top = TOP + (i / columns) * (PANEL_HEIGHT + 40);
        panels.get(i).render(svg, left, panelWidth, top, series.size());
      }
      svg.append("</svg>\n");
      return svg.toString();
    }
  }

  private record Panel(String yLabel, List<String> categories, double[][] values) {
    void render(StringBuilder svg, int left, int plotWidth, int top, int seriesCount) {
      double max = 0;
      for (double[] row : values) {
        for (double v : row) {
          max = Math.max(max, v);
        }
      }
      double scaleMax = niceCeiling(max);
      int plotTop = top + 20;
      int plotHeight = PANEL_HEIGHT - 50;
      int plotBottom = plotTop + plotHeight;
      svg.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>%n",
              left,
              top + 8,
              escape(yLabel)));
      for (int i = 0; i <= 4; i++) {
        double v = scaleMax * i / 4;
        int y = plotBottom - (int) Math.round(plotHeight * i / 4.0);
        svg.append(
            String.format(
                Locale.ROOT,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n",
                left,
                y,
                left + plotWidth,
                y,
                left - 6,
                y + 4,
                format(v)));
      }
      double groupWidth = (double) plotWidth / Math.max(1, categories.size());
      double barWidth = groupWidth * 0.8 / Math.max(1, seriesCount);
      for (int c = 0; c < categories.size(); c++) {
        double groupX = left + c * groupWidth + groupWidth * 0.1;
        for (int s = 0; s < seriesCount; s++) {
          double v = values[c][s];
          double bx = groupX + s * barWidth;
          if (v < 0) {
            svg.append(
                String.format(
                    Locale.ROOT,
                    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">n/a</text>%n",
                    bx + barWidth / 2,
                    plotBottom - 4));
            continue;
          }
          double h = scaleMax == 0 ? 0 : plotHeight * v / scaleMax;
          svg.append(
              String.format(
                  Locale.ROOT,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>"
                      + "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%s</text>%n",
                  bx,
                  plotBottom - h,
                  barWidth - 2,
                  h,
                  COLORS[s % COLORS.length],
                  bx + barWidth / 2,
                  plotBottom - h - 3,
                  format(v)));
        }
        svg.append(
            String.format(
                Locale.ROOT,
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                left + c * groupWidth + groupWidth / 2,
                plotBottom + 16,
                escape(categories.get(c))));
      }
      svg.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>%n",
              left,
              plotBottom,
              left + plotWidth,
              plotBottom));
    }
  }

  private static double niceCeiling(double max) {
    if (max <= 0) {
      return 1;
    }
    double magnitude = Math.pow(10, Math.floor(Math.log10(max)));
    for (double step : new double[] {1, 2, 2.5, 5, 10}) {
      if (step * magnitude >= max) {
        return step * magnitude;
      }
    }
    return 10 * magnitude;
  }

  private static String format(double v) {
    if (v == 0) {
      return "0";
    }
    if (v >= 10_000) {
      return String.format(Locale.ROOT, "%.0fk", v / 1000);
    }
    if (v >= 100) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    return String.format(Locale.ROOT, "%.1f", v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
