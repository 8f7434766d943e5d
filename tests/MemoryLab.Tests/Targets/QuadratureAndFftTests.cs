using MemoryLab.Numerics;

namespace MemoryLab.Tests.Targets;

public class QuadratureAndFftTests
{
    [Fact]
    public void Kronrod_rule_integrates_polynomials_to_degree_31_and_gauss_to_19()
    {
        var (xk, wk) = Quadrature.KronrodRule();
        var (xg, wg) = Quadrature.GaussRule();
        for (int p = 0; p <= 31; p++)
        {
            double exact = p % 2 == 1 ? 0 : 2.0 / (p + 1);
            double k = 0;
            for (int i = 0; i < xk.Length; i++) k += wk[i] * Math.Pow(xk[i], p);
            Assert.True(Math.Abs(k - exact) < 1e-14, $"Kronrod degree {p}: {k} vs {exact}");
            if (p <= 19)
            {
                double g = 0;
                for (int i = 0; i < xg.Length; i++) g += wg[i] * Math.Pow(xg[i], p);
                Assert.True(Math.Abs(g - exact) < 1e-14, $"Gauss degree {p}: {g} vs {exact}");
            }
        }
        // degree 32 is not exact for the Kronrod rule: the test above could fail
        double k32 = 0;
        for (int i = 0; i < xk.Length; i++) k32 += wk[i] * Math.Pow(xk[i], 32);
        Assert.True(Math.Abs(k32 - 2.0 / 33) > 1e-12);
    }

    [Fact]
    public void Finite_integrals_reach_1e12_including_endpoint_singularity_and_breakpoints()
    {
        var r = Quadrature.Integrate(Math.Sqrt, 0, 1);
        Assert.True(r.Converged);
        Assert.Equal(2.0 / 3, r.Value, 1e-12);
        Assert.Equal(2.0, Quadrature.Integrate(Math.Sin, 0, Math.PI).Value, 1e-13);
        // |t − 0.3| with its kink given as a breakpoint: exact 0.5·(0.3² + 0.7²)
        var k = Quadrature.Integrate(t => Math.Abs(t - 0.3), 0, 1, breakpoints: [0.3]);
        Assert.Equal(0.5 * (0.09 + 0.49), k.Value, 1e-14);
        Assert.True(k.Evaluations <= 42);   // two panels, no refinement needed
        // reversed limits change the sign
        Assert.Equal(-2.0, Quadrature.Integrate(Math.Sin, Math.PI, 0).Value, 1e-13);
    }

    [Fact]
    public void Tail_integrals_handle_exponential_algebraic_and_oscillatory_decay()
    {
        Assert.Equal(1.0, Quadrature.IntegrateToInfinity(t => Math.Exp(-t), 0).Value, 1e-13);
        // ∫_0^∞ (1+t)^{−1.1} dt = 10 (very slow algebraic tail)
        var pol = Quadrature.IntegrateToInfinity(t => Math.Pow(1 + t, -1.1), 0, 1);
        Assert.True(pol.Converged);
        Assert.True(Math.Abs(pol.Value - 10) < 1e-9, $"power-law tail: {pol.Value:R}");
        // ∫ e^{−0.01t} cos 3t dt = 0.01/(0.0001 + 9)
        var osc = Quadrature.IntegrateToInfinity(t => Math.Exp(-0.01 * t) * Math.Cos(3 * t), 0, 1, maxIntervalLength: 20);
        Assert.True(osc.Converged);
        Assert.True(Math.Abs(osc.Value - 0.01 / 9.0001) < 1e-12, $"oscillatory tail: {osc.Value:R}");
        // vector integrand shares evaluations: ∫ e^{−2t} = 1/2, ∫ t e^{−2t} = 1/4
        Span<double> res = stackalloc double[2], err = stackalloc double[2];
        var (_, ok) = Quadrature.IntegrateToInfinity((t, v) => { v[0] = Math.Exp(-2 * t); v[1] = t * v[0]; }, 2, 0, 1, res, err);
        Assert.True(ok);
        Assert.Equal(0.5, res[0], 1e-14);
        Assert.Equal(0.25, res[1], 1e-14);
    }

    [Fact]
    public void Quadrature_rejects_bad_arguments()
    {
        Assert.Throws<ArgumentException>(() => Quadrature.Integrate(t => t, 0, double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => Quadrature.IntegrateToInfinity(t => t, 0, scale: 0));
    }

    private static (double[] Re, double[] Im) NaiveDft(double[] re, double[] im, int sign)
    {
        int n = re.Length;
        var outRe = new double[n];
        var outIm = new double[n];
        for (int k = 0; k < n; k++)
        {
            double sr = 0, si = 0;
            for (int j = 0; j < n; j++)
            {
                double a = sign * 2 * Math.PI * ((long)k * j % n) / n;
                sr += re[j] * Math.Cos(a) - im[j] * Math.Sin(a);
                si += re[j] * Math.Sin(a) + im[j] * Math.Cos(a);
            }
            outRe[k] = sr; outIm[k] = si;
        }
        return (outRe, outIm);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(12)]
    [InlineData(31)]
    [InlineData(64)]
    [InlineData(100)]
    [InlineData(257)]
    public void Fft_matches_the_naive_dft_and_inverts(int n)
    {
        var rng = new CounterRng(3, RandomPurpose.User, (ulong)n);
        var re = new double[n];
        var im = new double[n];
        rng.FillNormal<double>(re);
        rng.FillNormal<double>(im);
        var (er, ei) = NaiveDft(re, im, -1);
        var plan = new FftPlan(n);
        var fr = (double[])re.Clone();
        var fi = (double[])im.Clone();
        plan.Forward(fr, fi);
        double scale = Math.Sqrt(n);
        for (int k = 0; k < n; k++)
        {
            Assert.True(Math.Abs(fr[k] - er[k]) < 1e-12 * scale * 10, $"n={n} k={k} re {fr[k]} vs {er[k]}");
            Assert.True(Math.Abs(fi[k] - ei[k]) < 1e-12 * scale * 10, $"n={n} k={k} im {fi[k]} vs {ei[k]}");
        }
        plan.Inverse(fr, fi);
        for (int k = 0; k < n; k++)
        {
            Assert.Equal(re[k], fr[k], 1e-12);
            Assert.Equal(im[k], fi[k], 1e-12);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(128)]
    [InlineData(300)]
    [InlineData(1000)]
    public void Fft_convolution_agrees_with_direct_sums(int t)
    {
        var rng = new CounterRng(5, RandomPurpose.User, (ulong)t);
        var kernel = new double[t];
        for (int s = 0; s < t; s++) kernel[s] = Math.Exp(-0.05 * s) * Math.Cos(0.3 * s);
        var x1 = new double[t];
        var x2 = new double[t];
        rng.FillNormal<double>(x1);
        rng.FillNormal<double>(x2);
        var direct = new CausalConvolution(kernel, t, ConvolutionMethod.Direct);
        var fft = new CausalConvolution(kernel, t, ConvolutionMethod.Fft);
        Assert.False(direct.UsesFft);
        Assert.True(fft.UsesFft);
        var d1 = new double[t]; var d2 = new double[t]; var f1 = new double[t]; var f2 = new double[t];
        direct.Apply(x1, d1);
        direct.Apply(x2, d2);
        fft.ApplyPair(x1, x2, f1, f2);
        double scale = 1 + d1.Concat(d2).Max(Math.Abs);
        for (int i = 0; i < t; i++)
        {
            Assert.True(Math.Abs(d1[i] - f1[i]) < 1e-12 * scale, $"t={i}: {d1[i]} vs {f1[i]}");
            Assert.True(Math.Abs(d2[i] - f2[i]) < 1e-12 * scale, $"t={i}: {d2[i]} vs {f2[i]}");
        }
        fft.Apply(x1, f1);
        for (int i = 0; i < t; i++) Assert.True(Math.Abs(d1[i] - f1[i]) < 1e-12 * scale);
        // a unit impulse reproduces the kernel: causality and indexing
        var impulse = new double[t];
        impulse[0] = 1;
        fft.Apply(impulse, f1);
        for (int i = 0; i < t; i++) Assert.Equal(kernel[i], f1[i], 1e-12);
    }
}
