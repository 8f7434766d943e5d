using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>li21-approximation-rate</c> (Li, Han, E &amp; Li, ICLR 2021, §3: rate theorem and curse of memory): the best width-m error of a
/// sum of m exponentials ρ̂ = Σ a_i e^{−w_i t} (a width-m linear RNN's kernel) against
/// (i) an exponentially decaying kernel and (ii) power-law kernels ρ(t) = (1+t)^{−(1+ω)}, ω ∈ {0.25, 0.5, 1, 2}.
/// The exponential kernel is the rate mixture ρ(t) = ∫_{0.5}^{2} e^{−wt} dw = (e^{−0.5t} − e^{−2t})/t (decays like
/// e^{−0.5t} but is no finite exponential sum, so its error does not vanish at m = 1 as a single e^{−t} would).
/// Fit: <see cref="WidthFit.FitSequence"/> minimises the relative L² distance e_m = (∫_0^∞(ρ̂ − ρ)² / ∫_0^∞ρ²)^{1/2}
/// (variable projection: least squares for the a_i at fixed rates, Levenberg–Marquardt on log w from Li21's
/// λ_j = jβ/(α+1), geometric, random and greedy starts). Li21's error is sup_t ‖H_t − Ĥ_t‖ over inputs with |x|_∞ ≤ 1,
/// which for these functionals is the L¹ norm ∫_0^∞|ρ − ρ̂|; the run also records that L¹ error of each fit. The fit
/// minimises L², not L¹, so its L¹ error is an upper bound of the best width-m L¹ error (see <see cref="L1Error"/>).
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
    /// <param name="ResolvedError">Relative L² errors below this are at the fit's floor (the width stalls there whatever the
    /// iterations); such widths are left out of the exponential target's convergence claims.</param>
    /// <param name="ExponentialMaxWidth">Widths fitted for the exponential target (at most <paramref name="MaxWidth"/>): past its
    /// resolved widths a fit only grinds at the floor.</param>
    public sealed record Settings(double[] Omegas, int MaxWidth, int RandomStarts, int MaxIterations, (double Alpha, double Beta) Li21Start,
        double Epsilon, double Horizon, double ResolvedError, int ExponentialMaxWidth);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s)
    {
        var start = s.GetDoubleList("li21_start", min: 0, minCount: 2, doc: "(α, β) of Li21's starting construction λ_j = jβ/(α+1) (§3, rate theorem)");
        if (start.Length != 2 || !(start[1] > 0)) throw s.Error("li21_start", $"must be [alpha, beta] with alpha >= 0 and beta > 0 (got [{string.Join(", ", start)}])");
        return new Settings(s.GetDoubleList("omegas", above: 0, minCount: 1, doc: "power-law exponents ω of the targets, one curve each (Li21's ε^{−1/ω} law)"),
            s.GetInt("max_width", min: 2, doc: "widths m = 1 … max_width are fitted"),
            s.GetInt("random_starts", min: 0, doc: "random starts per width beside the Li21, geometric and greedy ones"),
            s.GetInt("max_iterations", min: 1, doc: "Levenberg–Marquardt iterations per start"),
            (start[0], start[1]), s.GetDouble("epsilon", above: 0, below: 1, doc: "ε of the needed width m_ε, in Li21's L¹ error"),
            s.GetDouble("horizon", above: 0, doc: "Gauss–Legendre horizon T; a mapped tail integrates beyond it to ∞"),
            s.GetDouble("resolved_error", above: 0, below: 1, doc: "relative L² errors below this count as unresolved"),
            s.GetInt("exponential_max_width", min: 2, doc: "widths fitted for the exponential target"));
    }

    /// <summary>Relative L² errors below this are near the quadrature/rounding floor (about 5e−10) and are not drawn.</summary>
    public const double ErrorFloor = 1e-8;

    /// <summary>Li21's error of a width-m sum against ρ: sup over inputs with |x|_∞ ≤ 1 of |H_t(x) − Ĥ_t(x)|, which for a
    /// convolution with kernel ρ − ρ̂ is ∫_0^∞ |ρ(t) − ρ̂(t)| dt (attained by x = sign(ρ − ρ̂) reversed in time). Evaluated on
    /// the kernel's quadrature nodes (with the mapped tail, to ∞).</summary>
    public static double L1Error(KernelQuadrature kernel, ReadOnlySpan<double> amplitudes, ReadOnlySpan<double> rates)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (amplitudes.Length != rates.Length) throw new ArgumentException($"{amplitudes.Length} amplitudes for {rates.Length} rates");
        double s = 0;
        for (int q = 0; q < kernel.Count; q++)
        {
            double t = kernel.Nodes[q], y = 0;
            for (int i = 0; i < rates.Length; i++) y += amplitudes[i] * Math.Exp(-rates[i] * t);
            s += kernel.Weights[q] * Math.Abs(y - kernel.Values[q]);
        }
        return s;
    }

    /// <summary>Geometric mean of the successive ratios e_{k+1}/e_k of a sequence of errors (the per-width factor of a
    /// geometric convergence); NaN for fewer than two points.</summary>
    public static double MeanRatio(IReadOnlyList<double> errors)
    {
        if (errors.Count < 2) return double.NaN;
        return Math.Exp((Math.Log(errors[^1]) - Math.Log(errors[0])) / (errors.Count - 1));
    }
    /// <inheritdoc />
    public override string Name => "li21-approximation-rate";
    /// <inheritdoc />
    public override string Title => "Best width-m approximation error: exponential vs power-law memory (Li21 rate theorem, curse of memory)";
    /// <inheritdoc />
    public override string Method =>
        "Targets: the exponentially decaying rate mixture ρ(t) = (e^{−0.5t} − e^{−2t})/t and power laws ρ(t) = (1+t)^{−(1+ω)}, ω = 0.25, 0.5, 1, 2. "
        + "For each width m the best sum of m exponentials is found by variable projection (exact least squares for the amplitudes at fixed rates, "
        + "Levenberg–Marquardt on the log-rates from Li21's construction λ_j = jβ/(α+1), geometric, random and width-by-width greedy starts; "
        + "Analysis.WidthFit), which minimises the relative L² kernel distance on [0, ∞) (Gauss–Legendre to T = 100 plus a mapped tail). "
        + "The exponential target's convergence is read from that L² error at the widths the fit resolves (above the spec's resolved_error). "
        + "The power laws are judged in Li21's norm, sup_t |H_t − Ĥ_t| over inputs bounded by 1 = ∫|ρ − ρ̂| (L¹); the L²-optimal fit's L¹ error is an "
        + "upper bound of the best L¹ error, so the needed widths m_ε are upper bounds too. Widths, starts, iterations and ε: see the spec.";

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
        var table = new DataTable("target", "omega", "width", "relative_error", "l1_error", "min_rate", "max_rate");
        var jobs = targets.Select((t, i) => (t, i)).ToArray();
        var results = new IReadOnlyList<WidthFitResult>[jobs.Length];
        var kernels = new KernelQuadrature[jobs.Length];
        int done = 0;
        // Each target's width sequence is independent, and so are the starts of each width's fits (WidthFitOptions.Work): both
        // spread over the run's threads and a sweep's idle workers.
        ctx.For(jobs.Length, (i, _) =>
        {
            var (label, omega, rho) = jobs[i].t;
            var kernel = kernels[i] = KernelQuadrature.FromFunction(rho, s.Horizon);
            int widths = double.IsNaN(omega) ? Math.Min(s.ExponentialMaxWidth, maxWidth) : maxWidth;
            results[i] = WidthFit.FitSequence(kernel, widths, new WidthFitOptions { Seed = (ulong)i, Li21Start = s.Li21Start, RandomStarts = s.RandomStarts, MaxIterations = s.MaxIterations, Work = ctx.Work });
            ctx.Report(Interlocked.Increment(ref done) / (double)jobs.Length, $"{label}: fitted m = 1..{widths}");
        });
        for (int i = 0; i < jobs.Length; i++)
            foreach (var r in results[i])
                table.Add(i, jobs[i].t.Omega, r.Width, Math.Sqrt(Math.Max(r.RelativeLoss, 0)), L1Error(kernels[i], r.Coefficients, r.Rates), r.Rates.Min(), r.Rates.Max());
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
        var l1Chart = Chart.Create("Li21 error (L^1) of the same fits", "width m", "L^1 error", AxisScale.Log, AxisScale.Log);
        var needed = new List<(double Omega, double M)>();
        var polRatios = new List<(double Omega, double Ratio)>();
        double maxWidth = table.Column("width").Max();
        (double M, double E)[] expResolved = [];
        double[] expL1 = [];
        for (int i = 0; i < targets.Count; i++)
        {
            var rows = table.Where("target", i);
            var m = rows.Column("width");
            var e = rows.Column("relative_error");
            var l1 = rows.Column("l1_error");
            var pts = m.Zip(e).Where(p => p.Second >= ErrorFloor).Select(p => (p.First, p.Second)).ToArray();
            string label = targets[i].Label.Replace("ω", "\\omega");
            chart.AddLine(label, pts.Select(p => p.Item1).ToArray(), pts.Select(p => p.Item2).ToArray(), Palette.Series(i), LineDash.Solid, MarkerShape.Circle);
            l1Chart.AddLine(label, m, l1, Palette.Series(i), LineDash.Solid, MarkerShape.Circle);
            if (double.IsNaN(targets[i].Omega))
            {
                var keep = Enumerable.Range(0, m.Length).Where(k => e[k] >= settings.ResolvedError).ToArray();
                expResolved = keep.Select(k => (m[k], e[k])).ToArray();
                expL1 = keep.Select(k => l1[k]).ToArray();
            }
            else
            {
                needed.Add((targets[i].Omega, NeededWidth(m, l1, Epsilon)));
                polRatios.Add((targets[i].Omega, MeanRatio(l1)));
            }
        }
        chart.AddHorizontalLine(settings.ResolvedError, "resolved");
        chart.Legend = LegendPosition.BottomLeft;
        l1Chart.AddHorizontalLine(Epsilon, "\\epsilon");
        l1Chart.Legend = LegendPosition.BottomLeft;

        var need = Chart.Create($"width needed for L^1 error ε = {Epsilon:G2}", "\\omega", "m_\\epsilon", AxisScale.Log, AxisScale.Log);
        var reached = needed.Where(n => double.IsFinite(n.M)).ToArray();
        if (reached.Length > 0)
            need.AddPoints("L^2-optimal fit (upper bound)", reached.Select(n => n.Omega).ToArray(), reached.Select(n => n.M).ToArray(), null, Palette.Series(0));
        var unreached = needed.Where(n => !double.IsFinite(n.M)).ToArray();
        if (unreached.Length > 0)
            need.AddPoints($"not reached by m = {maxWidth}", unreached.Select(n => n.Omega).ToArray(), unreached.Select(_ => maxWidth).ToArray(), null, Palette.Series(1), MarkerShape.Square);
        var omegaGrid = Enumerable.Range(0, 40).Select(k => 0.25 * Math.Pow(8, k / 39.0)).ToArray();
        need.AddTheory("\\omega \\epsilon^{-1/\\omega}", omegaGrid, omegaGrid.Select(w => Math.Min(w * Math.Pow(Epsilon, -1 / w), 1e6)).ToArray());
        var grid = new PanelGrid(1, 3) { Title = "Li21: approximation of linear functionals by linear RNNs" };
        grid[0, 0] = chart; grid[0, 1] = l1Chart; grid[0, 2] = need;
        section.Figures.Add(new ReportFigure(grid, "Left: best width-m relative L² error (the fitted quantity; points above 10^−8 shown, grey line: the resolved level of the spec). "
            + "Middle: Li21's error sup_t|H_t − Ĥ_t| over inputs bounded by 1, i.e. the L¹ kernel error, of the same fits (an upper bound of the best L¹ error). "
            + "Right: the smallest fitted width with L¹ error ≤ ε against ω (squares: not reached), with Li21's m ~ ω ε^{−1/ω} (constant 1, clipped at 10^6).",
            "li21-approximation-rate.svg"));

        // Claims (Li21 §3: rate theorem and curse of memory).
        string expText = string.Join(", ", expResolved.Select(p => $"m={p.M}: {p.E:G2}"));
        if (expResolved.Length >= 4)
        {
            double early = LogLogSlope(expResolved[..2]);
            double late = LogLogSlope(expResolved[^2..]);
            claims.Check("exponential-memory-error-falls-fast", late / early,
                $"log-log slope {early:F2} at m = {expResolved[0].M}–{expResolved[1].M}, {late:F2} at m = {expResolved[^2].M}–{expResolved[^1].M} (resolved widths: {expText})");
            var fit = PlateauScalingExperiment.LineFit(expResolved.Select(p => p.M).ToArray(), expResolved.Select(p => Math.Log(p.E)).ToArray());
            claims.Check("exponential-memory-geometric", fit.R2,
                $"ln e_m = {fit.Intercept:F2} {fit.Slope:+0.00;−0.00}·m, R² = {fit.R2:F4}: a factor {Math.Exp(fit.Slope):G2} per width");
        }
        else
        {
            claims.Check("exponential-memory-error-falls-fast", double.NaN, $"only {expResolved.Length} resolved widths ({expText})");
            claims.Check("exponential-memory-geometric", double.NaN, $"only {expResolved.Length} resolved widths ({expText})");
        }
        var ordered = needed.OrderBy(n => n.Omega).ToArray();
        double cap = maxWidth + 1;
        bool monotone = true;
        for (int i = 1; i < ordered.Length; i++) monotone &= Math.Min(ordered[i - 1].M, cap) >= Math.Min(ordered[i].M, cap);
        string list = string.Join(", ", ordered.Select(n => $"ω={n.Omega}: {(double.IsFinite(n.M) ? n.M.ToString() : $">{maxWidth}")}"));
        claims.Check("power-law-width-grows-as-omega-falls", monotone ? Math.Min(ordered[0].M, cap) / Math.Min(ordered[^1].M, cap) : 0,
            list + (monotone ? "" : " (not monotone)") + " (L¹ widths of the L²-optimal fits: upper bounds of the best widths)");
        // Exponential memory converges by a constant factor per width, power-law memory slower (Li21: the width needed grows
        // exponentially in 1/ω for power laws, polynomially for exponential memory): compare the mean per-width factors.
        double expRatio = MeanRatio(expL1);
        double slowest = polRatios.Count > 0 ? polRatios.Min(r => r.Ratio) : double.NaN;
        claims.Check("power-law-converges-slower", expRatio / slowest,
            $"mean L¹-error factor per width: exponential memory {expRatio:G3} (resolved widths); power laws "
            + string.Join(", ", polRatios.Select(r => $"ω={r.Omega}: {r.Ratio:G3}")));
    }
}
