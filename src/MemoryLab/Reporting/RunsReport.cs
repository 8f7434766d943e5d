using System.Globalization;
using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Reporting;

/// <summary>
/// The report of a user's own run or sweep (<c>memlab report RUN_OR_SWEEP_DIR</c>), what an experiment tracker would show:
/// the logged curves (loss, learning rate, gradient norm) of every run; per grid point, the mean ± SEM of those curves over
/// seeds; the table of final metrics per grid point (mean ± SEM over seeds, with the grid points the sweep's
/// <c>select:</c> rule picks highlighted); and each final metric against each grid axis. Same SVG and HTML as the
/// reproduction report (<see cref="ReportWriter"/>), without claims.
/// </summary>
public static class RunsReport
{
    /// <summary>The curves drawn when a run logs them (other logged columns are drawn too, after these).</summary>
    public static IReadOnlyList<string> CurveOrder { get; } = ["loss", "lr", "grad_norm"];

    // Logged columns that describe speed, not learning: not drawn.
    private static readonly HashSet<string> NotDrawn = new(StringComparer.Ordinal) { "elapsed_s", "steps_per_second", "wall_time" };

    /// <summary>The runs in <paramref name="folders"/>: a run folder (holding summary.json) is that run; any other folder is a
    /// results folder whose run sub-folders are read (shards of one sweep merge by run id). Throws
    /// <see cref="SpecException"/> when there is no finished run.</summary>
    public static ResultsTable Load(IReadOnlyList<string> folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        var runs = new List<RunRecord>();
        SelectionRule? rule = null;
        IReadOnlyList<string>? axisOrder = null;
        foreach (string folder in folders)
        {
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"no results folder '{folder}'");
            string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
            if (File.Exists(Path.Combine(full, ResultsStore.SummaryFileName)))
            {
                var store = new ResultsStore(Path.GetDirectoryName(full)!);
                if (store.ReadRun(Path.GetFileName(full)) is { } run) runs.Add(run);
                continue;
            }
            var table = ResultsTable.Load([full]);
            runs.AddRange(table.Rows.SelectMany(r => r.Runs));
            rule ??= table.Selection;
            if (axisOrder is null && table.Axes.Count > 0) axisOrder = table.Axes;
        }
        if (runs.Count == 0)
            throw new SpecException(SourcePosition.CommandLine, null, $"no finished runs in {string.Join(", ", folders)} (a run folder holds summary.json; a sweep folder holds run folders)");
        return ResultsTable.Build(runs, rule, axisOrder);
    }

    /// <summary>Builds the report of <paramref name="table"/>'s runs; <paramref name="name"/> titles it.</summary>
    public static ReportDocument Build(ResultsTable table, string name, DateTimeOffset generatedAt)
    {
        ArgumentNullException.ThrowIfNull(table);
        var runs = table.Rows.SelectMany(r => r.Runs).ToList();
        var doc = new ReportDocument($"Results: {name}", generatedAt) { HasClaims = false };
        int completed = table.Rows.Sum(r => r.Completed), diverged = table.Rows.Sum(r => r.Diverged), failed = table.Rows.Sum(r => r.Failed);
        doc.Introduction = $"{runs.Count} run(s) at {table.Rows.Count} grid point(s): {completed} completed, {diverged} diverged, {failed} failed."
            + (table.Axes.Count > 0 ? $" Grid axes: {string.Join(", ", table.Axes)}." : "")
            + (table.Selection is { } rule ? $" Selection: per group, the grid point with the {(rule.Minimize ? "lowest" : "highest")} mean {rule.Metric} over seeds (highlighted in the table)." : "");

        var curves = runs.ToDictionary(r => r.Id, r => ReadCurves(r.Directory), StringComparer.Ordinal);
        var columns = CurveOrder.Where(c => curves.Values.Any(m => m.ContainsKey(c)))
            .Concat(curves.Values.SelectMany(m => m.Keys).Distinct().Where(c => !CurveOrder.Contains(c) && !NotDrawn.Contains(c)).Order(StringComparer.Ordinal))
            .ToList();
        var pointLabel = table.Rows.ToDictionary(r => r, r => PointLabel(table, r));

        var curvesSection = doc.AddSection("Training curves", "Each run's logged metrics against the optimiser step (one line per run, coloured by grid point).");
        for (int c = 0; c < columns.Count; c++)
        {
            string col = columns[c];
            var chart = Chart.Create(Markup(col), "step", Markup(col), AxisScale.Linear, LogIfPositive(curves.Values.Where(m => m.ContainsKey(col)).SelectMany(m => m[col].Y)));
            chart.Width = 760;
            bool legend = table.Rows.Count <= 12;
            for (int p = 0; p < table.Rows.Count; p++)
            {
                string color = SeriesColor(p);
                bool first = true;
                foreach (var run in table.Rows[p].Runs)
                {
                    if (!curves[run.Id].TryGetValue(col, out var curve) || curve.X.Count == 0) continue;
                    chart.AddLine(legend && first ? Markup(pointLabel[table.Rows[p]]) : null, curve.X, Finite(curve.Y, chart.Y.Scale), color);
                    first = false;
                }
            }
            curvesSection.Figures.Add(new ReportFigure(chart, $"{col} of every run against the step{(legend ? "" : " (legend omitted: more than 12 grid points)")}.", $"curve-{Slug(col)}.svg"));
        }

        if (table.Rows.Any(r => r.Runs.Count > 1))
        {
            var meanSection = doc.AddSection("Mean ± SEM over seeds", "Per grid point, the mean of each logged metric over its runs (seeds) at each logged step, with a band of ± one standard error of the mean.");
            foreach (string col in columns)
            {
                var chart = Chart.Create(Markup(col) + " (mean ± SEM)", "step", Markup(col), AxisScale.Linear,
                    LogIfPositive(curves.Values.Where(m => m.ContainsKey(col)).SelectMany(m => m[col].Y)));
                chart.Width = 760;
                for (int p = 0; p < table.Rows.Count; p++)
                {
                    var (x, mean, sem) = MeanOverRuns(table.Rows[p].Runs.Where(r => curves[r.Id].ContainsKey(col)).Select(r => curves[r.Id][col]));
                    if (x.Count == 0) continue;
                    if (chart.Y.Scale == AxisScale.Log)
                    {
                        // A band reaching zero or below cannot be drawn on a log axis: clip its lower edge.
                        for (int i = 0; i < sem.Count; i++) sem[i] = Math.Min(sem[i], 0.999 * mean[i]);
                    }
                    chart.AddMeanBand(table.Rows.Count <= 12 ? Markup(pointLabel[table.Rows[p]]) : null, x, mean, sem, SeriesColor(p));
                }
                meanSection.Figures.Add(new ReportFigure(chart, $"{col}: mean over seeds per grid point, band ± SEM.", $"mean-{Slug(col)}.svg"));
            }
        }

        var tableSection = doc.AddSection("Final metrics per grid point",
            "Final metrics (from each run's summary.json): mean ± SEM over the grid point's completed runs, and how many runs completed, diverged or failed.");
        tableSection.Tables.Add(SelectionTable(table));

        string? metric = table.Selection?.Metric is { } m0 && table.Metrics.Contains(m0) ? m0
            : table.Metrics.Contains("final_loss") ? "final_loss" : table.Metrics.FirstOrDefault();
        if (metric is not null && table.Axes.Count > 0)
        {
            var axisSection = doc.AddSection("Final metric against each grid axis",
                $"Mean ± SEM over seeds of {metric} against each grid axis, one series per setting of the other axes.");
            foreach (string axis in table.Axes)
                if (AxisChart(table, axis, metric) is { } chart)
                    axisSection.Figures.Add(new ReportFigure(chart, $"{metric} against {axis} (mean ± SEM over seeds).", $"axis-{Slug(axis)}.svg"));
        }
        return doc;
    }

    /// <summary>Loads <paramref name="folders"/>, builds the report and writes report.html and one SVG per figure into
    /// <paramref name="outDirectory"/>. Returns the document.</summary>
    public static ReportDocument Write(IReadOnlyList<string> folders, string outDirectory)
    {
        var table = Load(folders);
        string name = string.Join(", ", folders.Select(f => Path.GetFileName(Path.GetFullPath(f).TrimEnd(Path.DirectorySeparatorChar))));
        var doc = Build(table, name, DateTimeOffset.UtcNow);
        ReportWriter.Write(doc, outDirectory);
        return doc;
    }

    /// <summary>The columns of a run's metrics.csv (step in X), each as (steps, values); empty cells are skipped.</summary>
    public static Dictionary<string, (List<double> X, List<double> Y)> ReadCurves(string runDirectory)
    {
        var result = new Dictionary<string, (List<double>, List<double>)>(StringComparer.Ordinal);
        string path = Path.Combine(runDirectory, ResultsStore.MetricsCsvFileName);
        if (!File.Exists(path)) return result;
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2) return result;
        var header = lines[0].Split(',');
        int stepColumn = Array.IndexOf(header, "step");
        if (stepColumn < 0) return result;
        for (int j = 0; j < header.Length; j++) if (j != stepColumn) result[header[j]] = (new List<double>(), new List<double>());
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            if (cells.Length <= stepColumn || !double.TryParse(cells[stepColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out double step)) continue;
            for (int j = 0; j < header.Length && j < cells.Length; j++)
            {
                if (j == stepColumn || cells[j].Length == 0) continue;
                if (double.TryParse(cells[j], NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) { result[header[j]].Item1.Add(step); result[header[j]].Item2.Add(v); }
            }
        }
        return result;
    }

    private static ReportTable SelectionTable(ResultsTable table)
    {
        var metrics = table.Metrics;
        var header = table.Axes.Concat(["runs", "completed", "diverged", "failed"]).Concat(metrics.Select(m => m + " (mean ± SEM)")).ToList();
        var rows = new List<IReadOnlyList<string>>();
        var selected = new HashSet<int>();
        for (int i = 0; i < table.Rows.Count; i++)
        {
            var r = table.Rows[i];
            var cells = r.AxisValues.Select(v => Short(ResultsTable.DisplayValue(v))).ToList();
            cells.AddRange([r.Runs.Count.ToString(CultureInfo.InvariantCulture), r.Completed.ToString(CultureInfo.InvariantCulture),
                r.Diverged.ToString(CultureInfo.InvariantCulture), r.Failed.ToString(CultureInfo.InvariantCulture)]);
            foreach (string m in metrics)
            {
                var s = r.Stats[m];
                cells.Add(s.Count == 0 ? "" : s.Count == 1 || double.IsNaN(s.Sem) ? Num(s.Mean) : $"{Num(s.Mean)} ± {Num(s.Sem)}");
            }
            rows.Add(cells);
            if (r.Selected) selected.Add(i);
        }
        string caption = table.Selection is { } rule
            ? $"Per grid point; highlighted: the selection rule's pick ({(rule.Minimize ? "lowest" : "highest")} mean {rule.Metric}" +
              (rule.Over.Count > 0 ? $" over {string.Join(", ", rule.Over)}" : "") + (rule.Per.Count > 0 ? $", per {string.Join(", ", rule.Per)}" : "") + ")."
            : "Per grid point (the sweep has no select: rule).";
        return new ReportTable(caption, header, rows, selected);
    }

    private static Chart? AxisChart(ResultsTable table, string axis, string metric)
    {
        int a = table.Axes.ToList().IndexOf(axis);
        var values = table.Rows.Select(r => r.AxisValues[a]).Distinct().ToList();
        if (values.Count < 2) return null;
        bool numeric = values.All(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        double Position(string v) => numeric ? double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) : values.IndexOf(v);
        var xs = values.Select(Position).ToList();
        var xScale = numeric && xs.All(x => x > 0) && xs.Max() / xs.Min() >= 10 ? AxisScale.Log : AxisScale.Linear;
        var means = table.Rows.Select(r => r.Stats.TryGetValue(metric, out var s) ? s.Mean : double.NaN).Where(double.IsFinite);
        var chart = Chart.Create($"{Markup(metric)} against {Markup(axis)}", Markup(axis), Markup(metric), xScale, LogIfPositive(means));
        chart.Width = 640;
        if (!numeric) chart.X.CustomTicks = values.Select((v, i) => new Tick(i, Markup(Short(ResultsTable.DisplayValue(v))))).ToList();
        // One series per setting of the other axes.
        var others = Enumerable.Range(0, table.Axes.Count).Where(i => i != a).ToList();
        var series = table.Rows.GroupBy(r => string.Join(", ", others.Select(i => $"{table.Axes[i]}={Short(ResultsTable.DisplayValue(r.AxisValues[i]))}")), StringComparer.Ordinal).ToList();
        int k = 0;
        foreach (var g in series)
        {
            var points = g.Select(r => (X: Position(r.AxisValues[a]), S: r.Stats.GetValueOrDefault(metric)))
                .Where(p => p.S.Count > 0 && double.IsFinite(p.S.Mean) && (chart.Y.Scale != AxisScale.Log || p.S.Mean > 0))
                .OrderBy(p => p.X).ToList();
            if (points.Count == 0) continue;
            string color = SeriesColor(k++);
            string? label = series.Count > 1 && series.Count <= 12 ? Markup(g.Key) : null;
            var err = points.Select(p => double.IsFinite(p.S.Sem) ? (chart.Y.Scale == AxisScale.Log ? Math.Min(p.S.Sem, 0.999 * p.S.Mean) : p.S.Sem) : 0).ToList();
            chart.AddLine(null, points.Select(p => p.X).ToList(), points.Select(p => p.S.Mean).ToList(), color);
            chart.AddPoints(label, points.Select(p => p.X).ToList(), points.Select(p => p.S.Mean).ToList(), err, color);
        }
        return chart;
    }

    private static (List<double> X, List<double> Mean, List<double> Sem) MeanOverRuns(IEnumerable<(List<double> X, List<double> Y)> curves)
    {
        var byStep = new SortedDictionary<double, List<double>>();
        foreach (var (x, y) in curves)
            for (int i = 0; i < x.Count; i++)
                if (double.IsFinite(y[i]))
                {
                    if (!byStep.TryGetValue(x[i], out var list)) byStep[x[i]] = list = new List<double>();
                    list.Add(y[i]);
                }
        var xs = new List<double>(); var mean = new List<double>(); var sem = new List<double>();
        foreach (var (step, values) in byStep)
        {
            var s = MetricStats.Of(values);
            xs.Add(step); mean.Add(s.Mean); sem.Add(double.IsFinite(s.Sem) ? s.Sem : 0);
        }
        return (xs, mean, sem);
    }

    private static AxisScale LogIfPositive(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return finite.Count > 0 && finite.All(v => v > 0) && finite.Max() / finite.Min() >= 20 ? AxisScale.Log : AxisScale.Linear;
    }

    // Non-finite values (a diverged run's last step) cannot be drawn: they become gaps.
    private static List<double> Finite(List<double> y, AxisScale scale) =>
        y.Select(v => double.IsFinite(v) && (scale != AxisScale.Log || v > 0) ? v : double.NaN).ToList();

    private static string PointLabel(ResultsTable table, ResultsRow row) =>
        table.Axes.Count == 0 ? "run" : string.Join(", ", table.Axes.Select((a, i) => $"{a}={Short(ResultsTable.DisplayValue(row.AxisValues[i]))}"));

    // A mapping value (a model) is shown by its name or kind.
    private static string Short(string value)
    {
        if (value.StartsWith('{'))
        {
            try
            {
                using var json = JsonDocument.Parse(value);
                foreach (string key in new[] { "name", "kind" })
                    if (json.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String) return v.GetString()!;
            }
            catch (JsonException) { }
        }
        return value.Length > 40 ? value[..37] + "…" : value;
    }

    private static string Num(double x) => ClaimCheck.Format(x);

    // Names from specs are plain text; figure text is MathText markup, where _ ^ { } \ are special.
    private static string Markup(string text)
    {
        var sb = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '_' or '^' or '{' or '}' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static string SeriesColor(int i) => Charts.Palette.Series(i);

    private static string Slug(string s) => ReportSection.Slug(s);
}
