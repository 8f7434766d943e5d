namespace MemoryLab.Reporting.Charts;

/// <summary>Dash pattern of a line.</summary>
public enum LineDash
{
    /// <summary>Continuous.</summary>
    Solid,
    /// <summary>Long dashes (theory curves).</summary>
    Dashed,
    /// <summary>Dots.</summary>
    Dotted,
    /// <summary>Dash–dot.</summary>
    DashDot,
}

/// <summary>Marker drawn at each data point.</summary>
public enum MarkerShape
{
    /// <summary>No marker.</summary>
    None,
    /// <summary>Filled circle.</summary>
    Circle,
    /// <summary>Filled square.</summary>
    Square,
    /// <summary>Filled upward triangle.</summary>
    TriangleUp,
    /// <summary>Filled downward triangle.</summary>
    TriangleDown,
    /// <summary>Filled diamond.</summary>
    Diamond,
    /// <summary>Diagonal cross (stroked).</summary>
    Cross,
    /// <summary>Plus sign (stroked).</summary>
    Plus,
    /// <summary>Filled five-pointed star.</summary>
    Star,
    /// <summary>Circle outline with white fill.</summary>
    OpenCircle,
}

/// <summary>Something drawn in a chart's plot area. Layers with a <see cref="Label"/> appear in the legend.</summary>
public abstract class PlotLayer
{
    /// <summary>Legend text as <see cref="MathText"/> markup; null keeps the layer out of the legend.</summary>
    public string? Label { get; set; }

    /// <summary>False keeps a labelled layer out of the legend.</summary>
    public bool ShowInLegend { get; set; } = true;

    /// <summary>Stroke/fill colour <c>#RRGGBB</c>; null picks the next palette colour at render time.</summary>
    public string? Color { get; set; }

    /// <summary>Whether the layer should be fitted tightly (no axis margin), as heatmaps and contour grids are.</summary>
    internal virtual bool Tight => false;

    /// <summary>Whether the layer takes a colour from the palette when <see cref="Color"/> is null.</summary>
    internal virtual bool UsesSeriesColor => true;

    /// <summary>Data values along x that set the automatic range.</summary>
    internal abstract IEnumerable<double> XExtent();

    /// <summary>Data values along y that set the automatic range.</summary>
    internal abstract IEnumerable<double> YExtent();

    internal static double[] Copy(IReadOnlyList<double> values, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        var a = new double[values.Count];
        for (int i = 0; i < a.Length; i++) a[i] = values[i];
        return a;
    }

    internal static void SameLength(double[] a, double[] b, string what)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{what}: x has {a.Length} values but y has {b.Length}");
    }
}

/// <summary>A polyline through (x, y) points, optionally with markers. NaN/∞ points break the line.</summary>
public sealed class LineSeries : PlotLayer
{
    /// <summary>Creates a line through the points (x and y of equal length; copied).</summary>
    public LineSeries(IReadOnlyList<double> x, IReadOnlyList<double> y, string? label = null)
    {
        X = Copy(x, nameof(x)); Y = Copy(y, nameof(y));
        SameLength(X, Y, $"line '{label}'");
        Label = label;
    }

    /// <summary>x values.</summary>
    public double[] X { get; }
    /// <summary>y values.</summary>
    public double[] Y { get; }
    /// <summary>Stroke width in px.</summary>
    public double Width { get; set; } = 1.8;
    /// <summary>Dash pattern.</summary>
    public LineDash Dash { get; set; } = LineDash.Solid;
    /// <summary>Marker at each point.</summary>
    public MarkerShape Marker { get; set; } = MarkerShape.None;
    /// <summary>Marker radius in px.</summary>
    public double MarkerSize { get; set; } = 3.2;
    /// <summary>Stroke opacity, 0–1.</summary>
    public double Opacity { get; set; } = 1;
    /// <summary>A band drawn behind this line's legend swatch (mean ± spread pairs).</summary>
    public BandSeries? LegendBand { get; set; }

    internal override IEnumerable<double> XExtent() => X;
    internal override IEnumerable<double> YExtent() => Y;
}

/// <summary>Markers at (x, y) points with optional vertical error bars (e.g. Monte Carlo mean ± SEM).</summary>
public sealed class ScatterSeries : PlotLayer
{
    /// <summary>Creates points; <paramref name="yError"/> (optional) gives symmetric half-widths ≥ 0.</summary>
    public ScatterSeries(IReadOnlyList<double> x, IReadOnlyList<double> y, IReadOnlyList<double>? yError = null, string? label = null)
        : this(x, y, yError, yError, label) { }

    /// <summary>Creates points with asymmetric error bars: from y − minus to y + plus (half-widths ≥ 0).</summary>
    public ScatterSeries(IReadOnlyList<double> x, IReadOnlyList<double> y, IReadOnlyList<double>? yErrorMinus, IReadOnlyList<double>? yErrorPlus, string? label)
    {
        X = Copy(x, nameof(x)); Y = Copy(y, nameof(y));
        SameLength(X, Y, $"points '{label}'");
        if ((yErrorMinus is null) != (yErrorPlus is null)) throw new ArgumentException($"points '{label}': give both error sides or neither");
        if (yErrorMinus is not null)
        {
            YErrorMinus = Copy(yErrorMinus, nameof(yErrorMinus));
            YErrorPlus = Copy(yErrorPlus!, nameof(yErrorPlus));
            if (YErrorMinus.Length != X.Length || YErrorPlus.Length != X.Length)
                throw new ArgumentException($"points '{label}': {X.Length} points but {YErrorMinus.Length}/{YErrorPlus.Length} error values");
            for (int i = 0; i < X.Length; i++)
                if (YErrorMinus[i] < 0 || YErrorPlus[i] < 0)
                    throw new ArgumentException($"points '{label}': error half-width at index {i} is negative ({YErrorMinus[i]}, {YErrorPlus[i]})");
        }
        Label = label;
    }

    /// <summary>x values.</summary>
    public double[] X { get; }
    /// <summary>y values.</summary>
    public double[] Y { get; }
    /// <summary>Lower error half-widths, or null.</summary>
    public double[]? YErrorMinus { get; }
    /// <summary>Upper error half-widths, or null.</summary>
    public double[]? YErrorPlus { get; }
    /// <summary>Marker shape.</summary>
    public MarkerShape Marker { get; set; } = MarkerShape.Circle;
    /// <summary>Marker radius in px.</summary>
    public double MarkerSize { get; set; } = 3.4;
    /// <summary>Error-bar cap half-width in px (0 for none).</summary>
    public double CapSize { get; set; } = 2.5;

    internal override IEnumerable<double> XExtent() => X;
    internal override IEnumerable<double> YExtent()
    {
        for (int i = 0; i < Y.Length; i++)
        {
            yield return Y[i];
            if (YErrorMinus is not null)
            {
                yield return Y[i] - YErrorMinus[i];
                yield return Y[i] + YErrorPlus![i];
            }
        }
    }
}

/// <summary>A shaded band between lower and upper curves (mean ± std, mean ± SEM).</summary>
public sealed class BandSeries : PlotLayer
{
    /// <summary>Creates a band (x, lower, upper of equal length; copied).</summary>
    public BandSeries(IReadOnlyList<double> x, IReadOnlyList<double> lower, IReadOnlyList<double> upper, string? label = null)
    {
        X = Copy(x, nameof(x)); Lower = Copy(lower, nameof(lower)); Upper = Copy(upper, nameof(upper));
        SameLength(X, Lower, $"band '{label}'");
        SameLength(X, Upper, $"band '{label}'");
        Label = label;
    }

    /// <summary>x values.</summary>
    public double[] X { get; }
    /// <summary>Lower edge.</summary>
    public double[] Lower { get; }
    /// <summary>Upper edge.</summary>
    public double[] Upper { get; }
    /// <summary>Fill opacity, 0–1.</summary>
    public double Opacity { get; set; } = 0.2;

    internal override IEnumerable<double> XExtent() => X;
    internal override IEnumerable<double> YExtent() => Lower.Concat(Upper);
}

/// <summary>
/// A heatmap of a grid of values with a colour bar. <c>Values[row, col]</c> fills the cell from
/// <c>XEdges[col]</c> to <c>XEdges[col+1]</c> and <c>YEdges[row]</c> to <c>YEdges[row+1]</c>.
/// </summary>
public sealed class HeatmapLayer : PlotLayer
{
    /// <summary>Creates a heatmap with cell edges (lengths columns+1 and rows+1, increasing).</summary>
    public HeatmapLayer(double[,] values, IReadOnlyList<double> xEdges, IReadOnlyList<double> yEdges)
    {
        ArgumentNullException.ThrowIfNull(values);
        Values = (double[,])values.Clone();
        XEdges = Copy(xEdges, nameof(xEdges));
        YEdges = Copy(yEdges, nameof(yEdges));
        int rows = values.GetLength(0), cols = values.GetLength(1);
        if (rows == 0 || cols == 0) throw new ArgumentException("heatmap needs at least one row and one column", nameof(values));
        if (XEdges.Length != cols + 1) throw new ArgumentException($"heatmap has {cols} columns so needs {cols + 1} x edges, got {XEdges.Length}", nameof(xEdges));
        if (YEdges.Length != rows + 1) throw new ArgumentException($"heatmap has {rows} rows so needs {rows + 1} y edges, got {YEdges.Length}", nameof(yEdges));
        CheckIncreasing(XEdges, nameof(xEdges));
        CheckIncreasing(YEdges, nameof(yEdges));
    }

    /// <summary>A matrix heatmap: cell (i, j) centred on (x = j, y = i). Pair it with a reversed y axis (see <see cref="Chart.Matrix"/>).</summary>
    public static HeatmapLayer Matrix(double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int rows = values.GetLength(0), cols = values.GetLength(1);
        return new HeatmapLayer(values,
            Enumerable.Range(0, cols + 1).Select(i => i - 0.5).ToArray(),
            Enumerable.Range(0, rows + 1).Select(i => i - 0.5).ToArray());
    }

    /// <summary>A heatmap over grid-point centres (edges half-way between; outer edges mirrored).</summary>
    public static HeatmapLayer FromCenters(IReadOnlyList<double> x, IReadOnlyList<double> y, double[,] values)
        => new(values, CentersToEdges(x, nameof(x)), CentersToEdges(y, nameof(y)));

    /// <summary>The values, [row, column].</summary>
    public double[,] Values { get; }
    /// <summary>Column edges.</summary>
    public double[] XEdges { get; }
    /// <summary>Row edges.</summary>
    public double[] YEdges { get; }
    /// <summary>The colour map.</summary>
    public ColorMap Map { get; set; } = ColorMap.Diverging;
    /// <summary>Value → colour position; null: symmetric linear ±max|v| for a diverging map, [min, max] otherwise.</summary>
    public ColorScale? Scale { get; set; }
    /// <summary>Colour-bar label (<see cref="MathText"/> markup).</summary>
    public string? ColorBarLabel { get; set; }
    /// <summary>Whether to draw the colour bar.</summary>
    public bool ShowColorBar { get; set; } = true;

    internal override bool Tight => true;
    internal override bool UsesSeriesColor => false;
    internal override IEnumerable<double> XExtent() => [XEdges[0], XEdges[^1]];
    internal override IEnumerable<double> YExtent() => [YEdges[0], YEdges[^1]];

    /// <summary>The scale used: <see cref="Scale"/>, or the default from the finite values.</summary>
    public ColorScale ResolveScale()
    {
        if (Scale is not null) return Scale;
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (double v in Values)
            if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (double.IsPositiveInfinity(lo)) return Map.IsDiverging ? ColorScale.Linear(-1, 1) : ColorScale.Linear(0, 1);
        if (Map.IsDiverging)
        {
            double m = Math.Max(Math.Abs(lo), Math.Abs(hi));
            return m > 0 ? ColorScale.Linear(-m, m) : ColorScale.Linear(-1, 1);
        }
        return hi > lo ? ColorScale.Linear(lo, hi) : ColorScale.Linear(lo - 0.5, lo + 0.5);
    }

    private static void CheckIncreasing(double[] edges, string name)
    {
        for (int i = 0; i < edges.Length; i++)
        {
            if (!double.IsFinite(edges[i])) throw new ArgumentException($"heatmap edge {i} is not finite ({edges[i]})", name);
            if (i > 0 && !(edges[i] > edges[i - 1])) throw new ArgumentException($"heatmap edges must increase; edge {i} = {edges[i]} ≤ {edges[i - 1]}", name);
        }
    }

    internal static double[] CentersToEdges(IReadOnlyList<double> c, string name)
    {
        ArgumentNullException.ThrowIfNull(c, name);
        if (c.Count == 0) throw new ArgumentException("need at least one grid centre", name);
        var e = new double[c.Count + 1];
        if (c.Count == 1) { e[0] = c[0] - 0.5; e[1] = c[0] + 0.5; return e; }
        for (int i = 1; i < c.Count; i++) e[i] = 0.5 * (c[i - 1] + c[i]);
        e[0] = c[0] - (e[1] - c[0]);
        e[^1] = c[^1] + (c[^1] - e[^2]);
        return e;
    }
}

/// <summary>
/// Contour lines of a function sampled on a grid, <c>Z[j, i] = f(X[i], Y[j])</c>, extracted with marching
/// squares (<see cref="Contours"/>). Lines are coloured by level through <see cref="Map"/> unless
/// <see cref="PlotLayer.Color"/> is set.
/// </summary>
public sealed class ContourLayer : PlotLayer
{
    /// <summary>Creates the layer; levels null picks about 8 evenly spaced nice levels.</summary>
    public ContourLayer(IReadOnlyList<double> x, IReadOnlyList<double> y, double[,] z, IReadOnlyList<double>? levels = null)
    {
        X = Copy(x, nameof(x)); Y = Copy(y, nameof(y));
        ArgumentNullException.ThrowIfNull(z);
        if (z.GetLength(0) != Y.Length || z.GetLength(1) != X.Length)
            throw new ArgumentException($"contour grid is [{z.GetLength(0)}, {z.GetLength(1)}] but y has {Y.Length} and x has {X.Length} values (need Z[y index, x index])", nameof(z));
        Z = (double[,])z.Clone();
        Levels = levels is null ? Contours.NiceLevels(Z, 8) : Copy(levels, nameof(levels));
    }

    /// <summary>Grid x coordinates (increasing).</summary>
    public double[] X { get; }
    /// <summary>Grid y coordinates (increasing).</summary>
    public double[] Y { get; }
    /// <summary>Values, [y index, x index].</summary>
    public double[,] Z { get; }
    /// <summary>Contour levels.</summary>
    public double[] Levels { get; set; }
    /// <summary>Colour map for per-level colours when <see cref="PlotLayer.Color"/> is null.</summary>
    public ColorMap Map { get; set; } = ColorMap.Sequential;
    /// <summary>Stroke width in px.</summary>
    public double Width { get; set; } = 1.0;
    /// <summary>Writes each level's value on its longest line.</summary>
    public bool LabelLevels { get; set; }

    internal override bool Tight => true;
    internal override bool UsesSeriesColor => false;
    internal override IEnumerable<double> XExtent() => X;
    internal override IEnumerable<double> YExtent() => Y;
}

/// <summary>An optimisation path (x, y) with a start marker (open circle) and an end marker (star).</summary>
public sealed class TrajectoryLayer : PlotLayer
{
    /// <summary>Creates the path (x and y of equal length; copied).</summary>
    public TrajectoryLayer(IReadOnlyList<double> x, IReadOnlyList<double> y, string? label = null)
    {
        X = Copy(x, nameof(x)); Y = Copy(y, nameof(y));
        SameLength(X, Y, $"trajectory '{label}'");
        Label = label;
    }

    /// <summary>x values.</summary>
    public double[] X { get; }
    /// <summary>y values.</summary>
    public double[] Y { get; }
    /// <summary>Stroke width in px.</summary>
    public double Width { get; set; } = 1.6;
    /// <summary>Marker radius for start and end.</summary>
    public double MarkerSize { get; set; } = 4.5;

    internal override IEnumerable<double> XExtent() => X;
    internal override IEnumerable<double> YExtent() => Y;
}

/// <summary>A horizontal or vertical reference line across the plot (a target value, a block boundary).</summary>
public sealed class ReferenceLine : PlotLayer
{
    /// <summary>Creates the line at <paramref name="value"/>; vertical lines sit at x = value, horizontal at y = value.</summary>
    public ReferenceLine(double value, bool vertical, string? label = null)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"reference line value must be finite, got {value}", nameof(value));
        Value = value; Vertical = vertical; Label = label;
        Color = Palette.Grey;
    }

    /// <summary>Position in data units.</summary>
    public double Value { get; }
    /// <summary>True: x = Value; false: y = Value.</summary>
    public bool Vertical { get; }
    /// <summary>Dash pattern.</summary>
    public LineDash Dash { get; set; } = LineDash.Dashed;
    /// <summary>Stroke width in px.</summary>
    public double Width { get; set; } = 1.0;

    internal override bool UsesSeriesColor => false;
    internal override IEnumerable<double> XExtent() => Vertical ? [Value] : [];
    internal override IEnumerable<double> YExtent() => Vertical ? [] : [Value];
}

/// <summary>Text placed at a data position (e.g. block names on a Hessian).</summary>
public sealed class TextAnnotation : PlotLayer
{
    /// <summary>Creates the annotation; <paramref name="text"/> is <see cref="MathText"/> markup.</summary>
    public TextAnnotation(double x, double y, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!double.IsFinite(x) || !double.IsFinite(y)) throw new ArgumentException($"annotation position must be finite, got ({x}, {y})");
        X = x; Y = y; Text = text;
        MathText.Parse(text); // fail early on bad markup
        Color = Palette.Theory;
        ShowInLegend = false;
    }

    /// <summary>x in data units.</summary>
    public double X { get; }
    /// <summary>y in data units.</summary>
    public double Y { get; }
    /// <summary>Markup text.</summary>
    public string Text { get; }
    /// <summary>Font size in px.</summary>
    public double FontSize { get; set; } = 11;
    /// <summary>Horizontal anchor: "start", "middle" or "end".</summary>
    public string Anchor { get; set; } = "middle";

    internal override bool UsesSeriesColor => false;
    internal override IEnumerable<double> XExtent() => [X];
    internal override IEnumerable<double> YExtent() => [Y];
}
