using System.Globalization;
using System.Text;

namespace MemoryLab.Reporting.Charts;

/// <summary>
/// Lays out and draws a <see cref="PanelGrid"/> as SVG. Layout uses estimated text widths
/// (<see cref="TextMetrics"/>): margins are sized from the tick labels, axis labels, titles, colour bars and
/// outside legends, then aligned across rows and columns; tick density is reduced until labels do not collide.
/// Elements carry classes (<c>plot-area</c>, <c>series-line</c>, <c>legend-box</c> …) so tests and CSS can find them.
/// </summary>
internal static class SvgRenderer
{
    /// <summary>Tick-label font size in px.</summary>
    public const double TickFont = 11;
    /// <summary>Axis-label font size in px.</summary>
    public const double LabelFont = 13;
    /// <summary>Panel-title font size in px.</summary>
    public const double TitleFont = 13.5;
    /// <summary>Legend font size in px.</summary>
    public const double LegendFont = 11;
    /// <summary>Figure-title font size in px.</summary>
    public const double FigureTitleFont = 15;

    private const double TickLen = 4.5, MinorTickLen = 2.5, TickGap = 3, Pad = 6;
    private const double SwatchWidth = 26, LegendPad = 6, LegendRow = LegendFont * 1.6;
    private const double ColorBarWidth = 12, ColorBarGap = 12;
    private const int PngCellThreshold = 4096;
    private const string AxisColor = "#222222", GridColor = "#e6e6e6", TextColor = "#1a1a1a", NaNColor = "#d0d0d0";

    private sealed class Panel
    {
        public required Chart Chart;
        public int Row, Col, Index;
        public PixelRect Cell, Plot;
        public double XMin, XMax, YMin, YMax;
        public bool ShowXTickLabels = true, ShowYTickLabels = true, ShowXLabel = true, ShowYLabel = true;
        public bool LegendOutside, HasLegend;
        public LegendPosition Placement;
        public PixelRect LegendBox;
        public List<PlotLayer> LegendEntries = new();
        public AxisTicks XTicks = new([], []), YTicks = new([], []);
        public HeatmapLayer? ColorBar;
        public double NeedLeft, NeedRight, NeedTop, NeedBottom, ColorBarExtent;
        public string Letter = "";
        public AxisMap XMap = null!, YMap = null!;
    }

    /// <summary>Renders <paramref name="grid"/> as a standalone SVG document; all ids start with <paramref name="idPrefix"/>.</summary>
    public static string Render(PanelGrid grid, string idPrefix)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentException.ThrowIfNullOrWhiteSpace(idPrefix);
        if (!idPrefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') || !char.IsAsciiLetter(idPrefix[0]))
            throw new ArgumentException($"id prefix '{idPrefix}' must start with a letter and hold only letters, digits, '-' and '_'", nameof(idPrefix));

        var panels = new List<Panel>();
        int index = 0;
        foreach (var (r, c, chart) in grid.Panels())
        {
            chart.ClearWarnings();
            panels.Add(new Panel { Chart = chart, Row = r, Col = c, Index = index++ });
        }
        bool letters = grid.PanelLabels && panels.Count > 1;
        foreach (var p in panels) p.Letter = letters ? "(" + (char)('a' + p.Index) + ")" : "";

        // Shared legend entries (distinct labels in reading order).
        var shared = new List<PlotLayer>();
        if (grid.SharedLegend)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in panels)
                foreach (var l in p.Chart.Layers)
                    if (l.Label is not null && l.ShowInLegend && seen.Add(l.Label)) shared.Add(l);
        }
        double sharedW = shared.Count > 0 ? LegendSize(shared).W + 2 * Pad + 4 : 0;

        double titleH = grid.Title is null ? 0 : FigureTitleFont * 1.9;
        double width = grid.Width ?? (grid.Rows == 1 && grid.Columns == 1 && panels.Count == 1 ? panels[0].Chart.Width : 360 * grid.Columns) + (grid.Width is null ? sharedW : 0);
        double height = grid.Height ?? (grid.Rows == 1 && grid.Columns == 1 && panels.Count == 1 ? panels[0].Chart.Height : 280 * grid.Rows + titleH);
        if (!(width >= 50) || !(height >= 50) || !double.IsFinite(width) || !double.IsFinite(height))
            throw new ArgumentException($"figure size {width} × {height} px is too small (need ≥ 50 × 50)");

        // Ranges, then sharing.
        foreach (var p in panels)
        {
            (p.XMin, p.XMax) = ResolveRange(p.Chart, p.Chart.X, isX: true);
            (p.YMin, p.YMax) = ResolveRange(p.Chart, p.Chart.Y, isX: false);
        }
        ShareRanges(panels, grid.ShareX, isX: true);
        ShareRanges(panels, grid.ShareY, isX: false);
        foreach (var p in panels)
        {
            if ((grid.ShareX is AxisSharing.Column or AxisSharing.All) && panels.Any(q => q.Col == p.Col && q.Row > p.Row))
                p.ShowXTickLabels = p.ShowXLabel = false;
            var leftNeighbour = panels.Where(q => q.Row == p.Row && q.Col < p.Col).OrderByDescending(q => q.Col).FirstOrDefault();
            if ((grid.ShareY is AxisSharing.Row or AxisSharing.All) && leftNeighbour is not null)
            {
                p.ShowYTickLabels = false;
                // A different quantity on the same scale keeps its label.
                p.ShowYLabel = p.Chart.Y.Label != leftNeighbour.Chart.Y.Label;
            }
            if (p.Chart.X.HideTickLabels) p.ShowXTickLabels = false;
            if (p.Chart.Y.HideTickLabels) p.ShowYTickLabels = false;
            p.ColorBar = p.Chart.Layers.OfType<HeatmapLayer>().LastOrDefault(h => h.ShowColorBar);
            p.LegendEntries = p.Chart.Layers.Where(l => l.Label is not null && l.ShowInLegend).ToList();
            p.HasLegend = !grid.SharedLegend && p.Chart.Legend != LegendPosition.None && p.LegendEntries.Count > 0;
            p.Placement = p.Chart.Legend;
            p.LegendOutside = p.HasLegend && p.Chart.Legend == LegendPosition.OutsideRight;
        }

        // Cells.
        double cellW = (width - sharedW) / grid.Columns, cellH = (height - titleH) / grid.Rows;
        foreach (var p in panels)
        {
            p.Cell = new PixelRect(p.Col * cellW, titleH + p.Row * cellH, cellW, cellH);
            p.Plot = new PixelRect(p.Cell.X + 60, p.Cell.Y + 24, Math.Max(10, cellW - 80), Math.Max(10, cellH - 70));
        }

        // Iterate: ticks from plot size → margins → aligned plot rects → legend placement.
        for (int iter = 0; iter < 8; iter++)
        {
            foreach (var p in panels) { ComputeTicks(p); ComputeMargins(p); }
            bool moved = AlignPlots(panels, grid);
            bool legendChanged = false;
            foreach (var p in panels)
            {
                p.XMap = new AxisMap(p.XMin, p.XMax, p.Chart.X.Scale == AxisScale.Log, p.Chart.X.Reversed, p.Plot.X, p.Plot.Right);
                p.YMap = new AxisMap(p.YMin, p.YMax, p.Chart.Y.Scale == AxisScale.Log, p.Chart.Y.Reversed, p.Plot.Bottom, p.Plot.Y);
            }
            if (!moved && iter > 0)
            {
                foreach (var p in panels)
                    if (p.HasLegend && !p.LegendOutside && p.Chart.Legend == LegendPosition.Auto && !PlaceInside(p))
                    {
                        p.LegendOutside = true;
                        legendChanged = true;
                    }
                if (!legendChanged) break;
            }
        }
        foreach (var p in panels) FinishLegendPlacement(p);

        // Draw.
        var sb = new StringBuilder();
        string label = grid.Title ?? panels.Select(p => p.Chart.Title).FirstOrDefault(t => t is not null) ?? "figure";
        sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"memlab-figure\" width=\"").Append(Svg.Num(width))
          .Append("\" height=\"").Append(Svg.Num(height)).Append("\" viewBox=\"0 0 ").Append(Svg.Num(width)).Append(' ').Append(Svg.Num(height))
          .Append("\" font-family=\"sans-serif\" role=\"img\" aria-label=\"").Append(Svg.Escape(MathText.Parse(label).PlainText)).Append("\">\n");
        sb.Append("<title>").Append(Svg.Escape(MathText.Parse(label).PlainText)).Append("</title>\n");
        sb.Append("<rect class=\"background\" x=\"0\" y=\"0\" width=\"").Append(Svg.Num(width)).Append("\" height=\"").Append(Svg.Num(height)).Append("\" fill=\"#ffffff\"/>\n");
        sb.Append("<defs>\n");
        foreach (var p in panels)
        {
            sb.Append("<clipPath id=\"").Append(idPrefix).Append("-clip").Append(p.Index).Append("\"><rect x=\"").Append(Svg.Num(p.Plot.X))
              .Append("\" y=\"").Append(Svg.Num(p.Plot.Y)).Append("\" width=\"").Append(Svg.Num(p.Plot.Width)).Append("\" height=\"")
              .Append(Svg.Num(p.Plot.Height)).Append("\"/></clipPath>\n");
            if (p.ColorBar is not null)
            {
                sb.Append("<linearGradient id=\"").Append(idPrefix).Append("-cbar").Append(p.Index).Append("\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
                var anchors = p.ColorBar.Map.Anchors;
                for (int i = 0; i < anchors.Count; i++)
                    sb.Append("<stop offset=\"").Append(Svg.Num(i / (double)(anchors.Count - 1))).Append("\" stop-color=\"").Append(anchors[i].ToHex()).Append("\"/>");
                sb.Append("</linearGradient>\n");
            }
        }
        sb.Append("</defs>\n");

        foreach (var p in panels) DrawPanel(sb, p, idPrefix);

        if (grid.Title is not null)
        {
            double tw = MathText.MeasureWidth(grid.Title, FigureTitleFont, bold: true);
            double size = tw > width - 12 ? Math.Max(9, FigureTitleFont * (width - 12) / tw) : FigureTitleFont;
            Text(sb, width / 2, FigureTitleFont * 1.3, grid.Title, size, "middle", "figure-title", bold: true);
        }
        if (shared.Count > 0)
        {
            var size = LegendSize(shared);
            double top = titleH + Math.Max(Pad, panels.Count > 0 ? panels.Min(p => p.Plot.Y) - titleH : Pad);
            DrawLegend(sb, shared, new PixelRect(width - sharedW + Pad, top, size.W, size.H), "shared");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    // ---------------------------------------------------------------- ranges

    private static (double Min, double Max) ResolveRange(Chart chart, Axis axis, bool isX)
    {
        bool log = axis.Scale == AxisScale.Log;
        if (log && axis.Min is double m0 && m0 <= 0) throw new ArgumentException($"log axis '{axis.Label}' has a non-positive minimum {m0}");
        if (log && axis.Max is double m1 && m1 <= 0) throw new ArgumentException($"log axis '{axis.Label}' has a non-positive maximum {m1}");
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        bool tight = false;
        foreach (var layer in chart.Layers)
        {
            foreach (double v in isX ? layer.XExtent() : layer.YExtent())
            {
                if (!double.IsFinite(v) || (log && v <= 0)) continue;
                lo = Math.Min(lo, v); hi = Math.Max(hi, v);
            }
            tight |= layer.Tight;
        }
        if (axis.Min is double fmin && axis.Max is double fmax) return (fmin, fmax);
        if (double.IsPositiveInfinity(lo)) { lo = log ? 1 : 0; hi = log ? 10 : 1; tight = true; }
        if (axis.Min is double a) { lo = a; hi = Math.Max(hi, a); }
        if (axis.Max is double b) { hi = b; lo = Math.Min(lo, b); }
        if (hi <= lo)
        {
            if (log) { lo /= Math.Sqrt(10); hi *= Math.Sqrt(10); }
            else { double d = lo == 0 ? 1 : Math.Abs(lo) * 0.1; lo -= d; hi += d; }
            if (axis.Min is double a2) lo = a2;
            if (axis.Max is double b2) hi = b2;
            if (hi <= lo) hi = log ? lo * 10 : lo + 1;
            return (lo, hi);
        }
        if (tight) return (lo, hi);
        const double margin = 0.04;
        if (log)
        {
            double la = Math.Log10(lo), lb = Math.Log10(hi), d = (lb - la) * margin;
            if (axis.Min is null) lo = Math.Pow(10, la - d);
            if (axis.Max is null) hi = Math.Pow(10, lb + d);
        }
        else
        {
            double d = (hi - lo) * margin;
            if (axis.Min is null) lo -= d;
            if (axis.Max is null) hi += d;
        }
        return (lo, hi);
    }

    private static void ShareRanges(List<Panel> panels, AxisSharing sharing, bool isX)
    {
        if (sharing == AxisSharing.None) return;
        foreach (var group in panels.GroupBy(p => sharing switch { AxisSharing.Row => p.Row, AxisSharing.Column => p.Col, _ => 0 }))
        {
            var list = group.ToList();
            var scales = list.Select(p => (isX ? p.Chart.X : p.Chart.Y).Scale).Distinct().Count();
            if (scales > 1) throw new ArgumentException($"panels sharing the {(isX ? "x" : "y")} axis must use the same scale (linear or log)");
            double lo = list.Min(p => isX ? p.XMin : p.YMin), hi = list.Max(p => isX ? p.XMax : p.YMax);
            foreach (var p in list)
            {
                if (isX) { p.XMin = lo; p.XMax = hi; } else { p.YMin = lo; p.YMax = hi; }
            }
        }
    }

    // ---------------------------------------------------------------- ticks and margins

    private static void ComputeTicks(Panel p)
    {
        p.XTicks = PickTicks(p.Chart.X, p.XMin, p.XMax, p.Plot.Width, horizontal: true, p.ShowXTickLabels);
        p.YTicks = PickTicks(p.Chart.Y, p.YMin, p.YMax, p.Plot.Height, horizontal: false, p.ShowYTickLabels);
    }

    private static AxisTicks PickTicks(Axis axis, double min, double max, double length, bool horizontal, bool labelled)
    {
        if (axis.CustomTicks is not null)
            return new AxisTicks(axis.CustomTicks.Where(t => t.Value >= Math.Min(min, max) && t.Value <= Math.Max(min, max)).OrderBy(t => t.Value).ToList(), []);
        bool log = axis.Scale == AxisScale.Log;
        int most = horizontal ? (int)Math.Clamp(length / 42, 2, 10) : (int)Math.Clamp(length / (TickFont * 2.6), 2, 10);
        AxisTicks? ticks = null;
        for (int n = most; n >= 2; n--)
        {
            ticks = log ? TickGenerator.Log(min, max, n) : TickGenerator.Linear(min, max, n);
            if (!labelled || LabelsFit(ticks, min, max, log, length, horizontal)) return ticks;
        }
        return ticks!;
    }

    private static bool LabelsFit(AxisTicks ticks, double min, double max, bool log, double length, bool horizontal)
    {
        var map = new AxisMap(min, max, log, false, 0, length);
        for (int i = 1; i < ticks.Major.Count; i++)
        {
            double gap = Math.Abs(map.ToPixel(ticks.Major[i].Value) - map.ToPixel(ticks.Major[i - 1].Value));
            double need = horizontal
                ? 0.5 * (LabelWidth(ticks.Major[i].Label) + LabelWidth(ticks.Major[i - 1].Label)) + 10
                : TickFont * 1.7;
            if (gap < need) return false;
        }
        return true;
    }

    private static double LabelWidth(string markup) => MathText.MeasureWidth(markup, TickFont);

    private static double LabelHeight(IEnumerable<Tick> ticks)
        => TickFont * (ticks.Any(t => MathText.Parse(t.Label).Runs.Any(r => r.Shift == ScriptShift.Superscript)) ? 1.25 : 0.95);

    private static void ComputeMargins(Panel p)
    {
        var chart = p.Chart;
        double yTickW = p.ShowYTickLabels && p.YTicks.Major.Count > 0 ? p.YTicks.Major.Max(t => LabelWidth(t.Label)) : 0;
        double left = Pad + TickLen + (yTickW > 0 ? yTickW + TickGap : 0) + (p.ShowYLabel && chart.Y.Label is not null ? LabelFont * 1.25 + 4 : 0);
        double bottom = Pad + TickLen + (p.ShowXTickLabels && p.XTicks.Major.Count > 0 ? TickGap + LabelHeight(p.XTicks.Major) : 0)
                        + (p.ShowXLabel && chart.X.Label is not null ? LabelFont * 1.45 + 2 : 0);
        bool hasTitle = chart.Title is not null || p.Letter.Length > 0;
        double top = Pad + (hasTitle ? TitleFont * 1.45 : 0) + TickFont * 0.55;
        double right = 10;
        if (p.ShowXTickLabels && p.XTicks.Major.Count > 0)
        {
            // Half of an end label may hang past the plot edge.
            var map = new AxisMap(p.XMin, p.XMax, chart.X.Scale == AxisScale.Log, chart.X.Reversed, 0, p.Plot.Width);
            foreach (var t in p.XTicks.Major)
            {
                double px = map.ToPixel(t.Value), w = LabelWidth(t.Label) / 2;
                right = Math.Max(right, px + w - p.Plot.Width + 3);
                left = Math.Max(left, w - px + 3);
            }
        }
        if (p.ColorBar is not null)
        {
            var scale = p.ColorBar.ResolveScale();
            double w = scale.Ticks(ColorBarTickCount(p.Plot.Height)).Select(t => LabelWidth(t.Label)).DefaultIfEmpty(0).Max();
            p.ColorBarExtent = ColorBarGap + ColorBarWidth + TickLen + TickGap + w + (p.ColorBar.ColorBarLabel is not null ? 6 + LabelFont * 1.3 : 0);
            right += p.ColorBarExtent;
        }
        if (p.HasLegend && p.LegendOutside) right += 12 + LegendSize(p.LegendEntries).W;
        p.NeedLeft = left; p.NeedRight = right; p.NeedTop = top; p.NeedBottom = bottom;
    }

    private static int ColorBarTickCount(double height) => (int)Math.Clamp(height / (TickFont * 2.6), 3, 9);

    private static bool AlignPlots(List<Panel> panels, PanelGrid grid)
    {
        bool moved = false;
        foreach (var p in panels)
        {
            double left = panels.Where(q => q.Col == p.Col).Max(q => q.NeedLeft);
            double right = panels.Where(q => q.Col == p.Col).Max(q => q.NeedRight);
            double top = panels.Where(q => q.Row == p.Row).Max(q => q.NeedTop);
            double bottom = panels.Where(q => q.Row == p.Row).Max(q => q.NeedBottom);
            var plot = new PixelRect(p.Cell.X + left, p.Cell.Y + top, Math.Max(10, p.Cell.Width - left - right), Math.Max(10, p.Cell.Height - top - bottom));
            if (p.Chart.EqualAspect && p.Chart.X.Scale == AxisScale.Linear && p.Chart.Y.Scale == AxisScale.Linear)
            {
                // Keep one data unit the same length on both axes; the plot is centred in the freed width, or top-aligned.
                double ratio = (p.XMax - p.XMin) / (p.YMax - p.YMin);
                if (plot.Width / plot.Height > ratio) plot = plot with { X = plot.X + (plot.Width - plot.Height * ratio) / 2, Width = plot.Height * ratio };
                else plot = plot with { Height = plot.Width / ratio };
            }
            if (Math.Abs(plot.X - p.Plot.X) > 0.25 || Math.Abs(plot.Y - p.Plot.Y) > 0.25 || Math.Abs(plot.Width - p.Plot.Width) > 0.25 || Math.Abs(plot.Height - p.Plot.Height) > 0.25)
                moved = true;
            p.Plot = plot;
        }
        return moved;
    }

    // ---------------------------------------------------------------- legend placement

    private static (double W, double H) LegendSize(IReadOnlyList<PlotLayer> entries)
    {
        double textW = entries.Select(l => MathText.MeasureWidth(l.Label!, LegendFont)).DefaultIfEmpty(0).Max();
        return (LegendPad * 2 + SwatchWidth + 6 + textW + 2, LegendPad * 2 + entries.Count * LegendRow - (LegendRow - LegendFont * 1.3));
    }

    private static IEnumerable<(LegendPosition Pos, PixelRect Box)> Corners(Panel p)
    {
        var (w, h) = LegendSize(p.LegendEntries);
        const double inset = 6;
        var r = p.Plot;
        yield return (LegendPosition.TopRight, new PixelRect(r.Right - inset - w, r.Y + inset, w, h));
        yield return (LegendPosition.TopLeft, new PixelRect(r.X + inset, r.Y + inset, w, h));
        yield return (LegendPosition.BottomLeft, new PixelRect(r.X + inset, r.Bottom - inset - h, w, h));
        yield return (LegendPosition.BottomRight, new PixelRect(r.Right - inset - w, r.Bottom - inset - h, w, h));
    }

    private static bool PlaceInside(Panel p)
    {
        var geometry = new DataGeometry();
        DrawLayers(new StringBuilder(), p, geometry, warn: false);
        foreach (var (pos, box) in Corners(p))
        {
            if (box.Width > p.Plot.Width - 12 || box.Height > p.Plot.Height - 12) return false;
            if (!geometry.Intersects(box.Inflate(2))) { p.Placement = pos; p.LegendBox = box; return true; }
        }
        return false;
    }

    private static void FinishLegendPlacement(Panel p)
    {
        if (!p.HasLegend) return;
        var (w, h) = LegendSize(p.LegendEntries);
        if (p.LegendOutside)
        {
            p.Placement = LegendPosition.OutsideRight;
            double x = p.Plot.Right + (p.ColorBar is not null ? p.ColorBarExtent : 0) + 12;
            p.LegendBox = new PixelRect(x, p.Plot.Y, w, h);
            return;
        }
        if (p.Chart.Legend == LegendPosition.Auto)
        {
            if (!PlaceInside(p)) { p.Placement = LegendPosition.OutsideRight; p.LegendBox = new PixelRect(p.Plot.Right + (p.ColorBar is not null ? p.ColorBarExtent : 0) + 12, p.Plot.Y, w, h); }
            return;
        }
        var (pos, box) = Corners(p).First(c => c.Pos == p.Chart.Legend);
        p.Placement = pos; p.LegendBox = box;
        var geometry = new DataGeometry();
        DrawLayers(new StringBuilder(), p, geometry, warn: false);
        if (geometry.Intersects(box.Inflate(2))) p.Chart.Warn($"legend placed {pos} covers data; use LegendPosition.Auto or OutsideRight");
    }

    // ---------------------------------------------------------------- drawing

    private static void DrawPanel(StringBuilder sb, Panel p, string idPrefix)
    {
        var chart = p.Chart;
        var plot = p.Plot;
        sb.Append("<g class=\"panel\" data-panel=\"").Append(p.Index).Append("\">\n");
        sb.Append("<rect class=\"plot-area\" x=\"").Append(Svg.Num(plot.X)).Append("\" y=\"").Append(Svg.Num(plot.Y)).Append("\" width=\"")
          .Append(Svg.Num(plot.Width)).Append("\" height=\"").Append(Svg.Num(plot.Height)).Append("\" fill=\"#ffffff\"/>\n");

        if (chart.Grid)
        {
            sb.Append("<g class=\"grid\" stroke=\"").Append(GridColor).Append("\" stroke-width=\"0.8\">");
            foreach (var t in p.XTicks.Major) { double x = p.XMap.ToPixel(t.Value); Line(sb, x, plot.Y, x, plot.Bottom); }
            foreach (var t in p.YTicks.Major) { double y = p.YMap.ToPixel(t.Value); Line(sb, plot.X, y, plot.Right, y); }
            sb.Append("</g>\n");
        }

        sb.Append("<g class=\"data\" clip-path=\"url(#").Append(idPrefix).Append("-clip").Append(p.Index).Append(")\">\n");
        DrawLayers(sb, p, new DataGeometry(), warn: true);
        sb.Append("</g>\n");

        // Frame and ticks.
        sb.Append("<rect class=\"plot-frame\" x=\"").Append(Svg.Num(plot.X)).Append("\" y=\"").Append(Svg.Num(plot.Y)).Append("\" width=\"")
          .Append(Svg.Num(plot.Width)).Append("\" height=\"").Append(Svg.Num(plot.Height)).Append("\" fill=\"none\" stroke=\"").Append(AxisColor).Append("\" stroke-width=\"0.9\"/>\n");
        sb.Append("<g class=\"ticks\" stroke=\"").Append(AxisColor).Append("\" stroke-width=\"0.8\">");
        foreach (var t in p.XTicks.Major) { double x = p.XMap.ToPixel(t.Value); Line(sb, x, plot.Bottom, x, plot.Bottom + TickLen); }
        foreach (double v in p.XTicks.Minor) { double x = p.XMap.ToPixel(v); Line(sb, x, plot.Bottom, x, plot.Bottom + MinorTickLen); }
        foreach (var t in p.YTicks.Major) { double y = p.YMap.ToPixel(t.Value); Line(sb, plot.X - TickLen, y, plot.X, y); }
        foreach (double v in p.YTicks.Minor) { double y = p.YMap.ToPixel(v); Line(sb, plot.X - MinorTickLen, y, plot.X, y); }
        sb.Append("</g>\n");

        double xLabelBaseline = plot.Bottom + TickLen + TickGap + TickFont * 0.8;
        if (p.ShowXTickLabels)
        {
            if (p.XTicks.Major.Any(t => MathText.Parse(t.Label).Runs.Any(r => r.Shift == ScriptShift.Superscript))) xLabelBaseline += TickFont * 0.3;
            foreach (var t in p.XTicks.Major)
                Text(sb, p.XMap.ToPixel(t.Value), xLabelBaseline, t.Label, TickFont, "middle", "tick-label x");
        }
        double yTickW = 0;
        if (p.ShowYTickLabels)
        {
            foreach (var t in p.YTicks.Major)
            {
                Text(sb, plot.X - TickLen - TickGap, p.YMap.ToPixel(t.Value) + TickFont * 0.35, t.Label, TickFont, "end", "tick-label y");
                yTickW = Math.Max(yTickW, LabelWidth(t.Label));
            }
        }
        if (p.ShowXLabel && chart.X.Label is not null)
        {
            double y = (p.ShowXTickLabels ? xLabelBaseline + TickFont * 0.35 : plot.Bottom + TickLen) + LabelFont * 1.15;
            Text(sb, plot.X + plot.Width / 2, y, chart.X.Label, LabelFont, "middle", "axis-label x");
        }
        if (p.ShowYLabel && chart.Y.Label is not null)
        {
            double x = plot.X - TickLen - (yTickW > 0 ? yTickW + TickGap : 0) - 4 - LabelFont * 0.3;
            double y = plot.Y + plot.Height / 2;
            sb.Append("<g transform=\"translate(").Append(Svg.Num(x)).Append(',').Append(Svg.Num(y)).Append(") rotate(-90)\">");
            Text(sb, 0, 0, chart.Y.Label, LabelFont, "middle", "axis-label y");
            sb.Append("</g>\n");
        }

        // Title and panel letter.
        double titleBaseline = plot.Y - TickFont * 0.55 - TitleFont * 0.45; // same in every panel of a row
        double letterRight = p.Cell.X + Pad;
        if (p.Letter.Length > 0)
        {
            Text(sb, p.Cell.X + Pad, titleBaseline, p.Letter, TitleFont, "start", "panel-letter", bold: true);
            letterRight += TextMetrics.Width(p.Letter, TitleFont, bold: true) + 8;
        }
        if (chart.Title is not null)
        {
            // Centred over the plot when it fits there; else as far left as the letter allows; shrunk (to 9 px at
            // least) when even the panel is too narrow, so a long title is never cut off at the figure edge.
            double room = p.Cell.Right - 4 - letterRight;
            double size = TitleFont, w = MathText.MeasureWidth(chart.Title, size);
            if (w > room) { size = Math.Max(9, TitleFont * room / w); w = MathText.MeasureWidth(chart.Title, size); }
            double cx = plot.X + plot.Width / 2;
            if (cx - w / 2 >= letterRight && cx + w / 2 <= p.Cell.Right - 4) Text(sb, cx, titleBaseline, chart.Title, size, "middle", "panel-title");
            else Text(sb, letterRight, titleBaseline, chart.Title, size, "start", "panel-title");
        }

        if (p.ColorBar is not null) DrawColorBar(sb, p, idPrefix);
        if (p.HasLegend) DrawLegend(sb, p.LegendEntries, p.LegendBox, p.Placement switch
        {
            LegendPosition.OutsideRight => "outside-right",
            LegendPosition.TopRight => "top-right",
            LegendPosition.TopLeft => "top-left",
            LegendPosition.BottomLeft => "bottom-left",
            _ => "bottom-right",
        });
        sb.Append("</g>\n");
    }

    private static string ColorOf(Chart chart, PlotLayer layer)
    {
        if (layer.Color is not null) return layer.Color;
        int i = 0;
        foreach (var l in chart.Layers)
        {
            if (ReferenceEquals(l, layer)) break;
            if (l.UsesSeriesColor) i++;
        }
        return Palette.Series(i);
    }

    private static void DrawLayers(StringBuilder sb, Panel p, DataGeometry g, bool warn)
    {
        var chart = p.Chart;
        void Warn(string m) { if (warn) chart.Warn(m); }
        foreach (var layer in chart.Layers)
        {
            string color = ColorOf(chart, layer);
            string name = layer.Label is null ? "unnamed" : MathText.Parse(layer.Label).PlainText;
            switch (layer)
            {
                case HeatmapLayer h: DrawHeatmap(sb, p, h, g, Warn); break;
                case BandSeries b: DrawBand(sb, p, b, color, name, g, Warn); break;
                case ContourLayer c: DrawContours(sb, p, c, g); break;
                case ReferenceLine r:
                    {
                        var axis = r.Vertical ? p.XMap : p.YMap;
                        if (!axis.Valid(r.Value)) { Warn($"reference line at {r.Value} cannot be drawn on a log axis"); break; }
                        double v = axis.ToPixel(r.Value);
                        double x1 = r.Vertical ? v : p.Plot.X, x2 = r.Vertical ? v : p.Plot.Right;
                        double y1 = r.Vertical ? p.Plot.Y : v, y2 = r.Vertical ? p.Plot.Bottom : v;
                        sb.Append("<line class=\"reference-line\" x1=\"").Append(Svg.Num(x1)).Append("\" y1=\"").Append(Svg.Num(y1)).Append("\" x2=\"")
                          .Append(Svg.Num(x2)).Append("\" y2=\"").Append(Svg.Num(y2)).Append('"');
                        Stroke(sb, color, r.Width, r.Dash, 1);
                        sb.Append("/>\n");
                        g.Segment(x1, y1, x2, y2);
                        break;
                    }
                default: break;
            }
        }
        foreach (var layer in chart.Layers)
        {
            string color = ColorOf(chart, layer);
            string name = layer.Label is null ? "unnamed" : MathText.Parse(layer.Label).PlainText;
            switch (layer)
            {
                case LineSeries l:
                    {
                        var segs = Segments(p, l.X, l.Y, "line", name, Warn);
                        if (segs.Count == 0) break; // an empty series draws nothing (its legend entry stays)
                        sb.Append("<path class=\"series-line\" data-label=\"").Append(Svg.Escape(name)).Append("\" d=\"").Append(PathData(segs, close: false)).Append("\" fill=\"none\"");
                        Stroke(sb, color, l.Width, l.Dash, l.Opacity);
                        sb.Append(" stroke-linejoin=\"round\"/>\n");
                        AddSegments(g, segs);
                        if (l.Marker != MarkerShape.None)
                        {
                            sb.Append("<g class=\"series-markers\" data-label=\"").Append(Svg.Escape(name)).Append("\">");
                            foreach (var s in segs) foreach (var (x, y) in s) { Marker(sb, l.Marker, x, y, l.MarkerSize, color); g.Dot(x, y, l.MarkerSize + 1); }
                            sb.Append("</g>\n");
                        }
                        break;
                    }
                case ScatterSeries s: DrawScatter(sb, p, s, color, name, g, Warn); break;
                case TrajectoryLayer t:
                    {
                        var segs = Segments(p, t.X, t.Y, "trajectory", name, Warn);
                        if (segs.Count == 0) break;
                        sb.Append("<g class=\"trajectory\" data-label=\"").Append(Svg.Escape(name)).Append("\"><path d=\"").Append(PathData(segs, close: false)).Append("\" fill=\"none\"");
                        Stroke(sb, color, t.Width, LineDash.Solid, 1);
                        sb.Append(" stroke-linejoin=\"round\"/>");
                        AddSegments(g, segs);
                        var pts = segs.SelectMany(s => s).ToList();
                        if (pts.Count > 0)
                        {
                            Marker(sb, MarkerShape.OpenCircle, pts[0].X, pts[0].Y, t.MarkerSize, color, "trajectory-start");
                            Marker(sb, MarkerShape.Star, pts[^1].X, pts[^1].Y, t.MarkerSize, color, "trajectory-end");
                            g.Dot(pts[0].X, pts[0].Y, t.MarkerSize + 1);
                            g.Dot(pts[^1].X, pts[^1].Y, t.MarkerSize * 1.5 + 1);
                        }
                        sb.Append("</g>\n");
                        break;
                    }
                case TextAnnotation a:
                    {
                        if (!p.XMap.Valid(a.X) || !p.YMap.Valid(a.Y)) { Warn($"annotation '{MathText.Parse(a.Text).PlainText}' lies at a point a log axis cannot show"); break; }
                        double x = p.XMap.ToPixel(a.X), y = p.YMap.ToPixel(a.Y) + a.FontSize * 0.35;
                        Text(sb, x, y, a.Text, a.FontSize, a.Anchor, "annotation", color: color);
                        double w = MathText.MeasureWidth(a.Text, a.FontSize);
                        double x0 = a.Anchor == "middle" ? x - w / 2 : a.Anchor == "end" ? x - w : x;
                        g.Rect(new PixelRect(x0, y - a.FontSize, w, a.FontSize * 1.2));
                        break;
                    }
            }
        }
    }

    private static List<List<(double X, double Y)>> Segments(Panel p, double[] xs, double[] ys, string kind, string name, Action<string> warn)
    {
        var result = new List<List<(double, double)>>();
        var cur = new List<(double, double)>();
        int nonFinite = 0, nonPositive = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            double x = xs[i], y = ys[i];
            if (!double.IsFinite(x) || !double.IsFinite(y)) { nonFinite++; Break(); continue; }
            if ((p.XMap.Log && x <= 0) || (p.YMap.Log && y <= 0)) { nonPositive++; Break(); continue; }
            cur.Add((p.XMap.ToPixel(x), p.YMap.ToPixel(y)));
        }
        Break();
        if (nonFinite > 0) warn($"{kind} '{name}': {nonFinite} point(s) with NaN/∞ skipped (the line breaks there)");
        if (nonPositive > 0) warn($"{kind} '{name}': {nonPositive} point(s) ≤ 0 skipped on a log axis");
        return result;

        void Break()
        {
            if (cur.Count > 0) result.Add(cur);
            cur = new List<(double, double)>();
        }
    }

    private static void AddSegments(DataGeometry g, List<List<(double X, double Y)>> segs)
    {
        foreach (var s in segs)
        {
            if (s.Count == 1) g.Dot(s[0].X, s[0].Y, 1.5);
            for (int i = 1; i < s.Count; i++) g.Segment(s[i - 1].X, s[i - 1].Y, s[i].X, s[i].Y);
        }
    }

    private static string PathData(List<List<(double X, double Y)>> segs, bool close)
    {
        var sb = new StringBuilder();
        foreach (var s in segs)
        {
            for (int i = 0; i < s.Count; i++)
            {
                if (sb.Length > 0) sb.Append(' ');
                sb.Append(i == 0 ? 'M' : 'L').Append(Svg.Num(s[i].X)).Append(',').Append(Svg.Num(s[i].Y));
            }
            if (close && s.Count > 0) sb.Append(" Z");
        }
        return sb.ToString();
    }

    private static void DrawBand(StringBuilder sb, Panel p, BandSeries b, string color, string name, DataGeometry g, Action<string> warn)
    {
        var polys = new List<List<(double X, double Y)>>();
        var upper = new List<(double X, double Y)>();
        var lower = new List<(double X, double Y)>();
        int skipped = 0, clamped = 0;
        void Flush()
        {
            if (upper.Count > 0)
            {
                var poly = new List<(double, double)>(upper);
                for (int i = lower.Count - 1; i >= 0; i--) poly.Add(lower[i]);
                polys.Add(poly);
            }
            upper.Clear(); lower.Clear();
        }
        for (int i = 0; i < b.X.Length; i++)
        {
            double x = b.X[i], lo = b.Lower[i], hi = b.Upper[i];
            if (!double.IsFinite(x) || !double.IsFinite(lo) || !double.IsFinite(hi) || (p.XMap.Log && x <= 0) || (p.YMap.Log && hi <= 0)) { skipped++; Flush(); continue; }
            double px = p.XMap.ToPixel(x);
            double plo;
            if (p.YMap.Log && lo <= 0) { clamped++; plo = p.YMap.Reversed ? p.Plot.Y - 1 : p.Plot.Bottom + 1; }
            else plo = p.YMap.ToPixel(lo);
            upper.Add((px, p.YMap.ToPixel(hi)));
            lower.Add((px, plo));
        }
        Flush();
        if (skipped > 0) warn($"band '{name}': {skipped} point(s) with NaN/∞ (or ≤ 0 on a log axis) skipped");
        if (clamped > 0) warn($"band '{name}': {clamped} lower bound(s) ≤ 0 drawn to the bottom of the log axis");
        if (polys.Count == 0) return;
        sb.Append("<path class=\"series-band\" data-label=\"").Append(Svg.Escape(name)).Append("\" d=\"").Append(PathData(polys, close: true))
          .Append("\" fill=\"").Append(color).Append("\" fill-opacity=\"").Append(Svg.Num(b.Opacity)).Append("\" stroke=\"none\"/>\n");
        foreach (var poly in polys) g.Polygon(poly.SelectMany(q => new[] { q.X, q.Y }).ToArray());
    }

    private static void DrawScatter(StringBuilder sb, Panel p, ScatterSeries s, string color, string name, DataGeometry g, Action<string> warn)
    {
        int nonFinite = 0, nonPositive = 0;
        var bars = new StringBuilder();
        var marks = new StringBuilder();
        for (int i = 0; i < s.X.Length; i++)
        {
            double x = s.X[i], y = s.Y[i];
            if (!double.IsFinite(x) || !double.IsFinite(y)) { nonFinite++; continue; }
            if ((p.XMap.Log && x <= 0) || (p.YMap.Log && y <= 0)) { nonPositive++; continue; }
            double px = p.XMap.ToPixel(x), py = p.YMap.ToPixel(y);
            if (s.YErrorMinus is not null)
            {
                double lo = y - s.YErrorMinus[i], hi = y + s.YErrorPlus![i];
                if (double.IsFinite(lo) && double.IsFinite(hi))
                {
                    bool loOff = p.YMap.Log && lo <= 0;
                    double plo = loOff ? (p.YMap.Reversed ? p.Plot.Y - 1 : p.Plot.Bottom + 1) : p.YMap.ToPixel(lo);
                    double phi = p.YMap.ToPixel(hi);
                    Line(bars, px, plo, px, phi);
                    g.Segment(px, plo, px, phi);
                    if (s.CapSize > 0)
                    {
                        if (!loOff) Line(bars, px - s.CapSize, plo, px + s.CapSize, plo);
                        Line(bars, px - s.CapSize, phi, px + s.CapSize, phi);
                    }
                }
            }
            Marker(marks, s.Marker, px, py, s.MarkerSize, color);
            g.Dot(px, py, s.MarkerSize + 1);
        }
        if (nonFinite > 0) warn($"points '{name}': {nonFinite} point(s) with NaN/∞ skipped");
        if (nonPositive > 0) warn($"points '{name}': {nonPositive} point(s) ≤ 0 skipped on a log axis");
        if (bars.Length > 0)
            sb.Append("<g class=\"error-bars\" data-label=\"").Append(Svg.Escape(name)).Append("\" stroke=\"").Append(color).Append("\" stroke-width=\"1.1\">").Append(bars).Append("</g>\n");
        if (marks.Length > 0) sb.Append("<g class=\"series-points\" data-label=\"").Append(Svg.Escape(name)).Append("\">").Append(marks).Append("</g>\n");
    }

    private static void DrawHeatmap(StringBuilder sb, Panel p, HeatmapLayer h, DataGeometry g, Action<string> warn)
    {
        var scale = h.ResolveScale();
        int rows = h.Values.GetLength(0), cols = h.Values.GetLength(1);
        int bad = 0;
        var xs = h.XEdges.Select(v => p.XMap.Valid(v) ? p.XMap.ToPixel(v) : double.NaN).ToArray();
        var ys = h.YEdges.Select(v => p.YMap.Valid(v) ? p.YMap.ToPixel(v) : double.NaN).ToArray();
        if (xs.Any(double.IsNaN) || ys.Any(double.IsNaN)) { warn("heatmap: cell edges ≤ 0 cannot be drawn on a log axis; heatmap skipped"); return; }
        string Fill(double v, ref int badCount)
        {
            double t = scale.Map(v);
            if (double.IsNaN(t)) { badCount++; return NaNColor; }
            return h.Map.At(t).ToHex();
        }
        bool uniform = Uniform(xs) && Uniform(ys);
        double left = Math.Min(xs[0], xs[^1]), top = Math.Min(ys[0], ys[^1]);
        double width = Math.Abs(xs[^1] - xs[0]), height = Math.Abs(ys[^1] - ys[0]);
        g.Rect(new PixelRect(left, top, width, height));
        if (rows * cols > PngCellThreshold && uniform)
        {
            // One embedded image: row 0 of the PNG is the top of the plot.
            var img = new Rgb[rows, cols];
            bool xFlip = xs[^1] < xs[0], yFlip = ys[^1] > ys[0]; // y pixels normally decrease with the row index
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    double v = h.Values[yFlip ? r : rows - 1 - r, xFlip ? cols - 1 - c : c];
                    double t = scale.Map(v);
                    if (double.IsNaN(t)) { bad++; img[r, c] = Rgb.Parse(NaNColor); }
                    else img[r, c] = h.Map.At(t);
                }
            sb.Append("<image class=\"heatmap\" x=\"").Append(Svg.Num(left)).Append("\" y=\"").Append(Svg.Num(top)).Append("\" width=\"").Append(Svg.Num(width))
              .Append("\" height=\"").Append(Svg.Num(height)).Append("\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,")
              .Append(Convert.ToBase64String(PngEncoder.Encode(img))).Append("\"/>\n");
        }
        else
        {
            sb.Append("<g class=\"heatmap\" shape-rendering=\"crispEdges\">");
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    double x0 = Math.Min(xs[c], xs[c + 1]), y0 = Math.Min(ys[r], ys[r + 1]);
                    sb.Append("<rect x=\"").Append(Svg.Num(x0)).Append("\" y=\"").Append(Svg.Num(y0)).Append("\" width=\"").Append(Svg.Num(Math.Abs(xs[c + 1] - xs[c]) + 0.3))
                      .Append("\" height=\"").Append(Svg.Num(Math.Abs(ys[r + 1] - ys[r]) + 0.3)).Append("\" fill=\"").Append(Fill(h.Values[r, c], ref bad)).Append("\"/>");
                }
            sb.Append("</g>\n");
        }
        if (bad > 0) warn($"heatmap: {bad} cell(s) with NaN/∞ drawn grey");
    }

    private static bool Uniform(double[] px)
    {
        if (px.Length < 3) return true;
        double d0 = px[1] - px[0];
        for (int i = 2; i < px.Length; i++) if (Math.Abs(px[i] - px[i - 1] - d0) > 0.01 * Math.Abs(d0) + 1e-6) return false;
        return true;
    }

    private static void DrawContours(StringBuilder sb, Panel p, ContourLayer c, DataGeometry g)
    {
        int n = c.Levels.Length;
        sb.Append("<g class=\"contour\"").Append(c.Label is null ? "" : " data-label=\"" + Svg.Escape(MathText.Parse(c.Label).PlainText) + "\"").Append(" fill=\"none\">");
        var labels = new StringBuilder();
        for (int k = 0; k < n; k++)
        {
            double level = c.Levels[k];
            string color = c.Color ?? c.Map.At(n == 1 ? 0.5 : 0.85 * k / (n - 1)).ToHex();
            var lines = Contours.Extract(c.X, c.Y, c.Z, level);
            var segs = new List<List<(double X, double Y)>>();
            var closed = new List<bool>();
            foreach (var line in lines)
            {
                var s = new List<(double, double)>();
                bool ok = true;
                for (int i = 0; i < line.X.Length; i++)
                {
                    if (!p.XMap.Valid(line.X[i]) || !p.YMap.Valid(line.Y[i])) { ok = false; break; }
                    s.Add((p.XMap.ToPixel(line.X[i]), p.YMap.ToPixel(line.Y[i])));
                }
                if (ok && s.Count > 1) { segs.Add(s); closed.Add(line.Closed); }
            }
            if (segs.Count == 0) continue;
            var d = new StringBuilder();
            for (int i = 0; i < segs.Count; i++)
            {
                if (d.Length > 0) d.Append(' ');
                d.Append(PathData([segs[i]], close: closed[i]));
            }
            sb.Append("<path data-level=\"").Append(level.ToString("R", CultureInfo.InvariantCulture)).Append("\" d=\"").Append(d).Append("\" stroke=\"").Append(color)
              .Append("\" stroke-width=\"").Append(Svg.Num(c.Width)).Append("\"/>");
            AddSegments(g, segs);
            for (int i = 0; i < segs.Count; i++)
                if (closed[i]) g.Segment(segs[i][^1].X, segs[i][^1].Y, segs[i][0].X, segs[i][0].Y);
            if (c.LabelLevels)
            {
                var longest = segs.OrderByDescending(PixelLength).First();
                if (PixelLength(longest) > 50)
                {
                    var (lx, ly) = longest[longest.Count / 2];
                    string text = FormatLevel(level);
                    // Light line colours (white on a heatmap) would vanish in the white halo: write those labels dark.
                    var rgb = Rgb.Parse(color.Length == 7 ? color : "#222222");
                    string ink = 0.2126 * rgb.R + 0.7152 * rgb.G + 0.0722 * rgb.B > 150 ? TextColor : color;
                    labels.Append("<text class=\"contour-label\" x=\"").Append(Svg.Num(lx)).Append("\" y=\"").Append(Svg.Num(ly + 3.2)).Append("\" font-size=\"9\" text-anchor=\"middle\" fill=\"")
                          .Append(ink).Append("\" stroke=\"#ffffff\" stroke-opacity=\"0.85\" stroke-width=\"3\" paint-order=\"stroke\">").Append(MathText.Parse(text).ToSvgContent(9)).Append("</text>");
                    double w = MathText.MeasureWidth(text, 9);
                    g.Rect(new PixelRect(lx - w / 2, ly - 6, w, 12));
                }
            }
        }
        sb.Append(labels).Append("</g>\n");
    }

    private static double PixelLength(List<(double X, double Y)> s)
    {
        double L = 0;
        for (int i = 1; i < s.Count; i++) L += Math.Sqrt((s[i].X - s[i - 1].X) * (s[i].X - s[i - 1].X) + (s[i].Y - s[i - 1].Y) * (s[i].Y - s[i - 1].Y));
        return L;
    }

    /// <summary>Contour-level text: 3 significant digits, m×10^k outside [10⁻³, 10⁴).</summary>
    internal static string FormatLevel(double v)
    {
        if (v == 0) return "0";
        double a = Math.Abs(v);
        if (a >= 1e-3 && a < 1e4)
        {
            string s = double.Parse(a.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).ToString("0.######", CultureInfo.InvariantCulture);
            return v < 0 ? "\u2212" + s : s;
        }
        return TickGenerator.Scientific(v);
    }

    private static void DrawColorBar(StringBuilder sb, Panel p, string idPrefix)
    {
        var h = p.ColorBar!;
        var scale = h.ResolveScale();
        double x = p.Plot.Right + ColorBarGap, y = p.Plot.Y, height = p.Plot.Height;
        sb.Append("<g class=\"colorbar\">");
        sb.Append("<rect x=\"").Append(Svg.Num(x)).Append("\" y=\"").Append(Svg.Num(y)).Append("\" width=\"").Append(Svg.Num(ColorBarWidth)).Append("\" height=\"")
          .Append(Svg.Num(height)).Append("\" fill=\"url(#").Append(idPrefix).Append("-cbar").Append(p.Index).Append(")\" stroke=\"").Append(AxisColor).Append("\" stroke-width=\"0.8\"/>");
        double maxW = 0;
        foreach (var t in scale.Ticks(ColorBarTickCount(height)))
        {
            double ty = y + height * (1 - scale.Map(t.Value));
            sb.Append("<line x1=\"").Append(Svg.Num(x + ColorBarWidth)).Append("\" y1=\"").Append(Svg.Num(ty)).Append("\" x2=\"").Append(Svg.Num(x + ColorBarWidth + TickLen))
              .Append("\" y2=\"").Append(Svg.Num(ty)).Append("\" stroke=\"").Append(AxisColor).Append("\" stroke-width=\"0.8\"/>");
            Text(sb, x + ColorBarWidth + TickLen + TickGap, ty + TickFont * 0.35, t.Label, TickFont, "start", "colorbar-label");
            maxW = Math.Max(maxW, LabelWidth(t.Label));
        }
        if (h.ColorBarLabel is not null)
        {
            double lx = x + ColorBarWidth + TickLen + TickGap + maxW + 6 + LabelFont * 0.85;
            sb.Append("<g transform=\"translate(").Append(Svg.Num(lx)).Append(',').Append(Svg.Num(y + height / 2)).Append(") rotate(-90)\">");
            Text(sb, 0, 0, h.ColorBarLabel, LabelFont, "middle", "axis-label colorbar");
            sb.Append("</g>");
        }
        sb.Append("</g>\n");
    }

    private static void DrawLegend(StringBuilder sb, IReadOnlyList<PlotLayer> entries, PixelRect box, string placement)
    {
        sb.Append("<g class=\"legend\" data-placement=\"").Append(placement).Append("\">");
        sb.Append("<rect class=\"legend-box\" x=\"").Append(Svg.Num(box.X)).Append("\" y=\"").Append(Svg.Num(box.Y)).Append("\" width=\"").Append(Svg.Num(box.Width))
          .Append("\" height=\"").Append(Svg.Num(box.Height)).Append("\" rx=\"2\" fill=\"#ffffff\" fill-opacity=\"0.92\" stroke=\"#bbbbbb\" stroke-width=\"0.7\"/>");
        for (int i = 0; i < entries.Count; i++)
        {
            var l = entries[i];
            double cy = box.Y + LegendPad + i * LegendRow + LegendFont * 0.65;
            double x0 = box.X + LegendPad, x1 = x0 + SwatchWidth, xm = (x0 + x1) / 2;
            string color = l.Color ?? Palette.Series(i);
            switch (l)
            {
                case LineSeries line:
                    if (line.LegendBand is not null)
                        Rect(sb, x0, cy - 5, SwatchWidth, 10, line.LegendBand.Color ?? color, line.LegendBand.Opacity);
                    sb.Append("<line x1=\"").Append(Svg.Num(x0)).Append("\" y1=\"").Append(Svg.Num(cy)).Append("\" x2=\"").Append(Svg.Num(x1)).Append("\" y2=\"").Append(Svg.Num(cy)).Append('"');
                    Stroke(sb, color, line.Width, line.Dash, line.Opacity);
                    sb.Append("/>");
                    if (line.Marker != MarkerShape.None) Marker(sb, line.Marker, xm, cy, line.MarkerSize, color);
                    break;
                case ScatterSeries s:
                    if (s.YErrorMinus is not null)
                    {
                        sb.Append("<g stroke=\"").Append(color).Append("\" stroke-width=\"1.1\">");
                        Line(sb, xm, cy - 5.5, xm, cy + 5.5); Line(sb, xm - 2.5, cy - 5.5, xm + 2.5, cy - 5.5); Line(sb, xm - 2.5, cy + 5.5, xm + 2.5, cy + 5.5);
                        sb.Append("</g>");
                    }
                    Marker(sb, s.Marker, xm, cy, s.MarkerSize, color);
                    break;
                case BandSeries b:
                    Rect(sb, x0, cy - 5, SwatchWidth, 10, color, b.Opacity);
                    break;
                case TrajectoryLayer t:
                    sb.Append("<line x1=\"").Append(Svg.Num(x0)).Append("\" y1=\"").Append(Svg.Num(cy)).Append("\" x2=\"").Append(Svg.Num(x1)).Append("\" y2=\"").Append(Svg.Num(cy)).Append('"');
                    Stroke(sb, color, t.Width, LineDash.Solid, 1);
                    sb.Append("/>");
                    Marker(sb, MarkerShape.OpenCircle, x0 + 3, cy, 3, color);
                    Marker(sb, MarkerShape.Star, x1 - 3, cy, 3.2, color);
                    break;
                case ReferenceLine r:
                    sb.Append("<line x1=\"").Append(Svg.Num(x0)).Append("\" y1=\"").Append(Svg.Num(cy)).Append("\" x2=\"").Append(Svg.Num(x1)).Append("\" y2=\"").Append(Svg.Num(cy)).Append('"');
                    Stroke(sb, color, r.Width, r.Dash, 1);
                    sb.Append("/>");
                    break;
                case ContourLayer c:
                    sb.Append("<line x1=\"").Append(Svg.Num(x0)).Append("\" y1=\"").Append(Svg.Num(cy)).Append("\" x2=\"").Append(Svg.Num(x1)).Append("\" y2=\"").Append(Svg.Num(cy)).Append('"');
                    Stroke(sb, c.Color ?? c.Map.At(0.45).ToHex(), c.Width, LineDash.Solid, 1);
                    sb.Append("/>");
                    break;
                case HeatmapLayer hm:
                    Rect(sb, x0, cy - 5, SwatchWidth / 2, 10, hm.Map.At(0.15).ToHex(), 1);
                    Rect(sb, xm, cy - 5, SwatchWidth / 2, 10, hm.Map.At(0.85).ToHex(), 1);
                    break;
                default:
                    Marker(sb, MarkerShape.Square, xm, cy, 4, color);
                    break;
            }
            Text(sb, x1 + 6, cy + LegendFont * 0.35, l.Label!, LegendFont, "start", "legend-label");
        }
        sb.Append("</g>\n");
    }

    // ---------------------------------------------------------------- primitives

    private static void Line(StringBuilder sb, double x1, double y1, double x2, double y2)
        => sb.Append("<line x1=\"").Append(Svg.Num(x1)).Append("\" y1=\"").Append(Svg.Num(y1)).Append("\" x2=\"").Append(Svg.Num(x2)).Append("\" y2=\"").Append(Svg.Num(y2)).Append("\"/>");

    private static void Rect(StringBuilder sb, double x, double y, double w, double h, string fill, double opacity)
        => sb.Append("<rect x=\"").Append(Svg.Num(x)).Append("\" y=\"").Append(Svg.Num(y)).Append("\" width=\"").Append(Svg.Num(w)).Append("\" height=\"").Append(Svg.Num(h))
             .Append("\" fill=\"").Append(fill).Append("\" fill-opacity=\"").Append(Svg.Num(opacity)).Append("\"/>");

    private static void Stroke(StringBuilder sb, string color, double width, LineDash dash, double opacity)
    {
        sb.Append(" stroke=\"").Append(color).Append("\" stroke-width=\"").Append(Svg.Num(width)).Append('"');
        if (opacity < 1) sb.Append(" stroke-opacity=\"").Append(Svg.Num(opacity)).Append('"');
        switch (dash)
        {
            case LineDash.Dashed: sb.Append(" stroke-dasharray=\"5.5,3.5\""); break;
            case LineDash.Dotted: sb.Append(" stroke-dasharray=\"0.1,3\" stroke-linecap=\"round\""); break;
            case LineDash.DashDot: sb.Append(" stroke-dasharray=\"7,3,1.5,3\""); break;
        }
    }

    private static void Marker(StringBuilder sb, MarkerShape shape, double x, double y, double r, string color, string? cls = null)
    {
        string c = cls is null ? "" : " class=\"" + cls + "\"";
        string filled = "\" fill=\"" + color + "\" stroke=\"#ffffff\" stroke-width=\"0.6\"/>";
        switch (shape)
        {
            case MarkerShape.None: return;
            case MarkerShape.Circle:
                sb.Append("<circle").Append(c).Append(" cx=\"").Append(Svg.Num(x)).Append("\" cy=\"").Append(Svg.Num(y)).Append("\" r=\"").Append(Svg.Num(r)).Append(filled);
                return;
            case MarkerShape.OpenCircle:
                sb.Append("<circle").Append(c).Append(" cx=\"").Append(Svg.Num(x)).Append("\" cy=\"").Append(Svg.Num(y)).Append("\" r=\"").Append(Svg.Num(r))
                  .Append("\" fill=\"#ffffff\" stroke=\"").Append(color).Append("\" stroke-width=\"1.5\"/>");
                return;
            case MarkerShape.Square:
                sb.Append("<rect").Append(c).Append(" x=\"").Append(Svg.Num(x - 0.9 * r)).Append("\" y=\"").Append(Svg.Num(y - 0.9 * r)).Append("\" width=\"").Append(Svg.Num(1.8 * r))
                  .Append("\" height=\"").Append(Svg.Num(1.8 * r)).Append(filled);
                return;
            case MarkerShape.Cross:
            case MarkerShape.Plus:
                {
                    double d = shape == MarkerShape.Cross ? r * 0.9 : r * 1.15;
                    sb.Append("<path").Append(c).Append(" d=\"");
                    if (shape == MarkerShape.Cross)
                        sb.Append('M').Append(Svg.Num(x - d)).Append(',').Append(Svg.Num(y - d)).Append('L').Append(Svg.Num(x + d)).Append(',').Append(Svg.Num(y + d))
                          .Append('M').Append(Svg.Num(x - d)).Append(',').Append(Svg.Num(y + d)).Append('L').Append(Svg.Num(x + d)).Append(',').Append(Svg.Num(y - d));
                    else
                        sb.Append('M').Append(Svg.Num(x - d)).Append(',').Append(Svg.Num(y)).Append('L').Append(Svg.Num(x + d)).Append(',').Append(Svg.Num(y))
                          .Append('M').Append(Svg.Num(x)).Append(',').Append(Svg.Num(y - d)).Append('L').Append(Svg.Num(x)).Append(',').Append(Svg.Num(y + d));
                    sb.Append("\" stroke=\"").Append(color).Append("\" stroke-width=\"1.5\" fill=\"none\"/>");
                    return;
                }
        }
        double[] pts = shape switch
        {
            MarkerShape.TriangleUp => [x, y - 1.25 * r, x + 1.1 * r, y + 0.7 * r, x - 1.1 * r, y + 0.7 * r],
            MarkerShape.TriangleDown => [x, y + 1.25 * r, x + 1.1 * r, y - 0.7 * r, x - 1.1 * r, y - 0.7 * r],
            MarkerShape.Diamond => [x, y - 1.3 * r, x + r, y, x, y + 1.3 * r, x - r, y],
            _ => StarPoints(x, y, 1.5 * r, 0.62 * r),
        };
        sb.Append("<polygon").Append(c).Append(" points=\"");
        for (int i = 0; i < pts.Length; i += 2)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(Svg.Num(pts[i])).Append(',').Append(Svg.Num(pts[i + 1]));
        }
        sb.Append(filled);
    }

    private static double[] StarPoints(double x, double y, double outer, double inner)
    {
        var pts = new double[20];
        for (int k = 0; k < 10; k++)
        {
            double a = -Math.PI / 2 + k * Math.PI / 5, rad = k % 2 == 0 ? outer : inner;
            pts[2 * k] = x + rad * Math.Cos(a);
            pts[2 * k + 1] = y + rad * Math.Sin(a);
        }
        return pts;
    }

    private static void Text(StringBuilder sb, double x, double y, string markup, double size, string anchor, string cls, bool bold = false, string? color = null)
    {
        var m = MathText.Parse(markup);
        sb.Append("<text class=\"").Append(cls).Append("\" x=\"").Append(Svg.Num(x)).Append("\" y=\"").Append(Svg.Num(y)).Append("\" font-size=\"").Append(Svg.Num(size))
          .Append("\" text-anchor=\"").Append(anchor).Append("\" fill=\"").Append(color ?? TextColor).Append('"');
        if (bold) sb.Append(" font-weight=\"bold\"");
        sb.Append('>').Append(m.ToSvgContent(size)).Append("</text>\n");
    }
}
