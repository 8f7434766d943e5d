using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using Rate = MemoryLab.Numerics.RateParametrisation;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>wang24-stable-approximation</c> (Wang24 Figs. 1, 4; SCIENCE.md A3): perturbation error
/// E_m(β) = sup_{‖θ̃ − θ_m‖∞ ≤ β} ‖ρ − ρ̂(θ̃)‖² / ‖ρ‖² of the best width-m sum of exponentials θ_m = (a, v), w = r(v),
/// on the window [0, 100] (Wang24's sequence length; on a finite window an unstable perturbed model, w &lt; 0, has a
/// large but finite error), for exponential memory (the rate mixture (e^{−0.5t} − e^{−2t})/t) and power-law memory
/// 1/(t+1)^p, p = 1.1 in the spec (Wang24's linear target), under the direct (w = v), exp (w = e^v) and softplus parametrisations.
/// Protocol: <see cref="PerturbationAnalysis"/> (Gaussian noise rescaled to max-norm β on every parameter, running
/// maximum). The breaking point β*_m is the smallest β on the grid with E_m(β) ≥ 0.1 (the model has lost a tenth of the
/// target's energy); "drifting left" means β*_m falls as m grows.
/// </summary>
public sealed class StableApproximationExperiment : ReproductionKind<StableApproximationExperiment.Settings>
{
    /// <summary>Settings of one scale (spec <c>experiments/reproduce/wang24-stable-approximation/</c>).</summary>
    /// <param name="Widths">Widths m (each fitted; the fit runs width by width up to the largest).</param>
    /// <param name="Window">Window length T of the error.</param>
    /// <param name="BreakLevel">E level that defines the breaking point β*_m.</param>
    /// <param name="Repeats">Perturbations drawn per β (running maximum).</param>
    /// <param name="MaxIterations">Levenberg–Marquardt iterations per start of the fit.</param>
    /// <param name="PowerLawExponent">Exponent p of the power-law target 1/(t+1)^p.</param>
    public sealed record Settings(int[] Widths, double Window, double BreakLevel, int Repeats, int MaxIterations, double PowerLawExponent);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s) => new(s.GetIntList("widths", min: 1, minCount: 2), s.GetDouble("window", above: 0),
        s.GetDouble("break_level", above: 0), s.GetInt("repeats", min: 1), s.GetInt("max_iterations", min: 1), s.GetDouble("power_law_exponent", above: 1));

    private static readonly Rate[] Maps = [Rate.Direct, Rate.Exp, Rate.Softplus];

    /// <inheritdoc />
    public override string Name => "wang24-stable-approximation";
    /// <inheritdoc />
    public override string Title => "Stable approximation: perturbation error E_m(β) for exponential vs power-law memory (Wang24 Figs. 1, 4)";
    /// <inheritdoc />
    public override string Method =>
        "Best width-m exponential sums (Analysis.WidthFit on the window [0, T]) for exponential memory (e^{−0.5t} − e^{−2t})/t and power-law "
        + "memory 1/(t+1)^p; every parameter (amplitudes a and rate parameters v, w = v, e^v or softplus(v)) is perturbed by Gaussian noise rescaled "
        + "to max-norm β, β ∈ {0} ∪ {10^−3·2^{i/2}, i = 0..20}, repeated (see the spec) with the running maximum of the relative squared "
        + "error on [0, 100] kept (Wang24's protocol). β*_m: the first β with E_m(β) ≥ 0.1.";

    /// <summary>The two targets (label, ρ): exponential memory, and the power law 1/(t+1)^p.</summary>
    public static IReadOnlyList<(string Label, Func<double, double> Rho)> Targets(double powerLawExponent) =>
        [("exp", ApproximationRateExperiment.RateMixture), ("pol", t => Math.Pow(t + 1, -powerLawExponent))];

    /// <summary>Relative squared error Σω(ρ̂ − ρ)²/Σωρ² at θ = (a, v) under <paramref name="map"/>, on the kernel's nodes.</summary>
    public static double RelativeError(KernelQuadrature k, Rate map, ReadOnlySpan<double> theta)
    {
        int m = theta.Length / 2;
        Span<double> w = stackalloc double[m];
        for (int i = 0; i < m; i++) w[i] = map.Rate(theta[m + i]);
        double s = 0;
        for (int q = 0; q < k.Count; q++)
        {
            double t = k.Nodes[q], y = 0;
            for (int i = 0; i < m; i++) y += theta[i] * Math.Exp(-w[i] * t);
            double d = y - k.Values[q];
            s += k.Weights[q] * d * d;
        }
        return s / k.TargetNormSquared;
    }

    /// <summary>Smallest β with E(β) ≥ <paramref name="level"/> (+∞ when none).</summary>
    public static double BreakingPoint(double[] betas, double[] errors, double level)
    {
        for (int i = 0; i < betas.Length; i++) if (betas[i] > 0 && errors[i] >= level) return betas[i];
        return double.PositiveInfinity;
    }

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings s)
    {
        int repeats = s.Repeats;
        int[] Widths = s.Widths;
        var targets = Targets(s.PowerLawExponent);
        var fits = new IReadOnlyList<WidthFitResult>[targets.Count];
        var kernels = targets.Select(t => KernelQuadrature.FromFunction(t.Rho, s.Window, new KernelQuadratureOptions { Tail = KernelTail.Truncate })).ToArray();
        int done = 0;
        Parallel.For(0, targets.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, ctx.Pool.Threads), CancellationToken = ctx.Cancellation }, i =>
        {
            fits[i] = WidthFit.FitSequence(kernels[i], Widths.Max(), new WidthFitOptions
            {
                Seed = (ulong)i, RandomStarts = 0, MaxIterations = s.MaxIterations,
            });
            ctx.Report(0.8 * Interlocked.Increment(ref done) / targets.Count, $"{targets[i].Label}: fitted m = 1..{Widths.Max()}");
        });
        var table = new DataTable("target", "map", "width", "beta", "error", "min_rate", "max_abs_amplitude");
        var betas = PerturbationAnalysis.Wang24Betas();
        for (int i = 0; i < targets.Count; i++)
            for (int p = 0; p < Maps.Length; p++)
                foreach (int m in Widths)
                {
                    ctx.Cancellation.ThrowIfCancellationRequested();
                    var fit = fits[i][m - 1];
                    var theta = new double[2 * m];
                    fit.Coefficients.CopyTo(theta, 0);
                    for (int j = 0; j < m; j++) theta[m + j] = Maps[p].Inverse(fit.Rates[j]);
                    var map = Maps[p];
                    var k = kernels[i];
                    var curve = PerturbationAnalysis.Run(theta, th => RelativeError(k, map, th),
                        new PerturbationOptions { Betas = betas, Repeats = repeats, Seed = (ulong)(100 * i + 10 * p + m) });
                    for (int b = 0; b < betas.Length; b++)
                        table.Add(i, p, m, betas[b], curve.Error[b], fit.Rates.Min(), fit.Coefficients.Max(Math.Abs));
                }
        table.Save(ctx.File("perturbation-error.csv"));
        ctx.Report(1, "done");
    }

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        var table = DataTable.Load(Path.Combine(directory, "perturbation-error.csv"));
        var used = settings;
        var targets = Targets(used.PowerLawExponent);
        int[] Widths = table.Column("width").Distinct().Order().Select(w => (int)w).ToArray();
        double BreakLevel = used.BreakLevel;
        var grid = new PanelGrid(targets.Count, Maps.Length) { Title = "Wang24: perturbation error E_m(\\beta) of the best width-m fit" };
        var breaking = new Dictionary<(int Target, int Map), (double First, double Last, string Text)>();
        var jump = new List<double>();
        for (int i = 0; i < targets.Count; i++)
            for (int p = 0; p < Maps.Length; p++)
            {
                var chart = Chart.Create($"{targets[i].Label} memory, {Maps[p].Name}", "\\beta", "E_m(\\beta)", AxisScale.Log, AxisScale.Log);
                var rows = table.Where("target", i).Where("map", p);
                var stars = new List<(int M, double B)>();
                for (int s = 0; s < Widths.Length; s++)
                {
                    var r = rows.Where("width", Widths[s]);
                    var b = r.Column("beta");
                    var e = r.Column("error");
                    var pos = b.Zip(e).Where(x => x.First > 0 && x.Second > 0 && double.IsFinite(x.Second)).ToArray();
                    chart.AddLine($"m = {Widths[s]}", pos.Select(x => x.First).ToArray(), pos.Select(x => Math.Min(x.Second, 1e6)).ToArray(), Palette.Series(s));
                    stars.Add((Widths[s], BreakingPoint(b, e, BreakLevel)));
                    int i0 = Array.IndexOf(b, 0.0), i1 = Array.FindIndex(b, x => x > 0);
                    if (i == 0 && i0 >= 0 && i1 >= 0) jump.Add(e[i1] - e[i0]);
                }
                chart.AddHorizontalLine(BreakLevel);
                chart.Legend = LegendPosition.TopLeft;
                grid[i, p] = chart;
                breaking[(i, p)] = (stars[0].B, stars[^1].B, string.Join(", ", stars.Select(x => $"m={x.M}: {ClaimCheck.Format(x.B)}")));
            }
        section.Figures.Add(new ReportFigure(grid, "Running-maximum perturbation error against the noise size β (Wang24 protocol); grey line: E = 0.1, which defines "
            + "the breaking point β*_m. Rows: exponential and power-law memory; columns: direct, exp and softplus rate parametrisations.", "wang24-stable-approximation.svg"));

        // Claims (Wang24, written before measuring).
        double maxJump = jump.Count > 0 ? jump.Max() : double.NaN;
        claims.Check("exponential-memory-continuous-at-zero", maxJump, $"max jump {ClaimCheck.Format(maxJump)}");
        foreach (int p in new[] { 0, 1, 2 })
        {
            var (first, last, text) = breaking[(0, p)];
            claims.Check("exponential-memory-no-drift", last / first, $"β*_16/β*_2 = {ClaimCheck.Format(last / first)} ({text})", ("map", Maps[p].Name));
        }
        {
            var (first, last, text) = breaking[(1, 0)];
            claims.Check("power-law-direct-drifts-left", last / first, $"β*_16/β*_2 = {ClaimCheck.Format(last / first)} ({text})");
        }
        foreach (int p in new[] { 1, 2 })
        {
            var (first, last, text) = breaking[(1, p)];
            claims.Check("power-law-stable-parametrisation-no-drift", last / first, $"β*_16/β*_2 = {ClaimCheck.Format(last / first)} ({text})", ("map", Maps[p].Name));
        }
    }
}
