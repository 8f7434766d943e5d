using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Tests.Targets;
using MemoryLab.Theory;

namespace MemoryLab.Tests.Theory;

public class KernelObjectiveTests
{
    private static readonly double[] A = [0.5, -0.2, 0.8];
    private static readonly double[] W = [0.3, 1.1, 1.8];

    /// <summary>∫_0^∞ (ρ̂ − ρ)² by an independent rule to t = 2000, plus the analytic tail ∫ρ² beyond for power laws.</summary>
    private static double DirectLoss(Func<double, double> model, MemoryKernel target)
    {
        const double horizon = 2000;
        var (v, _) = MemoryKernelTests.Reference(t => { double d = model(t) - target.Value(t); return d * d; }, horizon);
        if (target is PowerLawKernel p)
            v += p.Amplitude * p.Amplitude * Math.Pow(1 + p.Rate * horizon, 1 - 2 * p.Exponent) / (p.Rate * (2 * p.Exponent - 1));
        return v;
    }

    public static IEnumerable<object[]> Targets() =>
    [
        ["exp"], ["pol"], ["airy"], ["shift"], ["twoparts"], ["bump"], ["expsum"],
    ];

    private static MemoryKernel Target(string name) => name switch
    {
        "bump" => MemoryKernel.DelayedBump(10),
        "expsum" => MemoryKernel.ExponentialSum([1, -0.4], [0.6, 2.5]),
        "exp" => MemoryKernel.Exponential(0.7),
        _ => MemoryKernel.FromName(name),
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void Reduced_model_loss_equals_direct_integration_of_the_squared_kernel_error(string name)
    {
        var target = Target(name);
        var obj = new ReducedModelObjective(target, 3, RateParametrisation.Softplus);
        double j = obj.Loss(A, W);
        double direct = DirectLoss(t => A[0] * Math.Exp(-W[0] * t) + A[1] * Math.Exp(-W[1] * t) + A[2] * Math.Exp(-W[2] * t), target);
        Assert.True(Math.Abs(j - direct) <= 1e-9 * Math.Max(direct, target.SquaredNorm), $"{name}: J = {j:R}, direct {direct:R}");
    }

    public static IEnumerable<object[]> GradientCases()
    {
        foreach (var p in RateParametrisation.All)
            foreach (var t in new[] { "expsum", "pol", "airy", "bump", "shift" })
                yield return [p.Name, t];
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Reduced_model_gradient_passes_finite_differences(string parametrisation, string target)
    {
        var obj = new ReducedModelObjective(Target(target), 3, RateParametrisation.Parse(parametrisation));
        var theta = obj.Pack(A, W);
        var r = GradientCheck.Check(obj, theta, layout: obj.Layout);
        Assert.True(r.MaxRelativeError < 1e-6, $"{parametrisation}/{target}: {r}");
    }

    [Fact]
    public void Reduced_model_is_exact_at_the_target_and_rejects_unstable_rates()
    {
        var target = MemoryKernel.ExponentialSum([1, -0.5], [0.5, 2]);
        var obj = new ReducedModelObjective(target, 2, RateParametrisation.Exp);
        var theta = obj.Pack([1, -0.5], [0.5, 2]);
        var g = new double[4];
        Assert.True(Math.Abs(obj.Evaluate(theta, g)) < 1e-14);
        Assert.True(g.All(v => Math.Abs(v) < 1e-12));
        Assert.Equal(target.Value(1.3), obj.ModelKernel(theta).Value(1.3), 1e-15);

        var direct = new ReducedModelObjective(target, 2, RateParametrisation.Direct);
        var e = Assert.Throws<UnstableModelException>(() => direct.Evaluate([1, 1, 0.5, -0.1], new double[4]));
        Assert.Contains("w[1]", e.Message);
        Assert.Throws<ArgumentException>(() => new ReducedModelObjective(MemoryKernel.Sine(), 2));
        Assert.Throws<ArgumentException>(() => obj.Evaluate([1, 2, 3], new double[3]));
    }

    [Fact]
    public void Sampled_linear_functional_loss_matches_the_population_loss()
    {
        // x_t ~ dt·N(0,1): E[(y_T − ŷ_T)²] = dt²Σ_s Δ(s·dt)² ≈ dt·J (Li21 §2)
        const double dt = 0.05;
        const int time = 600, batch = 4000;
        var target = MemoryKernel.TwoParts();
        var model = new ExponentialSumKernel(A, W);
        double j = new ReducedModelObjective(target, 3, RateParametrisation.Direct).Loss(A, W);
        var data = new LinearFunctionalDataset<double>(target, time, dt, 8);
        var modelData = new LinearFunctionalDataset<double>(model, time, dt, 8);
        var (x, y) = data.CreateBatch(0, batch);
        var yHat = new SequenceTensor<double>(batch, time, 1);
        modelData.ComputeTargets(x, yHat);
        var samples = new double[batch];
        for (int b = 0; b < batch; b++) { double d = y[b, time - 1, 0] - yHat[b, time - 1, 0]; samples[b] = d * d / dt; }
        double m = samples.Average();
        double se = Math.Sqrt(samples.Sum(v => (v - m) * (v - m)) / (batch - 1) / batch);
        double g0 = Math.Pow(model.Value(0) - target.Value(0), 2);
        double riemannBias = dt * g0;   // left Riemann sum of a decaying integrand: |dt·Σg − ∫g| ≲ dt·g(0)
        Assert.True(Math.Abs(m - j) <= 3 * se + riemannBias, $"sampled {m:G5} ± {se:G3} vs J = {j:G5} (bias bound {riemannBias:G2})");
        Assert.True(se < 0.05 * j);
        Assert.True(Math.Abs(data.ExpectedSquaredError([model], time - 1) / dt - j) <= riemannBias);
    }

    private static double[] HurwitzMatrix(int m, ulong seed)
    {
        var rng = new CounterRng(seed, RandomPurpose.User);
        var w = new double[m * m];
        rng.FillNormal<double>(w, 0, 0.5 / Math.Sqrt(m));
        for (int i = 0; i < m; i++) w[i * m + i] -= 1.0;
        return w;
    }

    [Fact]
    public void Lyapunov_eigen_solution_matches_kronecker_and_solves_the_equation()
    {
        const int m = 5;
        var a = HurwitzMatrix(m, 3);
        var rng = new CounterRng(4, RandomPurpose.User);
        var b = new double[m * 2];
        rng.FillNormal<double>(b);
        var q = new double[m * m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) q[i * m + j] = b[i * 2] * b[j * 2] + b[i * 2 + 1] * b[j * 2 + 1];
        var x = Lyapunov.Solve(a, q, m);
        var xk = Lyapunov.SolveKronecker(a, q, m);
        for (int i = 0; i < m * m; i++) Assert.Equal(xk[i], x[i], 1e-11);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                double r = q[i * m + j];
                for (int p = 0; p < m; p++) r += a[i * m + p] * x[p * m + j] + x[i * m + p] * a[j * m + p];
                Assert.True(Math.Abs(r) < 1e-12, $"residual ({i},{j}) = {r}");
            }
        var unstable = (double[])a.Clone();
        unstable[0] += 3;
        Assert.Throws<UnstableModelException>(() => Lyapunov.Solve(unstable, q, m));
    }

    /// <summary>ρ̂(t)ᵀ = cᵀe^{Wt}U by RK4 on X' = WX, X(0) = U (independent of the eigendecomposition), on a grid of step h.</summary>
    private static double[][] PropagateKernel(double[] w, double[] u, double[] c, int m, int d, double h, int steps)
    {
        var x = (double[])u.Clone();
        var outK = new double[steps + 1][];
        double[] Rhs(double[] s)
        {
            var r = new double[m * d];
            for (int i = 0; i < m; i++)
                for (int k = 0; k < d; k++)
                {
                    double acc = 0;
                    for (int p = 0; p < m; p++) acc += w[i * m + p] * s[p * d + k];
                    r[i * d + k] = acc;
                }
            return r;
        }
        for (int n = 0; n <= steps; n++)
        {
            outK[n] = new double[d];
            for (int k = 0; k < d; k++) for (int i = 0; i < m; i++) outK[n][k] += c[i] * x[i * d + k];
            var k1 = Rhs(x);
            var k2 = Rhs(x.Select((v, i) => v + 0.5 * h * k1[i]).ToArray());
            var k3 = Rhs(x.Select((v, i) => v + 0.5 * h * k2[i]).ToArray());
            var k4 = Rhs(x.Select((v, i) => v + h * k3[i]).ToArray());
            for (int i = 0; i < x.Length; i++) x[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
        }
        return outK;
    }

    [Fact]
    public void Linear_rnn_loss_equals_direct_integration_with_an_ode_propagated_kernel()
    {
        const int m = 3, d = 2;
        var targets = new MemoryKernel[] { MemoryKernel.Airy(), MemoryKernel.ExponentialSum([1, -0.4], [0.6, 2.5]) };
        var obj = new LinearRnnKernelObjective(targets, m);
        var w = HurwitzMatrix(m, 7);
        var rng = new CounterRng(8, RandomPurpose.User);
        var u = new double[m * d]; var c = new double[m];
        rng.FillNormal<double>(u);
        rng.FillNormal<double>(c);
        var theta = obj.Pack(w, u, c);
        double j = obj.Evaluate(theta, Span<double>.Empty);
        const double h = 0.005;
        const int steps = 16000;   // t ≤ 80
        var kernel = PropagateKernel(w, u, c, m, d, h, steps);
        // composite Simpson on the grid
        double direct = 0;
        for (int n = 0; n <= steps; n++)
        {
            double t = n * h, g = 0;
            for (int k = 0; k < d; k++) { double diff = kernel[n][k] - targets[k].Value(t); g += diff * diff; }
            double weight = n == 0 || n == steps ? 1 : (n % 2 == 1 ? 4 : 2);
            direct += weight * g;
        }
        direct *= h / 3;
        Assert.True(Math.Abs(j - direct) < 1e-8 * direct, $"J = {j:R}, direct {direct:R}");
        var mk = obj.ModelKernel(theta, 2.0);
        for (int k = 0; k < d; k++) Assert.Equal(kernel[400][k], mk[k], 1e-10);
    }

    [Fact]
    public void Diagonal_linear_rnn_reduces_to_the_reduced_model()
    {
        var target = MemoryKernel.Airy();
        var rnn = new LinearRnnKernelObjective(target, 3);
        var reduced = new ReducedModelObjective(target, 3, RateParametrisation.Direct);
        var wm = new double[9];
        for (int i = 0; i < 3; i++) wm[i * 3 + i] = -W[i];
        var theta = rnn.Pack(wm, [1, 1, 1], A);
        var g = new double[rnn.Dimension];
        var gr = new double[6];
        double j1 = rnn.Evaluate(theta, g), j2 = reduced.Evaluate(reduced.Pack(A, W), gr);
        Assert.Equal(j2, j1, 1e-10);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(gr[i], g[rnn.Layout["c"].Offset + i], 1e-9);         // ∂J/∂a_i = ∂J/∂c_i
            Assert.Equal(-gr[3 + i], g[i * 3 + i], 1e-9);                     // ∂J/∂w_i = −∂J/∂W_ii
        }
    }

    public static IEnumerable<object[]> RnnGradientCases() =>
    [
        ["expsum"], ["airy"], ["shift"], ["bump"], ["two-inputs"], ["oscillatory"], ["near-degenerate"],
    ];

    [Theory]
    [MemberData(nameof(RnnGradientCases))]
    public void Linear_rnn_gradient_passes_finite_differences(string name)
    {
        MemoryKernel[] targets = name switch
        {
            "two-inputs" => [MemoryKernel.PowerLaw(), MemoryKernel.ExponentialSum([1, -0.4], [0.6, 2.5])],
            "oscillatory" or "near-degenerate" => [MemoryKernel.Airy()],
            _ => [Target(name)],
        };
        const int m = 3;
        var obj = new LinearRnnKernelObjective(targets, m);
        var rng = new CounterRng(12, RandomPurpose.User);
        var u = new double[m * targets.Length]; var c = new double[m];
        rng.FillNormal<double>(u);
        rng.FillNormal<double>(c);
        var w = name switch
        {
            // eigenvalues −0.4 ± 2i and −1: a rotating mode (complex Laplace arguments with large imaginary part)
            "oscillatory" => new double[] { -0.4, 2, 0, -2, -0.4, 0.3, 0, 0, -1 },
            // two rates 1e−9 apart: the divided differences switch to the derivative form
            "near-degenerate" => new double[] { -1, 0, 0.2, 0, -1 - 1e-9, 0.1, 0, 0, -2 },
            _ => HurwitzMatrix(m, 13),
        };
        var theta = obj.Pack(w, u, c);
        var r = GradientCheck.Check(obj, theta, layout: obj.Layout);
        Assert.True(r.MaxRelativeError < 1e-6, $"{name}: {r}");
    }

    [Fact]
    public void Linear_rnn_rejects_non_hurwitz_recurrences_and_bad_targets()
    {
        var obj = new LinearRnnKernelObjective(MemoryKernel.Exponential(), 2);
        var theta = obj.Pack([0.1, 0, 0, -1], [1, 1], [1, 1]);
        var e = Assert.Throws<UnstableModelException>(() => obj.Evaluate(theta, new double[obj.Dimension]));
        Assert.Contains("Hurwitz", e.Message);
        Assert.Throws<ArgumentException>(() => new LinearRnnKernelObjective(MemoryKernel.Sine(), 2));
        Assert.Throws<ArgumentException>(() => new LinearRnnKernelObjective(Array.Empty<MemoryKernel>(), 2));
    }
}
