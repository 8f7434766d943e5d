using System.Xml.Linq;
using MemoryLab.Reporting.Charts;
using static MemoryLab.Tests.Reporting.SvgTestHelpers;

namespace MemoryLab.Tests.Reporting;

public class TickTests
{
    private static bool IsNice(double step)
    {
        double m = step / Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-12));
        return new[] { 1.0, 2.0, 5.0 }.Any(x => Math.Abs(m - x) < 1e-9);
    }

    [Fact]
    public void Linear_ticks_over_a_range_with_negative_values_are_one_two_five_multiples_with_true_minus_signs()
    {
        // Step 2 gives 8 ticks (−2 … 12); with room for 8 it is chosen, with room for 7 the next step (5) is.
        Assert.Equal(new double[] { 0, 5, 10 }, TickGenerator.Linear(-3.7, 12.2, 7).Major.Select(t => t.Value).ToArray());
        var ticks = TickGenerator.Linear(-3.7, 12.2, 8).Major;
        Assert.Equal(8, ticks.Count);
        double step = ticks[1].Value - ticks[0].Value;
        Assert.True(IsNice(step), $"step {step} is not 1, 2 or 5 × 10^k");
        Assert.All(ticks, t => Assert.InRange(t.Value, -3.7, 12.2));
        Assert.All(ticks, t => Assert.Equal(0, Math.IEEERemainder(t.Value, step), 9));
        Assert.Contains(ticks, t => t.Value == 0 && t.Label == "0");
        var negative = Assert.Single(ticks, t => t.Value < 0);
        Assert.Equal("\u22122", negative.Label);
        // Covering: the first tick is within one step of the low end, the last within one step of the high end.
        Assert.True(ticks[0].Value - step < -3.7 && ticks[^1].Value + step > 12.2);
    }

    [Fact]
    public void Linear_ticks_are_exact_decimals_and_respect_the_maximum_count()
    {
        var ticks = TickGenerator.Linear(0, 1, 11).Major;
        Assert.Equal(11, ticks.Count);
        Assert.Equal(0.3, ticks[3].Value); // not 0.30000000000000004
        Assert.Equal("0.3", ticks[3].Label);
        for (int max = 2; max <= 10; max++)
        {
            var t = TickGenerator.Linear(-0.0137, 0.0291, max).Major;
            Assert.InRange(t.Count, 1, max);
        }
        var small = TickGenerator.Linear(-2.5e-5, 7.5e-5, 5).Major;
        Assert.Contains(small, t => t.Label.Contains("10^{\u22125}"));
        var large = TickGenerator.Linear(0, 3e6, 4).Major;
        Assert.Contains(large, t => t.Label == "10^{6}" || t.Label.EndsWith("\u00D710^{6}"));
    }

    [Fact]
    public void Log_ticks_over_ten_decades_label_every_other_decade_and_keep_the_rest_as_minor_ticks()
    {
        var ticks = TickGenerator.Log(1e-8, 1e2, 6);
        Assert.Equal(new[] { -8, -6, -4, -2, 0, 2 }, ticks.Major.Select(t => (int)Math.Round(Math.Log10(t.Value))).ToArray());
        Assert.All(ticks.Major, t => Assert.Equal(Math.Pow(10, Math.Round(Math.Log10(t.Value))), t.Value, 1e-12 * t.Value));
        Assert.Equal("10^{\u22128}", ticks.Major[0].Label);
        Assert.Equal("10^{0}", ticks.Major[4].Label);
        Assert.Equal(new[] { -7, -5, -3, -1, 1 }, ticks.Minor.Select(v => (int)Math.Round(Math.Log10(v))).ToArray());

        var wide = TickGenerator.Log(3e-13, 2e7, 5);
        Assert.InRange(wide.Major.Count, 2, 5);
        Assert.All(wide.Major, t => Assert.InRange(t.Value, 3e-13, 2e7));
    }

    [Fact]
    public void Log_ticks_over_few_decades_get_two_to_nine_minor_ticks()
    {
        var ticks = TickGenerator.Log(1e-3, 1, 8);
        Assert.Equal(4, ticks.Major.Count);
        Assert.Equal(24, ticks.Minor.Count); // 2…9 in each of the three decades below 1
        Assert.Contains(0.002, ticks.Minor);
        Assert.Contains(0.5, ticks.Minor);
        Assert.DoesNotContain(ticks.Minor, v => ticks.Major.Any(t => Math.Abs(t.Value - v) < 1e-15));
    }

    [Fact]
    public void Log_ticks_inside_one_decade_fall_back_to_labelled_round_values()
    {
        var ticks = TickGenerator.Log(0.3, 0.8, 6);
        Assert.True(ticks.Major.Count >= 2);
        Assert.All(ticks.Major, t => Assert.InRange(t.Value, 0.3, 0.8));
        Assert.Contains(ticks.Major, t => t.Label == "0.5");
        Assert.Throws<ArgumentException>(() => TickGenerator.Log(0, 1));
        Assert.Throws<ArgumentException>(() => TickGenerator.Linear(1, 1));
    }

    [Fact]
    public void Nice_step_is_the_smallest_one_two_five_value_not_below_the_rough_step()
    {
        Assert.Equal(1, TickGenerator.NiceStep(1));
        Assert.Equal(2, TickGenerator.NiceStep(1.01));
        Assert.Equal(5, TickGenerator.NiceStep(2.2));
        Assert.Equal(10, TickGenerator.NiceStep(5.5));
        Assert.Equal(0.02, TickGenerator.NiceStep(0.013), 15);
    }
}

public class MathTextTests
{
    [Fact]
    public void Subscripts_superscripts_and_tex_names_become_runs_and_tspans()
    {
        var m = MathText.Parse("\\tau_0' and 10^{-3}");
        Assert.Equal("τ0' and 10−3", m.PlainText);
        Assert.Equal(new[] { ScriptShift.Normal, ScriptShift.Subscript, ScriptShift.Normal, ScriptShift.Superscript }, m.Runs.Select(r => r.Shift).ToArray());
        Assert.Equal("\u22123", m.Runs[3].Text);
        string svg = m.ToSvgContent(10);
        // Subscript drops 2.4 px, the next run comes back up, the superscript rises 3.8 px.
        Assert.Contains("<tspan dy=\"2.4\" font-size=\"7.2\">0</tspan>", svg);
        Assert.Contains("<tspan dy=\"-2.4\">", svg);
        Assert.Contains("<tspan dy=\"-3.8\" font-size=\"7.2\">\u22123</tspan>", svg);
        Assert.Equal("ν<sub>0</sub>", MathText.Parse("\\nu_0").ToHtml());
    }

    [Fact]
    public void Bad_markup_throws_with_the_problem_named()
    {
        Assert.Contains("unbalanced", Assert.Throws<ArgumentException>(() => MathText.Parse("10^{-3")).Message);
        Assert.Contains("\\lamda", Assert.Throws<ArgumentException>(() => MathText.Parse("\\lamda")).Message);
        Assert.Throws<ArgumentException>(() => MathText.Parse("x_"));
        Assert.Equal("a_b", MathText.Parse("a\\_b").PlainText);
    }

    [Fact]
    public void Widths_come_from_the_character_table_and_scripts_are_narrower()
    {
        Assert.Equal(10 * 1303 / 2048.0 * 10, TextMetrics.Width("0123456789", 10), 9);
        Assert.True(MathText.MeasureWidth("x_{12}", 10) < MathText.MeasureWidth("x12", 10));
        Assert.True(TextMetrics.Width("W", 10) > TextMetrics.Width("i", 10) * 3);
    }
}

public class ChartRenderingTests
{
    private static XDocument Render(Chart c) => Parse(c.ToSvg("t"));

    [Fact]
    public void A_known_series_maps_to_the_expected_pixel_coordinates()
    {
        var c = Chart.Create(null, "x", "y");
        c.X.WithRange(0, 10);
        c.Y.WithRange(0, 10);
        c.AddLine("diag", new double[] { 0, 5, 10 }, new double[] { 0, 5, 10 });
        c.AddLine("flat", new double[] { 2, 8 }, new double[] { 7.5, 7.5 });
        var doc = Render(c);
        var plot = Rect(doc.WithClass("plot-area").Single());
        var paths = doc.WithClass("series-line").ToDictionary(e => (string)e.Attribute("data-label")!, e => Subpaths((string)e.Attribute("d")!));
        var diag = Assert.Single(paths["diag"]);
        Assert.Equal(3, diag.Count);
        Assert.Equal(plot.X, diag[0].X, 0.01); Assert.Equal(plot.Bottom, diag[0].Y, 0.01);
        Assert.Equal(plot.X + plot.Width / 2, diag[1].X, 0.01); Assert.Equal(plot.Y + plot.Height / 2, diag[1].Y, 0.01);
        Assert.Equal(plot.Right, diag[2].X, 0.01); Assert.Equal(plot.Y, diag[2].Y, 0.01);
        var flat = Assert.Single(paths["flat"]);
        Assert.Equal(plot.X + 0.2 * plot.Width, flat[0].X, 0.01);
        Assert.Equal(plot.Bottom - 0.75 * plot.Height, flat[1].Y, 0.01);
    }

    [Fact]
    public void Log_axis_positions_are_logarithmic()
    {
        var c = Chart.Create(null, "x", "y", AxisScale.Log, AxisScale.Log);
        c.X.WithRange(1e-3, 1e1);
        c.Y.WithRange(1, 1e4);
        c.AddLine("p", new[] { 1e-3, 1e-1, 1e1 }, new[] { 1.0, 100, 1e4 });
        var doc = Render(c);
        var plot = Rect(doc.WithClass("plot-area").Single());
        var pts = Assert.Single(Subpaths((string)doc.WithClass("series-line").Single().Attribute("d")!));
        Assert.Equal(plot.X + plot.Width / 2, pts[1].X, 0.01);
        Assert.Equal(plot.Y + plot.Height / 2, pts[1].Y, 0.01);
    }

    [Fact]
    public void NaN_and_infinite_points_break_the_line_and_leave_a_warning()
    {
        var x = Enumerable.Range(0, 10).Select(i => (double)i).ToArray();
        var y = x.Select(v => v * v).ToArray();
        y[3] = double.NaN;
        y[6] = double.PositiveInfinity;
        var c = Chart.Create("nan", "x", "y");
        c.AddLine("quad", x, y);
        string svg = c.ToSvg("t");
        var doc = Parse(svg);
        var sub = Subpaths((string)doc.WithClass("series-line").Single().Attribute("d")!);
        Assert.Equal(new[] { 3, 2, 3 }, sub.Select(s => s.Count).ToArray());
        Assert.DoesNotContain("NaN", svg);
        Assert.DoesNotContain("Infinity", svg);
        var w = Assert.Single(c.Warnings);
        Assert.Contains("'quad'", w);
        Assert.Contains("2 point(s) with NaN/∞", w);
    }

    [Fact]
    public void Non_positive_points_on_a_log_axis_are_skipped_with_a_warning()
    {
        var c = Chart.Create(null, "x", "y", yScale: AxisScale.Log);
        c.AddLine("l", new double[] { 0, 1, 2, 3 }, new double[] { -1, 0, 1, 10 });
        c.AddPoints("p", new double[] { 0, 1 }, new double[] { -5, 3 }, new double[] { 1, 4 }); // second error bar reaches below 0
        var doc = Render(c);
        Assert.Equal(2, Subpaths((string)doc.WithClass("series-line").Single().Attribute("d")!).Single().Count);
        Assert.Single(doc.WithClass("series-points").Single().Elements());
        Assert.Contains(c.Warnings, w => w.Contains("'l'") && w.Contains("2 point(s) ≤ 0"));
        Assert.Contains(c.Warnings, w => w.Contains("'p'") && w.Contains("1 point(s) ≤ 0"));
        // The error bar that reaches below zero is drawn to the bottom edge, not dropped.
        var plot = Rect(doc.WithClass("plot-area").Single());
        var bar = doc.WithClass("error-bars").Single().Elements().First();
        Assert.True(Math.Max(bar.D("y1"), bar.D("y2")) > plot.Bottom);
    }

    [Fact]
    public void An_empty_series_renders_nothing_but_keeps_its_legend_entry()
    {
        var c = Chart.Create("empty", "x", "y", AxisScale.Log, AxisScale.Log);
        c.AddLine("nothing", Array.Empty<double>(), Array.Empty<double>());
        c.AddMeanBand("also nothing", Array.Empty<double>(), Array.Empty<double>(), Array.Empty<double>());
        var doc = Render(c);
        Assert.Empty(doc.WithClass("series-line"));
        Assert.Empty(doc.WithClass("series-band"));
        var labels = doc.WithClass("legend-label").Select(e => e.Value).ToList();
        Assert.Equal(new[] { "nothing", "also nothing" }, labels);
        Assert.Empty(c.Warnings);
        Assert.NotEmpty(doc.WithClass("tick-label"));
    }

    [Fact]
    public void The_automatic_legend_goes_to_a_free_corner_and_covers_no_data()
    {
        var c = Chart.Create("corner", "x", "y");
        var x = Enumerable.Range(0, 50).Select(i => i / 49.0).ToArray();
        c.AddLine("falls", x, x.Select(v => 1 - v).ToArray());     // passes top-left and bottom-right
        c.AddLine("low", x, x.Select(v => 0.1 * v).ToArray());     // along the bottom
        var doc = Render(c);
        var legend = doc.WithClass("legend").Single();
        var box = Rect(doc.WithClass("legend-box").Single());
        var plot = Rect(doc.WithClass("plot-area").Single());
        Assert.Equal("top-right", (string)legend.Attribute("data-placement")!);
        Assert.True(box.X >= plot.X && box.Right <= plot.Right && box.Y >= plot.Y && box.Bottom <= plot.Bottom);
        foreach (var path in doc.WithClass("series-line"))
            foreach (var sub in Subpaths((string)path.Attribute("d")!))
                for (int i = 1; i < sub.Count; i++)
                    Assert.False(SegmentTouches(sub[i - 1], sub[i], box), $"legend covers series {(string)path.Attribute("data-label")!}");
    }

    [Fact]
    public void When_no_corner_is_free_the_legend_moves_outside_the_plot_area_and_stays_on_the_canvas()
    {
        var c = Chart.Create("full", "x", "y");
        var x = Enumerable.Range(0, 400).Select(i => i / 399.0).ToArray();
        c.AddLine("zigzag", x, x.Select((v, i) => i % 2 == 0 ? 0.0 : 1.0).ToArray());
        c.AddLine("a longer legend label", x, x);
        var doc = Render(c);
        var box = Rect(doc.WithClass("legend-box").Single());
        var plot = Rect(doc.WithClass("plot-area").Single());
        var root = doc.Root!;
        Assert.Equal("outside-right", (string)doc.WithClass("legend").Single().Attribute("data-placement")!);
        Assert.False(box.Intersects(plot));
        Assert.True(box.Right <= root.D("width") && box.Bottom <= root.D("height"));
        // Legend labels fit in their box by the width table.
        foreach (var t in doc.WithClass("legend-label"))
            Assert.True(t.D("x") + TextMetrics.Width(t.Value, SvgRenderer.LegendFont) <= box.Right + 0.5);
    }

    [Fact]
    public void Panel_grid_legends_and_labels_stay_clear_of_every_plot_area()
    {
        var g = new PanelGrid(2, 2) { Title = "grid", ShareX = AxisSharing.Column, ShareY = AxisSharing.Row };
        var x = Enumerable.Range(0, 200).Select(i => i / 199.0).ToArray();
        for (int r = 0; r < 2; r++)
            for (int col = 0; col < 2; col++)
            {
                var c = Chart.Create($"panel {r}{col}", "\\nu_0", "loss", yScale: AxisScale.Log);
                c.AddLine("dense", x, x.Select((v, i) => i % 2 == 0 ? 1e-3 : 1.0).ToArray());
                c.AddLine("LRU", x, x.Select(v => 0.01 + v).ToArray());
                g[r, col] = c;
            }
        var doc = Parse(g.ToSvg("g"));
        var plots = doc.WithClass("plot-area").Select(Rect).ToList();
        Assert.Equal(4, plots.Count);
        foreach (var box in doc.WithClass("legend-box").Select(Rect))
            Assert.DoesNotContain(plots, p => p.Intersects(box));
        // Aligned: the two columns' plots share top and bottom; the two rows' plots share left and right.
        Assert.Equal(plots[0].Y, plots[1].Y, 6);
        Assert.Equal(plots[0].X, plots[2].X, 6);
        // Shared x: only the bottom row has x tick labels; shared y: only the left column has y tick labels.
        var panels = doc.WithClass("panel").ToList();
        Assert.DoesNotContain(panels[0].Descendants(), e => (string?)e.Attribute("class") == "tick-label x");
        Assert.Contains(panels[2].Descendants(), e => (string?)e.Attribute("class") == "tick-label x");
        Assert.DoesNotContain(panels[1].Descendants(), e => (string?)e.Attribute("class") == "tick-label y");
        Assert.Equal(new[] { "(a)", "(b)", "(c)", "(d)" }, doc.WithClass("panel-letter").Select(e => e.Value).ToArray());
    }

    [Fact]
    public void Matrices_keep_square_cells_and_long_titles_stay_on_the_canvas()
    {
        var g = new PanelGrid(1, 2) { Width = 900, Height = 300 };
        g[0, 0] = Chart.Matrix(new double[3, 5], "a 3 × 5 matrix");
        g[0, 1] = Chart.Create("An unusually long title that would not fit over a narrow panel of a wide figure at all", "x", "y");
        var doc = Parse(g.ToSvg("m"));
        var plot = Rect(doc.WithClass("plot-area").First());
        Assert.Equal(5.0 / 3.0, plot.Width / plot.Height, 3);
        double canvas = doc.Root!.D("width");
        foreach (var t in doc.WithClass("panel-title"))
        {
            double size = t.D("font-size"), w = TextMetrics.Width(t.Value, size), x = t.D("x");
            double left = (string)t.Attribute("text-anchor")! == "middle" ? x - w / 2 : x;
            Assert.True(left >= 0 && left + w <= canvas, $"title '{t.Value}' spans {left:F0}…{left + w:F0} of {canvas}");
        }
    }

    [Fact]
    public void Symlog_colour_mapping_is_centred_antisymmetric_and_gives_each_decade_equal_room()
    {
        var s = (SymLogColorScale)ColorScale.SymLog(1e4, 1);
        Assert.Equal(0.5, s.Map(0));
        Assert.Equal(1, s.Map(1e4));
        Assert.Equal(0, s.Map(-1e4));
        Assert.Equal(0.5 + 0.5 * 1 / 5.0, s.Map(1), 12);   // f(c) = 1, f(max) = 1 + 4
        Assert.Equal(0.5 + 0.5 * 0.5 / 5.0, s.Map(0.5), 12); // linear inside ±c
        Assert.Equal(s.Map(10) - s.Map(1), s.Map(1000) - s.Map(100), 12);
        double prev = -1;
        for (double v = -2e4; v <= 2e4; v += 37.3)
        {
            double t = s.Map(v);
            Assert.Equal(1 - t, s.Map(-v), 12);
            Assert.True(t >= prev);
            prev = t;
        }
        Assert.True(double.IsNaN(s.Map(double.NaN)));
        var ticks = s.Ticks(9);
        Assert.Contains(ticks, t => t.Value == 0);
        Assert.Equal(ticks.Select(t => -t.Value).Reverse().ToArray(), ticks.Select(t => t.Value).ToArray());
        Assert.Throws<ArgumentException>(() => ColorScale.SymLog(1, 2));
    }

    [Fact]
    public void A_symlog_matrix_heatmap_colours_zero_white_and_the_extremes_with_the_map_ends()
    {
        var m = new double[,] { { 1e4, 0 }, { -1e4, 3 } };
        var c = Chart.Matrix(m, "H", symLog: true);
        var doc = Render(c);
        var cells = doc.WithClass("heatmap").Single().Elements().ToList();
        Assert.Equal(4, cells.Count);
        var fill = cells.Select(e => (string)e.Attribute("fill")!).ToArray();
        Assert.Equal(ColorMap.Diverging.At(1).ToHex(), fill[0]);
        Assert.Equal(ColorMap.Diverging.At(0.5).ToHex(), fill[1]);
        Assert.Equal("#f7f7f7", fill[1]);
        Assert.Equal(ColorMap.Diverging.At(0).ToHex(), fill[2]);
        // Row 0 is at the top (reversed y) and columns run left to right.
        Assert.True(cells[0].D("y") < cells[2].D("y"));
        Assert.True(cells[0].D("x") < cells[1].D("x"));
        Assert.NotEmpty(doc.WithClass("colorbar"));
    }

    [Fact]
    public void A_large_heatmap_is_embedded_as_one_png_image()
    {
        int n = 100;
        var xs = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        var z = new double[n, n];
        for (int j = 0; j < n; j++) for (int i = 0; i < n; i++) z[j, i] = i + j;
        z[5, 5] = double.NaN;
        var c = Chart.Create("big", "x", "y");
        c.AddHeatmap(xs, xs, z, ColorMap.Sequential);
        var doc = Render(c);
        var img = doc.Descendants(Ns + "image").Single();
        string href = (string)img.Attribute("href")!;
        Assert.StartsWith("data:image/png;base64,", href);
        var png = Convert.FromBase64String(href["data:image/png;base64,".Length..]);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        Assert.Equal(n, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(n, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Contains(c.Warnings, w => w.Contains("1 cell(s) with NaN/∞"));
    }

    [Fact]
    public void Every_figure_kind_renders_well_formed_svg_with_prefixed_ids()
    {
        foreach (var (name, grid) in SampleFigures.All())
        {
            string svg = grid.ToSvg("pre-" + name);
            var doc = Parse(svg);
            var ids = doc.Descendants().Select(e => (string?)e.Attribute("id")).Where(id => id is not null).ToList();
            Assert.All(ids, id => Assert.StartsWith("pre-" + name + "-", id));
            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.DoesNotContain("NaN", svg);
            Assert.Equal(svg, grid.ToSvg("pre-" + name)); // deterministic
        }
    }
}

public class ContourTests
{
    private static (double[] X, double[] Y, double[,] Z) Grid(int n, double lo, double hi, Func<double, double, double> f)
    {
        var x = Enumerable.Range(0, n).Select(i => lo + (hi - lo) * i / (n - 1)).ToArray();
        var z = new double[n, n];
        for (int j = 0; j < n; j++) for (int i = 0; i < n; i++) z[j, i] = f(x[i], x[j]);
        return (x, x, z);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.25)]
    [InlineData(0.3)]
    public void Contours_of_x2_plus_y2_are_single_closed_circles(double level)
    {
        var (x, y, z) = Grid(81, -2, 2, (a, b) => a * a + b * b);
        var line = Assert.Single(Contours.Extract(x, y, z, level));
        Assert.True(line.Closed);
        Assert.True(line.X.Length > 20);
        double r = Math.Sqrt(level), h = 4.0 / 80;
        for (int i = 0; i < line.X.Length; i++)
            Assert.InRange(Math.Sqrt(line.X[i] * line.X[i] + line.Y[i] * line.Y[i]) - r, -h * h / r, h * h / r);
        // The loop goes around: angles cover the full circle.
        var angles = line.X.Select((v, i) => Math.Atan2(line.Y[i], v)).OrderBy(a => a).ToArray();
        Assert.True(angles[0] < -3 && angles[^1] > 3);
        Assert.True(angles.Zip(angles.Skip(1), (a, b) => b - a).Max() < 0.2);
    }

    [Fact]
    public void An_open_contour_runs_from_border_to_border_and_levels_outside_the_range_give_nothing()
    {
        var (x, y, z) = Grid(21, -1, 1, (a, b) => a);
        var line = Assert.Single(Contours.Extract(x, y, z, 0.35));
        Assert.False(line.Closed);
        Assert.All(line.X, v => Assert.Equal(0.35, v, 12));
        Assert.Equal(new[] { -1.0, 1.0 }, new[] { line.Y.Min(), line.Y.Max() });
        Assert.Empty(Contours.Extract(x, y, z, 5));
        // Two wells of (x² − 1)² + y²: two separate loops.
        var (x2, y2, z2) = Grid(41, -2, 2, (a, b) => (a * a - 1) * (a * a - 1) + b * b);
        var wells = Contours.Extract(x2, y2, z2, 0.2);
        Assert.Equal(2, wells.Count);
        Assert.All(wells, w => Assert.True(w.Closed));
        Assert.Equal(new[] { -1.0, 1.0 }, wells.Select(w => Math.Round(w.X.Average())).OrderBy(v => v).ToArray());
    }

    [Fact]
    public void Log_levels_are_round_values()
    {
        Assert.Equal(new[] { 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1 }, Contours.LogLevels(0.01, 1, 8));
        Assert.Equal(new[] { 1e-4, 3e-4, 1e-3, 3e-3, 1e-2 }, Contours.LogLevels(1e-4, 1e-2, 6).Select(v => Math.Round(v, 10)).ToArray());
        Assert.All(Contours.LogLevels(1e-9, 1e3, 5), v => Assert.Equal(Math.Round(Math.Log10(v)), Math.Log10(v), 9));
    }
}
