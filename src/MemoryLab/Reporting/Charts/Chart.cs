namespace MemoryLab.Reporting.Charts;

/// <summary>Where a chart's legend goes.</summary>
public enum LegendPosition
{
    /// <summary>The first inside corner (top-right, top-left, bottom-left, bottom-right) free of data; outside right if none is.</summary>
    Auto,
    /// <summary>Right of the plot area, outside it.</summary>
    OutsideRight,
    /// <summary>Inside, top-right corner (a warning is collected if it covers data).</summary>
    TopRight,
    /// <summary>Inside, top-left corner (a warning is collected if it covers data).</summary>
    TopLeft,
    /// <summary>Inside, bottom-left corner (a warning is collected if it covers data).</summary>
    BottomLeft,
    /// <summary>Inside, bottom-right corner (a warning is collected if it covers data).</summary>
    BottomRight,
    /// <summary>No legend.</summary>
    None,
}

/// <summary>
/// One plot: axes, layers (lines, points with error bars, bands, heatmaps, contours, trajectories), a
/// title and a legend. Render it alone with <see cref="ToSvg"/> or place it in a <see cref="PanelGrid"/>.
/// Problems met while drawing (NaN/∞ or non-positive points on a log axis, a legend forced over data) are
/// skipped and reported in <see cref="Warnings"/>, never as a broken figure.
/// </summary>
public sealed class Chart
{
    private readonly List<string> _warnings = new();
    private int _nextColor;

    /// <summary>Title above the plot (<see cref="MathText"/> markup), or null.</summary>
    public string? Title { get; set; }

    /// <summary>The horizontal axis.</summary>
    public Axis X { get; } = new();

    /// <summary>The vertical axis.</summary>
    public Axis Y { get; } = new();

    /// <summary>Layers in drawing order (later on top).</summary>
    public List<PlotLayer> Layers { get; } = new();

    /// <summary>Legend placement.</summary>
    public LegendPosition Legend { get; set; } = LegendPosition.Auto;

    /// <summary>Draws light grid lines at the major ticks.</summary>
    public bool Grid { get; set; } = true;

    /// <summary>
    /// Equal data units on both linear axes (square matrix cells, undistorted circles): the plot area shrinks in
    /// one direction to keep the aspect. Ignored when either axis is logarithmic.
    /// </summary>
    public bool EqualAspect { get; set; }

    /// <summary>Width in px when rendered alone.</summary>
    public double Width { get; set; } = 520;

    /// <summary>Height in px when rendered alone.</summary>
    public double Height { get; set; } = 360;

    /// <summary>Warnings from the last render (skipped points, overlapping legend …).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    internal void ClearWarnings() => _warnings.Clear();

    internal void Warn(string message)
    {
        if (!_warnings.Contains(message)) _warnings.Add(message);
    }

    /// <summary>Creates a chart with axis labels and scales.</summary>
    public static Chart Create(string? title = null, string? xLabel = null, string? yLabel = null,
        AxisScale xScale = AxisScale.Linear, AxisScale yScale = AxisScale.Linear)
    {
        var c = new Chart { Title = title };
        c.X.Label = xLabel; c.X.Scale = xScale;
        c.Y.Label = yLabel; c.Y.Scale = yScale;
        return c;
    }

    /// <summary>A chart showing a matrix as a heatmap (row 0 at the top, square cells), e.g. a Hessian (Zucchet24 Fig. 4).</summary>
    /// <param name="values">The matrix.</param>
    /// <param name="title">Title markup.</param>
    /// <param name="symLog">Colour by a symmetric log scale (signed values over many decades).</param>
    /// <param name="colorBarLabel">Colour-bar label markup.</param>
    public static Chart Matrix(double[,] values, string? title = null, bool symLog = false, string? colorBarLabel = null)
    {
        var heat = HeatmapLayer.Matrix(values);
        heat.ColorBarLabel = colorBarLabel;
        if (symLog)
        {
            double m = 0, smallest = double.PositiveInfinity;
            foreach (double v in values)
                if (double.IsFinite(v) && v != 0) { m = Math.Max(m, Math.Abs(v)); smallest = Math.Min(smallest, Math.Abs(v)); }
            if (m > 0)
            {
                // Show at most 4 decades below the largest entry, fewer if the data do not reach that low.
                double c = Math.Max(m * 1e-4, Math.Min(smallest, m * 1e-1));
                heat.Scale = c < m ? ColorScale.SymLog(m, c) : ColorScale.Linear(-m, m);
            }
        }
        var chart = new Chart { Title = title, Grid = false, Width = 460, Height = 400, EqualAspect = true };
        chart.Y.Reversed = true;
        chart.Layers.Add(heat);
        return chart;
    }

    /// <summary>Adds a line (colour: next palette colour unless given).</summary>
    public LineSeries AddLine(string? label, IReadOnlyList<double> x, IReadOnlyList<double> y, string? color = null,
        LineDash dash = LineDash.Solid, MarkerShape marker = MarkerShape.None)
    {
        var s = new LineSeries(x, y, label) { Color = color ?? NextColor(), Dash = dash, Marker = marker };
        Layers.Add(s);
        return s;
    }

    /// <summary>
    /// Adds a theory curve: thin, dashed, near-black unless a colour is given (matching a measured series),
    /// so closed forms read apart from measurements.
    /// </summary>
    public LineSeries AddTheory(string? label, IReadOnlyList<double> x, IReadOnlyList<double> y, string? color = null)
    {
        var s = new LineSeries(x, y, label) { Color = color ?? Palette.Theory, Dash = LineDash.Dashed, Width = 1.2 };
        Layers.Add(s);
        return s;
    }

    /// <summary>Adds markers with optional symmetric error bars (e.g. Monte Carlo mean ± SEM).</summary>
    public ScatterSeries AddPoints(string? label, IReadOnlyList<double> x, IReadOnlyList<double> y, IReadOnlyList<double>? yError = null,
        string? color = null, MarkerShape marker = MarkerShape.Circle)
    {
        var s = new ScatterSeries(x, y, yError, label) { Color = color ?? NextColor(), Marker = marker };
        Layers.Add(s);
        return s;
    }

    /// <summary>
    /// Adds a mean curve with a shaded band mean ± spread (std or SEM) in the same colour; the band is drawn
    /// first and shown behind the line's legend swatch. Returns both.
    /// </summary>
    public (LineSeries Line, BandSeries Band) AddMeanBand(string? label, IReadOnlyList<double> x, IReadOnlyList<double> mean,
        IReadOnlyList<double> spread, string? color = null)
    {
        ArgumentNullException.ThrowIfNull(mean); ArgumentNullException.ThrowIfNull(spread);
        if (mean.Count != spread.Count) throw new ArgumentException($"mean band '{label}': {mean.Count} means but {spread.Count} spreads");
        var lo = new double[mean.Count];
        var hi = new double[mean.Count];
        for (int i = 0; i < lo.Length; i++) { lo[i] = mean[i] - spread[i]; hi[i] = mean[i] + spread[i]; }
        string col = color ?? NextColor();
        var band = new BandSeries(x, lo, hi) { Color = col };
        var line = new LineSeries(x, mean, label) { Color = col, LegendBand = band };
        Layers.Add(band);
        Layers.Add(line);
        return (line, band);
    }

    /// <summary>Adds a heatmap over grid centres.</summary>
    public HeatmapLayer AddHeatmap(IReadOnlyList<double> x, IReadOnlyList<double> y, double[,] values, ColorMap? map = null,
        ColorScale? scale = null, string? colorBarLabel = null)
    {
        var h = HeatmapLayer.FromCenters(x, y, values);
        if (map is not null) h.Map = map;
        h.Scale = scale;
        h.ColorBarLabel = colorBarLabel;
        Layers.Add(h);
        return h;
    }

    /// <summary>Adds contour lines of a gridded function (levels null: about 8 nice levels).</summary>
    public ContourLayer AddContours(IReadOnlyList<double> x, IReadOnlyList<double> y, double[,] z, IReadOnlyList<double>? levels = null,
        bool labelLevels = false)
    {
        var c = new ContourLayer(x, y, z, levels) { LabelLevels = labelLevels };
        Layers.Add(c);
        return c;
    }

    /// <summary>Adds an optimisation trajectory (start: open circle; end: star).</summary>
    public TrajectoryLayer AddTrajectory(string? label, IReadOnlyList<double> x, IReadOnlyList<double> y, string? color = null)
    {
        var t = new TrajectoryLayer(x, y, label) { Color = color ?? NextColor() };
        Layers.Add(t);
        return t;
    }

    /// <summary>Adds a horizontal reference line at y = <paramref name="y"/>.</summary>
    public ReferenceLine AddHorizontalLine(double y, string? label = null)
    {
        var r = new ReferenceLine(y, vertical: false, label);
        Layers.Add(r);
        return r;
    }

    /// <summary>Adds a vertical reference line at x = <paramref name="x"/>.</summary>
    public ReferenceLine AddVerticalLine(double x, string? label = null)
    {
        var r = new ReferenceLine(x, vertical: true, label);
        Layers.Add(r);
        return r;
    }

    /// <summary>Adds text at a data position.</summary>
    public TextAnnotation AddText(double x, double y, string text)
    {
        var t = new TextAnnotation(x, y, text);
        Layers.Add(t);
        return t;
    }

    /// <summary>Renders this chart alone as a standalone SVG document; ids are prefixed by <paramref name="idPrefix"/>.</summary>
    public string ToSvg(string idPrefix = "chart") => SvgRenderer.Render(PanelGrid.Single(this), idPrefix);

    private string NextColor() => Palette.Series(_nextColor++);
}
