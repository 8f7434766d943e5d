using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

public class LinearRecurrenceGradientTests
{
    public static TheoryData<EigenvalueParametrisation, InputNormalisation> ParametrisationGrid()
    {
        var data = new TheoryData<EigenvalueParametrisation, InputNormalisation>();
        foreach (var p in Enum.GetValues<EigenvalueParametrisation>())
            foreach (var g in Enum.GetValues<InputNormalisation>())
                data.Add(p, g);
        return data;
    }

    [Theory]
    [MemberData(nameof(ParametrisationGrid))]
    public void Diagonal_recurrence_gradients_match_finite_differences(EigenvalueParametrisation p, InputNormalisation g)
    {
        var layer = new DiagonalRecurrence<double>(3, 2, new DiagonalRecurrenceOptions
        {
            StateSize = 5, Parametrisation = p, Normalisation = g, RMin = 0.4, RMax = 0.9, MaxPhase = Math.PI,
        });
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 3, time: 6);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(EigenvalueParametrisation.Default, GammaParametrisation.Direct, GammaInitialisation.RealPart)]
    [InlineData(EigenvalueParametrisation.Default, GammaParametrisation.Log, GammaInitialisation.RealPart)]
    [InlineData(EigenvalueParametrisation.Exp, GammaParametrisation.Direct, GammaInitialisation.Modulus)]
    [InlineData(EigenvalueParametrisation.Opt, GammaParametrisation.Direct, GammaInitialisation.Modulus)]
    public void Learned_gamma_held_directly_or_through_its_log_has_exact_gradients(EigenvalueParametrisation p, GammaParametrisation gamma, GammaInitialisation init)
    {
        var layer = new DiagonalRecurrence<double>(3, 2, new DiagonalRecurrenceOptions
        {
            StateSize = 5, Parametrisation = p, Normalisation = InputNormalisation.Learned, Gamma = gamma, GammaInit = init,
            RMin = 0.4, RMax = 0.9, MaxPhase = Math.PI,
        });
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 3, time: 6);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(GammaParametrisation.Log, GammaInitialisation.Modulus)]
    [InlineData(GammaParametrisation.Direct, GammaInitialisation.Modulus)]
    [InlineData(GammaParametrisation.Log, GammaInitialisation.RealPart)]
    [InlineData(GammaParametrisation.Direct, GammaInitialisation.RealPart)]
    public void Learned_gamma_starts_at_the_modulus_or_the_real_part_of_lambda(GammaParametrisation gamma, GammaInitialisation init)
    {
        // Zucchet & Orvieto 2024's code: γ₀ = √(1 − |λ₀|²) (its exp and polar parametrisations), and for the (Re λ, Im λ)
        // pair, whose gamma_init reads the pair as polar, √(1 − (Re λ₀)²); held as log γ with exp, as γ otherwise.
        var layer = new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions
        {
            StateSize = 200, Normalisation = InputNormalisation.Learned, Gamma = gamma, GammaInit = init, RMin = 0.5, RMax = 0.99,
        });
        var model = new SequenceModel<double>(layer);
        model.Initialize(11);
        string name = gamma == GammaParametrisation.Log ? "gamma_log" : "gamma";
        Assert.False(model.Layout.TryGet(gamma == GammaParametrisation.Log ? "gamma" : "gamma_log", out _));
        var re = new double[200]; var im = new double[200]; var g = new double[200];
        layer.Eigenvalues(model.Theta, re, im, g);
        var stored = model.Layout[name].Of(model.Theta);
        bool anyApart = false;
        for (int i = 0; i < 200; i++)
        {
            double r = init == GammaInitialisation.Modulus ? Math.Sqrt(re[i] * re[i] + im[i] * im[i]) : re[i];
            Assert.Equal(Math.Sqrt(1 - r * r), g[i], 1e-9);
            Assert.Equal(gamma == GammaParametrisation.Log ? Math.Log(g[i]) : g[i], stored[i], 1e-12);
            anyApart |= Math.Abs(g[i] - Math.Sqrt(1 - re[i] * re[i] - im[i] * im[i])) > 0.1;
        }
        Assert.Equal(init == GammaInitialisation.RealPart, anyApart);
    }

    [Fact]
    public void Gamma_settings_need_a_learned_gamma()
    {
        var e = Assert.Throws<ArgumentException>(() => new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions
        {
            StateSize = 2, Normalisation = InputNormalisation.L2, Gamma = GammaParametrisation.Direct,
        }));
        Assert.Contains("learned", e.Message);
    }

    [Theory]
    [InlineData(SkipConnection.None)]
    [InlineData(SkipConnection.Diagonal)]
    public void Diagonal_recurrence_skip_variants_have_exact_gradients(SkipConnection skip)
    {
        var layer = new DiagonalRecurrence<double>(2, 2, new DiagonalRecurrenceOptions
        {
            StateSize = 9, Parametrisation = EigenvalueParametrisation.Exp, Normalisation = InputNormalisation.Learned, Skip = skip, RMin = 0.5,
        });
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 10, time: 4);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }
}

public class DenseLinearRecurrenceTests
{
    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void Dense_recurrence_gradients_match_finite_differences(int heads, bool skip)
    {
        var layer = new DenseLinearRecurrence<double>(2, 3, new DenseLinearRecurrenceOptions { StateSize = 6, Heads = heads, Skip = skip });
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 18, time: 5);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Fact]
    public void Multi_head_equals_the_block_diagonal_dense_recurrence()
    {
        var multi = new SequenceModel<double>(new DenseLinearRecurrence<double>(2, 2, new DenseLinearRecurrenceOptions { StateSize = 8, Heads = 4 }));
        var dense = new DenseLinearRecurrence<double>(2, 2, new DenseLinearRecurrenceOptions { StateSize = 8, Heads = 1 });
        var single = new SequenceModel<double>(dense);
        multi.Initialize(5);
        var mLayer = (DenseLinearRecurrence<double>)multi.Root;
        mLayer.FullRecurrentMatrix(multi.Theta, single.Layout["A"].Of(single.Theta));
        foreach (var name in new[] { "B", "C", "D" }) multi.Layout[name].Of(multi.Theta).CopyTo(single.Layout[name].Of(single.Theta));
        using var pool = new WorkerPool(1);
        multi.Prepare(3, 20, pool); single.Prepare(3, 20, pool);
        var x = new SequenceTensor<double>(3, 20, 2);
        new CounterRng(1, RandomPurpose.Data).FillNormal<double>(x.Data);
        var ym = (double[])multi.Forward(x).Data.Clone();
        var ys = single.Forward(x).Data;
        for (int i = 0; i < ym.Length; i++) Assert.Equal(ys[i], ym[i], 1e-12);
        // Gradients agree on the blocks, and the dense gradient's off-block entries are what a block-diagonal model ignores.
        multi.Backward(x); single.Backward(x);
        var full = new double[64];
        mLayer.FullRecurrentMatrix(multi.Gradient, full);
        var gs = single.Layout["A"].Of(single.Gradient);
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++)
                if (i / 2 == j / 2) Assert.Equal(gs[i * 8 + j], full[i * 8 + j], 1e-10);
    }

    /// <summary>On the convolution path the multi-head layer's per-lag block products (one pass over all heads, not one GEMM
    /// call per head) give exactly the bits of the single-head layer holding the block-diagonal A: each output element is the
    /// same FMA chain, the off-block zeros adding nothing. Teacher–student widths (N = 64, one feature) and a wider input.</summary>
    [Theory]
    [InlineData(2, 1, 1)]
    [InlineData(8, 1, 1)]
    [InlineData(32, 1, 1)]
    [InlineData(16, 3, 2)]
    public void Multi_head_convolution_has_the_bits_of_the_block_diagonal_dense_layer(int heads, int din, int dout)
    {
        const int n = 64, batch = 5, time = 150;
        DenseLinearRecurrence<float> Layer(int h) => new(din, dout, new DenseLinearRecurrenceOptions { StateSize = n, Heads = h, Nu0 = 0.9, Algorithm = LtiAlgorithm.Convolution });
        var multi = new SequenceModel<float>(Layer(heads));
        var single = new SequenceModel<float>(Layer(1));
        multi.Initialize(7);
        var mLayer = (DenseLinearRecurrence<float>)multi.Root;
        mLayer.FullRecurrentMatrix(multi.Theta, single.Layout["A"].Of(single.Theta));
        foreach (var name in new[] { "B", "C", "D" }) multi.Layout[name].Of(multi.Theta).CopyTo(single.Layout[name].Of(single.Theta));
        using var pool = new WorkerPool(1);
        multi.Prepare(batch, time, pool); single.Prepare(batch, time, pool);
        var x = new SequenceTensor<float>(batch, time, din);
        var dy = new SequenceTensor<float>(batch, time, dout);
        var rng = new CounterRng(3, RandomPurpose.Data);
        rng.FillNormal<float>(x.Data); rng.FillNormal<float>(dy.Data);
        Assert.Equal(single.Forward(x).Data, (float[])multi.Forward(x).Data.Clone());
        var dxm = new SequenceTensor<float>(batch, time, din);
        var dxs = new SequenceTensor<float>(batch, time, din);
        multi.Backward(dy, dxm); single.Backward(dy, dxs);
        Assert.Equal(dxs.Data, dxm.Data);
        foreach (var name in new[] { "B", "C", "D" })
            Assert.Equal(single.Layout[name].Of(single.Gradient).ToArray(), multi.Layout[name].Of(multi.Gradient).ToArray());
        var full = new float[n * n];
        mLayer.FullRecurrentMatrix(multi.Gradient, full);
        var gs = single.Layout["A"].Of(single.Gradient);
        int hs = n / heads;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i / hs == j / hs) Assert.Equal(gs[i * n + j], full[i * n + j]);
    }

    [Fact]
    public void Spectral_init_puts_eigenvalues_on_the_remapped_ring()
    {
        var a = SpectralInit.RemappedRandomMatrix(10, 0.9, Math.PI, new CounterRng(42, RandomPurpose.Teacher));
        foreach (var l in SpectralInit.Eigenvalues(a, 10)) Assert.InRange(l.Magnitude, 0.9 - 1e-9, 1.0);
        var b = SpectralInit.RemappedRandomMatrix(10, 0.0, 0.1, new CounterRng(42, RandomPurpose.Teacher));
        foreach (var l in SpectralInit.Eigenvalues(b, 10)) Assert.InRange(Math.Abs(l.Phase), 0, 0.1 + 1e-9);
    }
}

public class LinearRecurrentUnitTests
{
    [Fact]
    public void Ring_initialisation_draws_squared_radius_uniformly()
    {
        const int n = 4000;
        double rMin = 0.4, rMax = 0.99;
        var lru = new LinearRecurrentUnit<double>(1, n, rMin, rMax, Math.PI / 10);
        var model = new SequenceModel<double>(lru);
        model.Initialize(3);
        var re = new double[n]; var im = new double[n]; var gamma = new double[n];
        lru.Eigenvalues(model.Theta, re, im, gamma);
        // Kolmogorov–Smirnov distance of |λ|² from U[r_min², r_max²]; the 0.1% critical value is 1.95/√n.
        var u = Enumerable.Range(0, n).Select(i => (re[i] * re[i] + im[i] * im[i] - rMin * rMin) / (rMax * rMax - rMin * rMin)).Order().ToArray();
        double d = 0;
        for (int i = 0; i < n; i++) d = Math.Max(d, Math.Max(Math.Abs(u[i] - (double)i / n), Math.Abs(u[i] - (i + 1.0) / n)));
        Assert.True(d < 1.95 / Math.Sqrt(n), $"KS distance {d}");
        for (int i = 0; i < n; i++)
        {
            double phase = Math.Atan2(im[i], re[i]);
            Assert.InRange(phase, 0, Math.PI / 10);
            Assert.Equal(Math.Sqrt(1 - (re[i] * re[i] + im[i] * im[i])), gamma[i], 1e-9);
        }
    }

    [Fact]
    public void Edge_case_r_max_one_keeps_parameters_finite()
    {
        var lru = new LinearRecurrentUnit<double>(1, 2000, 0.999, 1.0, 1e-9);
        var model = new SequenceModel<double>(lru);
        model.Initialize(9);
        Assert.All(model.Theta, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Teacher_student_variant_draws_symmetric_phases_with_unit_readout()
    {
        var layer = new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions
        {
            StateSize = 3000, Parametrisation = EigenvalueParametrisation.Polar, RMin = 0.5, RMax = 0.9, MaxPhase = 1.0, Init = RingInitialisation.TeacherStudent,
        });
        var model = new SequenceModel<double>(layer);
        model.Initialize(4);
        var theta = model.Layout["theta"].Of(model.Theta).ToArray();
        Assert.InRange(theta.Min(), -1.0, -0.95);
        Assert.InRange(theta.Max(), 0.95, 1.0);
        var c = model.Layout["C_re"].Of(model.Theta).ToArray();
        double var = c.Select(v => v * v).Average();
        Assert.InRange(var, 0.9, 1.1);
    }
}

public class DiagonalEquivalentTests
{
    [Fact]
    public void Diagonal_equivalent_reproduces_the_dense_teacher_outputs()
    {
        var dense = new SequenceModel<double>(new DenseLinearRecurrence<double>(2, 3, new DenseLinearRecurrenceOptions { StateSize = 6, Nu0 = 0.9 }));
        dense.Initialize(4);
        var diag = new SequenceModel<double>(new DiagonalRecurrence<double>(2, 3, new DiagonalRecurrenceOptions { StateSize = 6 }));
        DiagonalEquivalent.Convert(dense, diag);
        using var pool = new WorkerPool(1);
        dense.Prepare(2, 40, pool); diag.Prepare(2, 40, pool);
        var x = new SequenceTensor<double>(2, 40, 2);
        new CounterRng(8, RandomPurpose.Data).FillNormal<double>(x.Data);
        var yd = (double[])dense.Forward(x).Data.Clone();
        var yg = diag.Forward(x).Data;
        for (int i = 0; i < yd.Length; i++) Assert.Equal(yd[i], yg[i], 1e-9);
    }
}
