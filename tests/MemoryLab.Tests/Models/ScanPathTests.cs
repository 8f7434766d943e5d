using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>The fused scans (narrow layers) and the general GEMM path (wide or multi-head layers) of the linear recurrences: exact
/// gradients on both, on the vectorised widths as well as the scalar one.</summary>
public class ScanPathTests
{
    [Theory]
    [InlineData(1, 1, 16)] // fused, vector lanes (16 divides by 8 doubles, 4, 2)
    [InlineData(2, 3, 8)]  // fused with several features, vector lanes
    [InlineData(1, 1, 6)]  // fused, 128-bit lanes (2 doubles)
    [InlineData(9, 9, 4)]  // wide: GEMM path
    public void Diagonal_recurrence_has_exact_gradients_on_every_scan_path(int din, int dout, int n)
    {
        var layer = new DiagonalRecurrence<double>(din, dout, new DiagonalRecurrenceOptions
        {
            StateSize = n, Parametrisation = EigenvalueParametrisation.Exp, Normalisation = InputNormalisation.Learned, RMin = 0.5, RMax = 0.95,
        });
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 3, time: 5);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(9, 4)]
    public void Lru_has_exact_gradients_on_both_scan_paths(int features, int n)
    {
        var layer = new LinearRecurrentUnit<double>(features, n, 0.6, 0.99, Math.PI);
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 3, time: 5);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(16, 135)] // one pair of 512-bit blocks; two full segments and a tail
    [InlineData(24, 64)]  // a pair and a single block; exactly one segment
    [InlineData(6, 65)]   // 128-bit lanes; a segment and one step
    public void One_feature_scan_has_exact_gradients_across_its_checkpoint_segments(int n, int time)
    {
        var layer = new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions
        {
            StateSize = n, Parametrisation = EigenvalueParametrisation.Exp, Normalisation = InputNormalisation.Learned, RMin = 0.5, RMax = 0.95,
        });
        // Over 64+ steps the loss's higher derivatives along ν_log are large, so the 4-point difference of a gradient
        // entry near 1e-4 carries ~1e-9 of truncation error: entries below 1e-3 are compared in absolute terms.
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 2, time: time, floor: 1e-3);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(16, 63)]
    [InlineData(16, 64)]
    [InlineData(24, 129)]
    [InlineData(5, 300)]
    public void One_feature_scan_with_checkpoints_matches_the_scan_that_stores_every_state(int n, int time)
    {
        // The general fused kernel stores h at every step; the one-feature kernel stores every 64th and recomputes.
        const int count = 3;
        var rng = new Random(n * 1000 + time);
        double[] R(int len, double scale) => Enumerable.Range(0, len).Select(_ => scale * (2 * rng.NextDouble() - 1)).ToArray();
        double[] lr = R(n, 0.6), li = R(n, 0.3), bre = R(n, 1), bim = R(n, 1), cre = R(n, 1), cim = R(n, 1);
        double[] x = R(count * time, 1), dy = R(count * time, 1);
        var hr = new double[count * time * n]; var hi = new double[count * time * n];
        int rows = ScanKernels.OneFeatureCheckpoints(time);
        var kr = new double[count * rows * n]; var ki = new double[count * rows * n];
        double[] yAll = new double[count * time], yCk = new double[count * time];
        ScanKernels.DiagonalForward<double>(x, hr, hi, lr, li, bre, bim, cre, cim, yAll, count, time, n, 1, 1);
        ScanKernels.DiagonalForwardOneFeature<double>(x, kr, ki, lr, li, bre, bim, cre, cim, yCk, count, time, n);
        for (int i = 0; i < yAll.Length; i++) Assert.Equal(yAll[i], yCk[i], 1e-12);
        // Each checkpoint row s ≥ 1 is h at step s·K − 1.
        for (int b = 0; b < count; b++)
            for (int s = 1; s < rows; s++)
                for (int k = 0; k < n; k++)
                    Assert.Equal(hr[(b * time + s * ScanKernels.OneFeatureSegment - 1) * n + k], kr[(b * rows + s) * n + k], 1e-12);
        double[][] all = Enumerable.Range(0, 7).Select(_ => new double[n]).ToArray(), ck = Enumerable.Range(0, 7).Select(_ => new double[n]).ToArray();
        all[6] = new double[count * time]; ck[6] = new double[count * time];
        ScanKernels.DiagonalBackward<double>(x, dy, hr, hi, lr, li, bre, bim, cre, cim, new double[2 * n],
            all[0], all[1], all[2], all[3], all[4], all[5], all[6], count, time, n, 1, 1);
        ScanKernels.DiagonalBackwardOneFeature<double>(x, dy, kr, ki, lr, li, bre, bim, cre, cim, new double[ScanKernels.OneFeatureScratchLength(n)],
            ck[0], ck[1], ck[2], ck[3], ck[4], ck[5], ck[6], count, time, n);
        for (int a = 0; a < 7; a++)
            for (int i = 0; i < all[a].Length; i++)
                Assert.True(Math.Abs(all[a][i] - ck[a][i]) <= 1e-11 * (1 + Math.Abs(all[a][i])), $"output {a}, entry {i}: {all[a][i]} vs {ck[a][i]}");
    }

    [Fact]
    public void Fused_and_gemm_paths_give_the_same_outputs_to_rounding()
    {
        // A layer with 9 inputs takes the GEMM path; with all but the first input zero it computes what the
        // fused 1-input layer computes from that input, so the two paths must agree to rounding.
        const int n = 16, batch = 5, time = 11;
        var wide = new DiagonalRecurrence<double>(9, 9, new DiagonalRecurrenceOptions { StateSize = n, Skip = SkipConnection.None, RMin = 0.5 });
        var narrow = new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions { StateSize = n, Skip = SkipConnection.None, RMin = 0.5 });
        var wideModel = new SequenceModel<double>(wide); var narrowModel = new SequenceModel<double>(narrow);
        wideModel.Initialize(3); narrowModel.Initialize(3);
        var wl = wideModel.Layout; var nl = narrowModel.Layout;
        // Copy λ and the first input column / first output row of the wide layer into the narrow one.
        foreach (var name in new[] { "lambda_re", "lambda_im" })
            Find(wl, name).Of(wideModel.Theta).CopyTo(Find(nl, name).Of(narrowModel.Theta));
        foreach (var name in new[] { "B_re", "B_im" })
            for (int i = 0; i < n; i++) Find(nl, name).Of(narrowModel.Theta)[i] = Find(wl, name).Of(wideModel.Theta)[i * 9];
        foreach (var name in new[] { "C_re", "C_im" })
            Find(wl, name).Of(wideModel.Theta)[..n].CopyTo(Find(nl, name).Of(narrowModel.Theta));
        using var pool = new WorkerPool(1);
        wide.Prepare(batch, time, pool); narrow.Prepare(batch, time, pool);
        var xw = new SequenceTensor<double>(batch, time, 9); var xn = new SequenceTensor<double>(batch, time, 1);
        var yw = new SequenceTensor<double>(batch, time, 9); var yn = new SequenceTensor<double>(batch, time, 1);
        for (int r = 0; r < batch * time; r++) xw.Data[r * 9] = xn.Data[r] = Math.Sin(1.7 * r) + 0.3;
        wide.Forward(wideModel.Theta, xw, yw, training: true);
        narrow.Forward(narrowModel.Theta, xn, yn, training: true);
        for (int r = 0; r < batch * time; r++)
            Assert.True(Math.Abs(yw.Data[r * 9] - yn.Data[r]) <= 1e-12 * (1 + Math.Abs(yn.Data[r])), $"row {r}: {yw.Data[r * 9]} vs {yn.Data[r]}");
    }

    private static ParameterView Find(ParameterLayout layout, string suffix) =>
        layout.Views.Single(v => v.Name.EndsWith(suffix, StringComparison.Ordinal));

    [Theory]
    [InlineData(1, 1, 1, true)]   // fused: one GEMM per step over [h | x]
    [InlineData(3, 2, 1, false)]  // fused without the skip
    [InlineData(9, 9, 1, true)]   // wide: general path
    [InlineData(1, 1, 2, true)]   // multi-head: general path
    public void Dense_recurrence_has_exact_gradients_on_every_scan_path(int din, int dout, int heads, bool skip)
    {
        var layer = new DenseLinearRecurrence<double>(din, dout, new DenseLinearRecurrenceOptions { StateSize = 6, Heads = heads, Skip = skip, Nu0 = 0.5 });
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 17, time: 4);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    public static TheoryData<string> Linear() => new() { "lru", "lru_wide", "complex_diagonal", "dense", "dense_wide" };

    private static ISequenceLayer<float> MakeLinear(string name) => name switch
    {
        "lru" => new LinearRecurrentUnit<float>(1, 64, 0.9, 1.0, Math.PI, RingInitialisation.TeacherStudent),
        "lru_wide" => new LinearRecurrentUnit<float>(10, 32, 0.5, 0.99),
        "complex_diagonal" => new DiagonalRecurrence<float>(1, 1, new DiagonalRecurrenceOptions { StateSize = 48, RMin = 0.9, MaxPhase = Math.PI }),
        "dense" => new DenseLinearRecurrence<float>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 64, Nu0 = 0.5 }),
        "dense_wide" => new DenseLinearRecurrence<float>(10, 10, new DenseLinearRecurrenceOptions { StateSize = 24, Nu0 = 0.5 }),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Linear))]
    public void Scan_paths_give_the_same_bits_for_one_two_and_three_threads(string name)
    {
        // Batch 37: a partial last chunk for both chunk sizes (8 and 16 sequences).
        const int batch = 37, time = 40;
        float[]? y0 = null, g0 = null, dx0 = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var pool = new WorkerPool(threads);
            var layer = MakeLinear(name);
            var layout = new ParameterLayout();
            layer.Declare(layout, "");
            var theta = new float[layout.Count]; var gradient = new float[layout.Count];
            layer.Initialize(theta, new CounterRng(1, RandomPurpose.Init));
            layer.Prepare(batch, time, pool);
            var x = new SequenceTensor<float>(batch, time, layer.InputSize);
            var y = new SequenceTensor<float>(batch, time, layer.OutputSize);
            var dy = new SequenceTensor<float>(batch, time, layer.OutputSize);
            var dx = new SequenceTensor<float>(batch, time, layer.InputSize);
            var data = new CounterRng(2, RandomPurpose.Data);
            data.FillNormal<float>(x.Data);
            data.FillNormal<float>(dy.Data);
            for (int rep = 0; rep < 2; rep++)
            {
                layer.Forward(theta, x, y, training: true);
                Array.Clear(gradient);
                layer.Backward(theta, dy, dx, gradient);
            }
            Assert.All(gradient, g => Assert.True(float.IsFinite(g)));
            Assert.Contains(gradient, g => g != 0);
            if (y0 == null) { y0 = (float[])y.Data.Clone(); g0 = (float[])gradient.Clone(); dx0 = (float[])dx.Data.Clone(); continue; }
            Assert.Equal(y0, y.Data);
            Assert.Equal(g0, gradient);
            Assert.Equal(dx0, dx.Data);
        }
    }
}
