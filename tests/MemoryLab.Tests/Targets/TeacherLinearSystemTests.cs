using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Tests.Targets;

public class TeacherLinearSystemTests
{
    // The teacher's targets against the T-step Toeplitz product of its kernel K_s = C A^s B (+ D at s = 0) and against the plain
    // float64 recurrence h_t = A h_{t−1} + B x_t, y_t = C h_t + D x_t: the chunked state-space path agrees with both to rounding,
    // at lengths shorter than a chunk, a multiple of it and not, and with several input and output channels.
    [Theory]
    [InlineData(10, 1, 1, 300, 5)]
    [InlineData(10, 1, 1, 7, 3)]
    [InlineData(10, 1, 1, 44, 2)]
    [InlineData(5, 2, 3, 57, 4)]
    [InlineData(3, 1, 2, 1, 2)]
    public void Targets_agree_with_the_toeplitz_product_and_the_recurrence_in_float64(int n, int din, int dout, int time, int batch)
    {
        var options = new TeacherOptions { StateSize = n, InputSize = din, OutputSize = dout, Nu0 = 0.9 };
        var teacher = new TeacherLinearSystem<double>(options, dataSeed: 11, time: time);
        var x = new SequenceTensor<double>(batch, time, din);
        var y = new SequenceTensor<double>(batch, time, dout);
        teacher.FillBatch(3, x, y);

        var layer = (DenseLinearRecurrence<double>)teacher.Model.Root;
        using var pool = new WorkerPool(1);
        layer.Prepare(batch, time, pool);
        var conv = new ToeplitzConvolution<double>(din, dout);
        conv.Prepare(batch, time, pool);
        var toeplitz = new SequenceTensor<double>(batch, time, dout);
        conv.Forward(layer.ConvolutionKernel(teacher.Model.Theta), x, toeplitz);

        var layout = teacher.Model.Layout;
        double[] a = layout["A"].Of(teacher.Model.Theta).ToArray(), b = layout["B"].Of(teacher.Model.Theta).ToArray();
        double[] c = layout["C"].Of(teacher.Model.Theta).ToArray(), d = layout["D"].Of(teacher.Model.Theta).ToArray();
        var recurrence = new SequenceTensor<double>(batch, time, dout);
        for (int s = 0; s < batch; s++)
        {
            var h = new double[n];
            for (int t = 0; t < time; t++)
            {
                var next = new double[n];
                for (int i = 0; i < n; i++)
                {
                    double v = 0;
                    for (int j = 0; j < n; j++) v += a[i * n + j] * h[j];
                    for (int j = 0; j < din; j++) v += b[i * din + j] * x[s, t, j];
                    next[i] = v;
                }
                h = next;
                for (int o = 0; o < dout; o++)
                {
                    double v = 0;
                    for (int i = 0; i < n; i++) v += c[o * n + i] * h[i];
                    for (int j = 0; j < din; j++) v += d[o * din + j] * x[s, t, j];
                    recurrence[s, t, o] = v;
                }
            }
        }
        double scale = recurrence.Data.Max(Math.Abs);
        Assert.True(scale > 0.1, $"targets of size {scale}");
        for (int i = 0; i < y.Data.Length; i++)
        {
            Assert.True(Math.Abs(y.Data[i] - toeplitz.Data[i]) <= 1e-12 * scale, $"entry {i}: chunked {y.Data[i]}, Toeplitz {toeplitz.Data[i]}");
            Assert.True(Math.Abs(y.Data[i] - recurrence.Data[i]) <= 1e-12 * scale, $"entry {i}: chunked {y.Data[i]}, recurrence {recurrence.Data[i]}");
        }
    }

    // float32 targets follow the float64 ones to float32 rounding, and are a pure function of (seed, step): the same bits again,
    // and the first sequences of a batch of 16 are bit for bit those of a batch of 128 (each sequence's bits depend on it alone).
    [Fact]
    public void Float32_targets_are_accurate_and_deterministic()
    {
        var options = new TeacherOptions { Nu0 = 0.99, Theta0 = 3.14 };
        var t32 = new TeacherLinearSystem<float>(options, dataSeed: 5, time: 300);
        var t64 = new TeacherLinearSystem<double>(options, dataSeed: 5, time: 300);
        var x = new SequenceTensor<float>(128, 300, 1);
        var y = new SequenceTensor<float>(128, 300, 1);
        t32.FillBatch(9, x, y);
        var x64 = new SequenceTensor<double>(128, 300, 1);
        var y64 = new SequenceTensor<double>(128, 300, 1);
        t64.FillBatch(9, x64, y64);
        double scale = y64.Data.Max(Math.Abs), worst = 0;
        for (int i = 0; i < y.Data.Length; i++)
        {
            // The double teacher's inputs are the float draws widened, so the two compute the same function.
            Assert.Equal(x.Data[i], (float)x64.Data[i]);
            worst = Math.Max(worst, Math.Abs(y.Data[i] - y64.Data[i]));
        }
        Assert.True(worst <= 1e-5 * scale, $"float32 targets differ from float64 by {worst} (scale {scale})");

        var again = new SequenceTensor<float>(128, 300, 1);
        new TeacherLinearSystem<float>(options, dataSeed: 5, time: 300).FillBatch(9, new SequenceTensor<float>(128, 300, 1), again);
        Assert.Equal(y.Data, again.Data);
        var small = new SequenceTensor<float>(16, 300, 1);
        t32.FillBatch(9, new SequenceTensor<float>(16, 300, 1), small);
        Assert.Equal(y.Data.AsSpan(0, small.Data.Length).ToArray(), small.Data);
    }

    // The targets' bits, recorded before the chunk loop's copies were rewritten (inputs, outputs and the carried state move between
    // the work rows and the tensors; the GEMM and its operands are unchanged): the teacher–student shape (1 → 1 channel) and a
    // multi-channel one (2 → 3), float32 and float64, at a length that ends in a partial chunk.
    [Theory]
    [InlineData(10, 1, 1, 300, 128, false, "B43029F35D38D7F9")]
    [InlineData(5, 2, 3, 57, 4, false, "A2930CF00DF3DDFD")]
    [InlineData(10, 1, 1, 300, 16, true, "02D6655ADDD03B73")]
    public void Target_bits_are_pinned(int n, int din, int dout, int time, int batch, bool float64, string hash)
    {
        var options = new TeacherOptions { StateSize = n, InputSize = din, OutputSize = dout, Nu0 = 0.99, Theta0 = 3.14 };
        byte[] bytes;
        if (float64)
        {
            var y = new SequenceTensor<double>(batch, time, dout);
            new TeacherLinearSystem<double>(options, dataSeed: 7, time: time).FillBatch(4, new SequenceTensor<double>(batch, time, din), y);
            bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.Data.AsSpan()).ToArray();
        }
        else
        {
            var y = new SequenceTensor<float>(batch, time, dout);
            new TeacherLinearSystem<float>(options, dataSeed: 7, time: time).FillBatch(4, new SequenceTensor<float>(batch, time, din), y);
            bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.Data.AsSpan()).ToArray();
        }
        Assert.Equal(hash, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16]);
    }

    // The fused path (AVX-512 machines, output rows of two vectors) computes every output as the GEMM's FMA chain: the same bits
    // as the GEMM path at whole and partial chunks, sequences shorter than a chunk, and batches that are not a multiple of its
    // eight- and four-row tiles (13 = 8 + 4 + 1).
    [Theory]
    [InlineData(10, 300, 128)]
    [InlineData(10, 7, 5)]
    [InlineData(10, 44, 3)]
    [InlineData(16, 23, 6)]
    [InlineData(16, 300, 9)]
    [InlineData(10, 44, 13)]
    public void The_fused_chunk_path_gives_the_GEMM_paths_bits(int n, int time, int batch)
    {
        var random = new Random(n * 1000 + time);
        double[] a = new double[n * n], b = new double[n], c = new double[n], d = [0.3];
        for (int i = 0; i < n; i++) { b[i] = random.NextDouble() - 0.5; c[i] = random.NextDouble() - 0.5; }
        for (int i = 0; i < n * n; i++) a[i] = (random.NextDouble() - 0.5) * 0.3;
        var fused = new ChunkedStateSpace<float>(n, 1, 1, a, b, c, d);
        var plain = new ChunkedStateSpace<float>(n, 1, 1, a, b, c, d) { AllowFused = false };
        fused.Prepare(batch); plain.Prepare(batch);
        if (!fused.UsesFusedPath) return;   // not an AVX-512 machine: both are the GEMM path
        Assert.False(plain.UsesFusedPath);
        var x = new SequenceTensor<float>(batch, time, 1);
        new CounterRng(3, RandomPurpose.Data, (ulong)n).FillNormalVectorized<float>(x.Data);
        var y1 = new SequenceTensor<float>(batch, time, 1);
        var y2 = new SequenceTensor<float>(batch, time, 1);
        for (int call = 0; call < 2; call++)   // a second call starts again from the zero state
        {
            fused.Apply(x, y1);
            plain.Apply(x, y2);
            Assert.Equal(y2.Data, y1.Data);
        }
        Assert.Contains(y1.Data, v => v != 0);
    }
}
