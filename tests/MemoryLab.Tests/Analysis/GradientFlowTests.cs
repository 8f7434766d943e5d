using MemoryLab.Analysis;
using MemoryLab.Numerics;
using static MemoryLab.Tests.Analysis.AnalysisTestFunctions;

namespace MemoryLab.Tests.Analysis;

public class GradientFlowTests
{
    private static readonly double[] StiffEigenvalues = [0.01, 1.0, 100.0];
    private static readonly double[] Theta0 = [1.0, -0.5, 2.0];

    private static double MaxAbsDiff(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    [Theory]
    [InlineData(GradientFlowMethod.DormandPrince45, 1e-10)]
    [InlineData(GradientFlowMethod.Rosenbrock23, 1e-7)]
    public void Linear_flow_matches_the_matrix_exponential_to_the_tolerance(GradientFlowMethod method, double rtol)
    {
        var (m, q) = SymmetricMatrix(StiffEigenvalues);
        var f = Quadratic(m, 3);
        double[] outputs = [0.05, 0.5, 3.0, 40.0];
        var r = GradientFlow.Integrate(f, Theta0, new GradientFlowOptions
        {
            EndTime = 200, Method = method, RelativeTolerance = rtol, AbsoluteTolerance = rtol * 1e-2, OutputTimes = outputs,
        });
        Assert.Equal(GradientFlowStatus.ReachedEndTime, r.Status);
        Assert.Equal(200, r.FinalTime, 12);
        // Global error stays within a small multiple of the tolerance times the solution scale.
        var exact = QuadraticFlow(q, StiffEigenvalues, Theta0, 200);
        Assert.True(MaxAbsDiff(r.FinalTheta, exact) < 100 * rtol, $"final error {MaxAbsDiff(r.FinalTheta, exact):E3}");
        Assert.Equal(outputs.Length, r.Samples.Count);
        foreach (var s in r.Samples)
        {
            double err = MaxAbsDiff(s.Theta, QuadraticFlow(q, StiffEigenvalues, Theta0, s.Time));
            Assert.True(err < 1000 * rtol, $"dense output error {err:E3} at τ = {s.Time}");
            Assert.Equal(f.Evaluate(s.Theta, new double[3]), s.Loss, 14);
        }
        // The loss curve is recorded from τ = 0 and decreases along the flow.
        Assert.Equal(0, r.Records[0].Time);
        Assert.Equal(f.Evaluate(Theta0, new double[3]), r.Records[0].Loss, 14);
        for (int i = 1; i < r.Records.Count; i++) Assert.True(r.Records[i].Loss <= r.Records[i - 1].Loss + 1e-15);
    }

    [Theory]
    [InlineData(GradientFlowMethod.DormandPrince45)]
    [InlineData(GradientFlowMethod.RungeKutta4)]
    [InlineData(GradientFlowMethod.Rosenbrock23)]
    public void Escape_times_match_the_exact_solution(GradientFlowMethod method)
    {
        var (m, q) = SymmetricMatrix(StiffEigenvalues);
        var f = Quadratic(m, 3);
        // θ₀ = Q c with most weight on the slow modes, so the loss event waits for the slow mode.
        double[] c = [2.0, 1.0, 0.05];
        var start = new double[3];
        for (int i = 0; i < 3; i++) for (int k = 0; k < 3; k++) start[i] += q[i * 3 + k] * c[k];
        double j0 = f.Evaluate(start, new double[3]);
        double deltaDistance = 0.5, deltaLoss = 0.63;
        var r = GradientFlow.Integrate(f, start, new GradientFlowOptions
        {
            EndTime = 1000, Method = method, RelativeTolerance = 1e-11, AbsoluteTolerance = 1e-13, FixedStep = 0.005,
            EscapeDistance = deltaDistance, EscapeLossChange = deltaLoss, StopAtEscape = true,
        });
        double Dist(double tau) => Norm(QuadraticFlow(q, StiffEigenvalues, start, tau).Zip(start, (a, b) => a - b).ToArray());
        double LossDrop(double tau) => j0 - f.Evaluate(QuadraticFlow(q, StiffEigenvalues, start, tau), new double[3]);
        double tauDistance = Bisect(t => Dist(t) - deltaDistance, 0, 1000);
        double tauLoss = Bisect(t => LossDrop(t) - deltaLoss, 0, 1000);
        Assert.True(tauDistance > 0.1 && tauLoss > 5 * tauDistance, $"test setup: τ₀ = {tauDistance}, τ₀′ = {tauLoss}");
        Assert.Equal(GradientFlowStatus.Escaped, r.Status);
        double tol = method == GradientFlowMethod.Rosenbrock23 ? 1e-5 : 1e-8;
        Assert.True(Math.Abs(r.EscapeTimeDistance!.Value - tauDistance) < tol * tauDistance, $"τ₀ {r.EscapeTimeDistance} vs exact {tauDistance}");
        Assert.True(Math.Abs(r.EscapeTimeLoss!.Value - tauLoss) < tol * tauLoss, $"τ₀′ {r.EscapeTimeLoss} vs exact {tauLoss}");
        // It stopped in the step that found the later event.
        Assert.True(r.FinalTime >= tauLoss && r.FinalTime < 1000);
    }

    [Fact]
    public void Rk4_converges_with_order_four()
    {
        // dθ/dτ = −θ³ (J = θ⁴/4), θ(τ) = θ₀ / √(1 + 2θ₀²τ).
        var f = new DelegateObjective<double>(1, (x, g) => { g[0] = x[0] * x[0] * x[0]; return 0.25 * Math.Pow(x[0], 4); });
        double theta0 = 1.0, tEnd = 2.0, exact = theta0 / Math.Sqrt(1 + 2 * theta0 * theta0 * tEnd);
        var errors = new List<double>();
        foreach (var h in new[] { 0.025, 0.0125, 0.00625, 0.003125 })
        {
            var r = GradientFlow.Integrate(f, [theta0], new GradientFlowOptions { EndTime = tEnd, Method = GradientFlowMethod.RungeKutta4, FixedStep = h });
            Assert.Equal(GradientFlowStatus.ReachedEndTime, r.Status);
            Assert.Equal((long)Math.Round(tEnd / h), r.AcceptedSteps);
            errors.Add(Math.Abs(r.FinalTheta[0] - exact));
        }
        for (int i = 1; i < errors.Count; i++)
        {
            double order = Math.Log2(errors[i - 1] / errors[i]);
            Assert.InRange(order, 3.75, 4.25);
        }
    }

    [Fact]
    public void Adaptive_steps_grow_to_the_stability_limit_on_a_plateau()
    {
        // A slow direction (rate 1e−4) next to a fast one (rate 1): the flow crawls for τ ~ 10⁴.
        double[] lambdas = [1e-4, 1.0];
        var (m, q) = SymmetricMatrix(lambdas);
        var f = Quadratic(m, 2);
        double[] start = [1.0, 1.0];
        double tEnd = 2e4;
        var exact = QuadraticFlow(q, lambdas, start, tEnd);

        var dopri = GradientFlow.Integrate(f, start, new GradientFlowOptions { EndTime = tEnd, RelativeTolerance = 1e-8, AbsoluteTolerance = 1e-10 });
        Assert.Equal(GradientFlowStatus.ReachedEndTime, dopri.Status);
        Assert.True(MaxAbsDiff(dopri.FinalTheta, exact) < 1e-6, $"error {MaxAbsDiff(dopri.FinalTheta, exact):E3}");
        // Explicit stability caps the step near 3.3/λ_max; the PI controller must ride that limit (mean step > 1.5), not collapse.
        Assert.True(tEnd / dopri.AcceptedSteps > 1.5, $"{dopri.AcceptedSteps} steps, mean step {tEnd / dopri.AcceptedSteps:F3}");
        Assert.True(dopri.RejectedSteps < 0.2 * dopri.AcceptedSteps, $"{dopri.RejectedSteps} rejections for {dopri.AcceptedSteps} steps");

        // The L-stable Rosenbrock method is not capped: steps grow with the slow time scale.
        var ros = GradientFlow.Integrate(f, start, new GradientFlowOptions { EndTime = tEnd, Method = GradientFlowMethod.Rosenbrock23, RelativeTolerance = 1e-6, AbsoluteTolerance = 1e-9 });
        Assert.Equal(GradientFlowStatus.ReachedEndTime, ros.Status);
        Assert.True(MaxAbsDiff(ros.FinalTheta, exact) < 1e-4, $"error {MaxAbsDiff(ros.FinalTheta, exact):E3}");
        Assert.True(ros.AcceptedSteps < 500, $"{ros.AcceptedSteps} Rosenbrock steps");
    }

    [Fact]
    public void Dense_output_inside_steps_is_accurate()
    {
        // A nonlinear flow (mild Rosenbrock valley); outputs fall inside steps and must match a fine RK4 reference.
        var f = new DelegateObjective<double>(2, (x, g) =>
        {
            double a = x[1] - x[0] * x[0], b = 1 - x[0];
            g[0] = -20 * a * x[0] - 2 * b;
            g[1] = 10 * a;
            return 5 * a * a + b * b;
        });
        double[] start = [-1.2, 1.0];
        double[] outputs = Enumerable.Range(1, 40).Select(i => i * 0.05).ToArray();
        var coarse = GradientFlow.Integrate(f, start, new GradientFlowOptions { EndTime = 2, RelativeTolerance = 1e-6, AbsoluteTolerance = 1e-8, OutputTimes = outputs });
        var fine = GradientFlow.Integrate(f, start, new GradientFlowOptions { EndTime = 2, Method = GradientFlowMethod.RungeKutta4, FixedStep = 1e-4, OutputTimes = outputs });
        for (int i = 0; i < outputs.Length; i++)
        {
            double err = MaxAbsDiff(coarse.Samples[i].Theta, fine.Samples[i].Theta);
            Assert.True(err < 2e-5, $"τ = {outputs[i]}: {err:E3}");
        }
    }

    [Fact]
    public void Stops_on_convergence_condition_and_step_budget()
    {
        var (m, _) = SymmetricMatrix([0.5, 2.0]);
        var f = Quadratic(m, 2);
        var converged = GradientFlow.Integrate(f, [1.0, 1.0], new GradientFlowOptions { EndTime = 1e6, GradientNormTolerance = 1e-6 });
        Assert.Equal(GradientFlowStatus.Converged, converged.Status);
        Assert.True(converged.Records[^1].GradientNorm <= 1e-6);

        var byCondition = GradientFlow.Integrate(f, [1.0, 1.0], new GradientFlowOptions
        {
            EndTime = 1e6, StopWhen = (in GradientFlowRecord rec, ReadOnlySpan<double> _) => rec.Loss < 0.1,
        });
        Assert.Equal(GradientFlowStatus.StoppedByCondition, byCondition.Status);
        Assert.True(byCondition.FinalLoss < 0.1 && byCondition.Records[^2].Loss >= 0.1);

        var budget = GradientFlow.Integrate(f, [1.0, 1.0], new GradientFlowOptions { EndTime = 1e6, MaxSteps = 7, RecordEvery = 0 });
        Assert.Equal(GradientFlowStatus.MaxStepsReached, budget.Status);
        Assert.Equal(7, budget.AcceptedSteps);
        Assert.Equal(2, budget.Records.Count); // first and last only
    }

    [Fact]
    public void Bad_settings_are_rejected_with_a_clear_message()
    {
        var f = Quadratic([1.0], 1);
        var e = Assert.Throws<ArgumentException>(() => GradientFlow.Integrate(f, [1.0], new GradientFlowOptions { EndTime = 1, Method = GradientFlowMethod.RungeKutta4 }));
        Assert.Contains("fixed step", e.Message);
        e = Assert.Throws<ArgumentException>(() => GradientFlow.Integrate(f, [1.0, 2.0], new GradientFlowOptions { EndTime = 1 }));
        Assert.Contains("θ₀ has 2 entries", e.Message);
        e = Assert.Throws<ArgumentException>(() => GradientFlow.Integrate(f, [1.0], new GradientFlowOptions { EndTime = 1, StopAtEscape = true }));
        Assert.Contains("escape", e.Message);
    }

    [Fact]
    public void A_flow_into_a_singularity_reports_non_finite()
    {
        // J = −θ³/3: dθ/dτ = θ² blows up in finite time, θ(τ) = 1/(1 − τ) from θ₀ = 1.
        var f = new DelegateObjective<double>(1, (x, g) => { g[0] = -x[0] * x[0]; return -x[0] * x[0] * x[0] / 3; });
        var r = GradientFlow.Integrate(f, [1.0], new GradientFlowOptions { EndTime = 10 });
        // The integrator must stop at the pole, not step over it and run on to τ = 10.
        Assert.True(r.Status is GradientFlowStatus.NonFinite or GradientFlowStatus.StepSizeUnderflow, r.Status.ToString());
        Assert.True(Math.Abs(r.FinalTime - 1.0) < 1e-3, $"stopped at τ = {r.FinalTime}");
    }

    [Fact]
    public void Li21_delayed_bump_escape_time_grows_exponentially_with_the_delay()
    {
        // Li21 JMLR Thm 20 set-up: ρ = e^{−t/2} + exp(−(t − L)²/(2·0.5²)), m = 5, started at ρ̂ = ρ̄ with
        // a = (1, 0, …), w = geomspace(0.5, 4, 5); population loss J = ∫(ρ̂ − ρ)² by quadrature; δ = 0.05.
        var times = new List<double>();
        foreach (var delay in new[] { 8.0, 10.0, 12.0 })
        {
            var kernel = KernelQuadrature.FromFunction(t => Math.Exp(-0.5 * t) + Math.Exp(-(t - delay) * (t - delay) / 0.5), delay + 20,
                new KernelQuadratureOptions { Breakpoints = [delay] });
            var f = new ExponentialSumKernelObjective(kernel, 5);
            var theta0 = f.Pack([1, 0, 0, 0, 0], WidthFit.GeometricRates(5, 0.5, 4));
            var options = new GradientFlowOptions { EndTime = 1e6, EscapeDistance = 0.05, EscapeLossChange = 0.05, StopAtEscape = true, RelativeTolerance = 1e-7, AbsoluteTolerance = 1e-10 };
            var explicitFlow = GradientFlow.Integrate(f, theta0, options);
            Assert.Equal(GradientFlowStatus.Escaped, explicitFlow.Status);
            if (delay == 10)
            {
                // Two different integrators agree on both escape times.
                var implicitFlow = GradientFlow.Integrate(f, theta0, options with { Method = GradientFlowMethod.Rosenbrock23 });
                Assert.True(Math.Abs(explicitFlow.EscapeTimeLoss!.Value / implicitFlow.EscapeTimeLoss!.Value - 1) < 1e-3, $"{explicitFlow.EscapeTimeLoss} vs {implicitFlow.EscapeTimeLoss}");
                Assert.True(Math.Abs(explicitFlow.EscapeTimeDistance!.Value / implicitFlow.EscapeTimeDistance!.Value - 1) < 1e-3);
            }
            times.Add(explicitFlow.EscapeTimeLoss!.Value);
        }
        // log τ₀′ grows with L: by more than a factor 3 per two units of delay.
        Assert.True(times[1] > 3 * times[0] && times[2] > 3 * times[1], string.Join(", ", times));
    }
}
