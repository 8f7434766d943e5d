using System.Globalization;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using MemoryLab.Theory;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>zucchet24-phase-concentration</c> (Zucchet24 Fig. 10): what happens when the eigenvalues' phases crowd together,
/// θ ∈ [−θ₀, θ₀] with θ₀ from π down to π/100, at ν₀ = 0.99.
/// <para>Theory panel (the report step computes it from the spec's <c>reproduction.analysis</c>): the Hessian at the optimum,
/// with respect to the eigenvalues, of a random diagonal network (<see cref="DiagonalNetwork.SampleRing"/>: n neurons, |λ| ring-uniform,
/// b, c ~ CN(0, 1); the authors' <c>figures/effect_shrink_eigvals.ipynb</c>), from the closed form
/// <see cref="EigenvalueHessian.AtOptimum"/>; how far it is from diagonal (<see cref="EigenvalueHessian.OffDiagonalFraction"/>),
/// averaged over sampled networks, and checked once against finite differences of the exact population loss
/// (<see cref="DiagonalTeacherStudentLoss"/>).</para>
/// <para>Learning panel: the spec's ordinary <c>kind: train</c> runs — the teacher–student task of zucchet24-teacher-student with
/// the teacher's phases in [−θ₀, θ₀] (<c>data.theta0</c>) and the students initialised with the same θ₀ (the authors'
/// <c>scans/shrink_eigvals_p{1,2,3}.yaml</c>: LRU, complex diagonal, dense RNN); best learning rate per (student, θ₀).</para>
/// </summary>
public sealed class PhaseConcentrationExperiment : IReproduction
{
    /// <summary>The students by their spec <c>name</c>, with legend labels, in the figure's order.</summary>
    public static readonly (string Name, string Label)[] Students = [("rnn", "dense RNN"), ("complex_diagonal", "complex diagonal"), ("lru", "LRU")];

    /// <summary>The theory panel's settings (spec <c>reproduction.analysis</c>).</summary>
    /// <param name="Size">Neurons n.</param>
    /// <param name="RMin">Smallest eigenvalue magnitude.</param>
    /// <param name="RMax">Largest eigenvalue magnitude.</param>
    /// <param name="Rho">Input autocorrelation ρ.</param>
    /// <param name="MaxPhasesOverPi">θ₀/π for each panel point.</param>
    /// <param name="Samples">Networks sampled per θ₀.</param>
    /// <param name="Seed">Seed of the sampled networks.</param>
    public sealed record Analysis(int Size, double RMin, double RMax, double Rho, double[] MaxPhasesOverPi, int Samples, ulong Seed)
    {
        /// <summary>Reads the <c>analysis:</c> mapping strictly.</summary>
        public static Analysis Bind(SpecNode node)
        {
            ArgumentNullException.ThrowIfNull(node);
            var s = node.Clone();
            var a = new Analysis(s.GetInt("size", min: 1), s.GetDouble("r_min", min: 0, below: 1), s.GetDouble("r_max", min: 0, below: 1),
                s.GetDouble("rho", min: 0, max: 1), s.GetDoubleList("max_phases_over_pi", above: 0, max: 1, minCount: 2),
                s.GetInt("samples", min: 1), (ulong)s.GetLong("seed", min: 0));
            if (a.RMax < a.RMin) throw s.Error("r_max", $"must be ≥ r_min = {a.RMin} (got {a.RMax})");
            s.EnsureAllKeysUsed();
            return a;
        }
    }

    /// <inheritdoc />
    public string Name => "zucchet24-phase-concentration";
    /// <inheritdoc />
    public string Title => "Concentrated eigenvalue phases: a less diagonal Hessian, and the students' training (Zucchet24 Fig. 10)";
    /// <inheritdoc />
    public string Method =>
        "Theory: the eigenvalue Hessian at the optimum of random diagonal networks (n = 10, |λ| ring-uniform in [0.99, 0.995], θ ∈ [−θ₀, θ₀], "
        + "b, c ~ CN(0, 1), ρ = 0.99; the authors' figures/effect_shrink_eigvals.ipynb), its off-diagonal share ‖H − diag H‖_F/‖H‖_F averaged over "
        + "sampled networks (the notebook draws one). Learning: the teacher–student task of zucchet24-teacher-student at ν₀ = 0.99 with the teacher's "
        + "and the students' phases in [−θ₀, θ₀] (the authors' scans/shrink_eigvals_p1–p3.yaml), best learning rate per (student, θ₀), "
        + "mean ± SEM over seeds. Paper scale: the scans' grids, 10 seeds, 10,000 steps; quick scale: fewer θ₀, rates, seeds and steps (see the spec). "
        + "The learning claims follow the authors' saved figure, where the diagonal students' loss does not rise as the phases concentrate "
        + "(the LRU's falls), although their Hessian becomes less diagonal.";

    /// <summary>One sampled network's Hessian and its off-diagonal share.</summary>
    public static (double[] Hessian, double OffDiagonal) Sample(Analysis a, double maxPhase, int sample)
    {
        ArgumentNullException.ThrowIfNull(a);
        var rng = new CounterRng(a.Seed, RandomPurpose.Teacher).Fork((ulong)sample);
        var network = DiagonalNetwork.SampleRing(a.Size, a.RMin, a.RMax, maxPhase, rng);
        var h = EigenvalueHessian.AtOptimum(network, a.Rho);
        return (h, EigenvalueHessian.OffDiagonalFraction(h, 2 * a.Size));
    }

    /// <summary>The largest relative difference between the closed-form Hessian of <paramref name="network"/> and central differences
    /// of the exact population loss's gradient at the optimum (relative step 10⁻⁶ of |λ|), over the Frobenius norm.</summary>
    public static double FiniteDifferenceError(DiagonalNetwork network, double rho)
    {
        ArgumentNullException.ThrowIfNull(network);
        int dim = 2 * network.Size;
        var loss = new DiagonalTeacherStudentLoss(network, rho);
        var closed = EigenvalueHessian.AtOptimum(network, rho);
        var star = loss.Optimum();
        double h = 1e-6, diff = 0, norm = 0;
        var gp = new double[dim];
        var gm = new double[dim];
        for (int j = 0; j < dim; j++)
        {
            var p = (double[])star.Clone();
            var m = (double[])star.Clone();
            p[j] += h; m[j] -= h;
            loss.Evaluate(p, gp);
            loss.Evaluate(m, gm);
            for (int i = 0; i < dim; i++)
            {
                double fd = (gp[i] - gm[i]) / (2 * h), c = closed[i * dim + j];
                diff += (fd - c) * (fd - c);
                norm += c * c;
            }
        }
        return Math.Sqrt(diff / norm);
    }

    /// <inheritdoc />
    public void Report(ReproductionResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var analysisNode = results.Spec.Analysis
            ?? throw results.Plan.Spec.Error($"{Name}: the spec's reproduction section needs an 'analysis:' mapping (the theory panel's settings)");
        var analysis = Analysis.Bind(analysisNode);
        ReportTheory(analysis, results.Section, results.Claims);
        ReportLearning(PhasePoint.From(results.Table()), results.Section, results.Claims);
    }

    /// <summary>The theory panel: Hessians, their off-diagonal share against θ₀, and its claims.</summary>
    public static void ReportTheory(Analysis a, ReportSection section, ClaimSet claims)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(claims);
        var phases = a.MaxPhasesOverPi.OrderByDescending(v => v).ToArray();
        var mean = new double[phases.Length];
        var sem = new double[phases.Length];
        var examples = new double[phases.Length][];
        for (int k = 0; k < phases.Length; k++)
        {
            var shares = new double[a.Samples];
            for (int s = 0; s < a.Samples; s++)
            {
                var (h, off) = Sample(a, phases[k] * Math.PI, s);
                shares[s] = off;
                if (s == 0) examples[k] = h;
            }
            mean[k] = shares.Average();
            sem[k] = a.Samples > 1 ? Math.Sqrt(shares.Sum(v => (v - mean[k]) * (v - mean[k])) / (a.Samples - 1) / a.Samples) : 0;
        }
        // Hessians of the first sampled network at the largest, a middle and the smallest θ₀ (the notebook shows π, π/10, π/100).
        int[] shown = phases.Length >= 3 ? [0, phases.Length / 2, phases.Length - 1] : [0, phases.Length - 1];
        int dim = 2 * a.Size;
        var grid = new PanelGrid(1, shown.Length + 1) { Title = "Eigenvalue Hessian at the optimum of a random diagonal network (n = " + a.Size + ", \\rho = " + a.Rho.ToString(CultureInfo.InvariantCulture) + ")" };
        for (int i = 0; i < shown.Length; i++)
        {
            var m = new double[dim, dim];
            for (int r = 0; r < dim; r++) for (int c = 0; c < dim; c++) m[r, c] = examples[shown[i]][r * dim + c];
            var chart = Chart.Matrix(m, $"\\theta_0 = {phases[shown[i]].ToString(CultureInfo.InvariantCulture)}\\pi", symLog: true, colorBarLabel: i == shown.Length - 1 ? "H" : null);
            chart.Width = 300; chart.Height = 270;
            grid[0, i] = chart;
        }
        var share = Chart.Create($"off-diagonal share (mean ± SEM, {a.Samples} networks)", "\\theta_0 / \\pi", "\\|H − diag H\\|_F / \\|H\\|_F", AxisScale.Log, AxisScale.Linear);
        share.AddLine(null, phases, mean, Palette.Series(0));
        share.AddPoints($"mean ± SEM over {a.Samples} networks", phases, mean, sem, Palette.Series(0));
        share.Legend = LegendPosition.None;
        share.Width = 320; share.Height = 270;
        grid[0, shown.Length] = share;
        string list = string.Join(", ", phases.Select((p, k) => $"θ₀ = {p.ToString(CultureInfo.InvariantCulture)}π: {mean[k]:F3} ± {sem[k]:F3}"));
        section.Figures.Add(new ReportFigure(grid, "Hessian of the squared loss with respect to (Re λ, Im λ) at the optimum (first sampled network; rows and "
            + "columns: Re λ₁…λ_n, then Im λ₁…λ_n; symmetric log colour), and its off-diagonal share against the phase range θ₀ (Zucchet24 Fig. 10, "
            + $"theory panel; |λ| ring-uniform in [{a.RMin}, {a.RMax}], b, c ~ CN(0, 1)). " + list + ".", "phase-concentration-hessian.svg"));

        claims.Check("concentration-makes-hessian-less-diagonal", mean[^1] / mean[0],
            $"off-diagonal share {mean[^1]:F3} ± {sem[^1]:F3} at θ₀ = {phases[^1].ToString(CultureInfo.InvariantCulture)}π vs {mean[0]:F3} ± {sem[0]:F3} at θ₀ = {phases[0].ToString(CultureInfo.InvariantCulture)}π; " + list);
        var first = DiagonalNetwork.SampleRing(a.Size, a.RMin, a.RMax, phases[^1] * Math.PI, new CounterRng(a.Seed, RandomPurpose.Teacher).Fork(0));
        double error = FiniteDifferenceError(first, a.Rho);
        claims.Check("hessian-matches-population-loss", error, $"relative Frobenius error = {error:E2} (θ₀ = {phases[^1].ToString(CultureInfo.InvariantCulture)}π, first network)");
    }

    /// <summary>The learning panel: final loss at the best learning rate against θ₀, per student, and its claims.</summary>
    public static void ReportLearning(IReadOnlyList<PhasePoint> points, ReportSection section, ClaimSet claims)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(claims);
        var chart = BestRateChart.Create("final loss at the best learning rate, \\nu_0 = 0.99", "\\theta_0 / \\pi", AxisScale.Log, Students,
            points.Select(p => (p.Student, p.MaxPhase / Math.PI, p.Loss)).ToArray());
        chart.Width = 520;
        string Line(string student) => string.Join(", ", points.Where(p => p.Student == student).OrderByDescending(p => p.MaxPhase)
            .Select(p => $"θ₀ = {p.MaxPhase.ToString("G3", CultureInfo.InvariantCulture)}: {p.Loss.Mean:G3} ± {p.Loss.Sem:G2} (lr {p.LearningRate.ToString(CultureInfo.InvariantCulture)})"));
        section.Figures.Add(new ReportFigure(chart, "Final loss (mean of the last 100 steps; best learning rate; mean ± SEM over seeds) against the phase range θ₀ of "
            + "the teacher and of the students' initialisation (Zucchet24 Fig. 10, learning panel). "
            + string.Join("; ", Students.Select(s => $"{s.Label}: {Line(s.Name)}")) + ".", "phase-concentration-learning.svg"));

        foreach (var student in new[] { "lru", "complex_diagonal" })
        {
            var ordered = points.Where(p => p.Student == student).OrderBy(p => p.MaxPhase).ToArray();
            double ratio = ordered.Length >= 2 ? ordered[0].Loss.Mean / ordered[^1].Loss.Mean : double.NaN;
            claims.Check("concentration-does-not-hurt-diagonal-student", ratio, ordered.Length >= 2
                ? $"{ordered[0].Loss.Mean:G3} ± {ordered[0].Loss.Sem:G2} at θ₀ = {ordered[0].MaxPhase.ToString("G3", CultureInfo.InvariantCulture)} vs "
                  + $"{ordered[^1].Loss.Mean:G3} ± {ordered[^1].Loss.Sem:G2} at θ₀ = {ordered[^1].MaxPhase.ToString("G3", CultureInfo.InvariantCulture)} (×{ratio:G3})"
                : "missing", ("student", Students.Single(s => s.Name == student).Label));
        }
        // The gap between the dense RNN and the best diagonal student, at each θ₀ where all are measured.
        var gaps = points.Where(p => p.Student == "rnn").OrderByDescending(p => p.MaxPhase).Select(r =>
        {
            var diagonal = points.Where(p => p.Student != "rnn" && p.MaxPhase == r.MaxPhase).ToArray();
            return (r.MaxPhase, Ratio: diagonal.Length > 0 ? r.Loss.Mean / diagonal.Min(p => p.Loss.Mean) : double.NaN);
        }).Where(g => !double.IsNaN(g.Ratio)).ToArray();
        double smallest = gaps.Length > 0 ? gaps.Min(g => g.Ratio) : double.NaN;
        claims.Check("diagonal-students-far-below-rnn", smallest, gaps.Length > 0
            ? "RNN / best diagonal: " + string.Join(", ", gaps.Select(g => $"θ₀ = {g.MaxPhase.ToString("G3", CultureInfo.InvariantCulture)}: ×{g.Ratio:G3}"))
            : "missing");
    }
}

/// <summary>A student's best grid point in the phase-concentration sweep: the selected learning rate per (student, θ₀), read from
/// the runs by name (<c>model.name</c>, <c>data.theta0</c>, <c>optimizer.lr</c>; metric <c>final_loss</c>).</summary>
/// <param name="Student">The model's <c>name</c> in the spec.</param>
/// <param name="MaxPhase">The teacher's (and the students' initial) phase range θ₀.</param>
/// <param name="LearningRate">The selected peak learning rate.</param>
/// <param name="Loss">Mean, SEM, min and max of the final loss over the point's completed seeds.</param>
public sealed record PhasePoint(string Student, double MaxPhase, double LearningRate, MetricStats Loss)
{
    /// <summary>The selected point per (student, θ₀) (students whose every rate diverged have none).</summary>
    public static IReadOnlyList<PhasePoint> From(ResultsTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var points = new List<PhasePoint>();
        foreach (var row in table.Rows.Where(r => r.Selected))
        {
            var flat = row.Runs[0].Spec.Flatten().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            points.Add(new PhasePoint(ResultsTable.DisplayValue(flat["model.name"]), Number(flat["data.theta0"]), Number(flat["optimizer.lr"]), row.Stats["final_loss"]));
        }
        return points;
    }

    private static double Number(string json) => double.Parse(json, NumberStyles.Float, CultureInfo.InvariantCulture);
}
