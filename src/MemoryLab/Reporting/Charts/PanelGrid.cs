namespace MemoryLab.Reporting.Charts;

/// <summary>Which panels of a grid share an axis range.</summary>
public enum AxisSharing
{
    /// <summary>Each panel fits its own range.</summary>
    None,
    /// <summary>Panels in the same row share the range.</summary>
    Row,
    /// <summary>Panels in the same column share the range.</summary>
    Column,
    /// <summary>All panels share the range.</summary>
    All,
}

/// <summary>
/// A figure: a rows × columns grid of <see cref="Chart"/> panels with shared or independent axes, panel
/// letters (a), (b) …, an optional figure title and an optional single legend for all panels. Plot areas are
/// aligned: panels in a row share top and bottom, panels in a column share left and right. With a shared
/// axis, tick labels and axis labels are drawn only on the outer panels (x on the bottom row, y on the left column).
/// </summary>
public sealed class PanelGrid
{
    private readonly Chart?[,] _panels;

    /// <summary>Creates an empty grid.</summary>
    public PanelGrid(int rows, int columns)
    {
        if (rows < 1 || columns < 1) throw new ArgumentException($"a panel grid needs at least one row and one column, got {rows} × {columns}");
        _panels = new Chart?[rows, columns];
        Rows = rows; Columns = columns;
    }

    /// <summary>A 1 × 1 grid holding <paramref name="chart"/>, sized like it, without a panel letter.</summary>
    public static PanelGrid Single(Chart chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var g = new PanelGrid(1, 1) { Width = chart.Width, Height = chart.Height, PanelLabels = false };
        g[0, 0] = chart;
        return g;
    }

    /// <summary>Wraps a single chart.</summary>
    public static implicit operator PanelGrid(Chart chart) => Single(chart);

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns.</summary>
    public int Columns { get; }

    /// <summary>The panel at (row, column); null leaves the cell empty.</summary>
    public Chart? this[int row, int column]
    {
        get => _panels[CheckRow(row), CheckColumn(column)];
        set => _panels[CheckRow(row), CheckColumn(column)] = value;
    }

    /// <summary>Figure title (<see cref="MathText"/> markup) above all panels, or null.</summary>
    public string? Title { get; set; }

    /// <summary>Sharing of x ranges.</summary>
    public AxisSharing ShareX { get; set; } = AxisSharing.None;

    /// <summary>Sharing of y ranges.</summary>
    public AxisSharing ShareY { get; set; } = AxisSharing.None;

    /// <summary>Prefixes panel titles with (a), (b) … in reading order.</summary>
    public bool PanelLabels { get; set; } = true;

    /// <summary>
    /// One legend right of the grid, with each distinct label once, instead of per-panel legends
    /// (panel <see cref="Chart.Legend"/> settings are then ignored).
    /// </summary>
    public bool SharedLegend { get; set; }

    /// <summary>Figure width in px; null: 360 per column (plus the shared legend).</summary>
    public double? Width { get; set; }

    /// <summary>Figure height in px; null: 280 per row (plus the title).</summary>
    public double? Height { get; set; }

    /// <summary>Panels in reading order (empty cells skipped), with their positions.</summary>
    public IEnumerable<(int Row, int Column, Chart Chart)> Panels()
    {
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Columns; c++)
                if (_panels[r, c] is Chart chart) yield return (r, c, chart);
    }

    /// <summary>Warnings of all panels from the last render, prefixed by the panel letter when there are several.</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var list = new List<string>();
            int n = 0;
            bool many = Panels().Count() > 1;
            foreach (var (_, _, chart) in Panels())
            {
                string prefix = many ? $"panel ({(char)('a' + n)}): " : "";
                list.AddRange(chart.Warnings.Select(w => prefix + w));
                n++;
            }
            return list;
        }
    }

    /// <summary>Renders the grid as a standalone SVG document; element ids start with <paramref name="idPrefix"/>.</summary>
    public string ToSvg(string idPrefix = "fig") => SvgRenderer.Render(this, idPrefix);

    private int CheckRow(int row) => row >= 0 && row < Rows ? row : throw new ArgumentOutOfRangeException(nameof(row), row, $"grid has {Rows} rows");
    private int CheckColumn(int c) => c >= 0 && c < Columns ? c : throw new ArgumentOutOfRangeException(nameof(c), c, $"grid has {Columns} columns");
}
