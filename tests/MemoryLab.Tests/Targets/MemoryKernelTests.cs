using System.Numerics;
using MathNet.Numerics.Integration;
using MemoryLab.Targets;

namespace MemoryLab.Tests.Targets;

public class MemoryKernelTests
{
    /// <summary>Independent reference: composite 32-point Gauss–Legendre (MathNet) on panels of <paramref name="panel"/>
    /// aligned at multiples of it, over [0, tMax]. Returns (∫f, ∫|f|).</summary>
    internal static (double Value, double Abs) Reference(Func<double, double> f, double tMax, double panel = 0.25)
    {
        // fine panels over [0, 100] (where every test kernel has its features), coarse ones beyond (smooth decay)
        double s = 0, a = 0, lo = 0;
        while (lo < tMax)
        {
            double hi = lo + (lo < 100 ? panel : 4);
            s += GaussLegendreRule.Integrate(f, lo, hi, 32);
            a += GaussLegendreRule.Integrate(t => Math.Abs(f(t)), lo, hi, 32);
            lo = hi;
        }
        return (s, a);
    }

    private static void AssertClose(double expected, double actual, double scale, double rel, string what)
    {
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(Math.Abs(expected), scale),
            $"{what}: expected {expected:R}, got {actual:R} (diff {Math.Abs(expected - actual):G3})");
    }

    private static double Horizon(double w, double floor) => Math.Max(floor, 40 / Math.Max(w, 1e-3));

    public static IEnumerable<object[]> ClosedFormKernels() =>
    [
        [MemoryKernel.Exponential(0.7, 2)],
        [MemoryKernel.ExponentialSum([1, -0.5, 0.3], [0.2, 1, 3])],
        [MemoryKernel.Shift()],
        [MemoryKernel.Shift(0, 2.5, 2)],
        [MemoryKernel.Sine(2, 0.3)],
        [MemoryKernel.GaussianBump(9, 0.5)],
        [MemoryKernel.GaussianBump(0.5, 1, 1.5)],
        [MemoryKernel.TwoParts()],
        [MemoryKernel.DelayedBump(12)],
        [MemoryKernel.Table([0.5, 1, 2.5, 4], [1, 0.5, -0.25, 0.1])],
        [MemoryKernel.Geometric(0.9)],
    ];

    [Theory]
    [MemberData(nameof(ClosedFormKernels))]
    public void Real_transforms_and_norm_match_independent_quadrature(MemoryKernel kernel)
    {
        foreach (double w in new[] { 0.05, 0.3, 1, 4 })
        {
            double horizon = Horizon(w, 60);
            var (b, babs) = Reference(t => Math.Exp(-w * t) * kernel.Value(t), horizon);
            var (b1, b1abs) = Reference(t => t * Math.Exp(-w * t) * kernel.Value(t), horizon);
            var (vb, vb1) = kernel.LaplacePair(w);
            AssertClose(b, vb, 1e-3 * babs, 1e-10, $"{kernel.Name} b({w})");
            AssertClose(b1, vb1, 1e-3 * b1abs, 1e-10, $"{kernel.Name} b1({w})");
            Assert.Equal(vb, kernel.Laplace(w));
            Assert.Equal(vb1, kernel.LaplaceMoment(w));
        }
        var (n, nabs) = Reference(t => kernel.Value(t) * kernel.Value(t), 400);
        AssertClose(n, kernel.SquaredNorm, 1e-3 * nabs, 1e-10, $"{kernel.Name} ‖ρ‖²");
    }

    [Theory]
    [MemberData(nameof(ClosedFormKernels))]
    public void Complex_transforms_match_independent_quadrature(MemoryKernel kernel)
    {
        foreach (var z in new[] { new Complex(0.4, 1.3), new Complex(2, -0.7) })
        {
            double horizon = Horizon(z.Real, 60);
            Func<double, Complex> g = t => Complex.Exp(-z * t) * kernel.Value(t);
            var (br, sr) = Reference(t => g(t).Real, horizon);
            var (bi, si) = Reference(t => g(t).Imaginary, horizon);
            var (b1r, s1r) = Reference(t => t * g(t).Real, horizon);
            var (b1i, s1i) = Reference(t => t * g(t).Imaginary, horizon);
            var (vb, vb1) = kernel.LaplacePair(z);
            double sc = 1e-3 * (sr + si), sc1 = 1e-3 * (s1r + s1i);
            AssertClose(br, vb.Real, sc, 1e-10, $"{kernel.Name} Re b({z})");
            AssertClose(bi, vb.Imaginary, sc, 1e-10, $"{kernel.Name} Im b({z})");
            AssertClose(b1r, vb1.Real, sc1, 1e-10, $"{kernel.Name} Re b1({z})");
            AssertClose(b1i, vb1.Imaginary, sc1, 1e-10, $"{kernel.Name} Im b1({z})");
        }
    }

    public static IEnumerable<object[]> QuadratureKernels() =>
    [
        [MemoryKernel.PowerLaw()],
        [MemoryKernel.InversePowerLaw(1.5)],
        [MemoryKernel.Airy()],
        [MemoryKernel.Airy(0.7, 10)],
        [MemoryKernel.Table([0, 1, 2.5, 4], [1, 0.5, -0.25, 0.1], TableInterpolation.CubicSpline)],
        [MemoryKernel.FromFunction(t => Math.Exp(-0.3 * t) * Math.Cos(t), "damped-cos", 1)],
    ];

    [Theory]
    [MemberData(nameof(QuadratureKernels))]
    public void Quadrature_kernels_reach_1e10_against_an_independent_rule(MemoryKernel kernel)
    {
        foreach (double w in new[] { 0.05, 0.3, 1, 4 })
        {
            double horizon = Horizon(w, 80);
            var (b, babs) = Reference(t => Math.Exp(-w * t) * kernel.Value(t), horizon);
            var (b1, b1abs) = Reference(t => t * Math.Exp(-w * t) * kernel.Value(t), horizon);
            var (vb, vb1) = kernel.LaplacePair(w);
            AssertClose(b, vb, 1e-3 * babs, 1e-10, $"{kernel.Name} b({w})");
            AssertClose(b1, vb1, 1e-3 * b1abs, 1e-10, $"{kernel.Name} b1({w})");
        }
        var z = new Complex(0.3, 2);
        Func<double, Complex> g = t => Complex.Exp(-z * t) * kernel.Value(t);
        var (br, sr) = Reference(t => g(t).Real, 140);
        var (bi, si) = Reference(t => g(t).Imaginary, 140);
        var vz = kernel.Laplace(z);
        AssertClose(br, vz.Real, 1e-3 * (sr + si), 1e-10, $"{kernel.Name} Re b({z})");
        AssertClose(bi, vz.Imaginary, 1e-3 * (sr + si), 1e-10, $"{kernel.Name} Im b({z})");
    }

    [Fact]
    public void Gaussian_bump_far_tail_branch_is_accurate()
    {
        // x = (wσ² − L)/(σ√2) > 2 switches to the erfcx continued fraction (no overflow, no cancellation)
        var bump = MemoryKernel.GaussianBump(9, 0.5);
        foreach (double w in new[] { 30.0, 60, 200 })
        {
            var (b, _) = Reference(t => Math.Exp(-w * t) * bump.Value(t), 20, 0.05);
            var (b1, _) = Reference(t => t * Math.Exp(-w * t) * bump.Value(t), 20, 0.05);
            var (vb, vb1) = bump.LaplacePair(w);
            Assert.True(Math.Abs(vb - b) <= 1e-10 * b, $"b({w}) = {vb:R} vs {b:R}");
            Assert.True(Math.Abs(vb1 - b1) <= 1e-10 * b1, $"b1({w}) = {vb1:R} vs {b1:R}");
        }
    }

    [Fact]
    public void Moment_is_minus_the_derivative_of_the_transform()
    {
        foreach (var k in new MemoryKernel[] { MemoryKernel.Airy(), MemoryKernel.PowerLaw(), MemoryKernel.DelayedBump(10) })
        {
            double w = 0.7, h = 1e-4;
            double fd = (k.Laplace(w - h) - k.Laplace(w + h)) / (2 * h);
            Assert.True(Math.Abs(fd - k.LaplaceMoment(w)) < 1e-7 * (1 + Math.Abs(fd)), $"{k.Name}: {fd} vs {k.LaplaceMoment(w)}");
        }
    }

    [Fact]
    public void Power_law_norm_and_slow_tail()
    {
        var pol = MemoryKernel.PowerLaw(1.1, 0.1);
        Assert.Equal(1 / (0.1 * 1.2), pol.SquaredNorm, 1e-12);
        // b(0) = ∫(1+0.1t)^{−1.1} = 1/(0.1·0.1) = 100: the tail integrator must follow t^{−1.1} to ~1e120
        Assert.True(Math.Abs(pol.Laplace(0.0) - 100) < 1e-8, $"b(0) = {pol.Laplace(0.0):R}");
        // the two forms of the power law (Li21 §5; the Curse-of-memory code) describe one family: 1/(t+1)^p = (1+t)^{−p}
        var wang = MemoryKernel.InversePowerLaw(1.1, 1);
        Assert.Equal(Math.Pow(4.0, -1.1), wang.Value(3), 1e-15);
        Assert.True(double.IsPositiveInfinity(MemoryKernel.PowerLaw(0.4).SquaredNorm));
    }

    [Fact]
    public void Kernel_values_follow_the_group_definitions()
    {
        Assert.Equal(Math.Pow(1 + 0.1 * 7, -1.1), MemoryKernel.PowerLaw().Value(7), 1e-15);
        // the Airy kernel interpolates a Chebyshev table of Ai: within ~1e−14 of MathNet's Ai
        foreach (var airy in new[] { MemoryKernel.Airy(), MemoryKernel.Airy(0.7, 40) })
            for (double t = 0; t < 200; t += 0.0137)
            {
                double exact = MathNet.Numerics.SpecialFunctions.AiryAi(airy.Scale * (t - airy.Delay));
                Assert.True(Math.Abs(exact - airy.Value(t)) < 5e-14, $"Ai at t = {t}: {airy.Value(t):R} vs {exact:R}");
            }
        Assert.Equal(1.0, MemoryKernel.Shift().Value(10));
        Assert.Equal(0.0, MemoryKernel.Shift().Value(9));   // strict inequality, as in the group's code
        Assert.Equal(Math.Exp(-5) + Math.Exp(-16), MemoryKernel.TwoParts().Value(5), 1e-15);
        Assert.Equal(Math.Exp(-0.5 * 3) + Math.Exp(-(3 - 12) * (3 - 12) / (2 * 0.25)), MemoryKernel.DelayedBump(12).Value(3), 1e-15);
        Assert.Equal(Math.Pow(0.9, 4), MemoryKernel.Geometric(0.9).Value(4), 1e-15);
        foreach (var name in new[] { "exp", "pol", "shift", "twoparts", "airy", "sin", "geometric", "pol-wang", "pol-tanh" })
            Assert.NotNull(MemoryKernel.FromName(name));
        var e = Assert.Throws<ArgumentException>(() => MemoryKernel.FromName("nope"));
        Assert.Contains("nope", e.Message);
    }

    private sealed class UserKernel : MemoryKernel
    {
        public override double Value(double t) => Math.Exp(-2 * t) * (1 + t);
        public override double TimeScale => 0.5;
    }

    [Fact]
    public void A_user_subclass_gets_all_integrals_from_its_values()
    {
        var k = new UserKernel();
        foreach (double w in new[] { 0.0, 0.5, 3 })
        {
            double s = w + 2;
            Assert.Equal(1 / s + 1 / (s * s), k.Laplace(w), 1e-12);
            Assert.Equal(1 / (s * s) + 2 / (s * s * s), k.LaplaceMoment(w), 1e-12);
        }
        var z = new Complex(0.5, 1.5);
        Complex sz = z + 2;
        Assert.True(Complex.Abs(k.Laplace(z) - (1 / sz + 1 / (sz * sz))) < 1e-12);
        Assert.Equal(0.25 + 0.125 + 0.03125, k.SquaredNorm, 1e-12);
        // ⟨exp, user⟩ by the exponential's closed form equals direct quadrature of the product
        var e = MemoryKernel.Exponential(1.5);
        Assert.Equal(k.Laplace(1.5), MemoryKernel.InnerProduct(e, k), 1e-13);
        Assert.Equal(1 / 3.5 + 1 / (3.5 * 3.5), MemoryKernel.InnerProduct(k, e), 1e-12);
    }

    [Fact]
    public void Sampling_gives_rho_at_multiples_of_dt()
    {
        var k = MemoryKernel.Exponential();
        var s = k.Sample(5, 0.5);
        for (int i = 0; i < 5; i++) Assert.Equal(Math.Exp(-0.5 * i), s[i], 1e-15);
        Assert.Throws<ArgumentOutOfRangeException>(() => k.Sample(3, 0));
    }

    [Fact]
    public void Bad_kernel_parameters_give_clear_errors()
    {
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Exponential(-1));
        Assert.Contains("decay", e1.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.ExponentialSum([1, 2], [1, 0]));
        Assert.Throws<ArgumentException>(() => MemoryKernel.ExponentialSum([1, 2], [1]));
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Airy(1, -2));
        Assert.Contains("t0", e2.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Airy(0, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Airy(1, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.PowerLaw(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Shift(5, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Sine(1, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.GaussianBump(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Geometric(1.2));
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => MemoryKernel.Exponential().Laplace(-0.5));
        Assert.Contains("Re z", e3.Message);
        Assert.Throws<ArgumentException>(() => MemoryKernel.Table([0, 1, 1], [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => MemoryKernel.Table([-1, 1], [1, 2]));
        Assert.Throws<ArgumentException>(() => MemoryKernel.Table([0], [1]));
        // a kernel that is not integrable: quadrature reports it instead of returning a wrong number
        var bad = MemoryKernel.FromFunction(t => 1.0, "constant");
        Assert.Throws<InvalidOperationException>(() => bad.Laplace(0.0));
    }

    [Fact]
    public void Table_kernel_reads_csv_interpolates_and_has_exact_integrals()
    {
        string path = Path.Combine(Path.GetTempPath(), $"memlab-kernel-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, "# sampled kernel\nt,rho\n0,1\n1,0.5\n\n2.5,0.25\n4,0\n");
            var k = MemoryKernel.FromCsv(path);
            Assert.Equal(0.75, k.Value(0.5), 1e-15);
            Assert.Equal(0.375, k.Value(1.75), 1e-15);
            Assert.Equal(0.0, k.Value(5));
            Assert.Equal(4, k.SupportEnd);
            var (b, _) = Reference(t => Math.Exp(-0.8 * t) * k.Value(t), 4);
            Assert.Equal(b, k.Laplace(0.8), 1e-13);
            var spline = MemoryKernel.FromCsv(path, TableInterpolation.CubicSpline);
            Assert.Equal(0.5, spline.Value(1), 1e-12);
            var (bs, _) = Reference(t => Math.Exp(-0.8 * t) * spline.Value(t), 4);
            Assert.Equal(bs, spline.Laplace(0.8), 1e-11);

            File.WriteAllText(path, "t,rho\n0,1\n1,abc\n");
            var e = Assert.Throws<FormatException>(() => MemoryKernel.FromCsv(path));
            Assert.Contains(Path.GetFileName(path), e.Message);
            Assert.Contains("line 3", e.Message);
            File.WriteAllText(path, "0,1\n2,0.5\n1,0.2\n");
            var e2 = Assert.Throws<FormatException>(() => MemoryKernel.FromCsv(path));
            Assert.Contains("line 3", e2.Message);
            File.WriteAllText(path, "0,1,2\n");
            Assert.Contains("line 1", Assert.Throws<FormatException>(() => MemoryKernel.FromCsv(path)).Message);
            File.WriteAllText(path, "t,rho\n0,1\n");
            Assert.Throws<FormatException>(() => MemoryKernel.FromCsv(path));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<FileNotFoundException>(() => MemoryKernel.FromCsv(path));
    }
}
