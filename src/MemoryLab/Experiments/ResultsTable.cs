using System.Globalization;
using System.Text;

namespace MemoryLab.Experiments;

/// <summary>Mean, standard error of the mean, min and max of one metric over the completed seeds of a grid point.</summary>
/// <param name="Count">Completed runs with this metric.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="Sem">s/√n with the sample standard deviation s (n − 1 denominator); NaN for n &lt; 2.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
public readonly record struct MetricStats(int Count, double Mean, double Sem, double Min, double Max)
{
    /// <summary>Statistics of <paramref name="values"/>, summed in the given order (so the same runs give the same bits).</summary>
    public static MetricStats Of(IReadOnlyList<double> values)
    {
        int n = values.Count;
        if (n == 0) return new MetricStats(0, double.NaN, double.NaN, double.NaN, double.NaN);
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values) { sum += v; min = Math.Min(min, v); max = Math.Max(max, v); }
        double mean = sum / n;
        double sem = double.NaN;
        if (n >= 2)
        {
            double ss = 0;
            foreach (double v in values) ss += (v - mean) * (v - mean);
            sem = Math.Sqrt(ss / (n - 1) / n);
        }
        return new MetricStats(n, mean, sem, min, max);
    }
}

/// <summary>One grid point of a merged results table: its axis values, run counts by status, metric statistics
/// over completed seeds, and whether the selection rule picked it.</summary>
/// <param name="AxisValues">Canonical JSON value of each axis (in <see cref="ResultsTable.Axes"/> order).</param>
/// <param name="Runs">The point's runs, ordered by seed then id.</param>
/// <param name="Stats">Statistics per metric name.</param>
public sealed record ResultsRow(IReadOnlyList<string> AxisValues, IReadOnlyList<RunRecord> Runs, IReadOnlyDictionary<string, MetricStats> Stats)
{
    /// <summary>Runs that completed.</summary>
    public int Completed => Runs.Count(r => r.Summary.Status == RunStatus.Completed);

    /// <summary>Runs that diverged.</summary>
    public int Diverged => Runs.Count(r => r.Summary.Status == RunStatus.Diverged);

    /// <summary>Runs that failed.</summary>
    public int Failed => Runs.Count(r => r.Summary.Status == RunStatus.Failed);

    /// <summary>Whether the selection rule chose this grid point in its group.</summary>
    public bool Selected { get; internal set; }
}

/// <summary>
/// Results of any number of result folders (shards of one sweep, or several sweeps) merged into one table:
/// one row per grid point — the runs that agree on every setting but the seed — with mean, SEM, min and max of
/// each final metric over the completed seeds, counts of completed, diverged and failed runs, and the
/// selection rule applied. The axes are the settings that differ between runs, so the table needs nothing but
/// the run folders; a run present in several folders is counted once. Runs whose settings agree but whose
/// <c>summary.json</c> names different algorithms (scan, convolution, or none recorded) get an <c>algorithm</c> axis
/// and are kept apart.
/// </summary>
public sealed class ResultsTable
{
    private ResultsTable(List<string> axes, List<string> metrics, List<ResultsRow> rows, SelectionRule? rule, List<string> duplicates)
    {
        Axes = axes;
        Metrics = metrics;
        Rows = rows;
        Selection = rule;
        Duplicates = duplicates;
    }

    /// <summary>Settings that differ between runs (seed excluded), as dotted paths.</summary>
    public IReadOnlyList<string> Axes { get; }

    /// <summary>Final metric names (union over runs, sorted).</summary>
    public IReadOnlyList<string> Metrics { get; }

    /// <summary>The grid points, sorted by axis values (numbers numerically).</summary>
    public IReadOnlyList<ResultsRow> Rows { get; }

    /// <summary>The selection rule applied, or null.</summary>
    public SelectionRule? Selection { get; }

    /// <summary>Ids of runs found in more than one folder (counted once).</summary>
    public IReadOnlyList<string> Duplicates { get; }

    /// <summary>Runs that diverged or failed, in row order.</summary>
    public IEnumerable<RunRecord> Problems => Rows.SelectMany(r => r.Runs).Where(r => r.Summary.Status != RunStatus.Completed);

    /// <summary>Reads the runs of every folder in <paramref name="directories"/> and merges them. The selection rule
    /// comes from <paramref name="rule"/> or else the first folder's <c>sweep.yaml</c>.</summary>
    public static ResultsTable Load(IEnumerable<string> directories, SelectionRule? rule = null)
    {
        var runs = new List<RunRecord>();
        var unreadable = new List<string>();
        IReadOnlyList<string>? axisOrder = null;
        foreach (string dir in directories)
        {
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"no results folder '{dir}'");
            var store = new ResultsStore(dir);
            runs.AddRange(store.ReadAll(unreadable));
            var sweep = store.ReadSweepSpec();
            if (sweep is null) continue;
            if (rule is null && sweep.Peek(SweepPlan.SelectKey) is { Kind: SpecNodeKind.Mapping } sel) rule = SelectionRule.Read(sel.Clone());
            if (axisOrder is null && sweep.Peek(SweepPlan.GridKey) is { } grid)
                axisOrder = (grid.Kind == SpecNodeKind.Sequence ? grid.Items : new[] { grid }).SelectMany(g => g.Keys).Distinct().ToList();
        }
        var table = Build(runs, rule, axisOrder);
        table.Unreadable = unreadable;
        return table;
    }

    /// <summary>Runs left out because their <c>summary.json</c> or <c>spec.yaml</c> cannot be read: one line each, naming the file and what is wrong.</summary>
    public IReadOnlyList<string> Unreadable { get; private set; } = Array.Empty<string>();

    /// <summary>Builds the table from <paramref name="runs"/>; <paramref name="axisOrder"/> orders the axis columns
    /// (the grid's order), other differing settings follow alphabetically.</summary>
    public static ResultsTable Build(IEnumerable<RunRecord> runs, SelectionRule? rule = null, IReadOnlyList<string>? axisOrder = null)
    {
        var unique = new Dictionary<string, RunRecord>(StringComparer.Ordinal);
        var duplicates = new List<string>();
        foreach (var r in runs)
            if (!unique.TryAdd(r.Id, r)) duplicates.Add(r.Id);
        var all = unique.Values.OrderBy(r => r.Id, StringComparer.Ordinal).ToList();

        // Axes: leaves whose value is not the same in every run (a missing leaf counts as a value).
        var flat = all.Select(r => r.Spec.Flatten().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)).ToList();
        var paths = flat.SelectMany(f => f.Keys).Distinct().Where(p => p != ExperimentRegistry.SeedKey);
        var varying = paths.Where(p => flat.Select(f => f.GetValueOrDefault(p, "")).Distinct().Count() > 1).ToHashSet();
        var axes = (axisOrder ?? Array.Empty<string>()).Where(varying.Contains).ToList();
        axes.AddRange(varying.Where(p => !axes.Contains(p)).Order(StringComparer.Ordinal));
        // The algorithm a run computed with (summary.json) becomes the first axis where runs that agree on every setting would
        // otherwise share a row with different algorithms (runs saved before the algorithm was part of the spec, or under
        // algorithm: auto): their results differ in rounding, so they are never averaged or selected against each other.
        var algorithmOf = all.Select(r => System.Text.Json.JsonSerializer.Serialize(r.Summary.Algorithm ?? AlgorithmNotRecorded)).ToList();
        bool mixed = Enumerable.Range(0, all.Count)
            .GroupBy(i => string.Join("\u0001", axes.Select(a => flat[i].GetValueOrDefault(a, ""))), StringComparer.Ordinal)
            .Any(g => g.Select(i => algorithmOf[i]).Distinct(StringComparer.Ordinal).Count() > 1);
        if (mixed)
        {
            axes.Remove(AlgorithmAxis);
            axes.Insert(0, AlgorithmAxis);
            for (int i = 0; i < all.Count; i++) flat[i][AlgorithmAxis] = algorithmOf[i];
        }

        var metrics = all.SelectMany(r => r.Summary.Metrics.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < all.Count; i++)
        {
            string key = string.Join("\u0001", axes.Select(a => flat[i].GetValueOrDefault(a, "")));
            if (!groups.TryGetValue(key, out var list)) groups[key] = list = new List<int>();
            list.Add(i);
        }
        var rows = new List<ResultsRow>();
        foreach (var members in groups.Values)
        {
            var point = members.OrderBy(i => all[i].Seed).ThenBy(i => all[i].Id, StringComparer.Ordinal).ToList();
            var stats = new Dictionary<string, MetricStats>(StringComparer.Ordinal);
            foreach (string m in metrics)
            {
                var values = point.Select(i => all[i]).Where(r => r.Summary.Status == RunStatus.Completed && r.Summary.Metrics.ContainsKey(m))
                                  .Select(r => r.Summary.Metrics[m]).ToList();
                stats[m] = MetricStats.Of(values);
            }
            rows.Add(new ResultsRow(axes.Select(a => flat[point[0]].GetValueOrDefault(a, "")).ToList(), point.Select(i => all[i]).ToList(), stats));
        }
        rows.Sort((a, b) =>
        {
            for (int k = 0; k < axes.Count; k++)
            {
                int c = CompareValues(a.AxisValues[k], b.AxisValues[k]);
                if (c != 0) return c;
            }
            return 0;
        });
        if (rule != null) ApplySelection(rows, axes, rule, all, flat);
        return new ResultsTable(axes, metrics, rows, rule, duplicates)
        {
            Algorithms = all.GroupBy(r => r.Summary.Algorithm ?? AlgorithmNotRecorded, StringComparer.Ordinal)
                            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())).ToList(),
        };
    }

    /// <summary>The axis (and CSV column) of the algorithm a run's linear time-invariant model computed with, from its
    /// <c>summary.json</c>: the first axis when runs that agree on every setting differ in it (<see cref="SeparatesAlgorithms"/>).</summary>
    public const string AlgorithmAxis = "algorithm";

    /// <summary>The <see cref="AlgorithmAxis"/> value of a run whose summary names no algorithm (a model without one, or a run
    /// saved before the algorithm was recorded).</summary>
    public const string AlgorithmNotRecorded = "not recorded";

    /// <summary>Each algorithm among the runs (<see cref="AlgorithmNotRecorded"/> for none) with its number of runs, by name.</summary>
    public IReadOnlyList<(string Algorithm, int Runs)> Algorithms { get; private init; } = [];

    /// <summary>Whether runs that agree on every setting computed with different algorithms, so <see cref="AlgorithmAxis"/> keeps them apart.</summary>
    public bool SeparatesAlgorithms => Axes.Count > 0 && Axes[0] == AlgorithmAxis;

    private static void ApplySelection(List<ResultsRow> rows, List<string> axes, SelectionRule rule, List<RunRecord> all, List<Dictionary<string, string>> flat)
    {
        var index = all.Select((r, i) => (r.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        // Groups: same values of `per` and of every axis the rule does not choose over.
        var groupPaths = rule.Per.Concat(axes.Where(a => !rule.Over.Contains(a) && !rule.Per.Contains(a))).ToList();
        var groups = rows.GroupBy(r =>
        {
            var f = flat[index[r.Runs[0].Id]];
            return string.Join("\u0001", groupPaths.Select(p => f.GetValueOrDefault(p, "")));
        }, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            ResultsRow? best = null;
            foreach (var row in group)
            {
                if (!row.Stats.TryGetValue(rule.Metric, out var s) || s.Count == 0 || !double.IsFinite(s.Mean)) continue;
                if (best is null) { best = row; continue; }
                var b = best.Stats[rule.Metric];
                int badRow = row.Runs.Count - row.Completed, badBest = best.Runs.Count - best.Completed;
                // Fully completed grid points first; then the best mean.
                if (badRow != badBest) { if (badRow < badBest) best = row; continue; }
                if (rule.Minimize ? s.Mean < b.Mean : s.Mean > b.Mean) best = row;
            }
            if (best != null) best.Selected = true;
        }
    }

    /// <summary>The table as CSV: axis columns, <c>runs, completed, diverged, failed</c>, then
    /// <c>METRIC_mean, METRIC_sem, METRIC_min, METRIC_max</c> per metric, then <c>selected</c> when a rule applies.
    /// Numbers in shortest round-trip form; an undefined statistic is an empty cell.</summary>
    public string ToCsv(bool selectedOnly = false)
    {
        var sb = new StringBuilder();
        var header = new List<string>(Axes) { "runs", "completed", "diverged", "failed" };
        foreach (string m in Metrics) header.AddRange(new[] { m + "_mean", m + "_sem", m + "_min", m + "_max" });
        if (Selection != null) header.Add("selected");
        sb.AppendJoin(',', header.Select(Cell)).Append('\n');
        foreach (var row in Rows)
        {
            if (selectedOnly && !row.Selected) continue;
            var cells = row.AxisValues.Select(DisplayValue).ToList();
            cells.Add(row.Runs.Count.ToString(CultureInfo.InvariantCulture));
            cells.Add(row.Completed.ToString(CultureInfo.InvariantCulture));
            cells.Add(row.Diverged.ToString(CultureInfo.InvariantCulture));
            cells.Add(row.Failed.ToString(CultureInfo.InvariantCulture));
            foreach (string m in Metrics)
            {
                var s = row.Stats[m];
                cells.Add(Number(s.Mean));
                cells.Add(Number(s.Sem));
                cells.Add(Number(s.Min));
                cells.Add(Number(s.Max));
            }
            if (Selection != null) cells.Add(row.Selected ? "true" : "false");
            sb.AppendJoin(',', cells.Select(Cell)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>A canonical JSON value as shown in tables and logs: strings without quotes, others as they are.</summary>
    public static string DisplayValue(string canonicalJson) =>
        canonicalJson.Length >= 2 && canonicalJson[0] == '"' && canonicalJson[^1] == '"'
            ? System.Text.Json.JsonSerializer.Deserialize<string>(canonicalJson) ?? ""
            : canonicalJson;

    private static string Number(double x) => double.IsNaN(x) ? "" : SpecNode.FormatNumber(x).Trim('"');

    private static string Cell(string s) =>
        s.Contains(',') || s.Contains('"') || s.Contains('\n') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    private static int CompareValues(string a, string b)
    {
        bool na = double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out double x);
        bool nb = double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out double y);
        if (na && nb) return x.CompareTo(y);
        if (na != nb) return na ? -1 : 1;
        return string.CompareOrdinal(a, b);
    }
}
