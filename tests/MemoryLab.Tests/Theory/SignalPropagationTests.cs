using System.Numerics;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Theory;

namespace MemoryLab.Tests.Theory;

public class SignalPropagationTests
{
    /// <summary>Runs h_{t+1} = λh_t + x_{t+1} and its forward-mode derivative dh/dλ for every λ on the same inputs
    /// (stationary AR(1) of correlation ρ, white for ρ = 0) over <paramref name="steps"/> steps; returns the final
    /// values of each of <paramref name="sequences"/> independent sequences.</summary>
    internal static (Complex[,] H, Complex[,] DH) Simulate(Complex[] lambdas, double rho, int sequences, int steps, ulong seed)
    {
        IInputProcess input = rho == 0 ? InputProcess.WhiteNoise() : InputProcess.Ar1(rho);
        var root = new CounterRng(seed, RandomPurpose.MonteCarlo);
        int m = lambdas.Length;
        var hs = new Complex[sequences, m];
        var dhs = new Complex[sequences, m];
        var x = new double[steps];
        var h = new Complex[m];
        var dh = new Complex[m];
        for (int n = 0; n < sequences; n++)
        {
            input.Sample(root.Fork((ulong)n), x);
            Array.Clear(h);
            Array.Clear(dh);
            for (int t = 0; t < steps; t++)
                for (int k = 0; k < m; k++)
                {
                    dh[k] = h[k] + lambdas[k] * dh[k];   // d/dλ of λh + x, with the old h
                    h[k] = lambdas[k] * h[k] + x[t];
                }
            for (int k = 0; k < m; k++) { hs[n, k] = h[k]; dhs[n, k] = dh[k]; }
        }
        return (hs, dhs);
    }

    private static void AssertMean(IReadOnlyList<double> samples, double exact, string what, double maxRelativeError = double.PositiveInfinity)
    {
        double m = samples.Average();
        double v = samples.Sum(s => (s - m) * (s - m)) / (samples.Count - 1);
        double se = Math.Sqrt(v / samples.Count);
        Assert.True(Math.Abs(m - exact) <= 3 * se + 1e-12, $"{what}: Monte Carlo {m:G6} ± {se:G3}, closed form {exact:G6}");
        if (double.IsFinite(maxRelativeError))
            Assert.True(se <= maxRelativeError * Math.Abs(exact), $"{what}: standard error {se:G3} too large for a meaningful check of {exact:G4}");
    }

    private static readonly Complex[] Lambdas =
    [
        0.5, 0.9, -0.6, Complex.FromPolarCoordinates(0.8, 0.7), Complex.FromPolarCoordinates(0.9, 2.2), Complex.FromPolarCoordinates(0.8, -0.7),
    ];

    // Every Monte Carlo check is at 3 standard errors with a fixed seed. With ~30 checks per ρ a chance 3-SE excursion
    // is expected now and then; the closed forms were also confirmed with 10⁵-sequence runs (errors ≤ 1 SE), so a
    // failure here at many SE means a wrong formula, not bad luck.
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void Closed_forms_match_monte_carlo(double rho)
    {
        const int n = 3000;
        var (hs, dhs) = Simulate(Lambdas, rho, n, 700, 2024 + (ulong)(rho * 10));
        for (int k = 0; k < Lambdas.Length; k++)
        {
            var l = Lambdas[k];
            var h2 = Enumerable.Range(0, n).Select(i => hs[i, k].Magnitude * hs[i, k].Magnitude).ToArray();
            var d2 = Enumerable.Range(0, n).Select(i => dhs[i, k].Magnitude * dhs[i, k].Magnitude).ToArray();
            AssertMean(h2, SignalPropagation.StateSecondMoment(l, rho), $"E|h|² λ={l} ρ={rho}", 0.06);
            AssertMean(d2, SignalPropagation.SensitivitySecondMoment(l, rho), $"E|dh/dλ|² λ={l} ρ={rho}", 0.06);
            if (l.Imaginary == 0)
            {
                Assert.Equal(SignalPropagation.StateSecondMoment(l, rho), SignalPropagation.StateVariance(l.Real, rho), 1e-10);
                Assert.Equal(SignalPropagation.SensitivitySecondMoment(l, rho), SignalPropagation.SensitivityVariance(l.Real, rho), 1e-9);
            }
        }
        // cross moments between different recurrences driven by the same input: E[u_a conj(u_b)], complex
        foreach (var (a, b) in new[] { (0, 1), (3, 4), (3, 5) })
        {
            Complex mu = Complex.Conjugate(Lambdas[b]);
            var checks = new (string Name, Func<int, Complex> Sample, Complex Exact)[]
            {
                ("f", i => hs[i, a] * Complex.Conjugate(hs[i, b]), SignalPropagation.Correlation(Lambdas[a], mu, rho)),
                ("∂f/∂λ", i => dhs[i, a] * Complex.Conjugate(hs[i, b]), SignalPropagation.CorrelationDerivative(Lambdas[a], mu, rho)),
                ("S", i => dhs[i, a] * Complex.Conjugate(dhs[i, b]), SignalPropagation.CrossKernel(Lambdas[a], mu, rho)),
            };
            foreach (var (name, sample, exact) in checks)
            {
                var s = Enumerable.Range(0, n).Select(sample).ToArray();
                AssertMean(s.Select(c => c.Real).ToArray(), exact.Real, $"Re {name}({Lambdas[a]}, {mu}) ρ={rho}");
                AssertMean(s.Select(c => c.Imaginary).ToArray(), exact.Imaginary, $"Im {name}({Lambdas[a]}, {mu}) ρ={rho}");
            }
        }
    }

    [Fact]
    public void Cross_kernel_is_the_mixed_derivative_of_the_master_correlation()
    {
        foreach (double rho in new[] { 0.0, 0.3, 0.9, 1.0 })
            foreach (var (l, m) in new[] { (new Complex(0.5, 0), new Complex(0.7, 0)), (Complex.FromPolarCoordinates(0.8, 0.4), Complex.FromPolarCoordinates(0.6, -1.3)) })
            {
                double h = 1e-4;
                Complex fd = (SignalPropagation.Correlation(l + h, m + h, rho) - SignalPropagation.Correlation(l + h, m - h, rho)
                    - SignalPropagation.Correlation(l - h, m + h, rho) + SignalPropagation.Correlation(l - h, m - h, rho)) / (4 * h * h);
                Complex s = SignalPropagation.CrossKernel(l, m, rho);
                Assert.True(Complex.Abs(fd - s) < 1e-6 * Complex.Abs(s), $"S({l},{m};{rho}) = {s} vs FD {fd}");
                Complex fd1 = (SignalPropagation.Correlation(l + h, m, rho) - SignalPropagation.Correlation(l - h, m, rho)) / (2 * h);
                Assert.True(Complex.Abs(fd1 - SignalPropagation.CorrelationDerivative(l, m, rho)) < 1e-6 * Complex.Abs(fd1));
            }
    }

    [Fact]
    public void Special_cases_white_noise_and_constant_input_hold()
    {
        foreach (double l in new[] { 0.3, 0.9, 0.999 })
        {
            Assert.Equal(1 / (1 - l * l), SignalPropagation.StateVariance(l, 0), 1e-9 / (1 - l));
            Assert.Equal((1 + l * l) / Math.Pow(1 - l * l, 3), SignalPropagation.SensitivityVariance(l, 0), 1e-9 / Math.Pow(1 - l, 3));
            Assert.Equal(1 / ((1 - l) * (1 - l)), SignalPropagation.StateVariance(l, 1), 1e-9 / Math.Pow(1 - l, 2));
            Assert.Equal(Math.Pow(1 - l, -4), SignalPropagation.SensitivityVariance(l, 1), 1e-8 / Math.Pow(1 - l, 4));
        }
        // the curse of memory: sensitivity grows like (1−λ)^{−3}, the state like (1−λ)^{−1}
        double r1 = SignalPropagation.SensitivityVariance(0.999, 0) / SignalPropagation.SensitivityVariance(0.99, 0);
        Assert.InRange(r1, 900, 1100);
    }

    [Fact]
    public void Normalisation_and_reparametrisation_claims_of_Zucchet24_Fig6()
    {
        foreach (double nu in new[] { 0.5, 0.9, 0.999 })
            foreach (double theta in new[] { 0.0, 0.3, 2.0 })
            {
                // γ-normalised white noise: E|γh|² = 1, but E|d_ν(γh)|² = 1/(1−ν²)²
                var lambda = Complex.FromPolarCoordinates(nu, theta);
                double g = SignalPropagation.Normalisation(lambda);
                Assert.Equal(1.0, g * g * SignalPropagation.StateSecondMoment(lambda, 0), 1e-9);
                double direct = SignalPropagation.MagnitudeSensitivity(EigenvalueMap.Polar, nu, theta, 0);
                Assert.Equal(1 / Math.Pow(1 - nu * nu, 2), direct, 1e-8 * direct);
                // tanh magnitude: exactly 1
                var tanhMap = new EigenvalueMap(MagnitudeMap.Tanh, PhaseMap.Direct);
                var (wn, wt) = tanhMap.Inverse(nu, theta);
                Assert.Equal(1.0, SignalPropagation.MagnitudeSensitivity(tanhMap, wn, wt, 0), 1e-8);
                // phase: ν²(1+ν²)/(1−ν²)² directly, 1 when scaled
                double phase = SignalPropagation.PhaseSensitivity(EigenvalueMap.Polar, nu, theta, 0);
                Assert.Equal(nu * nu * (1 + nu * nu) / Math.Pow(1 - nu * nu, 2), phase, 1e-8 * phase);
                var scaled = new EigenvalueMap(MagnitudeMap.Tanh, PhaseMap.Scaled);
                var (sn, st) = scaled.Inverse(nu, theta);
                Assert.Equal(1.0, SignalPropagation.PhaseSensitivity(scaled, sn, st, 0), 1e-8);
            }
        // LRU exp magnitude: → 1/4 as ν → 1
        var lru = EigenvalueMap.Lru;
        var (on, ot) = lru.Inverse(0.99999, 0.5);
        Assert.Equal(0.25, SignalPropagation.MagnitudeSensitivity(lru, on, ot, 0), 1e-4);
        Assert.Throws<ArgumentOutOfRangeException>(() => SignalPropagation.StateVariance(1.0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SignalPropagation.Correlation(0.5, 0.5, 1.5));
    }

    /// <summary>Zucchet24 Fig. 6 takes the ω_ν curvature with θ held fixed (the authors' figures/1D-case.ipynb uses a real
    /// teacher and θ = 0 there). Holding ω_θ instead lets the scaled ("opt") phase θ = ω_θ s(ν) move with ν, which adds
    /// exactly (dθ/dω_ν)² ν²(1+ν²)/(1−ν²)² for white noise: 20.5 at λ* = 0.99 e^{iπ/100}, a side result, not the figure's.</summary>
    [Fact]
    public void Magnitude_curvature_with_theta_held_is_what_Fig6_plots()
    {
        var tanhDirect = new EigenvalueMap(MagnitudeMap.Tanh, PhaseMap.Direct);
        foreach (double gap in new[] { 0.01, 0.04, 0.16, 0.64 })
        {
            double nu = 1 - gap, thetaStar = Math.PI / 100;
            var teacher = Complex.FromPolarCoordinates(nu, thetaStar);
            var (wn, wt) = EigenvalueMap.Optimal.Inverse(nu, thetaStar);
            double held = SignalPropagation.MagnitudeSensitivity(EigenvalueMap.Optimal, wn, wt, 0, direction: MagnitudeDirection.FixedTheta);
            Assert.Equal(1.0, held, 1e-9);
            // The same number as the second derivative of the normalised loss along ω_ν with θ fixed, for the complex teacher
            // and for the notebook's real teacher.
            Assert.Equal(held, CurvatureAlongOmegaNu(teacher, tanhDirect), 1e-5);
            Assert.Equal(held, CurvatureAlongOmegaNu(nu, tanhDirect), 1e-5);

            var p = EigenvalueMap.Optimal.Evaluate(wn, wt);
            double dTheta = ((p.DLambdaDOmegaNu - p.DLambdaDOmegaNuAtFixedTheta) / (Complex.ImaginaryOne * p.Lambda)).Real;
            double moving = SignalPropagation.MagnitudeSensitivity(EigenvalueMap.Optimal, wn, wt, 0);
            double expected = 1 + dTheta * dTheta * nu * nu * (1 + nu * nu) / Math.Pow(1 - nu * nu, 2);
            Assert.Equal(expected, moving, 1e-9 * expected);
            Assert.Equal(moving, CurvatureAlongOmegaNu(teacher, EigenvalueMap.Optimal), 1e-5 * moving);
            if (gap == 0.01) Assert.InRange(moving, 20.4, 20.6);
        }
        // Maps whose phase does not depend on ν have one ω_ν direction.
        var (on, ot) = EigenvalueMap.Lru.Inverse(0.99, 0.3);
        Assert.Equal(SignalPropagation.MagnitudeSensitivity(EigenvalueMap.Lru, on, ot, 0),
            SignalPropagation.MagnitudeSensitivity(EigenvalueMap.Lru, on, ot, 0, direction: MagnitudeDirection.FixedTheta), 1e-12);
    }

    /// <summary>∂²L/∂ω_ν² of the γ-normalised white-noise loss at the teacher, by central differences of the exact gradient.</summary>
    private static double CurvatureAlongOmegaNu(Complex teacher, EigenvalueMap map)
    {
        var coords = EigenvalueCoordinates.Mapped(map);
        var loss = new TeacherStudentLoss(teacher, coords, normalised: true);
        double[] w = coords.FromLambda(teacher);
        double h = 1e-6 * Math.Max(1, Math.Abs(w[0]));
        var a = (double[])w.Clone(); a[0] += h;
        var b = (double[])w.Clone(); b[0] -= h;
        var ga = new double[2];
        var gb = new double[2];
        loss.Evaluate(a, ga);
        loss.Evaluate(b, gb);
        return (ga[0] - gb[0]) / (2 * h);
    }

    [Fact]
    public void Eigenvalue_maps_have_correct_derivatives()
    {
        foreach (var map in new[] { EigenvalueMap.Polar, EigenvalueMap.Lru, EigenvalueMap.Optimal, new EigenvalueMap(MagnitudeMap.Exp, PhaseMap.Scaled) })
        {
            var (a, b) = map.Inverse(0.85, 0.6);
            var p = map.Evaluate(a, b);
            Assert.True(Complex.Abs(p.Lambda - Complex.FromPolarCoordinates(0.85, 0.6)) < 1e-12, $"{map} inverse");
            double h = 1e-6;
            Complex dn = (map.Evaluate(a + h, b).Lambda - map.Evaluate(a - h, b).Lambda) / (2 * h);
            Complex dt = (map.Evaluate(a, b + h).Lambda - map.Evaluate(a, b - h).Lambda) / (2 * h);
            Assert.True(Complex.Abs(dn - p.DLambdaDOmegaNu) < 1e-8, $"{map} ∂λ/∂ω_ν");
            Assert.True(Complex.Abs(dt - p.DLambdaDOmegaTheta) < 1e-8, $"{map} ∂λ/∂ω_θ");
        }
    }

    [Fact]
    public void Normalised_reparametrised_sensitivities_match_monte_carlo()
    {
        const double rho = 0.5;
        const int n = 3000;
        var maps = new[] { EigenvalueMap.Lru, EigenvalueMap.Optimal };
        var points = maps.Select(m => { var (a, b) = m.Inverse(0.9, 0.5); return (Map: m, P: m.Evaluate(a, b), A: a, B: b); }).ToArray();
        var (hs, dhs) = Simulate(points.Select(p => p.P.Lambda).ToArray(), rho, n, 700, 77);
        for (int k = 0; k < points.Length; k++)
        {
            var (map, p, a, b) = points[k];
            double g = SignalPropagation.Normalisation(p.Lambda), dg = -p.Nu * p.DNu / g;
            var mag = Enumerable.Range(0, n).Select(i => Complex.Abs(dg * hs[i, k] + g * p.DLambdaDOmegaNu * dhs[i, k])).Select(v => v * v).ToArray();
            var ph = Enumerable.Range(0, n).Select(i => Complex.Abs(g * p.DLambdaDOmegaTheta * dhs[i, k])).Select(v => v * v).ToArray();
            AssertMean(mag, SignalPropagation.MagnitudeSensitivity(map, a, b, rho), $"E|d_ων(γh)|² {map}", 0.06);
            AssertMean(ph, SignalPropagation.PhaseSensitivity(map, a, b, rho), $"E|d_ωθ(γh)|² {map}", 0.06);
        }
    }

    [Fact]
    public void Hessian_block_matches_monte_carlo_of_gradient_outer_products()
    {
        const double rho = 0.5;
        const int n = 4000;
        Complex[] lam = [Complex.FromPolarCoordinates(0.85, 0.4), Complex.FromPolarCoordinates(0.7, -1.1)];
        Complex[] bs = [new(0.8, 0.3), new(-0.5, 0.9)];
        Complex[] cs = [new(1.1, -0.2), new(0.4, 0.7)];
        var (_, dhs) = Simulate(lam, rho, n, 500, 55);
        // ∂y/∂Re λ_i = Re(c_i b_i h'_i), ∂y/∂Im λ_i = −Im(c_i b_i h'_i) for y = Re Σ c_i h_i, h_i driven by b_i x
        double Grad(int i, int part, int s) { Complex x = cs[i] * bs[i] * dhs[s, i]; return part == 0 ? x.Real : -x.Imaginary; }
        foreach (var (i, j) in new[] { (0, 1), (0, 0) })
        {
            var block = SignalPropagation.HessianBlock(bs[i], cs[i], lam[i], bs[j], cs[j], lam[j], rho);
            for (int p = 0; p < 2; p++)
                for (int q = 0; q < 2; q++)
                {
                    var samples = Enumerable.Range(0, n).Select(s => Grad(i, p, s) * Grad(j, q, s)).ToArray();
                    AssertMean(samples, block[p, q], $"H[{i}{p},{j}{q}]");
                }
        }
    }
}
