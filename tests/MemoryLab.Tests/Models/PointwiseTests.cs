using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>Stable parametrisations, GELU's float path and the normalisation statistics.</summary>
public class PointwiseTests
{
    [Theory]
    [InlineData(StableParametrisation.Direct)]
    [InlineData(StableParametrisation.Exp)]
    [InlineData(StableParametrisation.Softplus)]
    [InlineData(StableParametrisation.Best)]
    public void Parametrisation_derivative_matches_finite_differences_and_inverse_round_trips(StableParametrisation kind)
    {
        const double b = 0.1, h = 1e-4;
        foreach (double w in new[] { -3.0, -0.7, 0.2, 1.3, 4.0 })
        {
            double numeric = (8 * (Phi(w + h) - Phi(w - h)) - (Phi(w + 2 * h) - Phi(w - 2 * h))) / (12 * h);
            double analytic = StableParametrisations.Derivative(kind, w, b);
            Assert.True(GradientCheck.RelativeError(analytic, numeric) <= 1e-8, $"{kind} at w = {w}: φ' {analytic} vs {numeric}");
            double rate = Phi(w);
            if (kind != StableParametrisation.Direct) Assert.True(rate < 0, $"{kind} gives a non-negative rate {rate} at w = {w}");
            double back = StableParametrisations.Inverse(kind, rate, b);
            // best is even in w: the inverse returns the root w ≥ 0.
            Assert.Equal(kind == StableParametrisation.Best ? Math.Abs(w) : w, back, 1e-9);
        }
        double Phi(double w) => StableParametrisations.Value(kind, w, b);
    }

    [Fact]
    public void Parametrisations_have_the_published_closed_forms()
    {
        Assert.Equal(-Math.Exp(0.3), StableParametrisations.Value(StableParametrisation.Exp, 0.3, 0.1), 1e-15);
        Assert.Equal(-Math.Log(1 + Math.Exp(0.3)), StableParametrisations.Value(StableParametrisation.Softplus, 0.3, 0.1), 1e-15);
        Assert.Equal(-1 / (0.09 + 0.1), StableParametrisations.Value(StableParametrisation.Best, 0.3, 0.1), 1e-14);
        // softplus stays finite and exact far out: −log(1 + e^800) = −800.
        Assert.Equal(-800.0, StableParametrisations.Value(StableParametrisation.Softplus, 800.0, 0.1), 1e-12);
        Assert.Throws<ArgumentOutOfRangeException>(() => StableParametrisations.Inverse(StableParametrisation.Exp, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => StableParametrisations.Inverse(StableParametrisation.Best, -20, 0.1));
    }

    [Fact]
    public void Continuous_time_diagonal_starts_at_the_wanted_rates()
    {
        foreach (var kind in Enum.GetValues<StableParametrisation>())
        {
            var layer = new ContinuousTimeRecurrence<double>(2, 16, parametrisation: kind, rateMin: 0.5, rateMax: 1.5);
            var layout = new ParameterLayout();
            layer.Declare(layout, "");
            var theta = new double[layout.Count];
            layer.Initialize(theta, new CounterRng(8, RandomPurpose.Init));
            var w = layer.EffectiveRecurrentMatrix(theta);
            for (int i = 0; i < 16; i++) Assert.InRange(-w[i * 16 + i], 0.5 - 1e-12, 1.5 + 1e-12);
        }
    }

    [Fact]
    public void Float_tanh_and_sigmoid_are_accurate_to_float_rounding()
    {
        // Vector lanes and the scalar form, float32 (rational tanh) against float64 references.
        double worstTanh = 0, worstSigmoid = 0;
        for (int i = -200_000; i <= 200_000; i++)
        {
            float x = i * 1e-4f;
            double tanh = Math.Tanh(x), sigmoid = 1 / (1 + Math.Exp(-(double)x));
            worstTanh = Math.Max(worstTanh, Math.Max(Math.Abs(Elementwise.Tanh(x) - tanh), Math.Abs(Elementwise.Tanh(new System.Numerics.Vector<float>(x))[0] - tanh)));
            worstSigmoid = Math.Max(worstSigmoid, Math.Max(Math.Abs(Elementwise.Sigmoid(x) - sigmoid), Math.Abs(Elementwise.Sigmoid(new System.Numerics.Vector<float>(x))[0] - sigmoid)));
        }
        Assert.True(worstTanh <= 5e-7, $"tanh error {worstTanh}");
        Assert.True(worstSigmoid <= 3e-7, $"sigmoid error {worstSigmoid}");
        Assert.Equal(1f, Elementwise.Tanh(50f));
        Assert.Equal(0f, Elementwise.Sigmoid(-200f));
        // float64 keeps the exp forms, accurate to a few ulp.
        Assert.Equal(Math.Tanh(0.37), Elementwise.Tanh(0.37), 1e-15);
        Assert.Equal(1 / (1 + Math.Exp(-0.37)), Elementwise.Sigmoid(0.37), 1e-15);
    }

    private static float[] GeluFloat(float[] x, GeluApproximation form)
    {
        var layer = new Gelu<float>(x.Length, form);
        layer.Prepare(1, 1, new WorkerPool(1));
        var y = new SequenceTensor<float>(1, 1, x.Length);
        layer.Forward([], new SequenceTensor<float>(x, 1, 1, x.Length), y, true);
        return y.Data;
    }

    [Theory]
    [InlineData(GeluApproximation.None)]
    [InlineData(GeluApproximation.Tanh)]
    public void Gelu_float_path_matches_the_float64_path(GeluApproximation form)
    {
        // 203 points on [−9, 9]: vector lanes and the scalar tail.
        var xs = Enumerable.Range(0, 203).Select(i => -9 + 18 * i / 202.0).ToArray();
        var f = GeluFloat(xs.Select(v => (float)v).ToArray(), form);
        var layer = new Gelu<double>(xs.Length, form);
        layer.Prepare(1, 1, new WorkerPool(1));
        var y = new SequenceTensor<double>(1, 1, xs.Length);
        layer.Forward([], new SequenceTensor<double>(xs, 1, 1, xs.Length), y, true);
        for (int i = 0; i < xs.Length; i++) Assert.True(Math.Abs(f[i] - y.Data[i]) <= 4e-7 * (1 + Math.Abs(xs[i])), $"x = {xs[i]}: {f[i]} vs {y.Data[i]}");
        if (form == GeluApproximation.None)
        {
            // Exact form against Φ by its definition: GELU(1) = Φ(1) = 0.841344746068543, GELU(−2) = −2Φ(−2).
            var exact = GeluFloat([1f, -2f], form);
            Assert.Equal(0.841344746068543, exact[0], 1e-6);
            Assert.Equal(-2 * 0.0227501319481792, exact[1], 1e-6);
        }
    }

    [Fact]
    public void BatchNorm_tracks_running_statistics_and_uses_them_in_evaluation()
    {
        var bn = new BatchNorm<double>(2, momentum: 0.25);
        var layout = new ParameterLayout();
        bn.Declare(layout, "");
        var theta = new double[layout.Count];
        bn.Initialize(theta, new CounterRng(1, RandomPurpose.Init));
        bn.Prepare(2, 2, new WorkerPool(1));
        // Feature 0 over the 4 rows: 1, 2, 3, 6 (mean 3, biased variance 3.5, unbiased 14/3).
        var x = new SequenceTensor<double>([1, 10, 2, 10, 3, 10, 6, 10], 2, 2, 2);
        var y = new SequenceTensor<double>(2, 2, 2);
        bn.Forward(theta, x, y, training: true);
        Assert.Equal((1 - 3) / Math.Sqrt(3.5 + 1e-5), y[0, 0, 0], 1e-12);
        Assert.Equal(0.0, y[1, 1, 1], 1e-12);  // a constant feature normalises to β = 0
        Assert.Equal(0.25 * 3, bn.RunningMean[0], 1e-12);
        Assert.Equal(0.75 + 0.25 * 14.0 / 3, bn.RunningVariance[0], 1e-12);
        Assert.Equal(0.25 * 10, bn.RunningMean[1], 1e-12);
        bn.Forward(theta, x, y, training: false);
        Assert.Equal((6 - 0.75) / Math.Sqrt(0.75 + 14.0 / 12 + 1e-5), y[1, 1, 0], 1e-12);
        Assert.Equal(0.25 * 3, bn.RunningMean[0], 1e-12); // evaluation leaves the statistics alone
    }

    [Fact]
    public void LayerNorm_rows_have_zero_mean_and_unit_variance_at_init()
    {
        var ln = new LayerNorm<double>(5);
        var layout = new ParameterLayout();
        ln.Declare(layout, "");
        var theta = new double[layout.Count];
        ln.Initialize(theta, new CounterRng(1, RandomPurpose.Init));
        ln.Prepare(3, 4, new WorkerPool(1));
        var x = new SequenceTensor<double>(3, 4, 5);
        new CounterRng(2, RandomPurpose.Data).FillNormal<double>(x.Data, 3, 2);
        var y = new SequenceTensor<double>(3, 4, 5);
        ln.Forward(theta, x, y, true);
        for (int r = 0; r < 12; r++)
        {
            var row = y.Data.AsSpan(r * 5, 5).ToArray();
            Assert.Equal(0, row.Average(), 1e-12);
            Assert.Equal(1, row.Select(v => v * v).Average(), 1e-4); // ε = 1e−5 shrinks it slightly
        }
    }
}
