using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Tests.Targets;

public class InputAndDatasetTests
{
    /// <summary>Mean and standard error of per-sequence samples (independent across sequences).</summary>
    internal static (double Mean, double StdError) MeanAndError(IReadOnlyList<double> samples)
    {
        double m = samples.Average();
        double v = samples.Sum(x => (x - m) * (x - m)) / (samples.Count - 1);
        return (m, Math.Sqrt(v / samples.Count));
    }

    private static void AssertAutocovariance(IInputProcess process, int time, int batch, int[] lags, int tStart, int window, ulong seed)
    {
        var x = new SequenceTensor<double>(batch, time, 1);
        InputProcess.Fill(process, seed, 0, x);
        foreach (int lag in lags)
        {
            var samples = new double[batch];
            for (int b = 0; b < batch; b++)
            {
                double s = 0;
                for (int t = tStart; t < tStart + window; t++) s += x[b, t, 0] * x[b, t + lag, 0];
                samples[b] = s / window;
            }
            var (mean, se) = MeanAndError(samples);
            double exact = process.SecondMoment(tStart, tStart + lag);
            Assert.True(Math.Abs(mean - exact) <= 3 * se, $"{process.Name} lag {lag}: sample {mean:G5} ± {se:G3} vs exact {exact:G5}");
            Assert.True(se < 0.2 * Math.Abs(exact) + 1e-3, $"{process.Name} lag {lag}: too few samples for a meaningful check (se {se:G3})");
        }
    }

    [Fact]
    public void Ar1_reproduces_its_autocorrelation_and_starts_stationary()
    {
        var ar = InputProcess.Ar1(0.8);
        AssertAutocovariance(ar, 60, 8000, [0, 1, 3, 8], 0, 1, 11);     // at t = 0: stationary start
        AssertAutocovariance(ar, 60, 8000, [0, 1, 3, 8], 40, 10, 12);   // later times
        Assert.Equal(Math.Pow(0.8, 5), ar.SecondMoment(3, 8), 1e-15);
    }

    [Fact]
    public void Bert_like_mixture_reproduces_white_plus_ar1_autocorrelation()
    {
        var mix = InputProcess.BertLike();
        Assert.Equal(0.332 + 0.0431, mix.SecondMoment(5, 5), 1e-15);
        Assert.Equal(0.0431 * Math.Pow(0.997, 100), mix.SecondMoment(5, 105), 1e-15);
        AssertAutocovariance(mix, 400, 6000, [0, 1, 10, 100, 300], 0, 100, 13);
    }

    [Fact]
    public void White_constant_and_step_processes_have_their_moments()
    {
        AssertAutocovariance(InputProcess.WhiteNoise(0.5, 0.2), 20, 8000, [0, 3], 2, 5, 14);
        AssertAutocovariance(InputProcess.Constant(0.3, 1), 20, 8000, [0, 7], 2, 5, 15);
        var step = InputProcess.Step(5, 1, 0.5);
        var x = new SequenceTensor<double>(4, 10, 1);
        InputProcess.Fill(step, 1, 0, x);
        for (int b = 0; b < 4; b++)
        {
            for (int t = 0; t < 5; t++) Assert.Equal(0.0, x[b, t, 0]);
            for (int t = 6; t < 10; t++) Assert.Equal(x[b, 5, 0], x[b, t, 0]);
        }
        Assert.Equal(0.0, step.SecondMoment(4, 7));
        Assert.Equal(1.25, step.SecondMoment(5, 7), 1e-15);
    }

    [Fact]
    public void Features_are_independent_and_batches_are_pure_functions_of_seed_and_step()
    {
        var ar = InputProcess.Ar1(0.9);
        var x = new SequenceTensor<double>(6000, 5, 2);
        InputProcess.Fill(ar, 7, 3, x);
        var cross = new double[x.Batch];
        for (int b = 0; b < x.Batch; b++) cross[b] = x[b, 4, 0] * x[b, 4, 1];
        var (m, se) = MeanAndError(cross);
        Assert.True(Math.Abs(m) <= 3 * se, $"features correlated: {m} ± {se}");

        var a = new SequenceTensor<float>(5, 8, 2);
        var b2 = new SequenceTensor<float>(3, 8, 2);
        var c = new SequenceTensor<float>(5, 8, 2);
        InputProcess.Fill(ar, 7, 3, a);
        InputProcess.Fill(ar, 7, 3, b2);
        InputProcess.Fill(ar, 7, 4, c);
        Assert.Equal(a.Data.AsSpan(0, b2.Data.Length).ToArray(), b2.Data);   // a prefix of the batch is the smaller batch
        Assert.NotEqual(a.Data, c.Data);
    }

    [Fact]
    public void Bad_process_parameters_give_clear_errors()
    {
        Assert.Contains("|ρ| < 1", Assert.Throws<ArgumentOutOfRangeException>(() => InputProcess.Ar1(1.0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => InputProcess.WhiteNoise(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => InputProcess.Mixture(-0.1, 1, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => InputProcess.Step(-1));
    }

    [Fact]
    public void Linear_functional_fft_and_direct_paths_agree_and_impulses_give_the_kernel()
    {
        var kernel = MemoryKernel.Airy();
        var fft = new LinearFunctionalDataset<double>(kernel, time: 300, dt: 0.1, seed: 5, method: ConvolutionMethod.Fft);
        var direct = new LinearFunctionalDataset<double>(kernel, time: 300, dt: 0.1, seed: 5, method: ConvolutionMethod.Direct);
        Assert.True(fft.UsesFft);
        Assert.False(direct.UsesFft);
        var (x1, y1) = fft.CreateBatch(2, 5);
        var (x2, y2) = direct.CreateBatch(2, 5);
        Assert.Equal(x1.Data, x2.Data);
        double scale = y2.Data.Max(Math.Abs);
        for (int i = 0; i < y1.Data.Length; i++) Assert.True(Math.Abs(y1.Data[i] - y2.Data[i]) <= 1e-12 * scale);
        // inputs are dt·N(0,1) by default (Li21 code)
        double var0 = x1.Data.Average(v => v * v);
        Assert.InRange(var0, 0.8 * 0.01, 1.2 * 0.01);

        // two features, kernels exp and shift; an impulse on feature 1 at t = 2 gives shift(t − 2)
        var two = new LinearFunctionalDataset<float>([MemoryKernel.Exponential(), MemoryKernel.Shift()], time: 20, dt: 1, seed: 0);
        var xi = new SequenceTensor<float>(1, 20, 2);
        var yi = new SequenceTensor<float>(1, 20, 1);
        xi[0, 2, 1] = 1;
        two.ComputeTargets(xi, yi);
        for (int t = 0; t < 20; t++) Assert.Equal(t >= 2 ? (float)MemoryKernel.Shift().Value(t - 2) : 0f, yi[0, t, 0]);
        xi[0, 0, 0] = 2;
        two.ComputeTargets(xi, yi);
        Assert.Equal((float)(2 * Math.Exp(-12) + 1), yi[0, 12, 0], 6);   // 2·e^{−12} + shift(10)
        Assert.Throws<ArgumentException>(() => two.ComputeTargets(new SequenceTensor<float>(1, 20, 1), yi));
    }

    [Fact]
    public void Sampled_squared_error_matches_the_exact_discrete_population_loss()
    {
        // target pol, a fixed 2-term model; white and AR(1) inputs; error at the last step over 4000 sequences
        var target = MemoryKernel.PowerLaw();
        var model = MemoryKernel.ExponentialSum([0.6, 0.3], [0.5, 0.05]);
        foreach (var input in new IInputProcess[] { InputProcess.WhiteNoise(0.2), InputProcess.Ar1(0.7, 0.04) })
        {
            const int time = 120, batch = 4000;
            var data = new LinearFunctionalDataset<double>(target, time, 0.2, 21, input);
            var modelData = new LinearFunctionalDataset<double>(model, time, 0.2, 21, input);
            var (x, y) = data.CreateBatch(0, batch);
            var yHat = new SequenceTensor<double>(batch, time, 1);
            modelData.ComputeTargets(x, yHat);
            var err = new double[batch];
            for (int b = 0; b < batch; b++) { double d = y[b, time - 1, 0] - yHat[b, time - 1, 0]; err[b] = d * d; }
            var (m, se) = MeanAndError(err);
            double exact = data.ExpectedSquaredError([model], time - 1);
            Assert.True(Math.Abs(m - exact) <= 3 * se, $"{input.Name}: sampled {m:G5} ± {se:G3}, exact {exact:G5}");
            Assert.True(se < 0.1 * exact);
        }
    }

    [Fact]
    public void Tanh_teacher_matches_an_independent_recurrence()
    {
        var teacher = new TanhRnnTeacher<double>(2, 5, 3, 12, recurrentGain: 1.2, teacherSeed: 42, dataSeed: 9);
        var (x, y) = teacher.CreateBatch(4, 2);
        var w = teacher.W.ToArray(); var u = teacher.U.ToArray(); var c = teacher.C.ToArray();
        for (int b = 0; b < 2; b++)
        {
            var h = new double[5];
            for (int t = 0; t < 12; t++)
            {
                var nh = new double[5];
                for (int i = 0; i < 5; i++)
                {
                    double s = u[i * 2] * x[b, t, 0] + u[i * 2 + 1] * x[b, t, 1];
                    for (int j = 0; j < 5; j++) s += w[i * 5 + j] * h[j];
                    nh[i] = Math.Tanh(s);
                }
                h = nh;
                for (int r = 0; r < 3; r++)
                {
                    double o = 0;
                    for (int j = 0; j < 5; j++) o += c[r * 5 + j] * h[j];
                    Assert.Equal(o, y[b, t, r], 1e-13);
                }
            }
        }
        // the teacher's weights depend only on its seed; the data on the data seed and step
        var same = new TanhRnnTeacher<double>(2, 5, 3, 12, recurrentGain: 1.2, teacherSeed: 42, dataSeed: 10);
        Assert.Equal(w, same.W.ToArray());
        Assert.NotEqual(x.Data, same.CreateBatch(4, 2).Inputs.Data);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TanhRnnTeacher<double>(0, 5, 1, 10));
    }
}
