using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MemoryLab.Numerics;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>Use the matrix as stored.</summary>
    No,
    /// <summary>Use its transpose.</summary>
    Yes,
}

/// <summary>
/// Single-threaded general matrix multiply on row-major storage:
/// <c>C ← α·op(A)·op(B) + β·C</c>, op(A) is m×k, op(B) is k×n, C is m×n, with leading dimensions
/// (row strides) lda, ldb, ldc. Layers parallelise over batch chunks and call this inside a chunk.
/// When β = 0, C is not read (NaNs in it are overwritten).
/// </summary>
/// <remarks>
/// float and double run a register-blocked micro-kernel (BLIS-style, Goto &amp; van de Geijn 2008) on
/// AVX2 + FMA CPUs, with 512-bit vectors where the CPU runs them natively (AVX-512: Zen 4/5, recent
/// Xeons) and 256-bit otherwise; other types and CPUs take a portable <see cref="Vector{T}"/> path.
/// On the blocked path every element of C is one FMA chain over p in order within k-blocks of
/// <see cref="KBlock"/>, the blocks added onto C in order, so its bits depend only on k — not on threads,
/// timing, m, n, how a caller splits rows or columns into calls, or the vector width (the portable path
/// sums in another fixed order). A steady-state call allocates nothing: the packing buffer is
/// allocated once per thread.
/// </remarks>
internal static class Gemm
{
    /// <summary>Depth of one k-block: a panel of op(B) (KBlock × 2 vectors: 8 KiB of float at 256 bits,
    /// 16 KiB at 512) stays in L1 (32 KiB on Zen 3/4 and most Intel cores) with room for the A rows
    /// streaming past it. 128 and 256 measured alike on Zen 5; 128 is the safer choice for smaller L1s.</summary>
    internal const int KBlock = 128;

    /// <summary>Largest row tile of the micro-kernel: 6 rows × 2 vectors = 12 accumulators, enough
    /// independent FMA chains to cover latency × throughput (4 × 2) and, with 2 B vectors and 1
    /// broadcast, still within 16 vector registers.</summary>
    internal const int MaxTileRows = 6;

    /// <summary>op(B) = B is copied into a contiguous panel (instead of read in place) when at least this
    /// many row tiles reuse the panel: the copy then costs little next to the work, and a packed panel
    /// cannot suffer L1 set conflicts (rows of B 2ⁿ bytes apart all map to a few cache sets).</summary>
    private const int PackRowTiles = 8;

    /// <summary>op(B) = B is also copied when its rows are a page or more apart: read in place, every panel
    /// row would sit on its own page (TLB misses) and, at 4 KiB multiples, in the same L1 set.</summary>
    private const int PageBytes = 4096;

    /// <summary>A and B larger than this (bytes) are assumed to come from memory, not cache: the next
    /// k-block is then prefetched while the current one computes. Below it the prefetch instructions
    /// would only cost issue slots.</summary>
    private const long PrefetchThresholdBytes = 8L << 20;

    /// <summary>Whether <typeparamref name="T"/> has the blocked path on this CPU (float or double, AVX2 and FMA). A JIT-time
    /// constant for each struct <typeparamref name="T"/>, so the dispatch keeps one branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HasBlockedPath<T>() => (typeof(T) == typeof(float) || typeof(T) == typeof(double)) && Fma.IsSupported && Avx2.IsSupported;

    /// <summary>True when the blocked path uses 512-bit vectors on this machine.</summary>
    internal static bool WideKernel => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>C ← α·op(A)·op(B) + β·C.</summary>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is smaller than its
    /// row width, or a span is too short for its shape.</exception>
    public static void Multiply<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!ValidateAndHandleTrivial(transA, transB, m, n, k, alpha, a.Length, lda, (b.Length, ldb), beta, c, ldc)) return;
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T rc = ref MemoryMarshal.GetReference(c);
        // typeof tests on a struct T are JIT-time constants: each instantiation keeps one branch.
        if (HasBlockedPath<T>())
            MultiplyBlocked(WideKernel, transA, transB, m, n, k, alpha, ref ra, lda, ref rb, ldb, beta, ref rc, ldc);
        else
            PortableCore(transA, transB, m, n, k, alpha, ref ra, lda, ref rb, ldb, beta, ref rc, ldc);
    }

    /// <summary>The blocked path with a chosen vector width (256 or 512 bits), for tests and benchmarks.</summary>
    /// <exception cref="NotSupportedException">The CPU lacks AVX2/FMA, or AVX-512 when 512 is asked for.</exception>
    internal static void MultiplyBlocked<T>(int vectorBits, Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!HasBlockedPath<T>() || (vectorBits != 256 && vectorBits != 512) || (vectorBits == 512 && !WideKernel))
            throw new NotSupportedException($"no {vectorBits}-bit GEMM kernel for {typeof(T).Name} on this CPU");
        if (!ValidateAndHandleTrivial(transA, transB, m, n, k, alpha, a.Length, lda, (b.Length, ldb), beta, c, ldc)) return;
        MultiplyBlocked(vectorBits == 512, transA, transB, m, n, k, alpha, ref MemoryMarshal.GetReference(a), lda,
            ref MemoryMarshal.GetReference(b), ldb, beta, ref MemoryMarshal.GetReference(c), ldc);
    }

    /// <summary>The portable path alone (what CPUs without AVX2/FMA run), for tests and benchmarks.</summary>
    internal static void MultiplyPortable<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!ValidateAndHandleTrivial(transA, transB, m, n, k, alpha, a.Length, lda, (b.Length, ldb), beta, c, ldc)) return;
        PortableCore(transA, transB, m, n, k, alpha, ref MemoryMarshal.GetReference(a), lda,
            ref MemoryMarshal.GetReference(b), ldb, beta, ref MemoryMarshal.GetReference(c), ldc);
    }

    /// <summary>
    /// C ← α·op(A)·op(B) + β·C where B is a Toeplitz matrix that is never written out: each stored row of B starts
    /// <paramref name="shift"/> elements before the previous one in the generator <paramref name="g"/>, so
    /// B(p, j) = g[origin + j − p·shift], or, with <paramref name="transB"/>, op(B)(p, j) = g[origin + p − j·shift].
    /// The same bits as <see cref="Multiply"/> on the materialised matrix: every element of C is the same FMA chain over
    /// the same values. A caller that would otherwise build the T²-entry matrix (<see cref="ToeplitzConvolution{T}"/>) reads
    /// a few KiB of <paramref name="g"/> instead, which stays in each thread's L1 rather than moving between cores.
    /// </summary>
    /// <remarks>vectorBits 0 takes the path <see cref="Multiply"/> would take; 256 or 512 that blocked kernel, −1 the
    /// portable path (for tests).</remarks>
    /// <exception cref="ArgumentException">A size is negative, <paramref name="shift"/> is not positive, or A, C or the
    /// generator is too short for the shape.</exception>
    internal static void MultiplyToeplitz<T>(Transpose transA, Transpose transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> g, int origin, int shift, T beta, Span<T> c, int ldc, int vectorBits = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (shift < 1) throw new ArgumentException($"GEMM: a Toeplitz operand's shift must be positive, got {shift}");
        int storedRows = transB == Transpose.No ? k : n, storedCols = transB == Transpose.No ? n : k;
        if (m > 0 && storedRows > 0 && storedCols > 0)
        {
            long first = origin - (long)(storedRows - 1) * shift, last = (long)origin + storedCols - 1;
            if (first < 0 || last >= g.Length)
                throw new ArgumentException($"GEMM: the Toeplitz generator of B needs entries {first}..{last}, has {g.Length}");
        }
        if (!ValidateAndHandleTrivial(transA, transB, m, n, k, alpha, a.Length, lda, null, beta, c, ldc)) return;
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref Unsafe.Add(ref MemoryMarshal.GetReference(g), origin);
        ref T rc = ref MemoryMarshal.GetReference(c);
        bool blocked = HasBlockedPath<T>();
        if (vectorBits == -1 || (vectorBits == 0 && !blocked))
            PortableCore(transA, transB, m, n, k, alpha, ref ra, lda, ref rb, -shift, beta, ref rc, ldc);
        else if (vectorBits == 0)
            MultiplyBlocked(WideKernel, transA, transB, m, n, k, alpha, ref ra, lda, ref rb, -shift, beta, ref rc, ldc);
        else if (blocked && (vectorBits == 256 || (vectorBits == 512 && WideKernel)))
            MultiplyBlocked(vectorBits == 512, transA, transB, m, n, k, alpha, ref ra, lda, ref rb, -shift, beta, ref rc, ldc);
        else throw new NotSupportedException($"no {vectorBits}-bit GEMM kernel for {typeof(T).Name} on this CPU");
    }

    /// <summary>Checks the shapes (B's only when <paramref name="b"/> is given: a Toeplitz B is checked by its caller);
    /// returns false when nothing is left to do after C ← β·C (empty C, k = 0, α = 0).</summary>
    private static bool ValidateAndHandleTrivial<T>(Transpose transA, Transpose transB, int m, int n, int k, T alpha,
        int aLength, int lda, (int Length, int Ld)? b, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"GEMM: sizes must be non-negative, got m={m}, n={n}, k={k}");
        if (m == 0 || n == 0) return false;
        Validate(transA, m, k, aLength, lda, "A");
        if (b is var (bLength, ldb)) Validate(transB, k, n, bLength, ldb, "B");
        Validate(Transpose.No, m, n, c.Length, ldc, "C");
        if (k != 0 && alpha != T.Zero) return true;
        ScaleC(m, n, beta, c, ldc);
        return false;
    }

    // ---------------------------------------------------------------------------------------------
    // Blocked path (float, double; AVX2 + FMA, optionally AVX-512). NR = 2 vectors of columns.
    //
    //   for each k-block pc (KBlock deep)
    //     for each column panel jc (NR wide):   op(B) panel, kc × NR
    //       for each row tile i0 (≤ 6 rows):    micro-kernel: C tile (+)= α·A(i0.., pc..)·panel
    //
    // A is never packed: the kernel broadcasts A(i, p) straight from storage through a row stride and
    // a column stride, which covers A and Aᵀ at no copy cost. op(B) = B is read in place when few row
    // tiles share a panel and its rows are less than a page apart (the kernel takes a row stride), else
    // copied into a contiguous panel; ragged right edges are copied zero-padded. op(B) = Bᵀ is packed through 8×8
    // (4×4 for double) in-register transposes. Panels are packed just before use, so they sit in L1.
    //
    // A narrow C (n < NR/2, e.g. a 1-output read-out over many rows) would waste most of each NR-wide
    // tile, so it is computed transposed: Cᵀ = op(B)ᵀ·op(A)ᵀ, where n becomes the row count. Each element
    // is still the same FMA chain over p (products commute exactly), so the bits do not change.
    // ---------------------------------------------------------------------------------------------

    private static void MultiplyBlocked<T>(bool wide, Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ref T a, int lda, ref T b, int ldb, T beta, ref T c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nr = 2 * (wide ? Vector512<T>.Count : Vector256<T>.Count);
        // op(A)(i, p) = a[i·rowStride + p·colStride]; op(B)(p, j) = b[p·ldb + j], or b[j·ldb + p] when transposed.
        nint aRow = transA == Transpose.No ? lda : 1, aCol = transA == Transpose.No ? 1 : lda;
        nint bRow = transB == Transpose.No ? ldb : 1, bCol = transB == Transpose.No ? 1 : ldb;
        if (2 * n < nr && m > n)
            BlockedCore(wide, n, m, k, alpha, ref b, bCol, bRow, ref a, aCol == 1 ? aRow : aCol, aCol == 1, beta, ref c, 1, ldc);
        else
            BlockedCore(wide, m, n, k, alpha, ref a, aRow, aCol, ref b, bCol == 1 ? bRow : bCol, bCol != 1, beta, ref c, ldc, 1);
    }

    /// <summary>C ← α·A·B + β·C with A(i, p) = a[i·aRow + p·aCol], B(p, j) = b[p·ldb + j] (or b[j·ldb + p] when
    /// <paramref name="bTransposed"/>), C(i, j) = c[i·cRow + j·cCol].</summary>
    private static void BlockedCore<T>(bool wide, int m, int n, int k, T alpha, ref T a, nint aRow, nint aCol,
        ref T b, nint ldb, bool bTransposed, T beta, ref T c, nint cRow, nint cCol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nr = 2 * (wide ? Vector512<T>.Count : Vector256<T>.Count);
        ref T packed = ref PackBuffer<T>.Get();
        ref T scratch = ref Unsafe.Add(ref packed, KBlock * PackBuffer<T>.MaxPanelWidth);
        int rowTiles = RowTileCount(m);
        bool copyB = !bTransposed && (rowTiles >= PackRowTiles || ldb * Unsafe.SizeOf<T>() >= PageBytes);
        bool prefetch = ((long)m + n) * k * Unsafe.SizeOf<T>() > PrefetchThresholdBytes;
        int kernelCalls = (n + nr - 1) / nr * rowTiles;
        for (int pc = 0; pc < k; pc += KBlock)
        {
            int kc = Math.Min(KBlock, k - pc);
            // β applies once, in the first k-block; later blocks accumulate onto C.
            T blockBeta = pc == 0 ? beta : T.One;
            ref T aBlock = ref Unsafe.Add(ref a, pc * aCol);
            var next = prefetch ? new NextBlockPrefetcher<T>(m, n, k, pc + kc, ref a, aRow, aCol, ref b, ldb, bTransposed, kernelCalls) : default;
            for (int jc = 0; jc < n; jc += nr)
            {
                int cols = Math.Min(nr, n - jc);
                scoped ref T panel = ref packed;
                nint panelStride = nr;
                if (bTransposed)
                    PackPanelTransposed(kc, cols, nr, ref Unsafe.Add(ref b, jc * ldb + pc), ldb, ref packed);
                else if (copyB || cols < nr)
                    PackPanel(kc, cols, nr, ref Unsafe.Add(ref b, pc * ldb + jc), ldb, ref packed);
                else
                {
                    panel = ref Unsafe.Add(ref b, pc * ldb + jc);
                    panelStride = ldb;
                }
                for (int i0 = 0; i0 < m;)
                {
                    int rows = TileRows(m - i0);
                    next.Step();
                    ref T aTile = ref Unsafe.Add(ref aBlock, i0 * aRow);
                    ref T cTile = ref Unsafe.Add(ref c, i0 * cRow + jc * cCol);
                    if (cols == nr && cCol == 1)
                        Kernel(wide, rows, kc, ref aTile, aRow, aCol, ref panel, panelStride, ref cTile, cRow, alpha, blockBeta);
                    else
                    {
                        // Ragged right edge or transposed C: compute the full tile into scratch, then merge.
                        Kernel(wide, rows, kc, ref aTile, aRow, aCol, ref panel, panelStride, ref scratch, nr, T.One, T.Zero);
                        MergeTile(rows, cols, ref scratch, nr, ref cTile, cRow, cCol, alpha, blockBeta);
                    }
                    i0 += rows;
                }
            }
        }
    }

    /// <summary>Rows of the next tile when <paramref name="remaining"/> rows are left: 6 where possible,
    /// but 7–9 left split as 4+3, 4+4, 5+4 so no tile has fewer than 3 rows (a 1- or 2-row tile has
    /// too few independent FMA chains to hide latency). Results do not depend on the split: each
    /// element's sum runs over p in the same order in every tile.</summary>
    internal static int TileRows(int remaining) =>
        remaining <= MaxTileRows ? remaining : remaining <= MaxTileRows + 3 ? (remaining + 1) / 2 : MaxTileRows;

    private static int RowTileCount(int m)
    {
        int count = 0;
        for (int i0 = 0; i0 < m; i0 += TileRows(m - i0)) count++;
        return count;
    }

    /// <summary>Walks the cache lines of the next k-block of A and B, a few before each kernel call, so the
    /// next block streams in from memory while this one computes (long reductions, e.g. weight gradients
    /// summed over batch × time, whose operands do not fit in cache).</summary>
    private ref struct NextBlockPrefetcher<T> where T : unmanaged
    {
        private Region _a, _b;
        private readonly int _linesPerStep;

        public NextBlockPrefetcher(int m, int n, int k, int nextPc, ref T a, nint aRow, nint aCol,
            ref T b, nint ldb, bool bTransposed, int kernelCalls)
        {
            int kc = Math.Min(KBlock, k - nextPc), size = Unsafe.SizeOf<T>();
            if (kc <= 0) return; // last block: nothing to fetch, Step does nothing
            // Walk each operand along its contiguous direction.
            _a = aCol == 1
                ? new Region(ref Unsafe.Add(ref a, nextPc), m, kc * size, aRow * size)
                : new Region(ref Unsafe.Add(ref a, nextPc * aCol), kc, m * size, aCol * size);
            _b = !bTransposed
                ? new Region(ref Unsafe.Add(ref b, nextPc * ldb), kc, n * size, ldb * size)
                : new Region(ref Unsafe.Add(ref b, nextPc), n, kc * size, ldb * size);
            _linesPerStep = (Math.Max(_a.Lines, _b.Lines) + kernelCalls - 1) / kernelCalls;
        }

        public void Step()
        {
            if (_linesPerStep == 0) return;
            _a.Prefetch(_linesPerStep);
            _b.Prefetch(_linesPerStep);
        }

        /// <summary>rows × rowBytes bytes with a stride, walked one 64-byte line at a time.</summary>
        private ref struct Region(ref T start, int rows, int rowBytes, nint strideBytes)
        {
            private readonly ref byte _start = ref Unsafe.As<T, byte>(ref start);
            private int _row, _offset;

            public readonly int Lines => rows * ((rowBytes + 63) / 64);

            public unsafe void Prefetch(int lines)
            {
                for (; lines > 0 && _row < rows; lines--)
                {
                    // A hint into L2; the address is taken from the tracked ref just before, and a prefetch never faults.
                    Sse.Prefetch1(Unsafe.AsPointer(ref Unsafe.Add(ref _start, _row * strideBytes + _offset)));
                    _offset += 64;
                    if (_offset >= rowBytes) { _offset = 0; _row++; }
                }
            }
        }
    }

    private static void Kernel<T>(bool wide, int rows, int kc, ref T a, nint aRowStride, nint aColStride, ref T panel, nint panelStride,
        ref T c, nint ldc, T alpha, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (wide)
        {
            switch (rows)
            {
                case 6: MicroKernel512<T, Rows6>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
                case 5: MicroKernel512<T, Rows5>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
                case 4: MicroKernel512<T, Rows4>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
                case 3: MicroKernel512<T, Rows3>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
                case 2: MicroKernel512<T, Rows2>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
                default: MicroKernel512<T, Rows1>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
            }
            return;
        }
        switch (rows)
        {
            case 6: MicroKernel256<T, Rows6>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
            case 5: MicroKernel256<T, Rows5>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
            case 4: MicroKernel256<T, Rows4>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
            case 3: MicroKernel256<T, Rows3>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
            case 2: MicroKernel256<T, Rows2>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
            default: MicroKernel256<T, Rows1>(kc, ref a, aRowStride, aColStride, ref panel, panelStride, ref c, ldc, alpha, beta); break;
        }
    }

    /// <summary>
    /// The micro-kernel: C[0..R, 0..NR) ← α·Σ_p A(i, p)·P[p, 0..NR) + β·C with NR = 2 vectors, the R×2
    /// accumulators in registers, A(i, p) = a[i·aRowStride + p·aColStride] broadcast from memory and row p
    /// of the panel at panel[p·panelStride]. R (1..6) is a type parameter so each row count compiles to
    /// its own kernel with the unused rows removed. β = 0 means C is not read.
    /// </summary>
    private static void MicroKernel256<T, R>(int kc, ref T a, nint aRowStride, nint aColStride, ref T panel, nint panelStride,
        ref T c, nint ldc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T> where R : struct, IRowCount
    {
        nuint w = (nuint)Vector256<T>.Count;
        // Rows beyond R alias row 0; they are never read because their branches fold away.
        ref T a0 = ref a;
        ref T a1 = ref R.Rows > 1 ? ref Unsafe.Add(ref a, aRowStride) : ref a;
        ref T a2 = ref R.Rows > 2 ? ref Unsafe.Add(ref a, 2 * aRowStride) : ref a;
        ref T a3 = ref R.Rows > 3 ? ref Unsafe.Add(ref a, 3 * aRowStride) : ref a;
        ref T a4 = ref R.Rows > 4 ? ref Unsafe.Add(ref a, 4 * aRowStride) : ref a;
        ref T a5 = ref R.Rows > 5 ? ref Unsafe.Add(ref a, 5 * aRowStride) : ref a;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint offset = 0;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.LoadUnsafe(ref panel);
            var b1 = Vector256.LoadUnsafe(ref panel, w);
            var x = Vector256.Create(Unsafe.Add(ref a0, offset));
            c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            if (R.Rows > 1) { x = Vector256.Create(Unsafe.Add(ref a1, offset)); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11); }
            if (R.Rows > 2) { x = Vector256.Create(Unsafe.Add(ref a2, offset)); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21); }
            if (R.Rows > 3) { x = Vector256.Create(Unsafe.Add(ref a3, offset)); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31); }
            if (R.Rows > 4) { x = Vector256.Create(Unsafe.Add(ref a4, offset)); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41); }
            if (R.Rows > 5) { x = Vector256.Create(Unsafe.Add(ref a5, offset)); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51); }
            offset += aColStride;
            panel = ref Unsafe.Add(ref panel, panelStride);
        }
        var va = Vector256.Create(alpha);
        StoreRow(ref c, c00, c01, va, beta);
        if (R.Rows > 1) StoreRow(ref Unsafe.Add(ref c, ldc), c10, c11, va, beta);
        if (R.Rows > 2) StoreRow(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, va, beta);
        if (R.Rows > 3) StoreRow(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, va, beta);
        if (R.Rows > 4) StoreRow(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, va, beta);
        if (R.Rows > 5) StoreRow(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, va, beta);
    }

    /// <summary>The same micro-kernel on 512-bit vectors (NR = 32 floats or 16 doubles). Each element's FMA
    /// chain is the same as in <see cref="MicroKernel256{T, R}"/>, so the two give identical bits.</summary>
    private static void MicroKernel512<T, R>(int kc, ref T a, nint aRowStride, nint aColStride, ref T panel, nint panelStride,
        ref T c, nint ldc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T> where R : struct, IRowCount
    {
        nuint w = (nuint)Vector512<T>.Count;
        ref T a0 = ref a;
        ref T a1 = ref R.Rows > 1 ? ref Unsafe.Add(ref a, aRowStride) : ref a;
        ref T a2 = ref R.Rows > 2 ? ref Unsafe.Add(ref a, 2 * aRowStride) : ref a;
        ref T a3 = ref R.Rows > 3 ? ref Unsafe.Add(ref a, 3 * aRowStride) : ref a;
        ref T a4 = ref R.Rows > 4 ? ref Unsafe.Add(ref a, 4 * aRowStride) : ref a;
        ref T a5 = ref R.Rows > 5 ? ref Unsafe.Add(ref a, 5 * aRowStride) : ref a;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint offset = 0;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref panel);
            var b1 = Vector512.LoadUnsafe(ref panel, w);
            var x = Vector512.Create(Unsafe.Add(ref a0, offset));
            c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            if (R.Rows > 1) { x = Vector512.Create(Unsafe.Add(ref a1, offset)); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11); }
            if (R.Rows > 2) { x = Vector512.Create(Unsafe.Add(ref a2, offset)); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21); }
            if (R.Rows > 3) { x = Vector512.Create(Unsafe.Add(ref a3, offset)); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31); }
            if (R.Rows > 4) { x = Vector512.Create(Unsafe.Add(ref a4, offset)); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41); }
            if (R.Rows > 5) { x = Vector512.Create(Unsafe.Add(ref a5, offset)); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51); }
            offset += aColStride;
            panel = ref Unsafe.Add(ref panel, panelStride);
        }
        var va = Vector512.Create(alpha);
        StoreRow(ref c, c00, c01, va, beta);
        if (R.Rows > 1) StoreRow(ref Unsafe.Add(ref c, ldc), c10, c11, va, beta);
        if (R.Rows > 2) StoreRow(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, va, beta);
        if (R.Rows > 3) StoreRow(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, va, beta);
        if (R.Rows > 4) StoreRow(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, va, beta);
        if (R.Rows > 5) StoreRow(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, va, beta);
    }

    /// <summary>c[0..NR) ← α·(lo, hi) + β·c[0..NR) as fma(α, acc, β·c), not reading c when β = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T>(ref T c, Vector256<T> lo, Vector256<T> hi, Vector256<T> alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint w = (nuint)Vector256<T>.Count;
        if (beta == T.Zero)
        {
            (alpha * lo).StoreUnsafe(ref c);
            (alpha * hi).StoreUnsafe(ref c, w);
        }
        else if (beta == T.One)
        {
            MulAdd(alpha, lo, Vector256.LoadUnsafe(ref c)).StoreUnsafe(ref c);
            MulAdd(alpha, hi, Vector256.LoadUnsafe(ref c, w)).StoreUnsafe(ref c, w);
        }
        else
        {
            var vb = Vector256.Create(beta);
            MulAdd(alpha, lo, vb * Vector256.LoadUnsafe(ref c)).StoreUnsafe(ref c);
            MulAdd(alpha, hi, vb * Vector256.LoadUnsafe(ref c, w)).StoreUnsafe(ref c, w);
        }
    }

    /// <summary>As the 256-bit <c>StoreRow</c>, on 512-bit vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T>(ref T c, Vector512<T> lo, Vector512<T> hi, Vector512<T> alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint w = (nuint)Vector512<T>.Count;
        if (beta == T.Zero)
        {
            (alpha * lo).StoreUnsafe(ref c);
            (alpha * hi).StoreUnsafe(ref c, w);
        }
        else if (beta == T.One)
        {
            MulAdd(alpha, lo, Vector512.LoadUnsafe(ref c)).StoreUnsafe(ref c);
            MulAdd(alpha, hi, Vector512.LoadUnsafe(ref c, w)).StoreUnsafe(ref c, w);
        }
        else
        {
            var vb = Vector512.Create(beta);
            MulAdd(alpha, lo, vb * Vector512.LoadUnsafe(ref c)).StoreUnsafe(ref c);
            MulAdd(alpha, hi, vb * Vector512.LoadUnsafe(ref c, w)).StoreUnsafe(ref c, w);
        }
    }

    /// <summary>C(i, j) ← α·tile[i, j] + β·C(i, j) for i &lt; rows, j &lt; cols, C(i, j) at c[i·cRow + j·cCol]: a tile
    /// computed into scratch (right edge, or transposed C). Same roundings as <c>StoreRow</c>, so an element's
    /// bits do not depend on which path stored it.</summary>
    private static void MergeTile<T>(int rows, int cols, ref T tile, nint ldTile, ref T c, nint cRow, nint cCol, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++)
        {
            ref T ti = ref Unsafe.Add(ref tile, i * ldTile);
            ref T ci = ref Unsafe.Add(ref c, i * cRow);
            for (int j = 0; j < cols; j++)
            {
                ref T cij = ref Unsafe.Add(ref ci, j * cCol);
                T t = Unsafe.Add(ref ti, j);
                cij = beta == T.Zero ? alpha * t : T.FusedMultiplyAdd(alpha, t, beta == T.One ? cij : beta * cij);
            }
        }
    }

    /// <summary>Fused a·b + c on a vector (FMA is known to be supported on this path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> MulAdd<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException($"GEMM kernel has no FMA for {typeof(T).Name}");
    }

    /// <summary>Fused a·b + c on a 512-bit vector (AVX-512F is known to be supported on this path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> MulAdd<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Avx512F.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Avx512F.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException($"GEMM kernel has no FMA for {typeof(T).Name}");
    }

    /// <summary>Copies op(B) = B (kc rows of <paramref name="cols"/> ≤ NR elements, row stride ldb) into a
    /// contiguous panel of NR columns, zero-padded past cols so the kernel can always run full width.</summary>
    private static void PackPanel<T>(int kc, int cols, int nr, ref T b, nint ldb, ref T panel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (cols == nr)
        {
            nuint w = (nuint)Vector256<T>.Count;
            for (int p = 0; p < kc; p++)
            {
                ref T row = ref Unsafe.Add(ref b, p * ldb);
                ref T dst = ref Unsafe.Add(ref panel, p * nr);
                for (nuint j = 0; j < (nuint)nr; j += w) Vector256.LoadUnsafe(ref row, j).StoreUnsafe(ref dst, j);
            }
            return;
        }
        for (int p = 0; p < kc; p++)
        {
            ref T row = ref Unsafe.Add(ref b, p * ldb);
            ref T dst = ref Unsafe.Add(ref panel, p * nr);
            for (int j = 0; j < nr; j++) Unsafe.Add(ref dst, j) = j < cols ? Unsafe.Add(ref row, j) : T.Zero;
        }
    }

    /// <summary>Packs kc × cols of op(B) = Bᵀ (B stored n×k: op(B)[p, j] = b[j·ldb + p]) into a panel of NR
    /// columns, panel[p·NR + j], zero past <paramref name="cols"/>. Full panels move square blocks of one
    /// 256-bit vector through an in-register transpose; the rest goes element by element.</summary>
    private static void PackPanelTransposed<T>(int kc, int cols, int nr, ref T b, nint ldb, ref T panel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count, p = 0;
        if (cols == nr)
        {
            for (; p + w <= kc; p += w)
                for (int q = 0; q < nr; q += w)
                    TransposeSquare(ref Unsafe.Add(ref b, q * ldb + p), ldb, ref Unsafe.Add(ref panel, p * nr + q), nr);
        }
        for (; p < kc; p++)
        {
            ref T dst = ref Unsafe.Add(ref panel, p * nr);
            for (int j = 0; j < nr; j++) Unsafe.Add(ref dst, j) = j < cols ? Unsafe.Add(ref b, j * ldb + p) : T.Zero;
        }
    }

    /// <summary>dst[r, s] = src[s, r] for one w×w block (w = Vector256&lt;T&gt;.Count: 8 floats or 4 doubles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeSquare<T>(ref T src, nint lds, ref T dst, nint ldd) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            ref float s = ref Unsafe.As<T, float>(ref src);
            ref float d = ref Unsafe.As<T, float>(ref dst);
            var r0 = Vector256.LoadUnsafe(ref s); var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, lds));
            var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 2 * lds)); var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 3 * lds));
            var r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 4 * lds)); var r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 5 * lds));
            var r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 6 * lds)); var r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 7 * lds));
            // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves (the classic 8×8).
            var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
            var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
            var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
            var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
            var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
            var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
            Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref d);
            Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref Unsafe.Add(ref d, ldd));
            Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref Unsafe.Add(ref d, 2 * ldd));
            Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref Unsafe.Add(ref d, 3 * ldd));
            Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 4 * ldd));
            Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 5 * ldd));
            Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 6 * ldd));
            Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 7 * ldd));
        }
        else if (typeof(T) == typeof(double))
        {
            ref double s = ref Unsafe.As<T, double>(ref src);
            ref double d = ref Unsafe.As<T, double>(ref dst);
            var r0 = Vector256.LoadUnsafe(ref s); var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, lds));
            var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 2 * lds)); var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 3 * lds));
            var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
            Avx.Permute2x128(t0, t2, 0x20).StoreUnsafe(ref d);
            Avx.Permute2x128(t1, t3, 0x20).StoreUnsafe(ref Unsafe.Add(ref d, ldd));
            Avx.Permute2x128(t0, t2, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 2 * ldd));
            Avx.Permute2x128(t1, t3, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 3 * ldd));
        }
        else throw new NotSupportedException($"GEMM transpose has no kernel for {typeof(T).Name}");
    }

    /// <summary>Row count of a micro-kernel tile, as a type so each count compiles to its own kernel.</summary>
    private interface IRowCount { static abstract int Rows { get; } }
    private struct Rows1 : IRowCount { public static int Rows => 1; }
    private struct Rows2 : IRowCount { public static int Rows => 2; }
    private struct Rows3 : IRowCount { public static int Rows => 3; }
    private struct Rows4 : IRowCount { public static int Rows => 4; }
    private struct Rows5 : IRowCount { public static int Rows => 5; }
    private struct Rows6 : IRowCount { public static int Rows => 6; }

    /// <summary>Per-thread packing buffer (one op(B) panel plus one edge tile, 17 KiB for float), allocated
    /// once per thread and element type, pinned and 64-byte aligned so panel loads never split a cache line.</summary>
    private static class PackBuffer<T> where T : unmanaged
    {
        /// <summary>The widest panel, NR = 2 × 512 bits.</summary>
        public static int MaxPanelWidth => 2 * 64 / Unsafe.SizeOf<T>();

        [ThreadStatic] private static T[]? _array;
        [ThreadStatic] private static int _alignedStart;

        public static unsafe ref T Get()
        {
            if (_array is null)
            {
                int pad = 64 / sizeof(T);
                var array = GC.AllocateUninitializedArray<T>((KBlock + MaxTileRows) * MaxPanelWidth + pad, pinned: true);
                nint address = (nint)Unsafe.AsPointer(ref array[0]);
                _alignedStart = (int)((64 - (address & 63)) & 63) / sizeof(T);
                _array = array;
            }
            return ref _array[_alignedStart];
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Portable path: any IEEE type, any CPU (Vector<T> over contiguous rows).
    // ---------------------------------------------------------------------------------------------

    private static void PortableCore<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ref T ra, int lda, ref T rb, int ldb, T beta, ref T rc, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ScaleC(m, n, beta, MemoryMarshal.CreateSpan(ref rc, (m - 1) * ldc + n), ldc);
        if (transB == Transpose.No)
        {
            // c[i, :] += α a(i, p) b[p, :] — contiguous rows of B and C, vectorised over j.
            for (int i = 0; i < m; i++)
            {
                ref T ci = ref Unsafe.Add(ref rc, i * ldc);
                for (int p = 0; p < k; p++)
                {
                    T aip = alpha * (transA == Transpose.No ? Unsafe.Add(ref ra, i * lda + p) : Unsafe.Add(ref ra, p * lda + i));
                    Axpy(n, aip, ref Unsafe.Add(ref rb, p * ldb), ref ci);
                }
            }
        }
        else
        {
            // c[i, j] += α dot(a(i, :), b[j, :]) — both rows contiguous when A is not transposed.
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    T s = T.Zero;
                    if (transA == Transpose.No)
                        s = Dot(k, ref Unsafe.Add(ref ra, i * lda), ref Unsafe.Add(ref rb, j * ldb));
                    else
                        for (int p = 0; p < k; p++) s += Unsafe.Add(ref ra, p * lda + i) * Unsafe.Add(ref rb, j * ldb + p);
                    Unsafe.Add(ref rc, i * ldc + j) += alpha * s;
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy<T>(int n, T a, ref T x, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && n >= Vector<T>.Count)
        {
            var va = new Vector<T>(a);
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
            {
                ref T yj = ref Unsafe.Add(ref y, j);
                var vy = Vector.LoadUnsafe(ref yj) + va * Vector.LoadUnsafe(ref Unsafe.Add(ref x, j));
                vy.StoreUnsafe(ref yj);
            }
        }
        for (; j < n; j++) Unsafe.Add(ref y, j) += a * Unsafe.Add(ref x, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(int n, ref T x, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        T s = T.Zero;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && n >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                acc += Vector.LoadUnsafe(ref Unsafe.Add(ref x, j)) * Vector.LoadUnsafe(ref Unsafe.Add(ref y, j));
            s = Vector.Sum(acc);
        }
        for (; j < n; j++) s += Unsafe.Add(ref x, j) * Unsafe.Add(ref y, j);
        return s;
    }

    private static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    private static void Validate(Transpose t, int rows, int cols, int length, int ld, string name)
    {
        int storedRows = t == Transpose.No ? rows : cols, storedCols = t == Transpose.No ? cols : rows;
        if (storedRows == 0 || storedCols == 0) return;
        if (ld < storedCols) throw new ArgumentException($"GEMM: leading dimension of {name} ({ld}) is smaller than its {storedCols} columns");
        if ((long)(storedRows - 1) * ld + storedCols > length)
            throw new ArgumentException($"GEMM: {name} needs {(long)(storedRows - 1) * ld + storedCols} elements, has {length}");
    }

    /// <summary>Plain triple loop in float64 accumulation: the reference the fast paths are tested against.</summary>
    public static void Reference<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    T av = transA == Transpose.No ? a[i * lda + p] : a[p * lda + i];
                    T bv = transB == Transpose.No ? b[p * ldb + j] : b[j * ldb + p];
                    s += double.CreateTruncating(av) * double.CreateTruncating(bv);
                }
                T prev = beta == T.Zero ? T.Zero : beta * c[i * ldc + j];
                c[i * ldc + j] = alpha * T.CreateTruncating(s) + prev;
            }
    }
}
