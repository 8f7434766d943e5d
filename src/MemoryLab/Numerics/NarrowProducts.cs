using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemoryLab.Numerics;

/// <summary>
/// Products with one inner dimension of 1 (a layer with a single input or output feature), which
/// <see cref="Gemm"/> handles through its general tiling at a fraction of the speed a plain vector loop reaches.
/// Each gives exactly the bits of the <see cref="Gemm.Multiply{T}"/> call it replaces, so a layer can switch
/// to it without changing any result (on FMA hardware, where the GEMM takes its blocked path).
/// </summary>
internal static class NarrowProducts
{
    /// <summary>C ← α·op(A)·op(B) + β·C as <see cref="Gemm.Multiply{T}"/>, taking the narrow product with the GEMM's bits where the
    /// shape is one of theirs: an inner dimension of 1 (<see cref="OuterProduct{T}"/>), one output column
    /// (<see cref="RowDots{T}"/>), or one output row from a transposed vector (<see cref="VectorTimesMatrix{T}"/>).</summary>
    public static void Multiply<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool overwrite = beta == T.Zero, accumulate = beta == T.One;
        if (k == 1 && transA == Transpose.No && lda == 1 && transB == Transpose.No && ldb == n && ldc == n && overwrite)
            OuterProduct(a, b[..n], alpha, c, m);
        else if (n == 1 && transA == Transpose.No && lda == k && (transB == Transpose.Yes ? ldb == k : ldb == 1) && ldc == 1 && (overwrite || accumulate))
            RowDots(a, b[..k], alpha, accumulate, c, m);
        else if (m == 1 && transA == Transpose.Yes && lda == 1 && transB == Transpose.No && ldb == n && ldc == n && overwrite)
            VectorTimesMatrix(a, b, alpha, c[..n], k);
        else
            Gemm.Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>dest[r, j] = α·(x[r]·b[j]) for <paramref name="rows"/> rows of width b.Length (row stride b.Length):
    /// <c>Gemm.Multiply(No, No, rows, n, 1, α, x, 1, b, n, 0, dest, n)</c>. The GEMM forms each entry as
    /// α·fma(x, b, +0) (which differs from α·(x·b) in the sign of some zeros), and so does this loop.</summary>
    public static void OuterProduct<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, T alpha, Span<T> dest, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = b.Length;
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "row count must be non-negative");
        if (x.Length < rows || dest.Length < (long)rows * n)
            throw new ArgumentException($"outer product of {rows} rows × {n} needs x ≥ {rows} and dest ≥ {(long)rows * n} entries (got {x.Length}, {dest.Length})");
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < n; j++) dest[r * n + j] = alpha * T.FusedMultiplyAdd(x[r], b[j], T.Zero);
            return;
        }
        var outer = new Outer<T>(x, b, alpha, dest, rows);
        Lanes.ForEach<Outer<T>, T>(ref outer, n);
    }

    // Columns from … to − 1 of the outer product: α·fma(x_r, b_j, +0) lane by lane (the vector FMA and the scalar one round alike).
    private readonly ref struct Outer<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, T alpha, Span<T> dest, int rows) : ILaneKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<T> _x = x, _b = b;
        private readonly Span<T> _dest = dest;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            ref T rb = ref MemoryMarshal.GetReference(_b);
            TV va = TS.Splat(alpha);
            for (int r = 0; r < rows; r++)
            {
                TV vx = TS.Splat(_x[r]);
                ref T row = ref Unsafe.Add(ref MemoryMarshal.GetReference(_dest), r * _b.Length);
                for (nuint j = from; j < to; j += (nuint)TS.Count)
                    TS.Store(TS.Mul(va, TS.Fma(vx, TS.Load(ref rb, j), TS.Zero)), ref row, j);
            }
        }
    }

    /// <summary>y[r] = α·Σ_p a[r, p]·b[p] (+ y[r] when <paramref name="accumulate"/>) for <paramref name="rows"/> rows of
    /// width k = b.Length stored contiguously: <c>Gemm.Multiply(No, Yes, rows, 1, k, α, a, k, b, k, β, y, 1)</c> with
    /// β = 1 or 0. Same bits as the GEMM: per row one FMA chain over p from +0 within k-blocks of
    /// <see cref="Gemm.KBlock"/>, each block merged as α·s (first block, β = 0) or fma(α, s, y). Vectorised over
    /// rows (a tile of rows is transposed first), where the GEMM would pack a 1-row panel per column block.</summary>
    public static void RowDots<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, T alpha, bool accumulate, Span<T> y, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = b.Length;
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "row count must be non-negative");
        if (a.Length < (long)rows * k || y.Length < rows)
            throw new ArgumentException($"row dots of {rows} rows × {k} need a ≥ {(long)rows * k} and y ≥ {rows} entries (got {a.Length}, {y.Length})");
        int w = Vector<T>.Count;
        Span<T> tile = stackalloc T[Gemm.KBlock * w];
        int r0 = 0;
        for (; r0 + w <= rows; r0 += w)
        {
            var yv = accumulate ? Vector.LoadUnsafe(ref MemoryMarshal.GetReference(y), (nuint)r0) : Vector<T>.Zero;
            for (int pc = 0; pc < k; pc += Gemm.KBlock)
            {
                int kc = Math.Min(Gemm.KBlock, k - pc);
                for (int i = 0; i < w; i++)
                {
                    var row = a.Slice((r0 + i) * k + pc, kc);
                    for (int p = 0; p < kc; p++) tile[p * w + i] = row[p];
                }
                var acc = Vector<T>.Zero;
                ref T rt = ref MemoryMarshal.GetReference(tile);
                for (int p = 0; p < kc; p++)
                    acc = FusedMultiplyAdd(new Vector<T>(b[pc + p]), Vector.LoadUnsafe(ref rt, (nuint)(p * w)), acc);
                var va = new Vector<T>(alpha);
                yv = pc == 0 && !accumulate ? va * acc : FusedMultiplyAdd(va, acc, yv);
            }
            yv.StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)r0);
        }
        for (; r0 < rows; r0++)
        {
            var row = a.Slice(r0 * k, k);
            T yr = accumulate ? y[r0] : T.Zero;
            for (int pc = 0; pc < k; pc += Gemm.KBlock)
            {
                int kc = Math.Min(Gemm.KBlock, k - pc);
                T acc = T.Zero;
                for (int p = 0; p < kc; p++) acc = T.FusedMultiplyAdd(b[pc + p], row[pc + p], acc);
                yr = pc == 0 && !accumulate ? alpha * acc : T.FusedMultiplyAdd(alpha, acc, yr);
            }
            y[r0] = yr;
        }
    }

    /// <summary>dest[j] = α·Σ_r x[r]·g[r, j] for a [rows × n] matrix g (n = dest.Length) stored contiguously:
    /// <c>Gemm.Multiply(Yes, No, 1, n, rows, α, x, 1, g, n, 0, dest, n)</c> (a weight gradient of a one-feature side).
    /// Same bits as the GEMM: per column one FMA chain over r from +0 within k-blocks of <see cref="Gemm.KBlock"/>,
    /// the first block stored as α·s and later ones merged as fma(α, s, dest).</summary>
    public static void VectorTimesMatrix<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> g, T alpha, Span<T> dest, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dest.Length;
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "row count must be non-negative");
        if (x.Length < rows || g.Length < (long)rows * n)
            throw new ArgumentException($"vector × matrix over {rows} rows × {n} needs x ≥ {rows} and g ≥ {(long)rows * n} entries (got {x.Length}, {g.Length})");
        if (rows == 0) { dest.Clear(); return; }
        int w = Vector<T>.Count, vectorEnd = n - n % w;
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rd = ref MemoryMarshal.GetReference(dest);
        var va = new Vector<T>(alpha);
        for (int j = 0; j < vectorEnd; j += w)
            for (int pc = 0; pc < rows; pc += Gemm.KBlock)
            {
                int kc = Math.Min(Gemm.KBlock, rows - pc);
                var acc = Vector<T>.Zero;
                for (int p = pc; p < pc + kc; p++)
                    acc = FusedMultiplyAdd(new Vector<T>(x[p]), Vector.LoadUnsafe(ref rg, (nuint)((long)p * n + j)), acc);
                var d = pc == 0 ? va * acc : FusedMultiplyAdd(va, acc, Vector.LoadUnsafe(ref rd, (nuint)j));
                d.StoreUnsafe(ref rd, (nuint)j);
            }
        for (int j = vectorEnd; j < n; j++)
            for (int pc = 0; pc < rows; pc += Gemm.KBlock)
            {
                int kc = Math.Min(Gemm.KBlock, rows - pc);
                T acc = T.Zero;
                for (int p = pc; p < pc + kc; p++) acc = T.FusedMultiplyAdd(x[p], g[p * n + j], acc);
                dest[j] = pc == 0 ? alpha * acc : T.FusedMultiplyAdd(alpha, acc, dest[j]);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> FusedMultiplyAdd<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        Span<T> r = stackalloc T[Vector<T>.Count];
        for (int i = 0; i < r.Length; i++) r[i] = T.FusedMultiplyAdd(a[i], b[i], c[i]);
        return new Vector<T>(r);
    }
}
