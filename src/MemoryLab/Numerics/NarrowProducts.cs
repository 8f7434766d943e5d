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
        var dots = new Dots<T>(a, b, alpha, accumulate, y);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) dots.Run<Simd1<T>, T>(0, (nuint)rows);
        else Lanes.ForEach<Dots<T>, T>(ref dots, rows);
    }

    // Rows from … to − 1 of the row dots, TS.Count rows a block, one lane a row: the same FMA chain in every lane
    // (the vector FMA and the scalar one round alike), so a row's bits do not depend on which width computed it.
    private readonly ref struct Dots<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, T alpha, bool accumulate, Span<T> y) : ILaneKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<T> _a = a, _b = b;
        private readonly Span<T> _y = y;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            int k = _b.Length, w = TS.Count;
            // A block of w rows is read through a tile holding its k-block transposed (entry p of lane i at p·w + i);
            // one lane reads its row in place (the same layout at w = 1).
            Span<T> tile = w == 1 ? default : stackalloc T[Gemm.KBlock * w];
            ref T rtile = ref MemoryMarshal.GetReference(tile);
            ref T ra = ref MemoryMarshal.GetReference(_a);
            ref T rb = ref MemoryMarshal.GetReference(_b);
            ref T ry = ref MemoryMarshal.GetReference(_y);
            TV va = TS.Splat(alpha);
            for (nuint r0 = from; r0 < to; r0 += (nuint)w)
            {
                TV yv = accumulate ? TS.Load(ref ry, r0) : TS.Zero;
                for (int pc = 0; pc < k; pc += Gemm.KBlock)
                {
                    int kc = Math.Min(Gemm.KBlock, k - pc);
                    if (w > 1)
                        for (nint i = 0; i < w; i++)
                        {
                            ref T row = ref Unsafe.Add(ref ra, ((nint)r0 + i) * k + pc);
                            ref T column = ref Unsafe.Add(ref rtile, i);
                            for (nint p = 0; p < kc; p++) Unsafe.Add(ref column, p * w) = Unsafe.Add(ref row, p);
                        }
                    ref T rt = ref w == 1 ? ref Unsafe.Add(ref ra, (nint)r0 * k + pc) : ref rtile;
                    ref T bc = ref Unsafe.Add(ref rb, pc);
                    TV acc = TS.Zero;
                    for (nint p = 0; p < kc; p++)
                        acc = TS.Fma(TS.Splat(Unsafe.Add(ref bc, p)), TS.Load(ref rt, (nuint)(p * w)), acc);
                    yv = pc == 0 && !accumulate ? TS.Mul(va, acc) : TS.Fma(va, acc, yv);
                }
                TS.Store(yv, ref ry, r0);
            }
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
        var columns = new Columns<T>(x, g, alpha, dest, rows);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) columns.Run<Simd1<T>, T>(0, (nuint)n);
        else Lanes.ForEach<Columns<T>, T>(ref columns, n);
    }

    // Columns from … to − 1 of x·g, one lane a column: the same FMA chain over r in every lane (vector and scalar FMA
    // round alike), so a column's bits do not depend on which width computed it.
    private readonly ref struct Columns<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> g, T alpha, Span<T> dest, int rows) : ILaneKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<T> _x = x, _g = g;
        private readonly Span<T> _dest = dest;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            int n = _dest.Length;
            ref T rx = ref MemoryMarshal.GetReference(_x);
            ref T rg = ref MemoryMarshal.GetReference(_g);
            ref T rd = ref MemoryMarshal.GetReference(_dest);
            TV va = TS.Splat(alpha);
            nuint w = (nuint)TS.Count, j = from;
            // Four column blocks at once: four independent FMA chains hide the FMA's latency, which bounds one chain
            // over the rows; each chain is the one below, so the bits do not change.
            for (; w > 1 && j + 4 * w <= to; j += 4 * w)
                for (int pc = 0; pc < rows; pc += Gemm.KBlock)
                {
                    int kc = Math.Min(Gemm.KBlock, rows - pc);
                    TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
                    for (int p = pc; p < pc + kc; p++)
                    {
                        TV xp = TS.Splat(Unsafe.Add(ref rx, p));
                        ref T row = ref Unsafe.Add(ref rg, (nint)((long)p * n) + (nint)j);
                        a0 = TS.Fma(xp, TS.Load(ref row, 0), a0);
                        a1 = TS.Fma(xp, TS.Load(ref row, w), a1);
                        a2 = TS.Fma(xp, TS.Load(ref row, 2 * w), a2);
                        a3 = TS.Fma(xp, TS.Load(ref row, 3 * w), a3);
                    }
                    ref T d = ref Unsafe.Add(ref rd, (nint)j);
                    TS.Store(pc == 0 ? TS.Mul(va, a0) : TS.Fma(va, a0, TS.Load(ref d, 0)), ref d, 0);
                    TS.Store(pc == 0 ? TS.Mul(va, a1) : TS.Fma(va, a1, TS.Load(ref d, w)), ref d, w);
                    TS.Store(pc == 0 ? TS.Mul(va, a2) : TS.Fma(va, a2, TS.Load(ref d, 2 * w)), ref d, 2 * w);
                    TS.Store(pc == 0 ? TS.Mul(va, a3) : TS.Fma(va, a3, TS.Load(ref d, 3 * w)), ref d, 3 * w);
                }
            for (; j < to; j += w)
                for (int pc = 0; pc < rows; pc += Gemm.KBlock)
                {
                    int kc = Math.Min(Gemm.KBlock, rows - pc);
                    TV acc = TS.Zero;
                    for (int p = pc; p < pc + kc; p++)
                        acc = TS.Fma(TS.Splat(Unsafe.Add(ref rx, p)), TS.Load(ref rg, (nuint)((long)p * n) + j), acc);
                    TS.Store(pc == 0 ? TS.Mul(va, acc) : TS.Fma(va, acc, TS.Load(ref rd, j)), ref rd, j);
                }
        }
    }
}
