using System.Numerics;
using MemoryLab.Analysis;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Theory;

namespace MemoryLab.Tests.Theory;

/// <summary>The chain of checks for Zucchet24 Fig. 10's theory panel: the exact population loss of a diagonal teacher–student
/// against Monte Carlo, its gradient against differences of the loss, and the closed-form Hessian at the optimum against
/// differences of that exact gradient.</summary>
public class EigenvalueHessianTests
{
    private static DiagonalNetwork Network(double rMin, double rMax, double maxPhase, ulong seed, int size = 3) =>
        DiagonalNetwork.SampleRing(size, rMin, rMax, maxPhase, new CounterRng(seed, RandomPurpose.Init));

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public void Population_loss_matches_monte_carlo_of_the_recurrences(double rho)
    {
        var teacher = Network(0.5, 0.8, Math.PI, 3);
        var student = Network(0.4, 0.85, Math.PI, 4).Lambda;
        var loss = new DiagonalTeacherStudentLoss(teacher, rho);
        int n = teacher.Size;
        var theta = student.Select(l => l.Real).Concat(student.Select(l => l.Imaginary)).ToArray();
        double exact = loss.Evaluate(theta, Span<double>.Empty);

        const int sequences = 4000, steps = 200;
        IInputProcess input = rho == 0 ? InputProcess.WhiteNoise() : InputProcess.Ar1(rho);
        var root = new CounterRng(77, RandomPurpose.MonteCarlo);
        var x = new double[steps];
        var samples = new double[sequences];
        var hs = new Complex[n];
        var ht = new Complex[n];
        for (int s = 0; s < sequences; s++)
        {
            input.Sample(root.Fork((ulong)s), x);
            Array.Clear(hs); Array.Clear(ht);
            for (int t = 0; t < steps; t++)
                for (int k = 0; k < n; k++)
                {
                    hs[k] = student[k] * hs[k] + teacher.B[k] * x[t];
                    ht[k] = teacher.Lambda[k] * ht[k] + teacher.B[k] * x[t];
                }
            double e = 0;
            for (int k = 0; k < n; k++) e += (teacher.C[k] * (hs[k] - ht[k])).Real;
            samples[s] = 0.5 * e * e;
        }
        double m = samples.Average();
        double se = Math.Sqrt(samples.Sum(v => (v - m) * (v - m)) / (sequences - 1) / sequences);
        Assert.True(Math.Abs(m - exact) <= 3 * se, $"ρ = {rho}: Monte Carlo {m:G6} ± {se:G3}, closed form {exact:G6}");
        Assert.True(se < 0.06 * exact, $"standard error {se:G3} too large to check {exact:G4}");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.7)]
    [InlineData(1.0)]
    public void Gradient_matches_differences_of_the_loss_and_vanishes_at_the_teacher(double rho)
    {
        var teacher = Network(0.6, 0.9, 2.0, 5, size: 4);
        var loss = new DiagonalTeacherStudentLoss(teacher, rho);
        var g = new double[loss.Dimension];
        Assert.Equal(0.0, loss.Evaluate(loss.Optimum(), g), 1e-9);
        Assert.All(g, v => Assert.True(Math.Abs(v) < 1e-9, $"gradient {v} at the optimum"));

        var rng = new CounterRng(6, RandomPurpose.Perturbation);
        var theta = loss.Optimum().Select(v => v + rng.NextUniform(-0.05, 0.05)).ToArray();
        loss.Evaluate(theta, g);
        for (int i = 0; i < theta.Length; i++)
        {
            const double h = 1e-6;
            var p = (double[])theta.Clone(); p[i] += h;
            var q = (double[])theta.Clone(); q[i] -= h;
            double fd = (loss.Evaluate(p, Span<double>.Empty) - loss.Evaluate(q, Span<double>.Empty)) / (2 * h);
            Assert.True(Math.Abs(fd - g[i]) <= 1e-6 * Math.Max(1, Math.Abs(g[i])), $"∂L/∂θ_{i}: exact {g[i]:G10}, differences {fd:G10}");
        }
    }

    [Theory]
    [InlineData(0.6, 0.9, Math.PI, 0.0)]
    [InlineData(0.6, 0.9, 0.3, 0.9)]
    [InlineData(0.99, 0.995, 0.1 * Math.PI, 0.99)]   // the regime of Fig. 10: |λ| ring-uniform in [0.99, 0.995], ρ = 0.99
    public void Hessian_at_the_optimum_matches_differences_of_the_exact_gradient(double rMin, double rMax, double maxPhase, double rho)
    {
        var teacher = Network(rMin, rMax, maxPhase, 9, size: 4);
        var loss = new DiagonalTeacherStudentLoss(teacher, rho);
        var closed = EigenvalueHessian.AtOptimum(teacher, rho);
        // The step scales with the distance to the unit circle, where the loss varies on that scale.
        double step = 1e-3 * (1 - rMax);
        var fd = Hessian.Compute(loss, loss.Optimum(), step);
        double scale = closed.Max(Math.Abs);
        for (int i = 0; i < closed.Length; i++)
            Assert.True(Math.Abs(closed[i] - fd[i]) <= 1e-6 * scale, $"entry {i}: closed form {closed[i]:G8}, differences {fd[i]:G8} (max |H| {scale:G3})");
        for (int i = 0; i < loss.Dimension; i++)
            for (int j = 0; j < loss.Dimension; j++)
                Assert.Equal(closed[i * loss.Dimension + j], closed[j * loss.Dimension + i], 1e-9 * scale);
    }

    [Fact]
    public void Ring_sample_follows_the_notebook_distribution()
    {
        const double rMin = 0.99, rMax = 0.995, theta0 = 0.1 * Math.PI;
        var a = DiagonalNetwork.SampleRing(2000, rMin, rMax, theta0, new CounterRng(1, RandomPurpose.Init));
        var b = DiagonalNetwork.SampleRing(2000, rMin, rMax, theta0, new CounterRng(1, RandomPurpose.Init));
        Assert.Equal(a.Lambda, b.Lambda);
        Assert.Equal(a.C, b.C);
        Assert.All(a.Lambda, l => Assert.InRange(l.Magnitude, rMin, rMax));
        Assert.All(a.Lambda, l => Assert.InRange(l.Phase, -theta0, theta0));
        // Ring-uniform: ν² is uniform on [r_min², r_max²]; CN(0, 1): E|b|² = 1, E b² = 0.
        AssertMean(a.Lambda.Select(l => l.Magnitude * l.Magnitude).ToArray(), (rMin * rMin + rMax * rMax) / 2, "E ν²");
        AssertMean(a.Lambda.Select(l => l.Phase).ToArray(), 0, "E θ");
        AssertMean(a.B.Select(v => v.Magnitude * v.Magnitude).ToArray(), 1, "E|b|²");
        AssertMean(a.C.Select(v => v.Magnitude * v.Magnitude).ToArray(), 1, "E|c|²");
        AssertMean(a.B.Select(v => (v * v).Real).ToArray(), 0, "Re E b²");
        Assert.Throws<ArgumentOutOfRangeException>(() => DiagonalNetwork.SampleRing(3, 0.9, 1.0, 1, new CounterRng(1, RandomPurpose.Init)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DiagonalNetwork.SampleRing(0, 0.5, 0.6, 1, new CounterRng(1, RandomPurpose.Init)));
    }

    private static void AssertMean(double[] samples, double expected, string what)
    {
        double m = samples.Average();
        double se = Math.Sqrt(samples.Sum(v => (v - m) * (v - m)) / (samples.Length - 1) / samples.Length);
        Assert.True(Math.Abs(m - expected) <= 3.5 * se + 1e-15, $"{what}: sample mean {m:G6} ± {se:G3}, expected {expected:G6}");
    }

    [Fact]
    public void Off_diagonal_fraction_and_diagonal_scaling_are_what_they_say()
    {
        double[] diagonal = [2, 0, 0, 5];
        Assert.Equal(0, EigenvalueHessian.OffDiagonalFraction(diagonal, 2));
        double[] m = [3, 4, 4, 0.0001];
        Assert.Equal(Math.Sqrt(32 / (9 + 32 + 1e-8)), EigenvalueHessian.OffDiagonalFraction(m, 2), 12);
        double[] h = [4, 1, 1, 9];
        var s = EigenvalueHessian.DiagonallyScaled(h, 2);
        Assert.Equal([1, 1 / 6.0, 1 / 6.0, 1], s);
        Assert.Throws<ArgumentException>(() => EigenvalueHessian.DiagonallyScaled([1, 0, 0, -1], 2));
        Assert.Throws<ArgumentException>(() => EigenvalueHessian.OffDiagonalFraction([1, 2, 3], 2));
    }

    /// <summary>Zucchet24 Fig. 10 (theory): concentrating the phases in [−θ₀, θ₀] couples the neurons, so the λ-block
    /// Hessian moves away from diagonal. Averaged over draws of the notebook's network (n = 10, ρ = 0.99), the
    /// off-diagonal fraction grows as θ₀ shrinks from π to π/100 (about 0.07 → 0.75 with these draws).</summary>
    [Fact]
    public void Concentrated_phases_make_the_hessian_less_diagonal()
    {
        double[] theta0 = [Math.PI, 0.1 * Math.PI, 0.01 * Math.PI];
        var mean = new double[theta0.Length];
        const int draws = 40;
        for (int k = 0; k < theta0.Length; k++)
            for (int d = 0; d < draws; d++)
            {
                var net = DiagonalNetwork.SampleRing(10, 0.99, 0.995, theta0[k], new CounterRng(1000 + (ulong)d, RandomPurpose.Init));
                mean[k] += EigenvalueHessian.OffDiagonalFraction(EigenvalueHessian.AtOptimum(net, 0.99), 20) / draws;
            }
        Assert.True(mean[0] < mean[1] && mean[1] < mean[2], $"off-diagonal fraction by θ₀ = π, π/10, π/100: {string.Join(", ", mean.Select(v => v.ToString("F3")))}");
        Assert.True(mean[0] < 0.2 && mean[2] > 0.5, $"off-diagonal fraction {mean[0]:F3} at θ₀ = π, {mean[2]:F3} at π/100");
    }
}
