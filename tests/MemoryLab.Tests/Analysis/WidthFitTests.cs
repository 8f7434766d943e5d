using MemoryLab.Analysis;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Analysis;

public class WidthFitTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(40)]
    public void Gauss_legendre_integrates_polynomials_of_degree_2n_minus_1_exactly(int n)
    {
        var (x, w) = GaussLegendre.Rule(n);
        Assert.Equal(2, w.Sum(), 13);
        for (int i = 1; i < n; i++) Assert.True(x[i] > x[i - 1]);
        for (int k = 0; k <= 2 * n - 1; k++)
        {
            double exact = k % 2 == 1 ? 0 : 2.0 / (k + 1);
            double q = 0;
            for (int i = 0; i < n; i++) q += w[i] * Math.Pow(x[i], k);
            Assert.Equal(exact, q, 13);
        }
    }

    [Theory]
    [InlineData(KernelTail.ClosedFormModelTail)]
    [InlineData(KernelTail.Mapped)]
    public void Quadrature_with_tail_reproduces_the_closed_form_loss(KernelTail tail)
    {
        // ∫₀^∞ e^{−(w_i+w_j)t} dt = 1/(w_i + w_j) (Li21 §2): quadrature on [0, T] plus the tail (closed form or mapped).
        var kernel = KernelQuadrature.FromFunction(t => t * Math.Exp(-t), 30, new KernelQuadratureOptions { Tail = tail });
        double[] rates = [0.01, 0.07, 0.5, 3.0, 40.0, 900.0];
        double[] a = [1.0, -0.5, 2.0, 0.3, -1.2, 0.8];
        var f = new ExponentialSumKernelObjective(kernel, rates.Length);
        // J(a, w) = aᵀGa − 2aᵀb + ‖ρ‖² with b_i = ∫ e^{−w_i t} t e^{−t} dt = 1/(1 + w_i)² (ρ beyond T = 30 is ~1e−12).
        double gram = 0, cross = 0;
        for (int i = 0; i < rates.Length; i++)
        {
            cross += a[i] / Math.Pow(1 + rates[i], 2);
            for (int k = 0; k < rates.Length; k++) gram += a[i] * a[k] / (rates[i] + rates[k]);
        }
        double exact = gram - 2 * cross + 0.25; // ‖t e^{−t}‖² = 1/4
        double j = f.Evaluate(f.Pack(a, rates), new double[12]);
        Assert.True(Math.Abs(j - exact) < 1e-10 * Math.Abs(exact), $"J {j} vs closed form {exact}");
        Assert.Equal(0.25, kernel.TargetNormSquared, 10);
    }

    [Theory]
    [InlineData(RateCoordinate.Direct, KernelTail.ClosedFormModelTail)]
    [InlineData(RateCoordinate.Log, KernelTail.ClosedFormModelTail)]
    [InlineData(RateCoordinate.Direct, KernelTail.Truncate)]
    [InlineData(RateCoordinate.Log, KernelTail.Mapped)]
    public void Kernel_objective_gradient_matches_finite_differences(RateCoordinate parametrisation, KernelTail tail)
    {
        var kernel = KernelQuadrature.FromFunction(t => Math.Exp(-0.5 * t) + Math.Exp(-Math.Pow(t - 9, 2)), 20,
            new KernelQuadratureOptions { Tail = tail });
        var f = new ExponentialSumKernelObjective(kernel, 4, parametrisation);
        var theta = f.Pack([1.0, 0.2, -0.4, 0.7], [0.05, 0.5, 1.3, 4.0]);
        var r = GradientCheck.Check(f, theta);
        Assert.True(r.MaxRelativeError < 1e-6, r.ToString());
    }

    [Fact]
    public void Recovers_an_exact_sum_of_exponentials()
    {
        double[] a = [1.0, -0.6, 0.25], w = [0.3, 1.1, 3.5];
        double Rho(double t) => a[0] * Math.Exp(-w[0] * t) + a[1] * Math.Exp(-w[1] * t) + a[2] * Math.Exp(-w[2] * t);
        var kernel = KernelQuadrature.FromFunction(Rho, 150);
        var fit = WidthFit.Fit(kernel, 3);
        Assert.True(fit.RelativeLoss < 1e-20, $"relative loss {fit.RelativeLoss:E3}");
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Math.Abs(fit.Rates[i] / w[i] - 1) < 1e-6, $"rate {i}: {fit.Rates[i]} vs {w[i]}");
            Assert.True(Math.Abs(fit.Coefficients[i] - a[i]) < 1e-6, $"coefficient {i}: {fit.Coefficients[i]} vs {a[i]}");
        }
        Assert.Equal(Rho(2.5), fit.Evaluate(2.5), 9);
        // With the rates given, the linear solve alone returns the coefficients.
        var (coefficients, loss) = WidthFit.FitCoefficients(kernel, w);
        for (int i = 0; i < 3; i++) Assert.Equal(a[i], coefficients[i], 9);
        Assert.True(loss < 1e-20);
    }

    [Fact]
    public void Recovers_wang24_discrete_exponential_kernel()
    {
        // Wang24's linear target ρ(t) = 0.9^t on t = 1..100 with the discrete loss Σ_t (ρ̂ − ρ)².
        var kernel = KernelQuadrature.Discrete(t => Math.Pow(0.9, t), 1, 100);
        var fit = WidthFit.Fit(kernel, 1);
        Assert.Equal(-Math.Log(0.9), fit.Rates[0], 9);
        Assert.Equal(1, fit.Coefficients[0], 9);
    }

    [Fact]
    public void Mapped_tail_integrates_a_power_law_to_infinity()
    {
        // ‖(1 + 0.1t)^{−1.1}‖² = ∫₀^∞ (1 + 0.1t)^{−2.2} dt = 10/1.2, and b = ∫ e^{−wt}ρ by comparison with a long truncated rule.
        var k = KernelQuadrature.FromFunction(t => Math.Pow(1 + 0.1 * t, -1.1), 50);
        Assert.Equal(10 / 1.2, k.TargetNormSquared, 9);
        var truncated = KernelQuadrature.FromFunction(t => Math.Pow(1 + 0.1 * t, -1.1), 5000, new KernelQuadratureOptions { Tail = KernelTail.Truncate, MaxPanelFraction = 1.0 / 4096 });
        foreach (var w in new[] { 0.01, 0.3 })
            Assert.Equal(truncated.Integrate(t => Math.Exp(-w * t) * Math.Pow(1 + 0.1 * t, -1.1)), k.Integrate(t => Math.Exp(-w * t) * Math.Pow(1 + 0.1 * t, -1.1)), 9);
    }

    [Fact]
    public void Best_error_falls_with_width_and_power_law_memory_needs_more_width()
    {
        // Li21's curse of memory in miniature: e^{−t} is fitted exactly at m = 1; (1 + t)^{−1.5} keeps an error at m = 4.
        var exp = KernelQuadrature.FromFunction(t => Math.Exp(-t), 60);
        var pow = KernelQuadrature.FromFunction(t => Math.Pow(1 + t, -1.5), 60);
        var options = new WidthFitOptions { RandomStarts = 2, MinRate = 0.02, MaxRate = 20 };
        var expFits = WidthFit.FitSequence(exp, 2, options);
        var powFits = WidthFit.FitSequence(pow, 4, options);
        Assert.True(expFits[0].RelativeLoss < 1e-18);
        for (int m = 1; m < powFits.Count; m++)
        {
            Assert.Equal(m + 1, powFits[m].Width);
            Assert.True(powFits[m].Loss <= powFits[m - 1].Loss, $"J_{m + 1} = {powFits[m].Loss} > J_{m} = {powFits[m - 1].Loss}");
        }
        Assert.True(powFits[^1].RelativeLoss > 1e-8, $"power law at m = 4: {powFits[^1].RelativeLoss:E3}");
        Assert.True(powFits[^1].RelativeLoss < powFits[0].RelativeLoss / 10);
    }

    [Fact]
    public void Li21_rates_and_bad_input()
    {
        Assert.Equal([0.5, 1.0, 1.5], WidthFit.Li21Rates(3, 1, 1));
        Assert.Throws<ArgumentException>(() => WidthFit.FitCoefficients(KernelQuadrature.Discrete(t => 1, 0, 3), [0.0]));
        Assert.Throws<ArgumentException>(() => KernelQuadrature.FromSamples([0.0, 0.0], [1.0, 1.0], [1.0, 1.0]));
        Assert.Throws<ArgumentException>(() => KernelQuadrature.FromFunction(t => t > 0.5 ? double.NaN : 1, 1));
        Assert.Throws<ArgumentException>(() => WidthFit.Fit(KernelQuadrature.Discrete(t => 1, 0, 3), 2, new WidthFitOptions { InitialRates = [1.0] }));
    }
}
