using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Tests.Reporting;

/// <summary>One figure of every kind the experiments draw, from closed-form data (no training needed).</summary>
internal static class SampleFigures
{
    public static IEnumerable<(string Name, PanelGrid Grid)> All()
    {
        yield return ("loss", LossCurves());
        yield return ("sensitivity", Sensitivity());
        yield return ("hessian", Hessian());
        yield return ("landscape", Landscape());
        yield return ("grid", Grid());
    }

    /// <summary>Loss curves with mean ± std bands on log axes (Li21 Fig. 1 style), one NaN step.</summary>
    public static Chart LossCurves()
    {
        var steps = Enumerable.Range(0, 120).Select(i => 1.0 + i * 80).ToArray();
        var c = Chart.Create("Linear RNN, gradient descent", "step", "loss J", AxisScale.Log, AxisScale.Log);
        var m1 = steps.Select(s => 0.5 * Math.Exp(-s / 2000) + 1e-3).ToArray();
        c.AddMeanBand("exponential sum", steps, m1, m1.Select(m => 0.3 * m).ToArray());
        var m2 = steps.Select(s => s < 4000 ? 0.3 : 0.3 * Math.Exp(-(s - 4000) / 1000) + 2e-3).ToArray();
        m2[50] = double.NaN;
        c.AddMeanBand("Airy, t_0 = 6", steps, m2, m2.Select(m => 0.5 * m).ToArray());
        return c;
    }

    /// <summary>Theory lines beside Monte Carlo points with error bars (Zucchet24 Fig. 1 style): E[(dh/dλ)²] vs 1 − λ.</summary>
    public static Chart Sensitivity()
    {
        var c = Chart.Create("Signal propagation", "1 \\minus \\lambda", "E[(dh/d\\lambda)^2]", AxisScale.Log, AxisScale.Log);
        var d = Enumerable.Range(0, 81).Select(i => Math.Pow(10, -4 + i * 0.05)).ToArray();
        int k = 0;
        foreach (double rho in new[] { 0, 0.9, 0.99, 1 })
        {
            string col = Palette.Series(k++);
            double S(double lam)
            {
                double l2 = lam * lam;
                return ((1 + l2) * (1 - l2 * rho * rho) + 2 * rho * lam * (1 - l2)) / (Math.Pow(1 - l2, 3) * Math.Pow(1 - rho * lam, 2));
            }
            c.AddTheory(null, d, d.Select(v => S(1 - v)).ToArray(), col);
            var mc = new[] { 1e-3, 1e-2, 1e-1, 0.5 };
            c.AddPoints($"\\rho = {rho}", mc, mc.Select(v => S(1 - v) * 1.04).ToArray(), mc.Select(v => S(1 - v) * 0.15).ToArray(), col);
        }
        c.Layers.Add(new LineSeries([], [], "closed form") { Color = Palette.Theory, Dash = LineDash.Dashed, Width = 1.2 });
        return c;
    }

    /// <summary>A symlog Hessian heatmap with block labels (Zucchet24 Fig. 4 style).</summary>
    public static Chart Hessian()
    {
        int n = 12;
        var h = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                h[i, j] = (i == j ? 1e4 / (1 + i) : 0) + (Math.Abs(i - j) == 1 ? -30 : 0) + 0.5 * Math.Sin(i * j);
        var c = Chart.Matrix(h, "Hessian at the optimum, dense RNN", symLog: true, colorBarLabel: "H_{ij}");
        Tick[] blocks = [new(1.5, "A"), new(5.5, "B"), new(9.5, "C")];
        c.X.CustomTicks = blocks;
        c.Y.CustomTicks = blocks;
        c.AddVerticalLine(3.5).Color = "#555555";
        c.AddHorizontalLine(3.5).Color = "#555555";
        return c;
    }

    /// <summary>A 2-D loss landscape: log-coloured heatmap, labelled contours and an optimiser trajectory (Zucchet24 Fig. 7 style).</summary>
    public static Chart Landscape()
    {
        var xs = Enumerable.Range(0, 101).Select(i => -2 + 4.0 * i / 100).ToArray();
        var z = new double[xs.Length, xs.Length];
        for (int j = 0; j < xs.Length; j++)
            for (int i = 0; i < xs.Length; i++)
                z[j, i] = 0.5 * Math.Pow(1 - xs[i], 2) + 0.3 * Math.Pow(xs[j] - xs[i] * xs[i], 2);
        var c = Chart.Create("Loss landscape", "\\omega_\\nu", "\\omega_\\theta");
        c.AddHeatmap(xs, xs, z, ColorMap.Sequential, ColorScale.Log(1e-3, z.Cast<double>().Max()), "loss");
        c.AddContours(xs, xs, z, Contours.LogLevels(0.005, 5, 9), labelLevels: true).Color = "#ffffff";
        var tx = new List<double>();
        var ty = new List<double>();
        double px = -1.5, py = 1.8;
        for (int s = 0; s < 400; s++)
        {
            tx.Add(px); ty.Add(py);
            double gx = -(1 - px) + 0.6 * (py - px * px) * (-2 * px), gy = 0.6 * (py - px * px);
            px -= 0.05 * gx; py -= 0.05 * gy;
        }
        c.AddTrajectory("Adam", tx, ty, Palette.Vermillion);
        return c;
    }

    /// <summary>A 2 × 2 grid with shared axes and one legend (Zucchet24 Fig. 3 style).</summary>
    public static PanelGrid Grid()
    {
        var g = new PanelGrid(2, 2) { Title = "Teacher–student, \\nu_0 sweep", ShareX = AxisSharing.Column, ShareY = AxisSharing.Row, SharedLegend = true };
        var nu = new[] { 0.36, 0.68, 0.84, 0.92, 0.96, 0.98, 0.99 };
        for (int r = 0; r < 2; r++)
            for (int col = 0; col < 2; col++)
            {
                var ch = Chart.Create(r == 0 ? (col == 0 ? "final loss" : "best learning rate") : null, "\\nu_0", col == 0 ? "loss" : "lr", AxisScale.Linear, AxisScale.Log);
                ch.AddLine("RNN", nu, nu.Select(v => 1e-4 / Math.Pow(1 - v, 2) * (1 + r)).ToArray(), marker: MarkerShape.Circle);
                ch.AddLine("LRU", nu, nu.Select(v => 1e-4 * (1 + v) * (1 + col)).ToArray(), marker: MarkerShape.Square);
                ch.AddLine("cRNN", nu, nu.Select(v => 1e-3 * v).ToArray(), marker: MarkerShape.TriangleUp);
                g[r, col] = ch;
            }
        return g;
    }

    /// <summary>A small report with every figure kind and claims of each status.</summary>
    public static ReportDocument Report()
    {
        var doc = new ReportDocument("MemoryLab sample report", new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero))
        {
            Introduction = "Figures drawn from closed forms, to test the report.",
        };
        var e1 = doc.AddSection("Signal propagation", "Closed form and Monte Carlo estimates of E[(dh/dλ)²].");
        e1.Figures.Add(new ReportFigure(Sensitivity(), "Sensitivity grows like (1−λ)⁻³; dashed: closed form, points: Monte Carlo ± SEM.", "e1-sensitivity.svg"));
        e1.Figures.Add(new ReportFigure(Landscape(), "Loss landscape with an Adam trajectory.", "e1-landscape.svg"));
        e1.Claims.Add(ClaimCheck.Near("Signal propagation", "E[(dh/dλ)²] ~ (1−λ)⁻³ for white noise", 2.97, 3, 0.05, "slope 2.97"));
        var li = doc.AddSection("Li21 plateaus", "Loss curves of a linear RNN on two targets.");
        li.Figures.Add(new ReportFigure(LossCurves(), "Mean ± std over 10 initialisations.", "li21-loss.svg"));
        li.Claims.Add(ClaimCheck.GreaterThan("Li21 plateaus", "log τ grows linearly in the delay | slope > 0", -0.1, 0));
        li.Claims.Add(ClaimCheck.LessThan("Li21 plateaus", "exponential-sum target trains without a plateau", double.NaN, 100));
        var e5 = doc.AddSection("Hessian", "Hessian at the optimum; teacher–student sweep.");
        e5.Figures.Add(new ReportFigure(Hessian(), "Symlog Hessian of the dense RNN.", "e5-hessian.svg"));
        e5.Figures.Add(new ReportFigure(Grid(), "Final loss and best learning rate against ν₀.", "e3-grid.svg"));
        e5.Claims.Add(ClaimCheck.LessThan("Hessian", "diagonal Hessian is near axis-aligned", 0.08, 0.2, "off-diagonal mass 0.08"));
        return doc;
    }
}
