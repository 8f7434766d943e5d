using MemoryLab.Numerics;

namespace MemoryLab.Tests.Numerics;

public class CoreNumericsTests
{
    [Fact]
    public void Philox_matches_the_Random123_known_answer()
    {
        // Random123 kat_vectors: philox4x32_10, counter 0, key 0.
        var (a, b, c, d) = CounterRng.Philox4x32(0, 0, 0, 0, 0, 0);
        Assert.Equal((0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u), (a, b, c, d));
        // counter all ones, key all ones.
        var r = CounterRng.Philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);
        Assert.Equal((0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu), r);
    }

    [Fact]
    public void Streams_of_different_purpose_differ_and_seek_reproduces()
    {
        var a = new CounterRng(1, RandomPurpose.Init);
        var b = new CounterRng(1, RandomPurpose.Data);
        Assert.NotEqual(a.NextUInt64(), b.NextUInt64());
        var c = new CounterRng(5, RandomPurpose.Data, 3);
        var first = Enumerable.Range(0, 10).Select(_ => c.NextUInt32()).ToArray();
        c.Seek(1);
        Assert.Equal(first[4], c.NextUInt32());
    }

    [Fact]
    public void Normal_draws_have_unit_moments()
    {
        var rng = new CounterRng(11, RandomPurpose.MonteCarlo);
        const int n = 200_000;
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) { double z = rng.NextNormal(); s += z; s2 += z * z; }
        Assert.InRange(s / n, -4 / Math.Sqrt(n), 4 / Math.Sqrt(n));
        Assert.InRange(s2 / n, 1 - 4 * Math.Sqrt(2.0 / n), 1 + 4 * Math.Sqrt(2.0 / n));
    }

    private sealed class SquareChunks(double[] output) : IChunkBody
    {
        public void Execute(int chunk) => output[chunk] = chunk * (double)chunk;
    }

    [Fact]
    public void Vectorized_normals_have_normal_moments_and_a_reproducible_prefix()
    {
        var z = new float[1 << 20];
        new CounterRng(7, RandomPurpose.Data, 3).FillNormalVectorized<float>(z);
        double m1 = 0, m2 = 0, m3 = 0, m4 = 0, tail = 0;
        foreach (float v in z) { m1 += v; m2 += v * (double)v; m3 += v * (double)v * v; m4 += (v * (double)v) * (v * (double)v); if (Math.Abs(v) > 3) tail++; }
        double n = z.Length;
        // Standard errors at n = 2^20: E z 0.001, E z² 0.0014, E z³ 0.0038, E z⁴ 0.0096 (√(Var zᵏ / n)); the bands are 5 of them.
        Assert.InRange(m1 / n, -0.005, 0.005);
        Assert.InRange(m2 / n, 0.993, 1.007);
        Assert.InRange(m3 / n, -0.019, 0.019);
        Assert.InRange(m4 / n, 2.952, 3.048);
        Assert.InRange(tail / n, 0.0027 * 0.9, 0.0027 * 1.1);   // P(|z| > 3) = 0.0027
        Assert.All(z, v => Assert.True(float.IsFinite(v) && Math.Abs(v) < 6));
        // A pure function of the stream: a shorter fill (with a partial last chunk) is a prefix of a longer one.
        var shorter = new float[300];
        new CounterRng(7, RandomPurpose.Data, 3).FillNormalVectorized<float>(shorter);
        Assert.Equal(z.AsSpan(0, 300).ToArray(), shorter);
        var other = new float[300];
        new CounterRng(7, RandomPurpose.Data, 4).FillNormalVectorized<float>(other);
        Assert.NotEqual(shorter, other);
        // Box–Muller's two normals of a pair (entries i and 128 + i of a chunk: r·cos and r·sin of one angle) are independent:
        // E[z z'] = 0 and E[z² z'²] = 1 (standard errors 0.0014 and 0.0039 at 2^19 pairs).
        double cross = 0, cross2 = 0, count = 0;
        for (int c = 0; c < z.Length; c += CounterRng.VectorizedChunk)
            for (int i = 0; i < CounterRng.VectorizedChunk / 2; i++)
            {
                double u = z[c + i], v = z[c + CounterRng.VectorizedChunk / 2 + i];
                cross += u * v; cross2 += u * u * v * v; count++;
            }
        Assert.InRange(cross / count, -0.007, 0.007);
        Assert.InRange(cross2 / count, 0.98, 1.02);
        // Each quadrant of the angle is drawn equally often: the signs of (cos, sin) fall in the four quadrants with probability ¼ each.
        var quadrants = new double[4];
        for (int c = 0; c < z.Length; c += CounterRng.VectorizedChunk)
            for (int i = 0; i < CounterRng.VectorizedChunk / 2; i++)
                quadrants[(z[c + i] >= 0 ? 0 : 1) + (z[c + CounterRng.VectorizedChunk / 2 + i] >= 0 ? 0 : 2)]++;
        Assert.All(quadrants, k => Assert.InRange(k / count, 0.25 - 0.003, 0.25 + 0.003));
    }

    [Fact]
    public void Vectorized_normals_are_the_exact_Box_Muller_transform_of_their_uniforms_to_float_accuracy()
    {
        // The polynomial logarithm, sine and cosine against float64 libm on the same uniforms: every pair of 4,096 chunks.
        var rng = new CounterRng(11, RandomPurpose.Data, 2);
        var z = new float[4096 * CounterRng.VectorizedChunk];
        rng.FillNormalVectorized<float>(z);
        var uniforms = new CounterRng(11, RandomPurpose.Data, 2);
        const int Pairs = CounterRng.VectorizedChunk / 2;
        float[] u1 = new float[Pairs], a = new float[Pairs];
        int[] q = new int[Pairs];
        double worst = 0;
        for (int chunk = 0; chunk < 4096; chunk++)
        {
            for (int g = 0; g < 64; g += 8) uniforms.UniformPairsScalar((ulong)(chunk * 64 + g), u1, a, q, g);
            for (int i = 0; i < Pairs; i++)
            {
                double r = Math.Sqrt(-2 * Math.Log(u1[i])), theta = a[i] + q[i] * Math.PI / 2;
                double c = r * Math.Cos(theta), s = r * Math.Sin(theta);
                // float32 rounding of r, cos and sin and their product: a few ulp of r, at least 2⁻²³·r.
                double tolerance = 6 * r * Math.Pow(2, -24) + 1e-7;
                worst = Math.Max(worst, Math.Max(Math.Abs(z[chunk * CounterRng.VectorizedChunk + i] - c), Math.Abs(z[chunk * CounterRng.VectorizedChunk + Pairs + i] - s)) / tolerance);
            }
        }
        Assert.True(worst <= 1, $"worst error {worst:F3} of the tolerance");
        // The smallest and largest u₁ (2⁻²⁴ and 1 − 2⁻²⁴) and the ends of the reduced angle go through the same path.
        float[] radius = [MathF.Pow(2, -24), 1 - MathF.Pow(2, -24), 0.5f, 1e-3f, 0.999f, 0.7071f, 0.7072f, 0.25f];
        float[] angle = [-MathF.PI / 4, MathF.PI / 4 * (1 - 1e-7f), 0, 1e-4f, -0.3f, 0.5f, 0.7f, -0.7f];
        int[] quarter = [0, 1, 2, 3, 0, 1, 2, 3];
        var values = new float[16];
        CounterRng.BoxMuller(radius, angle, quarter, values);
        for (int i = 0; i < 8; i++)
        {
            double r = Math.Sqrt(-2 * Math.Log(radius[i])), th = angle[i] + quarter[i] * Math.PI / 2;
            double tolerance = 6 * r * Math.Pow(2, -24) + 1e-7;
            Assert.True(Math.Abs(values[i] - r * Math.Cos(th)) <= tolerance, $"cos case {i}: {values[i]} vs {r * Math.Cos(th)}");
            Assert.True(Math.Abs(values[8 + i] - r * Math.Sin(th)) <= tolerance, $"sin case {i}: {values[8 + i]} vs {r * Math.Sin(th)}");
        }
    }

    [Fact]
    public void Vectorized_Philox_matches_the_scalar_one()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;   // nothing to compare on this CPU
        // Positions straddling 2³² exercise the carry into the counter's second word.
        foreach (ulong position in new ulong[] { 0, 5, 0xFFFFFFFCUL, 1UL << 40 })
        {
            var rng = new CounterRng(3, RandomPurpose.Data, 0x1234_5678_9ABCUL);
            float[] r1 = new float[128], a1 = new float[128], r2 = new float[128], a2 = new float[128];
            int[] q1 = new int[128], q2 = new int[128];
            rng.UniformPairsScalar(position, r1, a1, q1, 8);
            rng.UniformPairsAvx2(position, r2, a2, q2, 8);
            Assert.Equal(r1, r2);
            Assert.Equal(a1, a2);
            Assert.Equal(q1, q2);
            Assert.Contains(r1, v => v != 0);
            // The angle is reduced to a quarter turn and a rest in [−π/4, π/4).
            Assert.All(a1, a => Assert.InRange(a, -MathF.PI / 4, MathF.PI / 4));
            Assert.All(q1, q => Assert.InRange(q, 0, 3));
        }
    }

    [Fact]
    public void AVX512_Philox_matches_the_scalar_one()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;   // nothing to compare on this CPU
        // Positions straddling 2³² (inside the chunk's 64 blocks) exercise the carry into the counter's second word.
        foreach (ulong position in new ulong[] { 0, 5, 0xFFFFFFC8UL, 0xFFFFFFFCUL, 1UL << 40 })
        {
            var rng = new CounterRng(3, RandomPurpose.Data, 0x1234_5678_9ABCUL);
            float[] r1 = new float[128], a1 = new float[128], r2 = new float[128], a2 = new float[128];
            int[] q1 = new int[128], q2 = new int[128];
            for (int g = 0; g < 64; g += 8) rng.UniformPairsScalar(position + (ulong)g, r1, a1, q1, g);
            rng.UniformChunkAvx512(position, r2, a2, q2);
            Assert.Equal(r1, r2);
            Assert.Equal(a1, a2);
            Assert.Equal(q1, q2);
            Assert.All(r2, v => Assert.NotEqual(0f, v));
        }
    }

    [Fact]
    public void Vectorized_normals_are_the_same_bits_on_every_vector_width()
    {
        // FillNormalVectorized takes the widest path this CPU has (AVX-512, AVX2 or scalar Philox; 16- or 8-lane Box–Muller); the
        // reference here is the scalar Philox and the 8-lane transform. Every lane runs the same IEEE operations, so the bits agree.
        var z = new float[300 * CounterRng.VectorizedChunk];
        new CounterRng(5, RandomPurpose.Data, 9).FillNormalVectorized<float>(z);
        var reference = new CounterRng(5, RandomPurpose.Data, 9);
        const int Pairs = CounterRng.VectorizedChunk / 2;
        float[] radius = new float[Pairs], angle = new float[Pairs], values = new float[CounterRng.VectorizedChunk], wide = new float[CounterRng.VectorizedChunk];
        int[] quarter = new int[Pairs];
        for (int chunk = 0; chunk < 300; chunk++)
        {
            for (int g = 0; g < 64; g += 8) reference.UniformPairsScalar((ulong)(chunk * 64 + g), radius, angle, quarter, g);
            CounterRng.BoxMuller(radius, angle, quarter, values);
            Assert.Equal(values, z.AsSpan(chunk * CounterRng.VectorizedChunk, CounterRng.VectorizedChunk).ToArray());
            CounterRng.BoxMuller512(radius, angle, quarter, wide);
            Assert.Equal(values, wide);
        }
    }

    [Fact]
    public void Worker_pool_runs_every_chunk_once()
    {
        using var pool = new WorkerPool(3);
        var output = new double[1000];
        for (int rep = 0; rep < 20; rep++)
        {
            Array.Clear(output);
            pool.Run(new SquareChunks(output), output.Length);
            for (int i = 0; i < output.Length; i++) Assert.Equal(i * (double)i, output[i]);
        }
    }

    [Theory]
    [InlineData(Transpose.No, Transpose.No)]
    [InlineData(Transpose.Yes, Transpose.No)]
    [InlineData(Transpose.No, Transpose.Yes)]
    [InlineData(Transpose.Yes, Transpose.Yes)]
    public void Gemm_matches_reference(Transpose ta, Transpose tb)
    {
        var rng = new CounterRng(3, RandomPurpose.User);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 13, 5), (33, 17, 64), (64, 64, 64) })
        {
            int lda = (ta == Transpose.No ? k : m) + 2, ldb = (tb == Transpose.No ? n : k) + 1, ldc = n + 3;
            var a = new double[(ta == Transpose.No ? m : k) * lda];
            var b = new double[(tb == Transpose.No ? k : n) * ldb];
            var c = new double[m * ldc];
            rng.FillNormal<double>(a); rng.FillNormal<double>(b); rng.FillNormal<double>(c);
            var expected = (double[])c.Clone();
            Gemm.Reference(ta, tb, m, n, k, 0.7, a, lda, b, ldb, 0.3, expected, ldc);
            Gemm.Multiply(ta, tb, m, n, k, 0.7, a, lda, b, ldb, 0.3, c, ldc);
            for (int i = 0; i < c.Length; i++) Assert.Equal(expected[i], c[i], 1e-10);
        }
    }

    [Fact]
    public void Gradient_check_catches_a_wrong_gradient()
    {
        var right = new DelegateObjective<double>(2, (t, g) => { g[0] = 2 * t[0]; g[1] = Math.Cos(t[1]); return t[0] * t[0] + Math.Sin(t[1]); });
        var wrong = new DelegateObjective<double>(2, (t, g) => { g[0] = 2 * t[0]; g[1] = 1.01 * Math.Cos(t[1]); return t[0] * t[0] + Math.Sin(t[1]); });
        Assert.True(GradientCheck.Check(right, [0.3, 0.4]).MaxRelativeError < 1e-9);
        Assert.True(GradientCheck.Check(wrong, [0.3, 0.4]).MaxRelativeError > 1e-3);
    }
}
