using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>li21-approximation-rate</c> (Li21 rate theorem and curse of memory; SCIENCE.md A3): the best width-m error of a
/// sum of m exponentials ρ̂ = Σ a_i e^{−w_i t} (a width-m linear RNN's kernel) against
/// (i) an exponentially decaying kernel and (ii) power-law kernels ρ(t) = (1+t)^{−(1+ω)}, ω ∈ {0.25, 0.5, 1, 2}.
/// The exponential kernel is the rate mixture ρ(t) = ∫_{0.5}^{2} e^{−wt} dw = (e^{−0.5t} − e^{−2t})/t (decays like
/// e^{−0.5t} but is no finite exponential sum, so its error does not vanish at m = 1 as a single e^{−t} would).
/// Error: relative L² distance e_m = (∫_0^∞(ρ̂ − ρ)² / ∫_0^∞ρ²)^{1/2} — with white-noise input the relative RMS output
/// error (Itô isometry) — from <see cref="WidthFit.FitSequence"/> (variable projection: least squares for the a_i at
/// fixed rates, Levenberg–Marquardt on log w from Li21's λ_j = jβ/(α+1), geometric, random and greedy starts).
/// The width needed for error ε is compared with Li21's m ~ ω ε^{−1/ω}.
/// </summary>
public sealed class ApproximationRateExperiment : ReproductionKind<ApproximationRateExperiment.Settings>
{
    /// <summary>Settings of one scale (spec <c>experiments/reproduce/li21-approximation-rate/</c>).</summary>
    /// <param name="Omegas">The power-law exponents ω (ρ ~ t^{−(1+ω)}).</param>
    /// <param name="MaxWidth">Widths m = 1..MaxWidth are fitted.</param>
    /// <param name="RandomStarts">Random starts per width in <see cref="WidthFit"/>.</param>
    /// <param name="MaxIterations">Levenberg–Marquardt iterations per start.</param>
    /// <param name="Li21Start">(α, β) of Li21's starting rates λ_j = jβ/(α+1).</param>
    /// <param name="Epsilon">The target relative error ε for the needed width.</param>
    /// <param name="Horizon">Quadrature horizon T (the mapped tail integrates beyond it to ∞).</param>
    public sealed record Settings(double[] Omegas, int MaxWidth, int RandomStarts, int MaxIterations, (double Alpha, double Beta) Li21Start,
        double Epsilon, double Horizon);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s)
    {
        var start = s.GetDoubleList("li21_start", min: 0, minCount: 2);
        if (start.Length != 2 || !(start[1] > 0)) throw s.Error("li21_start", $"must be [alpha, beta] with alpha >= 0 and beta > 0 (got [{string.Join(", ", start)}])");
        return new Settings(s.GetDoubleList("omegas", above: 0, minCount: 1), s.GetInt("max_width", min: 2), s.GetInt("random_starts", min: 0),
            s.GetInt("max_iterations", min: 1), (start[0], start[1]), s.GetDouble("epsilon", above: 0, below: 1), s.GetDouble("horizon", above: 0));
    }

    /// <summary>Relative errors below this are near the quadrature/rounding floor (about 5e−10) and are not used for slopes.</summary>
    public const double ErrorFloor = 1e-8;
    /// <inheritdoc />
    public override string Name => "li21-approximation-rate";
    /// <inheritdoc />
    public override string Title => "Best width-m approximation error: exponential vs power-law memory (Li21 rate theorem, curse of memory)";
    /// <inheritdoc />
    public override string Method =>
        "Targets: the exponentially decaying rate mixture ρ(t) = (e^{−0.5t} − e^{−2t})/t and power laws ρ(t) = (1+t)^{−(1+ω)}, ω = 0.25, 0.5, 1, 2. "
        + "For each width m the best sum of m exponentials is found by variable projection (exact least squares for the amplitudes at fixed rates, "
        + "Levenberg–Marquardt on the log-rates from Li21's construction λ_j = jβ/(α+1), geometric, random and width-by-width greedy starts; "
        + "Analysis.WidthFit). The error is the relative L² kernel distance on [0, ∞) (Gauss–Legendre to T = 100 plus a mapped tail), i.e. the relative "
        + "RMS output error under white-noise input. Widths, starts, iterations and ε for the needed width: see the spec.";

    /// <summary>The exponential-memory target (e^{−0.5t} − e^{−2t})/t, continuous at t = 0 with value 1.5.</summary>
    public static double RateMixture(double t) => t < 1e-6 ? 1.5 - 1.875 * t : (Math.Exp(-0.5 * t) - Math.Exp(-2 * t)) / t;

    /// <summary>The targets: (label, ω or NaN for the exponential one, ρ) — the exponential one, then one power law per ω.</summary>
    public static IReadOnlyList<(string Label, double Omega, Func<double, double> Rho)> Targets(IEnumerable<double> omegas) =>
        [("exp", double.NaN, RateMixture), .. omegas.Select(w => ($"pol ω={w}", w, (Func<double, double>)(t => Math.Pow(1 + t, -(1 + w)))))];

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings s)
    {
        int maxWidth = s.MaxWidth;
        var targets = Targets(s.Omegas);
        var table = new DataTable("target", "omega", "width", "relative_error", "min_rate", "max_rate");
        var jobs = targets.Select((t, i) => (t, i)).ToArray();
        var results = new IReadOnlyList<WidthFitResult>[jobs.Length];
        int done = 0;
        // Each target's width sequence is independent: one thread each.
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, ctx.Pool.Threads), CancellationToken = ctx.Cancellation }, i =>
        {
            var (label, _, rho) = jobs[i].t;
            var kernel = KernelQuadrature.FromFunction(rho, s.Horizon);
            results[i] = WidthFit.FitSequence(kernel, maxWidth, new WidthFitOptions { Seed = (ulong)i, Li21Start = s.Li21Start, RandomStarts = s.RandomStarts, MaxIterations = s.MaxIterations });
            ctx.Report(Interlocked.Increment(ref done) / (double)jobs.Length, $"{label}: fitted m = 1..{maxWidth}");
        });
        for (int i = 0; i < jobs.Length; i++)
            foreach (var r in results[i])
                table.Add(i, jobs[i].t.Omega, r.Width, Math.Sqrt(Math.Max(r.RelativeLoss, 0)), r.Rates.Min(), r.Rates.Max());
        table.Save(ctx.File("approximation-error.csv"));
    }

    /// <summary>Smallest width whose error is ≤ ε, or +∞ when none of the fitted widths reaches it.</summary>
    public static double NeededWidth(double[] widths, double[] errors, double epsilon)
    {
        for (int i = 0; i < widths.Length; i++) if (errors[i] <= epsilon) return widths[i];
        return double.PositiveInfinity;
    }

    /// <summary>Least-squares slope of ln e against ln m over the points (m, e).</summary>
    public static double LogLogSlope(IReadOnlyList<(double M, double E)> points) =>
        PlateauScalingExperiment.LineFit(points.Select(p => Math.Log(p.M)).ToArray(), points.Select(p => Math.Log(p.E)).ToArray()).Slope;

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        var table = DataTable.Load(Path.Combine(directory, "approximation-error.csv"));
        // The targets as run (their ω are in the data), and the ε of the settings used.
        var targets = Targets(Enumerable.Range(1, (int)table.Column("target").DefaultIfEmpty(0).Max()).Select(i => table.Where("target", i).Column("omega").First()));
        double Epsilon = settings.Epsilon;
        var chart = Chart.Create("best width-m error", "width m", "relative L^2 error", AxisScale.Log, AxisScale.Log);
        var needed = new List<(double Omega, double M)>();
        double maxWidth = table.Column("width").Max();
        (double M, double E)[] expPoints = [];
        for (int i = 0; i < targets.Count; i++)
        {
            var rows = table.Where("target", i);
            var m = rows.Column("width");
            var e = rows.Column("relative_error");
            var pts = m.Zip(e).Where(p => p.Second >= ErrorFloor).Select(p => (p.First, p.Second)).ToArray();
            string label = targets[i].Label.Replace("ω", "\\omega");
            chart.AddLine(label, pts.Select(p => p.Item1).ToArray(), pts.Select(p => p.Item2).ToArray(), Palette.Series(i), LineDash.Solid, MarkerShape.Circle);
            if (double.IsNaN(targets[i].Omega)) expPoints = pts;
            else needed.Add((targets[i].Omega, NeededWidth(m, e, Epsilon)));
        }
        chart.AddHorizontalLine(Epsilon, "\\epsilon");
        chart.Legend = LegendPosition.BottomLeft;

        var need = Chart.Create($"width needed for error ε = {Epsilon:G2}", "\\omega", "m_\\epsilon", AxisScale.Log, AxisScale.Log);
        var reached = needed.Where(n => double.IsFinite(n.M)).ToArray();
        if (reached.Length > 0)
            need.AddPoints("best fit", reached.Select(n => n.Omega).ToArray(), reached.Select(n => n.M).ToArray(), null, Palette.Series(0));
        var unreached = needed.Where(n => !double.IsFinite(n.M)).ToArray();
        if (unreached.Length > 0)
            need.AddPoints($"not reached by m = {maxWidth}", unreached.Select(n => n.Omega).ToArray(), unreached.Select(_ => maxWidth).ToArray(), null, Palette.Series(1), MarkerShape.Square);
        var omegaGrid = Enumerable.Range(0, 40).Select(k => 0.25 * Math.Pow(8, k / 39.0)).ToArray();
        need.AddTheory("\\omega \\epsilon^{-1/\\omega}", omegaGrid, omegaGrid.Select(w => Math.Min(w * Math.Pow(Epsilon, -1 / w), 1e6)).ToArray());
        var grid = new PanelGrid(1, 2) { Title = "Li21: approximation of linear functionals by linear RNNs" };
        grid[0, 0] = chart; grid[0, 1] = need;
        section.Figures.Add(new ReportFigure(grid, "Left: best width-m relative L² error (points above 10^−8 shown: the quadrature floor is about 5·10^−10). Right: the smallest fitted width with error ≤ ε "
            + "against the power-law exponent ω (squares: not reached), with Li21's m ~ ω ε^{−1/ω} (constant 1, clipped at 10^6).", "li21-approximation-rate.svg"));

        // Claims (Li21 rate theorem and curse of memory; written before measuring).
        if (expPoints.Length >= 4)
        {
            double early = LogLogSlope(expPoints[..2]);
            double late = LogLogSlope(expPoints[^2..]);
            claims.Check("exponential-memory-error-falls-fast", late / early,
                $"slope {early:F2} at m = {expPoints[0].M}–{expPoints[1].M}, {late:F2} at m = {expPoints[^2].M}–{expPoints[^1].M}");
        }
        else
        {
            claims.Check("exponential-memory-error-falls-fast", double.NaN, $"only {expPoints.Length} widths above the error floor 10^−8");
        }
        var ordered = needed.OrderBy(n => n.Omega).ToArray();
        double cap = maxWidth + 1;
        bool monotone = true;
        for (int i = 1; i < ordered.Length; i++) monotone &= Math.Min(ordered[i - 1].M, cap) >= Math.Min(ordered[i].M, cap);
        string list = string.Join(", ", ordered.Select(n => $"ω={n.Omega}: {(double.IsFinite(n.M) ? n.M.ToString() : $">{maxWidth}")}"));
        claims.Check("power-law-width-grows-as-omega-falls", monotone ? Math.Min(ordered[0].M, cap) / Math.Min(ordered[^1].M, cap) : 0,
            list + (monotone ? "" : " (not monotone)"));
        // Li21's bound is an upper estimate of the width needed (constant 1): the measured best fits should not need more.
        var ratios = reached.Select(n => n.M / (n.Omega * Math.Pow(Epsilon, -1 / n.Omega))).ToArray();
        double worst = ratios.Length > 0 ? ratios.Max() : double.NaN;
        claims.Check("widths-within-estimate", worst, $"max ratio {worst:G3} over ω = {string.Join(", ", reached.Select(n => n.Omega))}");
    }
}
