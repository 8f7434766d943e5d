using System.Numerics;
using MemoryLab.Analysis;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Analysis;

public class MemoryFunctionTests
{
    // K_0 = D + CB, K_s = C A^s B for the convention h_t = A h_{t−1} + B x_t, y_t = C h_t + D x_t; row-major [out × in].
    private static double[][] DenseKernel(SequenceModel<double> model, int n, int din, int dout, int time)
    {
        var a = model.Layout["A"].Of(model.Theta).ToArray();
        var bm = model.Layout["B"].Of(model.Theta).ToArray();
        var c = model.Layout["C"].Of(model.Theta).ToArray();
        var dm = model.Layout["D"].Of(model.Theta).ToArray();
        var kernels = new double[time][];
        var p = (double[])bm.Clone(); // A^s B, [n × din]
        for (int s = 0; s < time; s++)
        {
            var k = new double[dout * din];
            for (int i = 0; i < dout; i++)
                for (int j = 0; j < din; j++)
                {
                    double v = s == 0 ? dm[i * din + j] : 0;
                    for (int l = 0; l < n; l++) v += c[i * n + l] * p[l * din + j];
                    k[i * din + j] = v;
                }
            kernels[s] = k;
            var next = new double[n * din];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < din; j++)
                    for (int l = 0; l < n; l++) next[i * din + j] += a[i * n + l] * p[l * din + j];
            p = next;
        }
        return kernels;
    }

    // ‖K‖_{∞→∞} = max_i Σ_j |K_ij|.
    private static double InfNorm(double[] k, int dout, int din) =>
        Enumerable.Range(0, dout).Max(i => Enumerable.Range(0, din).Sum(j => Math.Abs(k[i * din + j])));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    public void Equals_the_kernel_norm_of_a_dense_linear_recurrence(int din, int dout)
    {
        const int n = 5, time = 40;
        var model = new SequenceModel<double>(new DenseLinearRecurrence<double>(din, dout, new DenseLinearRecurrenceOptions { StateSize = n, Nu0 = 0.6 }));
        model.Initialize(3);
        using var pool = new WorkerPool(1);
        var m = MemoryFunction.Estimate(model, time, pool: pool);
        var kernels = DenseKernel(model, n, din, dout, time);
        for (int t = 0; t < time; t++)
        {
            double expected = InfNorm(kernels[t], dout, din);
            Assert.True(Math.Abs(m.Values[t] - expected) <= 1e-12 * Math.Max(1, expected), $"t = {t}: {m.Values[t]} vs {expected}");
        }
        Assert.True(m.Values[0] > m.Values[time - 1]); // memory fades
    }

    [Fact]
    public void Equals_abs_rho_for_a_complex_diagonal_recurrence()
    {
        const int n = 4, time = 60;
        var layer = new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions
        {
            StateSize = n, Parametrisation = EigenvalueParametrisation.Exp, Normalisation = InputNormalisation.Learned, RMin = 0.8, RMax = 0.97, MaxPhase = Math.PI,
        });
        var model = new SequenceModel<double>(layer);
        model.Initialize(7);
        var re = new double[n]; var im = new double[n]; var gamma = new double[n];
        layer.Eigenvalues(model.Theta, re, im, gamma);
        var bRe = model.Layout["B_re"].Of(model.Theta).ToArray(); var bIm = model.Layout["B_im"].Of(model.Theta).ToArray();
        var cRe = model.Layout["C_re"].Of(model.Theta).ToArray(); var cIm = model.Layout["C_im"].Of(model.Theta).ToArray();
        double dSkip = model.Layout["D"].Of(model.Theta)[0];
        // ρ(s) = Re Σ_i C_i λ_i^s γ_i B_i (+ D at s = 0).
        double Rho(int s)
        {
            double v = s == 0 ? dSkip : 0;
            for (int i = 0; i < n; i++)
            {
                var lam = Complex.Pow(new Complex(re[i], im[i]), s);
                v += (new Complex(cRe[i], cIm[i]) * lam * gamma[i] * new Complex(bRe[i], bIm[i])).Real;
            }
            return v;
        }
        using var pool = new WorkerPool(2);
        var m = MemoryFunction.Estimate(model, time, new MemoryFunctionOptions { Amplitudes = [0.3, 2.0], RandomDirections = 3 }, pool);
        for (int t = 0; t < time; t++) Assert.Equal(Math.Abs(Rho(t)), m.Values[t], 12);
        // Linear: every probe gives the same ratio, so the mean equals the max.
        for (int t = 0; t < time; t++) Assert.Equal(m.Values[t], m.MeanValues[t], 12);
        Assert.Equal(2 * (2 + 3), m.Probes);
    }

    [Fact]
    public void Float_models_and_bad_settings()
    {
        var model = new SequenceModel<float>(new DenseLinearRecurrence<float>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 3 }));
        model.Initialize(1);
        using var pool = new WorkerPool(1);
        var m = MemoryFunction.Estimate(model, 10, pool: pool);
        Assert.Equal(10, m.Values.Length);
        Assert.All(m.Values, v => Assert.True(double.IsFinite(v) && v >= 0));
        Assert.Throws<ArgumentException>(() => MemoryFunction.Estimate(model, 0, pool: pool));
        Assert.Throws<ArgumentException>(() => MemoryFunction.Estimate(model, 5, new MemoryFunctionOptions { Amplitudes = [-1.0] }, pool));
    }
}
