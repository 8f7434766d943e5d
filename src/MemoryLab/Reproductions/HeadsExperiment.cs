using System.Globalization;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Reproductions;

/// <summary>One number of heads at its selected learning rate: final loss over seeds and the seed-mean effective-rate curve.</summary>
/// <param name="Heads">Number of heads (A block-diagonal with this many blocks).</param>
/// <param name="LearningRate">The selected peak learning rate.</param>
/// <param name="Loss">Mean, SEM, min and max of the final loss over the completed seeds.</param>
/// <param name="Steps">Logged steps of the effective-rate curve.</param>
/// <param name="EffectiveRate">Mean over seeds of the effective Adam learning rate of A at each logged step.</param>
public sealed record HeadsPoint(int Heads, double LearningRate, MetricStats Loss, double[] Steps, double[] EffectiveRate)
{
    /// <summary>The median over the logged steps of the effective-rate curve (NaN when none was logged).</summary>
    public double MedianRate
    {
        get
        {
            var v = EffectiveRate.Where(double.IsFinite).Order().ToArray();
            return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
        }
    }
}

/// <summary>
/// <c>zucchet24-heads</c> (Zucchet &amp; Orvieto, NeurIPS 2024, App., Fig. 11): the dense linear RNN with 64 neurons split into
/// 1 … 32 heads (a block-diagonal recurrence) learning the ν₀ = 0.99 teacher of zucchet24-teacher-student. Per number of heads the
/// learning rate with the lowest mean final loss; the figure shows that loss against the heads and the effective Adam learning
/// rate of A (metric <c>effective_lr.recurrent</c> of the <c>kind: train</c> runs) against the step. The runs are those of
/// <c>experiments/reproduce/zucchet24-heads/</c>.
/// </summary>
public sealed class HeadsExperiment : IReproduction
{
    /// <summary>The metric column of the runs' <c>metrics.csv</c> holding A's effective learning rate.</summary>
    public const string RateMetric = "effective_lr.recurrent";

    /// <summary>Published results keep the effective-rate curve of the selected runs (the figure's right panel reads it).</summary>
    public PublishedData Published => new([RateMetric], []);

    /// <inheritdoc />
    public string Name => "zucchet24-heads";
    /// <inheritdoc />
    public string Title => "Dense RNN split into heads: final loss and Adam's effective learning rate of A (Zucchet24 Fig. 11)";
    /// <inheritdoc />
    public string Method =>
        "The teacher and training of zucchet24-teacher-student at ν₀ = 0.99; the student is the dense linear RNN with 64 neurons whose A is "
        + "block-diagonal with 1, 2, 4, 8, 16 or 32 heads (the authors' MultiHeadRNN), 5 peak learning rates 1e−4 … 3.2e−2 (scans/varying_number_heads.yaml). "
        + "Per number of heads the rate with the lowest mean final loss. Effective learning rate of A: the step Adam would take on each entry for a "
        + "unit gradient (the next step's update with g = 1 entering both moments, at the scheduled rate), geometric mean over A's entries with a "
        + "1e−8 floor, as the authors' source/train.py; the curve is the mean over seeds. Paper scale: 10 seeds, 10,000 steps, batch 128. "
        + "Quick scale: 2 seeds, 1,000 steps, batch 16.";

    /// <inheritdoc />
    public void Report(ReproductionResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        Report(Points(results.Table()), results.Section, results.Claims);
    }

    /// <summary>The selected point per number of heads, with its effective-rate curve read from the runs' <c>metrics.csv</c>.</summary>
    public static IReadOnlyList<HeadsPoint> Points(ResultsTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var points = new List<HeadsPoint>();
        foreach (var row in table.Rows.Where(r => r.Selected))
        {
            var flat = row.Runs[0].Spec.Flatten().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            var curves = row.Runs.Where(r => r.Summary.Status == RunStatus.Completed)
                .Select(r => ReadCurve(Path.Combine(r.Directory, ResultsStore.MetricsCsvFileName), RateMetric)).Where(c => c.Steps.Length > 0).ToArray();
            double[] steps = curves.Length == 0 ? [] : curves[0].Steps;
            var mean = new double[steps.Length];
            for (int i = 0; i < steps.Length; i++)
                mean[i] = curves.Where(c => c.Steps.Length > i && c.Steps[i] == steps[i]).Select(c => c.Values[i]).DefaultIfEmpty(double.NaN).Average();
            points.Add(new HeadsPoint(int.Parse(flat["model.heads"], CultureInfo.InvariantCulture),
                double.Parse(flat["optimizer.lr"], NumberStyles.Float, CultureInfo.InvariantCulture), row.Stats["final_loss"], steps, mean));
        }
        return points.OrderBy(p => p.Heads).ToArray();
    }

    /// <summary>The steps and values of column <paramref name="metric"/> of a metrics CSV (rows where it is empty are skipped);
    /// empty arrays when the file or the column is missing.</summary>
    public static (double[] Steps, double[] Values) ReadCurve(string path, string metric)
    {
        if (!File.Exists(path)) return ([], []);
        using var reader = new StreamReader(path);
        var header = reader.ReadLine()?.Split(',') ?? [];
        int s = Array.IndexOf(header, "step"), m = Array.IndexOf(header, metric);
        if (s < 0 || m < 0) return ([], []);
        var steps = new List<double>();
        var values = new List<double>();
        for (string? line = reader.ReadLine(); line != null; line = reader.ReadLine())
        {
            var cells = line.Split(',');
            if (cells.Length <= Math.Max(s, m) || cells[m].Length == 0) continue;
            steps.Add(double.Parse(cells[s], NumberStyles.Float, CultureInfo.InvariantCulture));
            values.Add(double.Parse(cells[m], NumberStyles.Float, CultureInfo.InvariantCulture));
        }
        return (steps.ToArray(), values.ToArray());
    }

    /// <summary>The figure and claims from the selected points.</summary>
    public static void Report(IReadOnlyList<HeadsPoint> points, ReportSection section, ClaimSet claims)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(claims);
        var grid = new PanelGrid(1, 2);
        var loss = Chart.Create("final loss at the best learning rate", "heads", "final loss", AxisScale.Log, AxisScale.Log);
        loss.X.CustomTicks = points.Select(p => new Tick(p.Heads, p.Heads.ToString(CultureInfo.InvariantCulture))).ToArray();
        loss.Legend = LegendPosition.None;
        if (points.Count > 0)
        {
            loss.AddLine(null, points.Select(p => (double)p.Heads).ToArray(), points.Select(p => p.Loss.Mean).ToArray(), "#CCCCCC");
            for (int i = 0; i < points.Count; i++)
                loss.AddPoints(null, [points[i].Heads], [points[i].Loss.Mean], [double.IsNaN(points[i].Loss.Sem) ? 0 : points[i].Loss.Sem], Palette.Series(i));
        }
        var rate = Chart.Create("effective learning rate of A", "step", "effective lr (A)", AxisScale.Linear, AxisScale.Log);
        for (int i = 0; i < points.Count; i++)
            if (points[i].Steps.Length > 0)
                rate.AddLine($"{points[i].Heads} heads (lr {points[i].LearningRate})", points[i].Steps, points[i].EffectiveRate, Palette.Series(i));
        grid[0, 0] = loss; grid[0, 1] = rate;
        section.Figures.Add(new ReportFigure(grid, "Left: final loss (mean ± SEM over seeds, best learning rate) against the number of heads of the dense RNN "
            + "at ν₀ = 0.99. Right: Adam's effective learning rate of A (geometric mean over its entries; mean over seeds) during training at that rate. "
            + string.Join("; ", points.Select(p => $"{p.Heads} heads: loss {Fmt(p.Loss.Mean)}, median rate {Fmt(p.MedianRate)}")) + ".", "heads.svg"));

        var one = points.FirstOrDefault(p => p.Heads == 1);
        var most = points.FirstOrDefault(p => p.Heads == 32);
        double lossRatio = one != null && most != null ? one.Loss.Mean / most.Loss.Mean : double.NaN;
        claims.Check("heads-lower-the-loss", lossRatio, one != null && most != null
            ? $"1 head {Fmt(one.Loss.Mean)} ± {Fmt(one.Loss.Sem)} (lr {one.LearningRate}) vs 32 heads {Fmt(most.Loss.Mean)} ± {Fmt(most.Loss.Sem)} (lr {most.LearningRate}): ×{Fmt(lossRatio)}"
            : "missing");
        double rateRatio = one != null && most != null ? most.MedianRate / one.MedianRate : double.NaN;
        claims.Check("heads-raise-the-effective-learning-rate", rateRatio, one != null && most != null && double.IsFinite(rateRatio)
            ? $"median effective lr of A: 1 head {Fmt(one.MedianRate)}, 32 heads {Fmt(most.MedianRate)} (×{Fmt(rateRatio)}); by heads: "
              + string.Join(", ", points.Select(p => $"{p.Heads}: {Fmt(p.MedianRate)}"))
            : "missing");
    }

    private static string Fmt(double x) => x.ToString("G3", CultureInfo.InvariantCulture);
}
