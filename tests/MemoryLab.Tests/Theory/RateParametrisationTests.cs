using MemoryLab.Numerics;

namespace MemoryLab.Tests.Theory;

public class RateParametrisationTests
{
    public static IEnumerable<object[]> Maps() => RateParametrisation.All.Select(p => new object[] { p.Name });

    [Theory]
    [MemberData(nameof(Maps))]
    public void Derivatives_match_finite_differences_and_inverse_round_trips(string name)
    {
        var p = RateParametrisation.Parse(name);
        foreach (double v in new[] { -3.0, -0.7, 0.1, 0.9, 2.5, 40 })
        {
            double h = 1e-5 * Math.Max(1, Math.Abs(v));
            double fd = (8 * (p.Rate(v + h) - p.Rate(v - h)) - (p.Rate(v + 2 * h) - p.Rate(v - 2 * h))) / (12 * h);
            Assert.True(GradientCheck.RelativeError(p.Derivative(v), fd, 1e-12) < 1e-8, $"{name} r'({v}): {p.Derivative(v)} vs {fd}");
            double fd2 = (8 * (p.Derivative(v + h) - p.Derivative(v - h)) - (p.Derivative(v + 2 * h) - p.Derivative(v - 2 * h))) / (12 * h);
            Assert.True(GradientCheck.RelativeError(p.SecondDerivative(v), fd2, 1e-9) < 1e-7, $"{name} r''({v})");
            double w = p.Rate(v);
            if (w > 0 && !(p.Map == RateMap.Best && v < 0))
                Assert.True(Math.Abs(p.Inverse(w) - v) < 1e-9 * Math.Max(1, Math.Abs(v)), $"{name} inverse at {v}");
            // generic math: float agrees with double
            float single = p.Rate((float)v);
            Assert.True(Math.Abs(single - p.Rate(v)) <= 1e-6 * Math.Max(1, Math.Abs(p.Rate(v))), $"{name} float at {v}");
        }
        if (p.Map != RateMap.Direct) Assert.True(p.Rate(-50.0) > 0);   // stable maps never leave w > 0
    }

    [Fact]
    public void Maps_have_their_formulas_and_bad_inputs_are_rejected()
    {
        Assert.Equal(Math.Log(1 + Math.Exp(0.3)), RateParametrisation.Softplus.Rate(0.3), 1e-15);
        Assert.Equal(800.0, RateParametrisation.Softplus.Rate(800.0), 1e-12);   // no overflow
        Assert.Equal(1 / (0.25 + 0.5), RateParametrisation.Best().Rate(0.5), 1e-15);
        Assert.Equal(Math.Exp(1.5), RateParametrisation.Exp.Rate(1.5), 1e-14);
        Assert.Throws<ArgumentOutOfRangeException>(() => RateParametrisation.Exp.Inverse(-1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RateParametrisation.Best(0.5).Inverse(3.0));   // above 1/b
        Assert.Throws<ArgumentOutOfRangeException>(() => RateParametrisation.Best(-1).Rate(0.5));
        Assert.Contains("softplus", Assert.Throws<ArgumentException>(() => RateParametrisation.Parse("tanhh")).Message);
    }
}
