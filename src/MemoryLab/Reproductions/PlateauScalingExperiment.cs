using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using MemoryLab.Targets;
using MemoryLab.Theory;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>li21-plateau-scaling</c> (Li, Han, E &amp; Li, ICLR 2021 §4; JMLR 2022 Thm 20): exact gradient flow
/// dθ/dτ = −∇J(θ) of the reduced model ρ̂ = Σ a_i e^{−w_i t} (<see cref="ReducedModelObjective"/>, direct rates) on the
/// delayed-bump family ρ_ω(t) = e^{−0.5t} + exp(−(t − L)²/(2·0.5²)), L = 1/ω, started where ρ̂(θ₀) = ρ̄ = e^{−0.5t}:
/// a = (1, 0, …, 0), w = geomspace(0.5, 4, m) (the published reproduction's constants). Escape times
/// τ₀ = inf{τ: ‖θ(τ) − θ₀‖ &gt; δ} and τ₀′ = inf{τ: |J(θ(τ)) − J(θ₀)| &gt; δ}, δ = 0.05, are located on the adaptive
/// Dormand–Prince 5(4) interpolant (<see cref="GradientFlow"/>). The theorem's bound τ ≳ ω² e^{w₀/ω}·min(δ/√m, ln(1+δ))
/// predicts log τ linear in L with slope ≈ w₀ = 0.5 (the smallest initial rate).
/// </summary>
public sealed class PlateauScalingExperiment : ReproductionKind<PlateauScalingExperiment.Settings>
{
    /// <summary>Settings of one scale (spec <c>experiments/reproduce/li21-plateau-scaling/</c>).</summary>
    /// <param name="Delays">The delays L = 1/ω.</param>
    /// <param name="Widths">The widths m.</param>
    /// <param name="Delta">δ of both escape times.</param>
    /// <param name="BaselineRate">Baseline rate of ρ̄ = e^{−w₀t}; equals w₀, the smallest initial rate.</param>
    /// <param name="MaxInitialRate">Largest initial rate of geomspace(w₀, max, m).</param>
    /// <param name="BumpWidth">Width of the Gaussian bump ρ₀(s) = exp(−s²/(2·width²)).</param>
    /// <param name="RelativeTolerance">The integrator's relative tolerance (absolute: 10⁻³ of it).</param>
    /// <param name="CheckTolerance">The tighter tolerance of the convergence check at the longest delay.</param>
    /// <param name="EndTime">Flow time at which a run gives up.</param>
    public sealed record Settings(double[] Delays, int[] Widths, double Delta, double BaselineRate, double MaxInitialRate, double BumpWidth,
        double RelativeTolerance, double CheckTolerance, double EndTime);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s) => new(
        s.GetDoubleList("delays", above: 0, minCount: 2, doc: "memory delays L = 1/ω, one point each"),
        s.GetIntList("widths", min: 1, minCount: 1, doc: "model widths m, one curve each"),
        s.GetDouble("delta", above: 0, doc: "δ of the escape times τ₀ (‖θ−θ₀‖ > δ) and τ₀′ (|J−J₀| > δ)"),
        s.GetDouble("baseline_rate", above: 0, doc: "w₀ of the baseline ρ̄ = e^{−w₀t}, also the smallest initial rate"),
        s.GetDouble("max_initial_rate", above: 0, doc: "largest initial rate (the rates are geometric from baseline_rate)"),
        s.GetDouble("bump_width", above: 0, doc: "width b of the Gaussian bump"),
        s.GetDouble("relative_tolerance", above: 0, below: 1, doc: "relative tolerance of the Dormand–Prince 5(4) flow (absolute: 1e-3 of it)"),
        s.GetDouble("check_tolerance", above: 0, below: 1, doc: "the longest L is re-run at this tolerance to show the escape times converged"),
        s.GetDouble("end_time", above: 0, doc: "flow time after which a run gives up"));

    /// <inheritdoc />
    public override string Name => "li21-plateau-scaling";
    /// <inheritdoc />
    public override string Title => "Plateau length against memory length: escape times of exact gradient flow (Li21 JMLR Thm 20)";
    /// <inheritdoc />
    public override string Method =>
        "Reduced model ρ̂ = Σ aᵢe^{−wᵢt} (direct rates) on ρ_ω(t) = e^{−0.5t} + exp(−(t−L)²/(2·0.5²)), L = 1/ω; exact population loss "
        + "J = ∫(ρ̂−ρ)² with closed-form Laplace transforms. Start a = (1,0,…,0), w = geomspace(0.5, 4, m), so ρ̂(θ₀) = e^{−0.5t} (the short-memory "
        + "part already fitted). Gradient flow by adaptive Dormand–Prince 5(4) (rtol 1e−9, atol 1e−12); τ₀ (‖θ−θ₀‖ > δ) and τ₀′ (|J−J₀| > δ), δ = 0.05, "
        + "located on the dense output. The longest L is re-run at a tighter tolerance to show the times are converged. Delays, widths and tolerances: see the spec.";

    /// <summary>θ₀ = (a, w) with a = (1, 0, …, 0), w = geomspace(<paramref name="baselineRate"/>, <paramref name="maxInitialRate"/>, m).</summary>
    public static double[] InitialTheta(int width, double baselineRate, double maxInitialRate)
    {
        var theta = new double[2 * width];
        theta[0] = 1;
        for (int i = 0; i < width; i++)
            theta[width + i] = width == 1 ? baselineRate : baselineRate * Math.Pow(maxInitialRate / baselineRate, i / (double)(width - 1));
        return theta;
    }

    /// <summary>Escape times (τ₀, τ₀′) of the flow for delay <paramref name="delay"/> and width <paramref name="width"/>, with the integrator's cost.</summary>
    public static (double Tau0, double Tau0Prime, long Steps, long Evaluations, GradientFlowStatus Status, double InitialLoss) EscapeTimes(
        Settings s, double delay, int width, double relativeTolerance)
    {
        ArgumentNullException.ThrowIfNull(s);
        var target = MemoryKernel.DelayedBump(delay, s.BaselineRate, s.BumpWidth);
        var objective = new ReducedModelObjective(target, width);
        var result = GradientFlow.Integrate(objective, InitialTheta(width, s.BaselineRate, s.MaxInitialRate), new GradientFlowOptions
        {
            EndTime = s.EndTime,
            RelativeTolerance = relativeTolerance,
            AbsoluteTolerance = relativeTolerance * 1e-3,
            EscapeDistance = s.Delta,
            EscapeLossChange = s.Delta,
            StopAtEscape = true,
            RecordEvery = 0,
        });
        return (result.EscapeTimeDistance ?? double.NaN, result.EscapeTimeLoss ?? double.NaN, result.AcceptedSteps, result.Evaluations,
            result.Status, result.InitialLoss);
    }

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings s)
    {
        var delays = s.Delays;
        var Widths = s.Widths;
        var table = new DataTable("width", "delay", "tau0", "tau0_prime", "steps", "evaluations", "initial_loss");
        int total = delays.Length * Widths.Length + 1, done = 0;
        foreach (int m in Widths)
            foreach (double delay in delays)
            {
                ctx.Cancellation.ThrowIfCancellationRequested();
                var r = EscapeTimes(s, delay, m, s.RelativeTolerance);
                table.Add(m, delay, r.Tau0, r.Tau0Prime, r.Steps, r.Evaluations, r.InitialLoss);
                ctx.Report(++done / (double)total, $"m = {m}, L = {delay}: τ₀ = {r.Tau0:G4}, τ₀′ = {r.Tau0Prime:G4}");
            }
        table.Save(ctx.File("escape-times.csv"));

        // Tolerance check at the longest delay (the stiffest, longest run).
        var check = new DataTable("width", "delay", "rtol", "tau0", "tau0_prime");
        double lmax = delays[^1];
        foreach (double rtol in new[] { s.RelativeTolerance, s.CheckTolerance })
        {
            var r = EscapeTimes(s, lmax, Widths[0], rtol);
            check.Add(Widths[0], lmax, rtol, r.Tau0, r.Tau0Prime);
        }
        check.Save(ctx.File("tolerance-check.csv"));
        ctx.Report(1, "done");
    }

    /// <summary>Least-squares line y = intercept + slope·x and its R².</summary>
    public static (double Slope, double Intercept, double R2) LineFit(double[] x, double[] y)
    {
        if (x.Length != y.Length || x.Length < 2) throw new ArgumentException("a line fit needs at least two (x, y) pairs of equal count");
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my); }
        double slope = sxy / sxx;
        return (slope, my - slope * mx, syy == 0 ? 1 : sxy * sxy / (sxx * syy));
    }

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        var table = DataTable.Load(Path.Combine(directory, "escape-times.csv"));
        var chart = Chart.Create("escape time against delay", "L = 1/\\omega", "\\tau", AxisScale.Linear, AxisScale.Log);
        int series = 0;
        var fits = new List<(int M, string Which, double Slope, double R2)>();
        double BaselineRate = settings.BaselineRate;
        foreach (int m in table.Column("width").Distinct().Order().Select(w => (int)w))
        {
            var rows = table.Where("width", m);
            foreach (var (col, label, marker) in new[] { ("tau0", "\\tau_0", MarkerShape.Circle), ("tau0_prime", "\\tau_0'", MarkerShape.Square) })
            {
                var pts = rows.Rows.Select(r => (L: r["delay"], T: r[col])).Where(p => double.IsFinite(p.T) && p.T > 0).ToArray();
                string color = Palette.Series(series++);
                if (pts.Length >= 2)
                {
                    var (slope, icpt, r2) = LineFit(pts.Select(p => p.L).ToArray(), pts.Select(p => Math.Log(p.T)).ToArray());
                    fits.Add((m, col, slope, r2));
                    double lo = pts.Min(p => p.L), hi = pts.Max(p => p.L);
                    chart.AddTheory(null, [lo, hi], [Math.Exp(icpt + slope * lo), Math.Exp(icpt + slope * hi)], color);
                    chart.AddPoints($"{label}, m = {m} (slope {slope:F3})", pts.Select(p => p.L).ToArray(), pts.Select(p => p.T).ToArray(), null, color, marker);
                }
                else
                {
                    fits.Add((m, col, double.NaN, double.NaN));
                }
            }
        }
        chart.Legend = LegendPosition.TopLeft;
        section.Figures.Add(new ReportFigure(chart, "Escape times of exact gradient flow from the fitted short-memory part; dashed: least-squares "
            + "lines of log τ against L. Li21 JMLR Thm 20 predicts log τ ≈ w₀L + const with w₀ the smallest initial rate.", "li21-plateau-scaling.svg"));

        // Claims (Li21 JMLR Thm 20, written before measuring): log τ linear in L with R² ≥ 0.95 and a positive slope; slope ≈ w₀.
        foreach (var (m, which, slope, r2) in fits)
        {
            string tau = which == "tau0" ? "τ₀" : "τ₀′";
            claims.Check("log-tau-linear", r2, $"R² = {r2:F4}", ("tau", tau), ("m", m));
            claims.Check("log-tau-grows", slope, $"slope = {slope:F4} per unit L; slope/w₀ = {slope / BaselineRate:F3}", ("tau", tau), ("m", m));
        }
        var tau0Slopes = fits.Where(f => f.Which == "tau0").Select(f => f.Slope).ToArray();
        double meanRatio = tau0Slopes.Average() / BaselineRate;
        claims.Check("slope-comparable-to-smallest-rate", meanRatio,
            $"slope/w₀ = {meanRatio:F3} (m = {string.Join(", ", fits.Where(f => f.Which == "tau0").Select(f => $"{f.M}: {f.Slope / BaselineRate:F3}"))})", ("w0", BaselineRate));

        var checkPath = Path.Combine(directory, "tolerance-check.csv");
        if (File.Exists(checkPath))
        {
            var check = DataTable.Load(checkPath);
            if (check.Rows.Count >= 2)
            {
                var a = check.Rows[0];
                var b = check.Rows[^1];
                double rel = Math.Max(Math.Abs(a["tau0"] - b["tau0"]) / Math.Abs(b["tau0"]), Math.Abs(a["tau0_prime"] - b["tau0_prime"]) / Math.Abs(b["tau0_prime"]));
                claims.Check("escape-times-converged", rel, $"max relative change {rel:G3} at L = {a["delay"]}, m = {a["width"]}");
            }
        }
    }
}
