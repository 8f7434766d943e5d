using System.Numerics;
using MemoryLab.Theory;

namespace MemoryLab.Tests.Theory;

/// <summary>Zucchet24 Fig. 8: |S(λ, λ₀; ρ)| over the unit disc, with S checked against its defining double series.</summary>
public class CrossKernelFieldTests
{
    /// <summary>S(λ, μ; ρ) = E[h'(λ) h'(μ)] = Σ_{s,u ≥ 1} s λ^{s−1} u μ^{u−1} ρ^{|s−u|} (h'(λ) = Σ_s s λ^{s−1} x_{t−s}, unit-variance
    /// input with E[x_t x_{t+Δ}] = ρ^{|Δ|}), summed until the terms are below round-off.</summary>
    private static Complex Series(Complex lambda, Complex mu, double rho, int terms)
    {
        var a = new Complex[terms];
        var b = new Complex[terms];
        Complex pl = 1, pm = 1;
        for (int s = 0; s < terms; s++) { a[s] = (s + 1) * pl; b[s] = (s + 1) * pm; pl *= lambda; pm *= mu; }
        // Σ_s Σ_u a_s b_u ρ^{|s−u|}: the diagonal, then both off-diagonal triangles via running sums r_s = Σ_{u<s} b_u ρ^{s−u}.
        Complex total = 0, runB = 0, runA = 0;
        for (int s = 0; s < terms; s++)
        {
            total += a[s] * b[s] + a[s] * runB + b[s] * runA;
            runB = rho * (runB + b[s]);
            runA = rho * (runA + a[s]);
        }
        return total;
    }

    [Theory]
    [InlineData(0.9, 0.0, 0.9, 0.0, 0.5)]      // the point where the authors' visualization_S.ipynb gives 519.66 instead of 778.12
    [InlineData(0.8, 0.7, 0.9, -0.4, 0.9)]
    [InlineData(0.95, 2.5, 0.9, 0.785, 0.99)]
    [InlineData(0.9, -0.785, 0.93, 0.785, 0.3)]
    public void Cross_kernel_equals_its_defining_series(double nu, double theta, double nu0, double theta0, double rho)
    {
        var lambda = Complex.FromPolarCoordinates(nu, theta);
        var mu = Complex.FromPolarCoordinates(nu0, theta0);
        Complex series = Series(lambda, mu, rho, 4000);
        Complex closed = SignalPropagation.CrossKernel(lambda, mu, rho);
        Assert.True(Complex.Abs(series - closed) <= 1e-9 * Complex.Abs(series), $"S({lambda}, {mu}; {rho}) = {closed} vs series {series}");
    }

    [Fact]
    public void The_documented_counterexample_to_the_notebook_formula_holds()
    {
        // S(0.9, 0.9; 0.5): the mixed derivative of f (and the series above, and a 20,000-sequence Monte Carlo at 778.5 ± 7.7)
        // give 778.12; the hand-written |S| of figures/visualization_S.ipynb gives 519.66 there. Both agree at ρ = 0 and ρ = 1.
        Assert.Equal(778.117, SignalPropagation.CrossKernel(0.9, 0.9, 0.5), 3);
        Assert.Equal(263.887, SignalPropagation.CrossKernel(0.9, 0.9, 0.0), 3);
        Assert.Equal(10000.0, SignalPropagation.CrossKernel(0.9, 0.9, 1.0), 6);
    }

    [Fact]
    public void Field_holds_the_cross_kernel_on_its_grid_and_its_maximum_moves_to_one_as_rho_grows()
    {
        // The authors' grid: ν ∈ linspace(0, 0.99, 200), θ ∈ linspace(−π, π, 500), λ₀ = 0.99 e^{iπ/4}.
        var lambda0 = Complex.FromPolarCoordinates(0.99, Math.PI / 4);
        var nus = Enumerable.Range(0, 200).Select(i => 0.99 * i / 199).ToArray();
        var thetas = Enumerable.Range(0, 500).Select(j => Math.PI * (-1 + 2.0 * j / 499)).ToArray();
        var white = new CrossKernelField(lambda0, 0, nus, thetas);
        Assert.Equal(Complex.Abs(SignalPropagation.CrossKernel(Complex.FromPolarCoordinates(nus[123], thetas[321]), lambda0, 0)), white.Modulus[123, 321], 12);
        // White noise: the coupling peaks where λλ₀ → 1, at λ = λ̄₀ (|S| = |1 + λλ₀| / |1 − λλ₀|³ ≈ 2.5·10⁵ there).
        Assert.Equal(0.99, white.Maximum.Nu, 12);
        Assert.InRange(white.Maximum.Theta, -Math.PI / 4 - 0.01, -Math.PI / 4 + 0.01);
        // Strongly correlated inputs: the factor (1 − ρλ)^{−2} moves the peak to λ → 1 whatever λ₀.
        foreach (double rho in new[] { 0.999, 1.0 })
        {
            var field = new CrossKernelField(lambda0, rho, nus, thetas);
            Assert.Equal(0.99, field.Maximum.Nu, 12);
            Assert.InRange(field.Maximum.Theta, -0.01, 0.01);
            Assert.True(field.Maximum.Modulus < white.Maximum.Modulus);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossKernelField(lambda0, 0, [1.0], [0.0]));
        Assert.Throws<ArgumentException>(() => new CrossKernelField(lambda0, 0, [], [0.0]));
    }
}
