using System.Numerics;
using System.Runtime.Intrinsics.X86;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Numerics;

public class GemmTests
{
    public static TheoryData<Transpose, Transpose> TransposeCombinations => new()
    {
        { Transpose.No, Transpose.No }, { Transpose.No, Transpose.Yes },
        { Transpose.Yes, Transpose.No }, { Transpose.Yes, Transpose.Yes },
    };

    // Odd sizes hit every row-tile count (1..6, and the 7..9 splits), ragged column panels, partial
    // transpose blocks, in-place and copied B panels; 300 and 600 span several k-blocks.
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (3, 7, 17), (7, 17, 3), (17, 33, 65), (33, 65, 7), (65, 16, 33), (130, 17, 5),
        (2, 130, 9), (8, 64, 64), (9, 31, 300), (13, 300, 19), (5, 24, 600), (32, 192, 64),
        // Narrow C (n < half a panel, m > n) is computed transposed.
        (40, 1, 65), (70, 5, 300), (19, 3, 7), (9, 7, 1),
    ];

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void Float_matches_reference_for_odd_shapes_and_padded_leading_dimensions(Transpose ta, Transpose tb)
    {
        foreach (var (m, n, k) in Shapes)
            CheckAgainstReference<float>(ta, tb, m, n, k, alpha: 0.7f, beta: 0.3f, padding: 3);
    }

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void Double_matches_reference_for_odd_shapes_and_padded_leading_dimensions(Transpose ta, Transpose tb)
    {
        foreach (var (m, n, k) in Shapes)
            CheckAgainstReference<double>(ta, tb, m, n, k, alpha: -1.3, beta: 0.3, padding: 5);
    }

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void Long_reductions_that_stream_from_memory_match_reference(Transpose ta, Transpose tb)
    {
        // (m + n)·k·8 bytes > 8 MiB: the path that prefetches the next k-block (weight-gradient shape).
        CheckAgainstReference<double>(ta, tb, 16, 17, 33000, alpha: 0.5, beta: 1.0, padding: 1);
    }

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void Alpha_and_beta_variants_match_reference(Transpose ta, Transpose tb)
    {
        foreach (var (alpha, beta) in new[] { (1.0, 0.0), (1.0, 1.0), (-0.5, 1.0), (2.0, -0.75), (0.25, 0.0) })
        {
            CheckAgainstReference<float>(ta, tb, 11, 37, 29, (float)alpha, (float)beta, padding: 0);
            CheckAgainstReference<double>(ta, tb, 11, 37, 29, alpha, beta, padding: 1);
        }
    }

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void Beta_zero_overwrites_NaN_in_C_and_leaves_row_padding_alone(Transpose ta, Transpose tb)
    {
        // A wide C (tiles stored directly and through the edge scratch) and a narrow one (stored transposed).
        foreach (var (m, n, k) in new[] { (7, 21, 13), (20, 3, 300) })
        {
            int ldc = n + 4;
            var (a, lda, b, ldb) = Operands<float>(ta, tb, m, n, k, padding: 2, seed: 5);
            var c = new float[m * ldc];
            Array.Fill(c, float.NaN);
            for (int i = 0; i < m; i++) for (int j = n; j < ldc; j++) c[i * ldc + j] = -999f;
            var expected = new float[m * ldc];
            Gemm.Reference(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, 0f, expected, ldc);
            Gemm.Multiply(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, 0f, c, ldc);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    Assert.True(float.IsFinite(c[i * ldc + j]), $"C[{i},{j}] = {c[i * ldc + j]}");
                    Assert.Equal(expected[i * ldc + j], c[i * ldc + j], 2e-3f);
                }
                for (int j = n; j < ldc; j++) Assert.Equal(-999f, c[i * ldc + j]);
            }
        }
    }

    [Fact]
    public void Zero_alpha_or_zero_depth_only_scales_C()
    {
        var c = new double[] { 1, 2, 3, 4, 5, 6 };
        var a = new double[] { double.NaN, 1, 1, 1, 1, 1 };
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 3, 2, 0.0, a, 2, a, 3, 0.5, c, 3);
        Assert.Equal(new double[] { 0.5, 1, 1.5, 2, 2.5, 3 }, c);
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 3, 0, 1.0, [], 0, [], 3, 0.0, c, 3);
        Assert.All(c, x => Assert.Equal(0.0, x));
    }

    [Fact]
    public void Portable_path_matches_reference()
    {
        foreach (var (ta, tb) in new[] { (Transpose.No, Transpose.No), (Transpose.No, Transpose.Yes), (Transpose.Yes, Transpose.No), (Transpose.Yes, Transpose.Yes) })
            foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 17, 33), (16, 9, 5) })
            {
                var (a, lda, b, ldb) = Operands<double>(ta, tb, m, n, k, padding: 1, seed: 9);
                int ldc = n + 2;
                var c = new double[m * ldc];
                new CounterRng(10, RandomPurpose.User).FillNormal<double>(c);
                var expected = (double[])c.Clone();
                Gemm.Reference(ta, tb, m, n, k, 0.9, a, lda, b, ldb, -0.4, expected, ldc);
                Gemm.MultiplyPortable(ta, tb, m, n, k, 0.9, a, lda, b, ldb, -0.4, c, ldc);
                for (int i = 0; i < c.Length; i++) Assert.Equal(expected[i], c[i], 1e-12);
            }
    }

    [Fact]
    public void Half_precision_takes_the_portable_path_and_matches_reference()
    {
        var (a, lda, b, ldb) = Operands<Half>(Transpose.No, Transpose.Yes, 3, 5, 4, padding: 0, seed: 12);
        var c = new Half[15];
        var expected = new Half[15];
        Gemm.Reference(Transpose.No, Transpose.Yes, 3, 5, 4, Half.One, a, lda, b, ldb, Half.Zero, expected, 5);
        Gemm.Multiply(Transpose.No, Transpose.Yes, 3, 5, 4, Half.One, a, lda, b, ldb, Half.Zero, c, 5);
        for (int i = 0; i < c.Length; i++) Assert.Equal((double)expected[i], (double)c[i], 0.05);
    }

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void Repeated_calls_and_other_threads_give_identical_bits(Transpose ta, Transpose tb)
    {
        const int m = 29, n = 45, k = 531;
        var (a, lda, b, ldb) = Operands<float>(ta, tb, m, n, k, padding: 1, seed: 21);
        var first = new float[m * n];
        Gemm.Multiply(ta, tb, m, n, k, 0.8f, a, lda, b, ldb, 0f, first, n);
        for (int rep = 0; rep < 3; rep++)
        {
            var again = new float[m * n];
            Gemm.Multiply(ta, tb, m, n, k, 0.8f, a, lda, b, ldb, 0f, again, n);
            Assert.Equal(first, again);
        }
        // Another thread has its own packing buffer; the result must not change.
        var other = new float[m * n];
        var thread = new Thread(() => Gemm.Multiply(ta, tb, m, n, k, 0.8f, a, lda, b, ldb, 0f, other, n));
        thread.Start();
        thread.Join();
        Assert.Equal(first, other);
    }

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void Each_element_is_independent_of_how_rows_and_columns_are_split(Transpose ta, Transpose tb)
    {
        // Callers split a batch into chunks whose sizes depend on the thread count; a row's bits must not.
        // m = 70 has enough row tiles that B panels are copied; the 1- and 7-row pieces read B in place;
        // the 1- and 4-column pieces are narrow and computed transposed.
        const int m = 70, n = 37, k = 300;
        var (a, lda, b, ldb) = Operands<double>(ta, tb, m, n, k, padding: 0, seed: 33);
        var whole = new double[m * n];
        Gemm.Multiply(ta, tb, m, n, k, 1.1, a, lda, b, ldb, 0.0, whole, n);
        var pieces = new double[m * n];
        (int Row0, int Rows, int Col0, int Cols)[] blocks = [(0, 1, 0, 37), (1, 7, 0, 20), (1, 7, 20, 17), (8, 62, 0, 1), (8, 62, 1, 4), (8, 62, 5, 32)];
        foreach (var (r0, rows, c0, cols) in blocks)
        {
            ReadOnlySpan<double> aRows = ta == Transpose.No ? a.AsSpan(r0 * lda) : a.AsSpan(r0);
            ReadOnlySpan<double> bCols = tb == Transpose.No ? b.AsSpan(c0) : b.AsSpan(c0 * ldb);
            Gemm.Multiply(ta, tb, rows, cols, k, 1.1, aRows, lda, bCols, ldb, 0.0, pieces.AsSpan(r0 * n + c0), n);
        }
        Assert.Equal(whole, pieces);
    }

    [Fact]
    public void Bits_do_not_depend_on_leading_dimensions()
    {
        // B rows a page apart are copied into panels, tight rows are read in place: same values, same bits.
        const int m = 7, n = 40, k = 150;
        var (a, lda, b, ldb) = Operands<double>(Transpose.No, Transpose.No, m, n, k, padding: 0, seed: 41);
        const int wideLd = 600; // 4800 bytes between rows of B
        var bWide = new double[k * wideLd];
        var aWide = new double[m * wideLd];
        for (int p = 0; p < k; p++) b.AsSpan(p * ldb, n).CopyTo(bWide.AsSpan(p * wideLd));
        for (int i = 0; i < m; i++) a.AsSpan(i * lda, k).CopyTo(aWide.AsSpan(i * wideLd));
        var tight = new double[m * n];
        var wide = new double[m * wideLd];
        Gemm.Multiply(Transpose.No, Transpose.No, m, n, k, 0.9, a, lda, b, ldb, 0.0, tight, n);
        Gemm.Multiply(Transpose.No, Transpose.No, m, n, k, 0.9, aWide, wideLd, bWide, wideLd, 0.0, wide, wideLd);
        for (int i = 0; i < m; i++)
            Assert.Equal(tight.AsSpan(i * n, n).ToArray(), wide.AsSpan(i * wideLd, n).ToArray());
        CheckAgainstReference<double>(Transpose.No, Transpose.No, m, n, k, 0.9, 0.0, padding: 600 - n);
    }

    [Fact]
    public void Steady_state_calls_allocate_nothing()
    {
        var (af, ldaf, bf, ldbf) = Operands<float>(Transpose.No, Transpose.Yes, 32, 70, 64, padding: 0, seed: 1);
        var (ad, ldad, bd, ldbd) = Operands<double>(Transpose.Yes, Transpose.No, 19, 33, 400, padding: 0, seed: 2);
        var cf = new float[32 * 70];
        var cd = new double[19 * 33];
        void Calls()
        {
            Gemm.Multiply(Transpose.No, Transpose.Yes, 32, 70, 64, 1f, af, ldaf, bf, ldbf, 0f, cf, 70);
            Gemm.Multiply(Transpose.Yes, Transpose.No, 19, 33, 400, 1.0, ad, ldad, bd, ldbd, 1.0, cd, 33);
        }
        Calls(); // first call per thread allocates the packing buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) Calls();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Bad_shapes_are_rejected_with_the_operand_named()
    {
        var x = new float[12];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 3, 4, 4, 1f, x, 3, x, 4, 0f, x, 4));
        Assert.Contains("leading dimension of A", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 3, 4, 4, 1f, x, 4, x, 4, 0f, x, 4));
        Assert.Contains("B needs 16 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, -1, 4, 4, 1f, x, 4, x, 4, 0f, x, 4));
        Assert.Contains("non-negative", e.Message);
    }

    [Theory, MemberData(nameof(TransposeCombinations))]
    public void A_Toeplitz_operand_gives_the_bits_of_its_materialised_matrix(Transpose ta, Transpose tb)
    {
        // Shifts 1 and 3 (one and three output channels of a convolution), shapes with partial panels, several k-blocks,
        // the narrow-C path and zeros on both sides of the generator (its unused ends are NaN: reading them would show).
        foreach (int shift in new[] { 1, 3 })
            foreach (var (m, n, k) in new[] { (32, 64, 300), (7, 17, 40), (40, 1, 65), (5, 130, 9), (19, 3, 260) })
            {
                int rows = tb == Transpose.No ? k : n, cols = tb == Transpose.No ? n : k;
                int origin = (rows - 1) * shift + 2, length = origin + cols + 2;
                var rng = new CounterRng((ulong)(m * 7919 + n * 31 + k + shift), RandomPurpose.User);
                var g = new double[length];
                rng.FillNormal<double>(g);
                for (int z = 0; z < length / 3; z++) g[z] = 0; // the zero-padded front of a causal kernel
                g[0] = g[1] = g[^1] = g[^2] = double.NaN;       // outside what B spans
                var b = new double[rows * cols];
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) b[r * cols + c] = g[origin + c - r * shift];
                int lda = ta == Transpose.No ? k : m;
                var a = new double[(ta == Transpose.No ? m : k) * lda];
                rng.FillNormal<double>(a);
                var c0 = new double[m * n];
                rng.FillNormal<double>(c0);
                var expected = (double[])c0.Clone();
                Gemm.Multiply(ta, tb, m, n, k, 0.7, a, lda, b, cols, 0.3, expected, n);
                foreach (int path in BlockedWidths.Prepend(0))
                {
                    var c = (double[])c0.Clone();
                    Gemm.MultiplyToeplitz(ta, tb, m, n, k, 0.7, a, lda, g, origin, shift, 0.3, c, n, path);
                    Assert.Equal(expected, c);
                }
                var portable = (double[])c0.Clone();
                var portableExpected = (double[])c0.Clone();
                Gemm.MultiplyPortable(ta, tb, m, n, k, 0.7, a, lda, b, cols, 0.3, portableExpected, n);
                Gemm.MultiplyToeplitz(ta, tb, m, n, k, 0.7, a, lda, g, origin, shift, 0.3, portable, n, vectorBits: -1);
                Assert.Equal(portableExpected, portable);
            }
    }

    [Fact]
    public void A_Toeplitz_generator_too_short_for_the_shape_is_rejected()
    {
        var g = new float[20];
        var a = new float[64];
        var c = new float[64];
        // 4 rows of 5 columns, each row starting 2 earlier: entries origin − 6 .. origin + 4.
        var e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyToeplitz(Transpose.No, Transpose.No, 2, 5, 4, 1f, a, 4, g, 5, 2, 0f, c, 5));
        Assert.Contains("generator of B needs entries -1..9", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyToeplitz(Transpose.No, Transpose.No, 2, 5, 4, 1f, a, 4, g, 16, 2, 0f, c, 5));
        Assert.Contains("needs entries 10..20, has 20", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyToeplitz(Transpose.No, Transpose.No, 2, 5, 4, 1f, a, 4, g, 8, 0, 0f, c, 5));
        Assert.Contains("shift must be positive", e.Message);
        Gemm.MultiplyToeplitz(Transpose.No, Transpose.No, 2, 5, 4, 1f, a, 4, g, 6, 2, 0f, c, 5); // entries 0..10 fit
    }

    /// <summary>Vector widths of the blocked kernel available here (none without AVX2/FMA).</summary>
    private static int[] BlockedWidths =>
        !(Avx2.IsSupported && Fma.IsSupported) ? [] : Gemm.WideKernel ? [256, 512] : [256];

    /// <summary>Random op(A) (m×k) and op(B) (k×n) stored with leading dimensions padded by <paramref name="padding"/>.</summary>
    private static (T[] A, int Lda, T[] B, int Ldb) Operands<T>(Transpose ta, Transpose tb, int m, int n, int k, int padding, ulong seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new CounterRng(seed, RandomPurpose.User);
        int lda = (ta == Transpose.No ? k : m) + padding, ldb = (tb == Transpose.No ? n : k) + padding;
        var a = new T[(ta == Transpose.No ? m : k) * lda];
        var b = new T[(tb == Transpose.No ? k : n) * ldb];
        rng.FillNormal<T>(a);
        rng.FillNormal<T>(b);
        return (a, lda, b, ldb);
    }

    /// <summary>Checks Multiply against the float64 reference within the worst-case rounding bound of a
    /// length-k dot product, (k + 4)·ε·(|α|·Σ_p |a_ip b_pj| + |β c_ij|), doubled to cover the reference's own rounding.</summary>
    private static void CheckAgainstReference<T>(Transpose ta, Transpose tb, int m, int n, int k, T alpha, T beta, int padding)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (a, lda, b, ldb) = Operands<T>(ta, tb, m, n, k, padding, seed: (ulong)(m * 1_000_003 + n * 1009 + k));
        int ldc = n + padding;
        var c = new T[m * ldc];
        new CounterRng(77, RandomPurpose.User).FillNormal<T>(c);
        var before = (T[])c.Clone();
        var expected = (T[])c.Clone();
        Gemm.Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        Gemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        // Every kernel width this CPU has must give the very same bits as the dispatched one.
        foreach (int bits in BlockedWidths)
        {
            var again = (T[])before.Clone();
            Gemm.MultiplyBlocked(bits, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, again, ldc);
            Assert.Equal(c, again);
        }
        double eps = 1 - double.CreateTruncating(T.BitDecrement(T.One)); // unit roundoff u (2⁻²⁴ float, 2⁻⁵³ double)
        double al = Math.Abs(double.CreateTruncating(alpha)), be = Math.Abs(double.CreateTruncating(beta));
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int idx = i * ldc + j;
                if (j >= n)
                {
                    Assert.Equal(before[idx], c[idx]); // row padding untouched
                    continue;
                }
                double magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    T av = ta == Transpose.No ? a[i * lda + p] : a[p * lda + i];
                    T bv = tb == Transpose.No ? b[p * ldb + j] : b[j * ldb + p];
                    magnitude += Math.Abs(double.CreateTruncating(av) * double.CreateTruncating(bv));
                }
                double bound = 2 * (k + 4) * eps * (al * magnitude + be * Math.Abs(double.CreateTruncating(before[idx])));
                double error = Math.Abs(double.CreateTruncating(c[idx]) - double.CreateTruncating(expected[idx]));
                Assert.True(error <= bound, $"{typeof(T).Name} {ta}{tb} m={m} n={n} k={k}: C[{i},{j}] off by {error:E2} > {bound:E2}");
            }
    }
}
