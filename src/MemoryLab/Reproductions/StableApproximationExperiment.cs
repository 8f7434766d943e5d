using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using Rate = MemoryLab.Numerics.RateParametrisation;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>wang24-stable-approximation</c> (Wang, Li &amp; Li, ICLR 2024, §3 and Fig. 1; the reparametrisations of Wang &amp; Li's
/// StableSSM): perturbation error E_m(β) = sup_{‖θ̃ − θ_m‖∞ ≤ β} ‖ρ − ρ̂(θ̃)‖² / ‖ρ‖² of the best width-m sum of
/// exponentials θ_m = (a, v), w = r(v), for the group's discrete targets on t = 0..T−1 (dt = 1, T = 100;
/// radarFudan/Curse-of-memory <c>src/data/lf_datamodule.py</c>): exponential memory e^{−t} and power-law memory
/// (1 + 0.1t)^{−1.1}, under the direct (w = v), exp (w = e^v) and softplus parametrisations.
/// Which parameters are perturbed is a setting: the recurrent (rate) parameters v only, as in Wang24's definition of
/// E_m(β) (the sup is over perturbed recurrent weights W̃ with the other weights fixed), or every parameter, as the
/// group's <c>src/perturb.py</c> does. Protocol: <see cref="PerturbationAnalysis"/> (Gaussian noise rescaled to max-norm
/// β, running maximum). Wang24 Fig. 1 reads the curves by where those of consecutive widths cross
/// (<see cref="CrossingPoint"/>): the crossings stay put for exponential memory and drift to 0 for power-law memory
/// under the direct parametrisation.
/// </summary>
public sealed class StableApproximationExperiment : ReproductionKind<StableApproximationExperiment.Settings>
{
    /// <summary>Settings of one scale (spec <c>experiments/reproduce/wang24-stable-approximation/</c>).</summary>
    /// <param name="Widths">Widths m (each fitted; the fit runs width by width up to the largest).</param>
    /// <param name="Window">Sequence length T: the kernels are sampled at t = 0..T−1 (dt = 1).</param>
    /// <param name="Repeats">Perturbations drawn per β (running maximum).</param>
    /// <param name="MaxIterations">Levenberg–Marquardt iterations per start of the fit.</param>
    /// <param name="PowerLawExponent">Exponent p of the power-law target (1 + c·t)^{−p}.</param>
    /// <param name="PowerLawScale">Time scale c of the power-law target.</param>
    /// <param name="PerturbAll">True: every parameter (amplitudes too) is perturbed; false: the rate parameters only.</param>
    public sealed record Settings(int[] Widths, int Window, int Repeats, int MaxIterations, double PowerLawExponent, double PowerLawScale, bool PerturbAll);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s)
    {
        string perturb = s.GetString("perturb");
        if (perturb is not ("recurrent" or "all")) throw s.Error("perturb", $"must be 'recurrent' (the rate parameters, Wang24's definition) or 'all' (got '{perturb}')");
        return new(s.GetIntList("widths", min: 1, minCount: 2), s.GetInt("window", min: 2), s.GetInt("repeats", min: 1), s.GetInt("max_iterations", min: 1),
            s.GetDouble("power_law_exponent", above: 1), s.GetDouble("power_law_scale", above: 0), perturb == "all");
    }

    private static readonly Rate[] Maps = [Rate.Direct, Rate.Exp, Rate.Softplus];

    /// <inheritdoc />
    public override string Name => "wang24-stable-approximation";
    /// <inheritdoc />
    public override string Title => "Stable approximation: perturbation error E_m(β) for exponential vs power-law memory (Wang24 Figs. 1, 4)";
    /// <inheritdoc />
    public override string Method =>
        "Best width-m exponential sums (Analysis.WidthFit, least squares) of the group's discrete targets e^{−t} and (1 + c·t)^{−p} on t = 0..T−1; "
        + "the rate parameters v (w = v, e^v or softplus(v)) — or, when the spec says so, every parameter — are perturbed by Gaussian noise rescaled "
        + "to max-norm β, β ∈ {0} ∪ {10^−3·2^{i/2}, i = 0..20}, repeated (see the spec) with the running maximum of the relative squared "
        + "error kept (Wang24's protocol). The curves are read by the β where those of consecutive widths cross (Wang24 Fig. 1).";

    /// <summary>The two targets (label, ρ): exponential memory e^{−t} and the power law (1 + c·t)^{−p}.</summary>
    public static IReadOnlyList<(string Label, Func<double, double> Rho)> Targets(double powerLawExponent, double powerLawScale) =>
        [("exp", t => Math.Exp(-t)), ("pol", t => Math.Pow(1 + powerLawScale * t, -powerLawExponent))];

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

    /// <summary>Relative squared errors at or below this are round-off: 10^6 × (2.2·10^−16)²·100, the double-precision
    /// round-off of a relative squared error summed over 100 samples.</summary>
    public const double RoundOffError = 5e-24;

    /// <summary>
    /// Where the perturbation-error curve of the wider model, <paramref name="wider"/>, crosses that of the narrower one
    /// (Wang24 Fig. 1): at β = 0 (<paramref name="betas"/>[0] = 0) the wider model must be more accurate; the crossing is
    /// the first β &gt; 0 where it is no longer, interpolated linearly in (ln β, ln E_wide − ln E_narrow) between the grid
    /// points around the sign change. +∞ when the wider model stays more accurate on the whole grid; NaN when it is not
    /// more accurate at β = 0, or when its error there is at round-off (≤ <see cref="RoundOffError"/>: an exact fit, whose
    /// order against the narrower one is noise), so no crossing is defined.
    /// </summary>
    public static double CrossingPoint(double[] betas, double[] narrower, double[] wider)
    {
        ArgumentNullException.ThrowIfNull(betas); ArgumentNullException.ThrowIfNull(narrower); ArgumentNullException.ThrowIfNull(wider);
        if (narrower.Length != betas.Length || wider.Length != betas.Length) throw new ArgumentException("the curves and the β grid differ in length");
        if (betas.Length < 2 || betas[0] != 0) throw new ArgumentException("the β grid must start at 0 and have a positive point");
        double Gap(int i) => Math.Log(wider[i]) - Math.Log(narrower[i]);
        if (!(wider[0] < narrower[0]) || !(wider[0] > RoundOffError)) return double.NaN;
        double previous = Gap(0);
        for (int i = 1; i < betas.Length; i++)
        {
            double g = Gap(i);
            if (double.IsNaN(g)) g = double.PositiveInfinity; // both broke: the wider is no longer more accurate
            if (g >= 0)
            {
                if (i == 1 || !double.IsFinite(g)) return betas[i];
                double l0 = Math.Log(betas[i - 1]), l1 = Math.Log(betas[i]);
                return Math.Exp(l0 + (l1 - l0) * (-previous) / (g - previous));
            }
            previous = g;
        }
        return double.PositiveInfinity;
    }

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings s)
    {
        int repeats = s.Repeats;
        int[] Widths = s.Widths;
        var targets = Targets(s.PowerLawExponent, s.PowerLawScale);
        var fits = new IReadOnlyList<WidthFitResult>[targets.Count];
        var kernels = targets.Select(t => KernelQuadrature.Discrete(t.Rho, 0, s.Window)).ToArray();
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
                    var mask = Enumerable.Range(0, 2 * m).Select(j => s.PerturbAll || j >= m).ToArray();
                    var curve = PerturbationAnalysis.Run(theta, th => RelativeError(k, map, th),
                        new PerturbationOptions { Betas = betas, Repeats = repeats, Seed = (ulong)(100 * i + 10 * p + m), Mask = mask });
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
        var targets = Targets(settings.PowerLawExponent, settings.PowerLawScale);
        int[] widths = table.Column("width").Distinct().Order().Select(w => (int)w).ToArray();
        string perturbed = settings.PerturbAll ? "every parameter perturbed (the group's src/perturb.py)" : "rate parameters perturbed (Wang24's definition)";
        var grid = new PanelGrid(targets.Count, Maps.Length) { Title = "Wang24: perturbation error E_m(\\beta) of the best width-m fit" };
        var crossings = new Dictionary<(int Target, int Map), (double First, double Last, string Text)>();
        var exact = new List<(int Target, double MinE0, string Text)>();
        var jumps = new Dictionary<(int Target, int Map), (double Max, string Text)>();
        for (int i = 0; i < targets.Count; i++)
        {
            var e0 = new List<(int M, double E)>();
            for (int p = 0; p < Maps.Length; p++)
            {
                var chart = Chart.Create($"{targets[i].Label} memory, {Maps[p].Name}", "\\beta", "E_m(\\beta)", AxisScale.Log, AxisScale.Log);
                var rows = table.Where("target", i).Where("map", p);
                var curves = new List<(double[] B, double[] E)>();
                for (int s = 0; s < widths.Length; s++)
                {
                    var r = rows.Where("width", widths[s]);
                    var b = r.Column("beta");
                    var e = r.Column("error");
                    curves.Add((b, e));
                    if (p == 0) e0.Add((widths[s], e[Array.IndexOf(b, 0.0)]));
                    var pos = b.Zip(e).Where(x => x.First > 0 && x.Second > 0 && double.IsFinite(x.Second)).ToArray();
                    chart.AddLine($"m = {widths[s]}", pos.Select(x => x.First).ToArray(), pos.Select(x => Math.Min(x.Second, 1e6)).ToArray(), Palette.Series(s));
                }
                // The jump at the smallest β > 0: Wang24's stable approximation asks E_m(β) → E_m(0) as β → 0 uniformly in m.
                var jump = curves.Select((c, s) => (M: widths[s], Beta: c.B.First(b => b > 0), J: c.E[Array.FindIndex(c.B, b => b > 0)] - c.E[Array.IndexOf(c.B, 0.0)])).ToArray();
                jumps[(i, p)] = (jump.Max(x => x.J), $"E_m({ClaimCheck.Format(jump[0].Beta)}) − E_m(0): " + string.Join(", ", jump.Select(x => $"m={x.M}: {ClaimCheck.Format(x.J)}")));
                var pairs = new List<(int M, int M2, double B)>();
                for (int s = 0; s + 1 < widths.Length; s++)
                    pairs.Add((widths[s], widths[s + 1], CrossingPoint(curves[s].B, curves[s].E, curves[s + 1].E)));
                chart.Legend = LegendPosition.TopLeft;
                grid[i, p] = chart;
                crossings[(i, p)] = (pairs[0].B, pairs[^1].B, string.Join(", ", pairs.Select(x => $"m={x.M}/{x.M2}: {ClaimCheck.Format(x.B)}")));
            }
            exact.Add((i, e0.Min(x => x.E), string.Join(", ", e0.Select(x => $"m={x.M}: {ClaimCheck.Format(x.E)}"))));
        }
        section.Figures.Add(new ReportFigure(grid, $"Running-maximum perturbation error against the noise size β (Wang24 protocol; {perturbed}). "
            + "Rows: exponential memory e^{−t} and power-law memory; columns: direct, exp and softplus rate parametrisations. "
            + "Wang24 Fig. 1 reads where the curves of consecutive widths cross.", "wang24-stable-approximation.svg"));

        // Claims (Wang24 §3, Fig. 1).
        foreach (var (i, minE0, text) in exact)
            claims.Check("approximants-not-exact", minE0, $"E_m(0): {text}", ("target", targets[i].Label));
        foreach (int p in new[] { 0, 1, 2 })
            claims.Check("exponential-memory-uniformly-continuous", jumps[(0, p)].Max, jumps[(0, p)].Text, ("map", Maps[p].Name));
        claims.Check("power-law-direct-not-uniformly-continuous", jumps[(1, 0)].Max, jumps[(1, 0)].Text);
        foreach (int p in new[] { 1, 2 })
            claims.Check("power-law-stable-parametrisation-uniformly-continuous", jumps[(1, p)].Max, jumps[(1, p)].Text, ("map", Maps[p].Name));
        string Ratio((double First, double Last, string Text) c) => $"last/first crossing = {ClaimCheck.Format(c.Last / c.First)} ({c.Text})";
        foreach (int p in new[] { 0, 1, 2 })
        {
            var c = crossings[(0, p)];
            claims.Check("exponential-memory-crossings-stay", c.Last / c.First, Ratio(c), ("map", Maps[p].Name));
        }
        {
            var c = crossings[(1, 0)];
            claims.Check("power-law-direct-crossings-drift-left", c.Last / c.First, Ratio(c));
        }
        foreach (int p in new[] { 1, 2 })
        {
            var c = crossings[(1, p)];
            claims.Check("power-law-stable-parametrisation-crossings-stay", c.Last / c.First, Ratio(c), ("map", Maps[p].Name));
        }
    }
}
