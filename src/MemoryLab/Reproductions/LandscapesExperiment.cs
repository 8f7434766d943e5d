using System.Numerics;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using MemoryLab.Theory;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>zucchet24-landscapes</c> (Zucchet24 Figs. 1 middle/right, 6; SCIENCE.md B1, B3 E1): the exact 1-D teacher–student
/// losses of a linear recurrence driven by white noise (<see cref="TeacherStudentLoss"/>, μ = 0, σ² = 1).
/// (a) L(λ) for a real student and teacher λ* = 1 − {.01, …, .64}; (b) L along the phase, student ν*e^{iθ} against teacher
/// ν*e^{iθ*}, θ* = π/100; (c) the γ-normalised loss along ω_ν and ω_θ under the polar, exp (LRU) and opt (tanh + scaled
/// phase) maps with teacher λ*e^{iπ/100}, with its second derivative along the line. The curvature at the optimum is the
/// second derivative of the loss, taken as a central difference of the exact gradient; at the optimum it equals
/// E|du/dω|² (u = γh), which <see cref="SignalPropagation.MagnitudeSensitivity"/> / <see cref="SignalPropagation.PhaseSensitivity"/>
/// give in closed form, stored beside it as a check.
/// </summary>
public sealed class LandscapesExperiment : ReproductionKind<LandscapesExperiment.Settings>
{
    /// <summary>Settings of one scale (spec <c>experiments/reproduce/zucchet24-landscapes/</c>).</summary>
    /// <param name="Gaps">Teacher gaps 1 − λ*.</param>
    /// <param name="TeacherPhaseDivisor">d in the teacher phase θ* = π/d of the complex targets.</param>
    /// <param name="Points">Points per 1-D loss curve.</param>
    public sealed record Settings(double[] Gaps, double TeacherPhaseDivisor, int Points);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s) => new(s.GetDoubleList("gaps", above: 0, below: 1, minCount: 2),
        s.GetDouble("teacher_phase_divisor", above: 1), s.GetInt("points", min: 3));
    private static readonly EigenvalueMap[] Maps = [EigenvalueMap.Polar, EigenvalueMap.Lru, EigenvalueMap.Optimal];
    private static readonly string[] MapNames = ["polar", "exp", "opt"];

    /// <inheritdoc />
    public override string Name => "zucchet24-landscapes";
    /// <inheritdoc />
    public override string Title => "1-D loss landscapes and their curvature under reparametrisation (Zucchet24 Figs. 1 middle/right, 6)";
    /// <inheritdoc />
    public override string Method =>
        "Exact white-noise teacher–student losses of one recurrent neuron (SCIENCE.md B1). Plain loss against λ (real) and against "
        + "θ − θ* (|λ| = |λ*|), then the γ-normalised loss along ω_ν and ω_θ for the polar, exp and opt maps, teacher λ*e^{iπ/100}. "
        + "Curvatures are central differences of the exact gradient (step 10^−6 relative), checked against E|du/dω|².";

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings s)
    {
        int n = s.Points;
        var Gaps = s.Gaps;
        double TeacherPhase = Math.PI / s.TeacherPhaseDivisor;
        // (a) plain loss against real λ.
        var plain = new DataTable("gap", "lambda", "loss");
        foreach (double gap in Gaps)
        {
            var loss = new TeacherStudentLoss(new Complex(1 - gap, 0), EigenvalueCoordinates.Real);
            for (int i = 0; i < n; i++)
            {
                double lambda = 0.999 * i / (n - 1);
                plain.Add(gap, lambda, loss.Loss(new Complex(lambda, 0)));
            }
        }
        plain.Save(ctx.File("loss-lambda.csv"));
        ctx.Report(0.2, "L(λ)");

        // (b) plain loss along the phase at |λ| = |λ*|; an even point count keeps θ = θ* (loss 0) off the log-scale grid.
        var phase = new DataTable("gap", "dtheta", "loss");
        foreach (double gap in Gaps)
        {
            double nu = 1 - gap;
            var loss = new TeacherStudentLoss(Complex.FromPolarCoordinates(nu, TeacherPhase), EigenvalueCoordinates.Polar);
            for (int i = 0; i < n + 1; i++)
            {
                double d = -Math.PI + 2 * Math.PI * (i + 0.5) / (n + 1);
                phase.Add(gap, d, loss.Loss(Complex.FromPolarCoordinates(nu, TeacherPhase + d)));
            }
        }
        phase.Save(ctx.File("loss-theta.csv"));
        ctx.Report(0.4, "L(θ − θ*)");

        // (c) normalised loss along ω_ν and ω_θ for each map, with the second derivative along the line.
        var lines = new DataTable("map", "direction", "gap", "offset", "loss", "curvature");
        var curv = new DataTable("kind", "gap", "curvature", "theory");
        foreach (double gap in Gaps)
        {
            // Plain loss, real λ: L''(λ*) = E[(dh/dλ)²] = (1+λ²)/(1−λ²)³.
            var real = new TeacherStudentLoss(new Complex(1 - gap, 0), EigenvalueCoordinates.Real);
            curv.Add(0, gap, SecondDerivative(real, [1 - gap], 0), SignalPropagation.SensitivityVariance(1 - gap, 0));
            // Plain loss along θ (polar coordinates): E|dh/dθ|² = ν²S(λ,λ̄).
            var polarPlain = new TeacherStudentLoss(Complex.FromPolarCoordinates(1 - gap, TeacherPhase), EigenvalueCoordinates.Polar);
            curv.Add(1, gap, SecondDerivative(polarPlain, [1 - gap, TeacherPhase], 1),
                SignalPropagation.PhaseSensitivity(EigenvalueMap.Polar, 1 - gap, TeacherPhase, 0, normalised: false));
        }
        for (int m = 0; m < Maps.Length; m++)
        {
            ctx.Cancellation.ThrowIfCancellationRequested();
            var coords = EigenvalueCoordinates.Mapped(Maps[m]);
            foreach (double gap in Gaps)
            {
                var teacher = Complex.FromPolarCoordinates(1 - gap, TeacherPhase);
                var loss = new TeacherStudentLoss(teacher, coords, normalised: true);
                double[] star = coords.FromLambda(teacher);
                curv.Add(2 + m, gap, SecondDerivative(loss, star, 0), SignalPropagation.MagnitudeSensitivity(Maps[m], star[0], star[1], 0));
                curv.Add(5 + m, gap, SecondDerivative(loss, star, 1), SignalPropagation.PhaseSensitivity(Maps[m], star[0], star[1], 0));
                for (int dir = 0; dir < 2; dir++)
                {
                    var (lo, hi) = LineRange(Maps[m], dir, star);
                    var w = (double[])star.Clone();
                    for (int i = 0; i < n; i++)
                    {
                        double off = lo + (hi - lo) * i / (n - 1);
                        w[dir] = star[dir] + off;
                        w[1 - dir] = star[1 - dir];
                        if (!InsideDisc(Maps[m], w)) continue;
                        double l = Evaluate(loss, w);
                        double c = SecondDerivative(loss, w, dir);
                        lines.Add(m, dir, gap, off, l, c);
                    }
                }
            }
            ctx.Report(0.4 + 0.2 * (m + 1), $"{MapNames[m]} map");
        }
        // Kind 8: tanh magnitude with an unscaled phase, separating the magnitude map from the opt phase's ν-dependence.
        var tanhDirect = new EigenvalueMap(MagnitudeMap.Tanh, PhaseMap.Direct);
        foreach (double gap in Gaps)
        {
            var coords = EigenvalueCoordinates.Mapped(tanhDirect);
            var teacher = Complex.FromPolarCoordinates(1 - gap, TeacherPhase);
            var loss = new TeacherStudentLoss(teacher, coords, normalised: true);
            double[] star = coords.FromLambda(teacher);
            curv.Add(8, gap, SecondDerivative(loss, star, 0), SignalPropagation.MagnitudeSensitivity(tanhDirect, star[0], star[1], 0));
        }
        lines.Save(ctx.File("normalised-lines.csv"));
        curv.Save(ctx.File("curvature.csv"));
    }

    /// <summary>The plotted ω-range along a direction: about ±2 in ω for the reparametrised maps, the whole admissible ν range for
    /// polar ν, and ±π in θ (scaled to ω_θ for the opt map).</summary>
    private static (double Lo, double Hi) LineRange(EigenvalueMap map, int dir, double[] star)
    {
        if (dir == 0)
            return map.Magnitude switch
            {
                MagnitudeMap.Direct => (-star[0] + 1e-3, 0.999 - star[0]),
                _ => (-2.0, 2.0),
            };
        return map.Phase switch
        {
            PhaseMap.Direct => (-Math.PI / 2, Math.PI / 2),
            PhaseMap.Exp => (-3.0, 3.0),
            _ => (-Math.Abs(star[1]) - 5, Math.Abs(star[1]) + 5),
        };
    }

    private static bool InsideDisc(EigenvalueMap map, double[] w)
    {
        double nu = map.Magnitude switch
        {
            MagnitudeMap.Direct => w[0],
            MagnitudeMap.Exp => Math.Exp(-Math.Exp(w[0])),
            _ => Math.Tanh(w[0]),
        };
        return nu > 1e-3 && nu < 1 - 1e-9;
    }

    private static double Evaluate(TeacherStudentLoss loss, double[] w)
    {
        Span<double> g = stackalloc double[w.Length];
        return loss.Evaluate(w, g);
    }

    /// <summary>∂²L/∂w_k² by a central difference of the exact gradient (relative step 10⁻⁶).</summary>
    public static double SecondDerivative(TeacherStudentLoss loss, double[] w, int k)
    {
        double h = 1e-6 * Math.Max(1, Math.Abs(w[k]));
        var a = (double[])w.Clone();
        var b = (double[])w.Clone();
        a[k] += h; b[k] -= h;
        Span<double> ga = stackalloc double[w.Length];
        Span<double> gb = stackalloc double[w.Length];
        loss.Evaluate(a, ga);
        loss.Evaluate(b, gb);
        return (ga[k] - gb[k]) / (2 * h);
    }

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        var plain = DataTable.Load(Path.Combine(directory, "loss-lambda.csv"));
        var Gaps = plain.Column("gap").Distinct().ToArray();
        var phase = DataTable.Load(Path.Combine(directory, "loss-theta.csv"));
        var lines = DataTable.Load(Path.Combine(directory, "normalised-lines.csv"));
        var curv = DataTable.Load(Path.Combine(directory, "curvature.csv"));

        var top = new PanelGrid(1, 2) { Title = "White-noise teacher–student loss of one recurrent neuron", SharedLegend = true };
        var a = Chart.Create("L(\\lambda), real \\lambda", "\\lambda", "L", AxisScale.Linear, AxisScale.Log);
        var b = Chart.Create("L along the phase, |\\lambda| = |\\lambda^*|", "\\theta − \\theta^*", "L", AxisScale.Linear, AxisScale.Log);
        for (int i = 0; i < Gaps.Length; i++)
        {
            var r = plain.Where("gap", Gaps[i]).Where(row => row["loss"] > 1e-8);
            a.AddLine($"\\lambda^* = {1 - Gaps[i]:0.##}", r.Column("lambda"), r.Column("loss"), Palette.Series(i));
            var p = phase.Where("gap", Gaps[i]);
            b.AddLine($"\\lambda^* = {1 - Gaps[i]:0.##}", p.Column("dtheta"), p.Column("loss"), Palette.Series(i));
        }
        top[0, 0] = a; top[0, 1] = b;
        section.Figures.Add(new ReportFigure(top, "The loss sharpens around the teacher as λ* → 1, both along the magnitude and along the phase "
            + "(Zucchet24 Fig. 1 middle/right). Exact closed form, μ = 0, σ² = 1; θ* = π/100.", "landscapes-plain.svg"));

        var grid = new PanelGrid(3, 4) { Title = "γ-normalised loss and its second derivative along \\omega_\\nu and \\omega_\\theta", SharedLegend = true };
        string[] dirNames = ["\\omega_\\nu", "\\omega_\\theta"];
        for (int m = 0; m < Maps.Length; m++)
            for (int dir = 0; dir < 2; dir++)
            {
                var lc = Chart.Create($"{MapNames[m]}: L along {dirNames[dir]}", $"{dirNames[dir]} − {dirNames[dir]}^*", "L", AxisScale.Linear, AxisScale.Log);
                var cc = Chart.Create($"{MapNames[m]}: \\partial^2 L along {dirNames[dir]}", $"{dirNames[dir]} − {dirNames[dir]}^*", "\\partial^2 L", AxisScale.Linear, AxisScale.Linear);
                var sel = lines.Where("map", m).Where("direction", dir);
                for (int i = 0; i < Gaps.Length; i++)
                {
                    var r = sel.Where("gap", Gaps[i]).Where(x => x["loss"] > 1e-8);
                    lc.AddLine($"\\lambda^* = {1 - Gaps[i]:0.##}", r.Column("offset"), r.Column("loss"), Palette.Series(i));
                    var rc = sel.Where("gap", Gaps[i]);
                    cc.AddLine(null, rc.Column("offset"), rc.Column("curvature"), Palette.Series(i));
                }
                lc.Width = cc.Width = 330; lc.Height = cc.Height = 260;
                grid[m, 2 * dir] = lc; grid[m, 2 * dir + 1] = cc;
            }
        section.Figures.Add(new ReportFigure(grid, "Rows: polar (ν = ω_ν, θ = ω_θ), exp (LRU: ν = exp(−e^{ω_ν}), θ = e^{ω_θ}), opt (ν = tanh ω_ν, "
            + "θ = ω_θ(1−ν²)/(ν√(1+ν²))). Teacher λ*e^{iπ/100} (Zucchet24 Fig. 6).", "landscapes-normalised.svg"));

        var sum = new PanelGrid(1, 2) { Title = "Curvature at the optimum against the teacher's memory", SharedLegend = false };
        var cn = Chart.Create("magnitude direction", "1 − |\\lambda^*|", "\\partial^2 L at optimum", AxisScale.Log, AxisScale.Log);
        var ct = Chart.Create("phase direction", "1 − |\\lambda^*|", "\\partial^2 L at optimum", AxisScale.Log, AxisScale.Log);
        string[] kindNames = ["plain, \\lambda", "plain, \\theta", "polar \\omega_\\nu", "exp \\omega_\\nu", "opt \\omega_\\nu", "polar \\omega_\\theta", "exp \\omega_\\theta", "opt \\omega_\\theta", "tanh, unscaled \\theta: \\omega_\\nu"];
        for (int k = 0; k < 9; k++)
        {
            var r = curv.Where("kind", k);
            var chart = k is 0 or 2 or 3 or 4 or 8 ? cn : ct;
            int colour = k switch { 0 or 1 => 0, 2 or 5 => 1, 3 or 6 => 2, 8 => 4, _ => 3 };
            chart.AddTheory(null, r.Column("gap"), r.Column("theory"), Palette.Series(colour));
            chart.AddPoints(kindNames[k], r.Column("gap"), r.Column("curvature"), null, Palette.Series(colour));
        }
        sum[0, 0] = cn; sum[0, 1] = ct;
        section.Figures.Add(new ReportFigure(sum, "Points: second derivative of the exact loss at the teacher (differences of the exact gradient). "
            + "Dashed: E|du/dω|² in closed form. Plain and polar curvatures diverge with memory; exp keeps the magnitude direction O(1); "
            + "opt's ω_ν curvature picks up the phase, since its scaled θ = ω_θ s(ν) moves with ν at fixed ω_θ (dθ/dω_ν → −2θ*), "
            + "while tanh with an unscaled phase stays exactly 1.",
            "landscapes-curvature.svg"));

        // Claims (Zucchet24 §3 and App. B, written before measuring).
        var realRows = curv.Where("kind", 0).Where(r => r["gap"] <= 0.08 + 1e-12);
        double slope = SignalPropagationExperiment.Slope(realRows.Column("gap").Select(v => Math.Log(v)).ToArray(), realRows.Column("curvature").Select(v => Math.Log(v)).ToArray());
        claims.Check("plain-curvature-grows-cubically", slope, $"slope = {slope:F3}");
        double maxRe = curv.Where(r => r["kind"] is 3 or 4).Column("curvature").Max();
        var polarNu = curv.Where("kind", 2);
        double growth = polarNu.Column("curvature").Max() / polarNu.Column("curvature").Min();
        claims.Check("reparametrised-curvature-bounded", maxRe,
            $"max = {maxRe:F3} (exp {curv.Where("kind", 3).Column("curvature").Max():F3}, opt {curv.Where("kind", 4).Column("curvature").Max():F3}); polar ω_ν grows ×{growth:G3}; tanh with unscaled phase {curv.Where("kind", 8).Column("curvature").Max():F3}");
        double check = curv.Rows.Max(r => Math.Abs(r["curvature"] - r["theory"]) / Math.Abs(r["theory"]));
        claims.Check("curvature-matches-closed-form", check, $"max rel. error = {check:E2}");
    }
}
