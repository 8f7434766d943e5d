using System.Numerics;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Tests.Models;

/// <summary>The convolution path of the LTI layers against their scan, against finite differences, and its
/// cost model, allocation and determinism.</summary>
public class LtiConvolutionTests
{
    private static DiagonalRecurrence<T> Diagonal<T>(int din, int dout, LtiAlgorithm algorithm, EigenvalueParametrisation p = EigenvalueParametrisation.Default,
        InputNormalisation g = InputNormalisation.None, SkipConnection skip = SkipConnection.Full, int n = 5)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(din, dout, new DiagonalRecurrenceOptions
        {
            StateSize = n, Parametrisation = p, Normalisation = g, Skip = skip, RMin = 0.5, RMax = 0.97, MaxPhase = Math.PI, Algorithm = algorithm,
        });

    private static DenseLinearRecurrence<T> Dense<T>(int din, int dout, LtiAlgorithm algorithm, int heads = 1, bool skip = true, int n = 6)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(din, dout, new DenseLinearRecurrenceOptions { StateSize = n, Heads = heads, Skip = skip, Nu0 = 0.5, Algorithm = algorithm });

    /// <summary>Runs forward and backward of both layers on the same θ, x, ∂y; returns the largest error of y, of ∂x
    /// and of each parameter view's gradient, each relative to that tensor's largest magnitude.</summary>
    private static double MaxRelativeDifference<T>(ISequenceLayer<T> scan, ISequenceLayer<T> conv, int batch, int time, out string worst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = new ParameterLayout();
        scan.Declare(layout, "l");
        var layout2 = new ParameterLayout();
        conv.Declare(layout2, "l");
        var theta = new T[layout.Count];
        scan.Initialize(theta, new CounterRng(11, RandomPurpose.Init));
        var noise = new CounterRng(11, RandomPurpose.Perturbation);
        for (int i = 0; i < theta.Length; i++) theta[i] += T.CreateTruncating(0.02 * noise.NextNormal());
        using var pool = new WorkerPool(2);
        scan.Prepare(batch, time, pool); conv.Prepare(batch, time, pool);
        var x = new SequenceTensor<T>(batch, time, scan.InputSize);
        var dy = new SequenceTensor<T>(batch, time, scan.OutputSize);
        var data = new CounterRng(12, RandomPurpose.Data);
        data.FillNormal<T>(x.Data); data.FillNormal<T>(dy.Data);
        var y1 = new SequenceTensor<T>(batch, time, scan.OutputSize);
        var y2 = new SequenceTensor<T>(batch, time, scan.OutputSize);
        var dx1 = new SequenceTensor<T>(batch, time, scan.InputSize);
        var dx2 = new SequenceTensor<T>(batch, time, scan.InputSize);
        var g1 = new T[theta.Length]; var g2 = new T[theta.Length];
        scan.Forward(theta, x, y1, true); conv.Forward(theta, x, y2, true);
        scan.Backward(theta, dy, dx1, g1); conv.Backward(theta, dy, dx2, g2);
        double max = 0; string worstSoFar = "";
        void Compare(string name, ReadOnlySpan<T> a, ReadOnlySpan<T> b)
        {
            double scale = 0, diff = 0;
            for (int i = 0; i < a.Length; i++)
            {
                scale = Math.Max(scale, Math.Abs(double.CreateTruncating(a[i])));
                diff = Math.Max(diff, Math.Abs(double.CreateTruncating(a[i]) - double.CreateTruncating(b[i])));
            }
            double rel = diff / Math.Max(scale, 1e-300);
            if (rel > max) { max = rel; worstSoFar = $"{name}: {rel:G3}"; }
        }
        Compare("y", y1.Data, y2.Data);
        Compare("dx", dx1.Data, dx2.Data);
        foreach (var view in layout.Views) Compare(view.Name, view.Of(g1), view.Of(g2));
        worst = worstSoFar;
        return max;
    }

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
    public void Diagonal_convolution_matches_the_scan_in_double_and_float(EigenvalueParametrisation p, InputNormalisation g)
    {
        double d = MaxRelativeDifference(Diagonal<double>(3, 2, LtiAlgorithm.Scan, p, g), Diagonal<double>(3, 2, LtiAlgorithm.Convolution, p, g), 9, 70, out var w);
        Assert.True(d <= 1e-10, w);
        double f = MaxRelativeDifference(Diagonal<float>(3, 2, LtiAlgorithm.Scan, p, g), Diagonal<float>(3, 2, LtiAlgorithm.Convolution, p, g), 9, 70, out w);
        Assert.True(f <= 1e-4, w);
    }

    [Theory]
    [InlineData(SkipConnection.None, 1, 1)]
    [InlineData(SkipConnection.Diagonal, 1, 1)]
    [InlineData(SkipConnection.Full, 1, 1)]
    [InlineData(SkipConnection.Diagonal, 3, 3)]
    [InlineData(SkipConnection.Full, 2, 4)]
    public void Diagonal_skip_variants_and_widths_agree_across_algorithms(SkipConnection skip, int din, int dout)
    {
        double d = MaxRelativeDifference(Diagonal<double>(din, dout, LtiAlgorithm.Scan, EigenvalueParametrisation.Exp, InputNormalisation.Learned, skip, 16),
            Diagonal<double>(din, dout, LtiAlgorithm.Convolution, EigenvalueParametrisation.Exp, InputNormalisation.Learned, skip, 16), 40, 130, out var w);
        Assert.True(d <= 1e-10, w);
        double f = MaxRelativeDifference(Diagonal<float>(din, dout, LtiAlgorithm.Scan, EigenvalueParametrisation.Exp, InputNormalisation.Learned, skip, 16),
            Diagonal<float>(din, dout, LtiAlgorithm.Convolution, EigenvalueParametrisation.Exp, InputNormalisation.Learned, skip, 16), 40, 130, out w);
        Assert.True(f <= 1e-4, w);
    }

    [Theory]
    [InlineData(1, true, 1, 1)]
    [InlineData(2, true, 2, 3)]
    [InlineData(3, false, 1, 1)]
    [InlineData(1, false, 3, 2)]
    public void Dense_convolution_matches_the_scan(int heads, bool skip, int din, int dout)
    {
        double d = MaxRelativeDifference(Dense<double>(din, dout, LtiAlgorithm.Scan, heads, skip), Dense<double>(din, dout, LtiAlgorithm.Convolution, heads, skip), 35, 100, out var w);
        Assert.True(d <= 1e-10, w);
        double f = MaxRelativeDifference(Dense<float>(din, dout, LtiAlgorithm.Scan, heads, skip), Dense<float>(din, dout, LtiAlgorithm.Convolution, heads, skip), 35, 100, out w);
        Assert.True(f <= 1e-4, w);
    }

    [Fact]
    public void Lru_convolution_matches_the_scan()
    {
        double d = MaxRelativeDifference(new LinearRecurrentUnit<double>(2, 12, 0.8, 0.999, Math.PI),
            new LinearRecurrentUnit<double>(2, 12, 0.8, 0.999, Math.PI, algorithm: LtiAlgorithm.Convolution), 33, 150, out var w);
        Assert.True(d <= 1e-10, w);
        double f = MaxRelativeDifference(new LinearRecurrentUnit<float>(1, 64, 0.9, 1.0, Math.PI, RingInitialisation.TeacherStudent),
            new LinearRecurrentUnit<float>(1, 64, 0.9, 1.0, Math.PI, RingInitialisation.TeacherStudent, LtiAlgorithm.Convolution), 16, 300, out w);
        Assert.True(f <= 1e-4, w);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(64)]
    [InlineData(65)]
    public void Both_algorithms_agree_at_panel_edges_and_single_steps(int time)
    {
        double d = MaxRelativeDifference(Diagonal<double>(2, 2, LtiAlgorithm.Scan, EigenvalueParametrisation.Polar, InputNormalisation.L1, SkipConnection.Diagonal),
            Diagonal<double>(2, 2, LtiAlgorithm.Convolution, EigenvalueParametrisation.Polar, InputNormalisation.L1, SkipConnection.Diagonal), 33, time, out var w);
        Assert.True(d <= 1e-10, w);
        d = MaxRelativeDifference(Dense<double>(1, 2, LtiAlgorithm.Scan, 2), Dense<double>(1, 2, LtiAlgorithm.Convolution, 2), 33, time, out w);
        Assert.True(d <= 1e-10, w);
    }

    [Theory]
    [MemberData(nameof(ParametrisationGrid))]
    public void Diagonal_convolution_gradients_match_finite_differences(EigenvalueParametrisation p, InputNormalisation g)
    {
        var (parameters, input) = LayerGradientCheck.Check(Diagonal<double>(3, 2, LtiAlgorithm.Convolution, p, g), batch: 3, time: 6);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(SkipConnection.None)]
    [InlineData(SkipConnection.Diagonal)]
    public void Diagonal_convolution_skip_variants_have_exact_gradients(SkipConnection skip)
    {
        var layer = Diagonal<double>(2, 2, LtiAlgorithm.Convolution, EigenvalueParametrisation.Exp, InputNormalisation.Learned, skip, 9);
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 4, time: 5);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void Dense_convolution_gradients_match_finite_differences(int heads, bool skip)
    {
        var (parameters, input) = LayerGradientCheck.Check(Dense<double>(2, 3, LtiAlgorithm.Convolution, heads, skip), batch: 4, time: 5);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Fact]
    public void Lru_convolution_gradients_match_finite_differences()
    {
        var (parameters, input) = LayerGradientCheck.Check(new LinearRecurrentUnit<double>(2, 4, 0.5, 0.95, algorithm: LtiAlgorithm.Convolution), batch: 3, time: 6);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Theory]
    [InlineData(2, 3, 37, true)]   // the block-Toeplitz matrix is built
    [InlineData(1, 1, 37, false)]  // one input: the GEMMs read M from the kernel; passes this small run on the calling thread
    [InlineData(1, 3, 37, false)]
    [InlineData(1, 1, 150, true)]
    public void Toeplitz_convolution_matches_the_direct_sum_and_its_adjoint(int din, int dout, int batch, bool onPool)
    {
        const int time = 140;
        // Both ways a pass runs are covered: on the pool, and on the calling thread below the threshold.
        Assert.Equal(onPool, ToeplitzConvolution<double>.PassMultiplyAdds(batch, time, din, dout) >= ToeplitzConvolution<double>.MinParallelMultiplyAdds);
        var rng = new CounterRng(5, RandomPurpose.Data);
        var kernel = new double[time * din * dout];
        rng.FillNormal<double>(kernel);
        var x = new SequenceTensor<double>(batch, time, din);
        var dy = new SequenceTensor<double>(batch, time, dout);
        rng.FillNormal<double>(x.Data); rng.FillNormal<double>(dy.Data);
        var conv = new ToeplitzConvolution<double>(din, dout);
        using var pool = new WorkerPool(2);
        conv.Prepare(batch, time, pool);
        var y = new SequenceTensor<double>(batch, time, dout);
        conv.Forward(kernel, x, y);
        var dk = new double[kernel.Length];
        var dx = new SequenceTensor<double>(batch, time, din);
        conv.Backward(x, dy, dk, dx);
        var dkRef = new double[kernel.Length];
        var dxRef = new double[x.Data.Length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < time; t++)
                for (int o = 0; o < dout; o++)
                {
                    double sum = 0;
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < din; i++)
                        {
                            double k = kernel[(s * din + i) * dout + o];
                            sum += k * x[b, t - s, i];
                            dkRef[(s * din + i) * dout + o] += dy[b, t, o] * x[b, t - s, i];
                            dxRef[x.Index(b, t - s, i)] += dy[b, t, o] * k;
                        }
                    Assert.Equal(sum, y[b, t, o], 1e-10);
                }
        for (int i = 0; i < dk.Length; i++) Assert.Equal(dkRef[i], dk[i], 1e-9);
        for (int i = 0; i < dxRef.Length; i++) Assert.Equal(dxRef[i], dx.Data[i], 1e-10);

        // The same bits on one thread, with the kernel set again (the forward pass rebuilds what it reads).
        using var single = new WorkerPool(1);
        var again = new ToeplitzConvolution<double>(din, dout);
        again.Prepare(batch, time, single);
        var scratch = new double[kernel.Length];
        rng.FillNormal<double>(scratch);
        var y1 = new SequenceTensor<double>(batch, time, dout);
        again.Forward(scratch, x, y1);
        again.Forward(kernel, x, y1);
        var dk1 = new double[kernel.Length];
        var dx1 = new SequenceTensor<double>(batch, time, din);
        again.Backward(x, dy, dk1, dx1);
        Assert.Equal(y.Data, y1.Data);
        Assert.Equal(dk, dk1);
        Assert.Equal(dx.Data, dx1.Data);
    }

    [Fact]
    public void Auto_picks_convolution_for_the_teacher_student_shape_and_the_scan_for_a_deep_stack()
    {
        foreach (var kind in Enum.GetValues<LtiLayerKind>())
        {
            Assert.Equal(LtiAlgorithm.Convolution, LtiCostModel.Choose(kind, batch: 128, time: 300, hidden: 64, dIn: 1, dOut: 1));
            Assert.Equal(LtiAlgorithm.Scan, LtiCostModel.Choose(kind, batch: 16, time: 512, hidden: 256, dIn: 256, dOut: 256));
            Assert.True(LtiCostModel.Flops(kind, LtiAlgorithm.Scan, 128, 300, 64, 1, 1) > LtiCostModel.Flops(kind, LtiAlgorithm.Convolution, 128, 300, 64, 1, 1));
            Assert.True(LtiCostModel.BytesMoved(kind, LtiAlgorithm.Auto, 128, 300, 64, 1, 1) > 0);
        }
        using var pool = new WorkerPool(1);
        var narrow = new LinearRecurrentUnit<float>(1, 64, algorithm: LtiAlgorithm.Auto);
        narrow.Declare(new ParameterLayout(), "l");
        narrow.Prepare(128, 300, pool);
        Assert.Equal(LtiAlgorithm.Convolution, narrow.ResolvedAlgorithm);
        var wide = Dense<float>(256, 256, LtiAlgorithm.Auto, n: 256);
        wide.Declare(new ParameterLayout(), "l");
        wide.Prepare(16, 512, pool);
        Assert.Equal(LtiAlgorithm.Scan, wide.ResolvedAlgorithm);
    }

    [Fact]
    public void Forced_convolution_rejects_a_toeplitz_matrix_that_is_too_large()
    {
        var wide = Dense<float>(256, 256, LtiAlgorithm.Convolution, n: 8);
        wide.Declare(new ParameterLayout(), "l");
        using var pool = new WorkerPool(1);
        var e = Assert.Throws<ArgumentException>(() => wide.Prepare(2, 512, pool));
        Assert.Contains("scan", e.Message);
    }

    [Fact]
    public void Model_factory_reads_the_algorithm_and_rejects_unknown_values()
    {
        var factory = ModelFactory.CreateDefault();
        var lru = (LinearRecurrentUnit<double>)factory.Build<double>(ModelDescription.Of("lru", ("hidden", 4), ("algorithm", "convolution")), 1);
        Assert.Equal(LtiAlgorithm.Convolution, lru.Options.Algorithm);
        var diag = (DiagonalRecurrence<float>)factory.Build<float>(ModelDescription.Of("complex_diagonal", ("algorithm", "auto")), 1);
        Assert.Equal(LtiAlgorithm.Auto, diag.Options.Algorithm);
        var dense = (DenseLinearRecurrence<double>)factory.Build<double>(ModelDescription.Of("linear_rnn", ("hidden", 4)), 2);
        Assert.Equal(LtiAlgorithm.Auto, dense.Options.Algorithm);   // a spec without the key lets the cost model choose
        var e = Assert.Throws<ModelDescriptionException>(() => factory.Build<double>(ModelDescription.Of("linear_rnn", ("algorithm", "fft")), 1));
        Assert.Equal("algorithm", e.Key);
        Assert.Contains("convolution", e.Message);
    }

    [Fact]
    public void A_spec_names_the_algorithm_and_a_bad_value_is_a_spec_error()
    {
        var factory = ModelFactory.CreateDefault();
        var good = SpecParser.ParseText("model:\n  kind: lru\n  hidden: 8\n  algorithm: convolution\n", "s.yaml").Child("model");
        var description = ModelSpec.Bind(good);
        Assert.Equal(1, ModelSpec.Validate(factory, description, 1, good));
        Assert.Equal(LtiAlgorithm.Convolution, ((LinearRecurrentUnit<float>)factory.Build<float>(description, 1)).Options.Algorithm);
        var bad = SpecParser.ParseText("model:\n  kind: complex_diagonal\n  algorithm: fourier\n", "s.yaml").Child("model");
        var e = Assert.Throws<SpecException>(() => ModelSpec.Validate(factory, ModelSpec.Bind(bad), 1, bad));
        Assert.Contains("algorithm", e.Message);
        Assert.Contains("fourier", e.Message);
    }

    public static TheoryData<string> Models => new() { "lru", "complex-diagonal", "dense" };

    private static ISequenceLayer<T> Student<T>(string kind) where T : unmanaged, IFloatingPointIeee754<T> => kind switch
    {
        "lru" => new LinearRecurrentUnit<T>(1, 16, 0.5, 0.99, algorithm: LtiAlgorithm.Convolution),
        "complex-diagonal" => new DiagonalRecurrence<T>(1, 1, new DiagonalRecurrenceOptions { StateSize = 16, Normalisation = InputNormalisation.L2, Algorithm = LtiAlgorithm.Convolution }),
        _ => new DenseLinearRecurrence<T>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 16, Heads = 2, Algorithm = LtiAlgorithm.Convolution }),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void A_convolution_training_step_allocates_nothing_in_steady_state(string kind)
    {
        var model = new SequenceModel<float>(Student<float>(kind));
        model.Initialize(1);
        using var pool = new WorkerPool(1);
        var objective = new SupervisedObjective<float>(model, new TeacherLinearSystem<float>(new TeacherOptions { StateSize = 4 }, 1, time: 70),
            MeanSquaredError<float>.AllSteps(), 40, pool);
        objective.NextBatch(0);
        var adam = new Adam<float>(model.Layout, clipNorm: 1.0);
        var g = new float[model.Theta.Length];
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 200; i++) { objective.Evaluate(model.Theta, g); adam.Step(model.Theta, g, 1e-3); }
            Thread.Sleep(150);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) { objective.Evaluate(model.Theta, g); adam.Step(model.Theta, g, 1e-3); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Convolution_gives_the_same_bits_with_one_and_two_threads(string kind)
    {
        (float[] Y, float[] G, float[] Dx) Run(int threads)
        {
            var model = new SequenceModel<float>(Student<float>(kind));
            model.Initialize(3);
            using var pool = new WorkerPool(threads);
            model.Prepare(70, 150, pool);
            var x = new SequenceTensor<float>(70, 150, 1);
            var dy = new SequenceTensor<float>(70, 150, 1);
            var rng = new CounterRng(4, RandomPurpose.Data);
            rng.FillNormal<float>(x.Data); rng.FillNormal<float>(dy.Data);
            var y = (float[])model.Forward(x).Data.Clone();
            var dx = new SequenceTensor<float>(70, 150, 1);
            model.Backward(dy, dx);
            return (y, (float[])model.Gradient.Clone(), dx.Data);
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Y, two.Y);
        Assert.Equal(one.G, two.G);
        Assert.Equal(one.Dx, two.Dx);
    }
}
