using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MemoryLab.Numerics;

/// <summary>
/// The response of a fixed linear time-invariant system h_t = A h_{t−1} + B x_t (h_{−1} = 0), y_t = C h_t + D x_t to a batch of
/// input sequences, computed in chunks of <see cref="ChunkSteps"/> = L steps with the state carried between chunks:
/// <code>
///   y_{cL+j} = Σ_{s=0}^{j} K_s x_{cL+j−s} + C A^{j+1} S_c          (K_0 = CB + D, K_s = C A^s B; S_c = h_{cL−1}, S_0 = 0)
///   S_{c+1}  = A^L S_c + Σ_{j&lt;L} A^{L−1−j} B x_{cL+j}
/// </code>
/// Each chunk is one GEMM over the batch: the row [x_chunk | S_c] times the fixed matrix [[M, R], [O, A^Lᵀ]] gives [y_chunk | S_{c+1}]
/// (M the L-step block-Toeplitz matrix of the kernel, O = [C A^{j+1}]ᵀ, R = [A^{L−1−j} B]ᵀ). This is the exact convolution y = K * x
/// (Zucchet &amp; Orvieto, NeurIPS 2024, §2) at O(T·(L·in·out + N·(in + out) + N²/L)) multiply-adds per sequence instead of the
/// O(T²·in·out) of one T-step Toeplitz product, and it has the linear recurrence's numerics (the state is carried, not re-summed).
/// </summary>
/// <remarks>The matrix is built once in float64 from A, B, C, D and rounded to <typeparamref name="T"/>. The last, shorter chunk runs
/// as a full one with its missing inputs zero. The GEMM's bits depend only on its depth (<see cref="Gemm"/>), so the result does not
/// depend on the batch size of a call or on threads. Buffers are allocated in the constructor and <see cref="Prepare"/>;
/// <see cref="Apply"/> allocates nothing.</remarks>
public sealed class ChunkedStateSpace<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _n, _din, _dout, _l, _rows, _cols;
    private readonly T[] _g;
    private readonly int _firstVectorRows;
    private T[] _z = [], _w = [], _state = [], _stateNext = [], _pad = [];
    private int _batch;

    /// <summary>The system with state size <paramref name="stateSize"/>: <paramref name="a"/> [N, N], <paramref name="b"/> [N, in],
    /// <paramref name="c"/> [out, N], <paramref name="d"/> [out, in] (row-major; null for no D term).</summary>
    public ChunkedStateSpace(int stateSize, int inputSize, int outputSize, ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> c, ReadOnlySpan<double> d)
    {
        if (stateSize <= 0 || inputSize <= 0 || outputSize <= 0) throw new ArgumentException($"sizes must be positive (got N {stateSize}, in {inputSize}, out {outputSize})");
        int n = stateSize, din = inputSize, dout = outputSize;
        if (a.Length != n * n || b.Length != n * din || c.Length != dout * n || (d.Length != 0 && d.Length != dout * din))
            throw new ArgumentException("A, B, C, D do not have the shapes [N, N], [N, in], [out, N], [out, in]");
        _n = n; _din = din; _dout = dout;
        _l = ChooseChunk(n, din, dout);
        int l = _l;
        _rows = l * din + n; _cols = l * dout + n;
        // powers[k] = A^k, k = 0..L.
        var powers = new double[l + 1][];
        powers[0] = new double[n * n];
        for (int i = 0; i < n; i++) powers[0][i * n + i] = 1;
        for (int k = 1; k <= l; k++) powers[k] = MatMul(a, powers[k - 1], n, n, n);
        // K_s [out, in] = C A^s B (+ D at s = 0), s < L; CA[k] = C A^k [out, N], k = 1..L; AB[k] = A^k B [N, in], k < L.
        var kernel = new double[l][];
        var ab = new double[l][];
        for (int s = 0; s < l; s++)
        {
            ab[s] = MatMul(powers[s], b, n, n, din);
            kernel[s] = MatMul(c, ab[s], dout, n, din);
            if (s == 0 && d.Length != 0) for (int i = 0; i < dout * din; i++) kernel[0][i] += d[i];
        }
        var g = new double[_rows * _cols];
        for (int jp = 0; jp < l; jp++)
            for (int i = 0; i < din; i++)
            {
                int row = (jp * din + i) * _cols;
                for (int j = jp; j < l; j++)
                    for (int o = 0; o < dout; o++) g[row + j * dout + o] = kernel[j - jp][o * din + i];
                for (int r = 0; r < n; r++) g[row + l * dout + r] = ab[l - 1 - jp][r * din + i];
            }
        for (int rp = 0; rp < n; rp++)
        {
            int row = (l * din + rp) * _cols;
            for (int j = 0; j < l; j++)
            {
                var cak = MatMul(c, powers[j + 1], dout, n, n);
                for (int o = 0; o < dout; o++) g[row + j * dout + o] = cak[o * n + rp];
            }
            for (int r = 0; r < n; r++) g[row + l * dout + r] = powers[l][r * n + rp];
        }
        _g = new T[g.Length];
        for (int i = 0; i < g.Length; i++) _g[i] = T.CreateTruncating(g[i]);
        // The input rows from which on the first column vector of G is zero (inputs late in the chunk reach none of its first
        // outputs: the Toeplitz block is upper triangular).
        int lanes = Vector512<T>.Count;
        _firstVectorRows = l * din;
        while (_firstVectorRows > 0 && _g.AsSpan((_firstVectorRows - 1) * _cols, Math.Min(lanes, _cols)).IndexOfAnyExcept(T.Zero) < 0) _firstVectorRows--;
    }

    /// <summary>Steps per chunk.</summary>
    public int ChunkSteps => _l;

    /// <summary>The chunk length L in 16 … 32 with the fewest multiply-adds per step, (L·in + N)·⌈(L·out + N)/16⌉·16 / L (the GEMM
    /// computes whole 16-float column tiles).</summary>
    internal static int ChooseChunk(int n, int din, int dout)
    {
        int best = 16; double bestCost = double.MaxValue;
        for (int l = 16; l <= 32; l++)
        {
            double cost = (double)(l * din + n) * ((l * dout + n + 15) / 16 * 16) / l;
            if (cost < bestCost - 1e-12) { best = l; bestCost = cost; }
        }
        return best;
    }

    private static double[] MatMul(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int m, int k, int p)
    {
        var r = new double[m * p];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < p; j++)
            {
                double s = 0;
                for (int q = 0; q < k; q++) s += x[i * k + q] * y[q * p + j];
                r[i * p + j] = s;
            }
        return r;
    }

    /// <summary>Allocates the work rows for batches of <paramref name="batch"/> sequences.</summary>
    public void Prepare(int batch)
    {
        if (batch <= 0) throw new ArgumentException($"batch must be positive (got {batch})");
        _batch = batch;
        if (Fused)
        {
            _state = new T[batch * _cols];
            _stateNext = new T[batch * _cols];
            _pad = new T[8 * _l * _din];
        }
        else
        {
            _z = new T[batch * _rows];
            _w = new T[batch * _cols];
        }
    }

    // The fused path: on the 512-bit GEMM's machines, when an output row [y_chunk | S_{c+1}] is exactly two vectors (the GEMM's
    // column panel), the chunk's product is computed here straight from the tensors, each output the same FMA chain over the same
    // k in the same order as the GEMM's micro-kernel (Gemm: x part, then the state, from zero, α = 1), so the same bits, without
    // moving rows in and out of the work buffers. Eight rows at a time keep sixteen accumulator chains in flight (four rows' eight
    // chains waited on the FMA latency), and the products with the zero part of G are skipped.
    private bool Fused => AllowFused && Gemm.WideKernel && _cols == 2 * Vector512<T>.Count;

    /// <summary>False: always the GEMM path (tests compare the two paths' bits). Set before <see cref="Prepare"/>.</summary>
    internal bool AllowFused { get; init; } = true;

    /// <summary>True when <see cref="Apply"/> takes the fused path on this machine.</summary>
    internal bool UsesFusedPath => Fused;

    /// <summary>Writes the response to <paramref name="x"/> ([batch, T, in]) into every entry of <paramref name="y"/> ([batch, T, out]).</summary>
    public void Apply(SequenceTensor<T> x, SequenceTensor<T> y)
    {
        ArgumentNullException.ThrowIfNull(x); ArgumentNullException.ThrowIfNull(y);
        if (_batch == 0) throw new InvalidOperationException("call Prepare before Apply");
        int time = x.Time;
        if (!x.HasShape(_batch, time, _din) || !y.HasShape(_batch, time, _dout))
            throw new ArgumentException($"x is {x} and y is {y} but the system was prepared for [{_batch}, T, {_din}] → [{_batch}, T, {_dout}]");
        if (Fused) { ApplyFused(x, y, time); return; }
        int l = _l, din = _din, dout = _dout, n = _n, rows = _rows, cols = _cols;
        // The work rows: z_b = [x_chunk | S_c] (rows values each) in, w_b = [y_chunk | S_{c+1}] (cols values) out. The copies between
        // them and the tensors are short (a chunk of one sequence, L·in or L·out values, and the N-value state), so they go by
        // CopyShort rather than a Memmove call each.
        ref T z = ref MemoryMarshal.GetArrayDataReference(_z);
        ref T w = ref MemoryMarshal.GetArrayDataReference(_w);
        ref T xs = ref MemoryMarshal.GetArrayDataReference(x.Data);
        ref T ys = ref MemoryMarshal.GetArrayDataReference(y.Data);
        for (int bi = 0; bi < _batch; bi++) _z.AsSpan(bi * rows + l * din, n).Clear();
        for (int t0 = 0; t0 < time; t0 += l)
        {
            int steps = Math.Min(l, time - t0);
            for (int bi = 0; bi < _batch; bi++)
            {
                ref T row = ref Unsafe.Add(ref z, (nint)bi * rows);
                CopyShort(ref Unsafe.Add(ref xs, ((nint)bi * time + t0) * din), ref row, steps * din);
                for (int i = steps * din; i < l * din; i++) Unsafe.Add(ref row, i) = T.Zero;
            }
            bool last = t0 + l >= time;
            Gemm.Multiply(Transpose.No, Transpose.No, _batch, last ? steps * dout : cols, rows, T.One, _z, rows, _g, cols, T.Zero, _w, cols);
            for (int bi = 0; bi < _batch; bi++)
            {
                ref T row = ref Unsafe.Add(ref w, (nint)bi * cols);
                CopyShort(ref row, ref Unsafe.Add(ref ys, ((nint)bi * time + t0) * dout), steps * dout);
                if (!last) CopyShort(ref Unsafe.Add(ref row, l * dout), ref Unsafe.Add(ref z, (nint)bi * rows + l * din), n);
            }
        }
    }

    private void ApplyFused(SequenceTensor<T> x, SequenceTensor<T> y, int time)
    {
        int l = _l;
        var previous = _state; var next = _stateNext;
        Array.Clear(previous);                                      // S_0 = 0
        for (int t0 = 0; t0 < time; t0 += l)
        {
            int steps = Math.Min(l, time - t0);
            bool last = t0 + l >= time;
            int bi = 0;
            for (; bi + 8 <= _batch; bi += 8) FusedRows<Eight>(bi, t0, steps, last, time, x.Data, y.Data, previous, next);
            for (; bi + 4 <= _batch; bi += 4) FusedRows<Four>(bi, t0, steps, last, time, x.Data, y.Data, previous, next);
            for (; bi < _batch; bi++) FusedRows<One>(bi, t0, steps, last, time, x.Data, y.Data, previous, next);
            (previous, next) = (next, previous);
        }
    }

    private interface IRows { static abstract int Count { get; } }
    private struct One : IRows { public static int Count => 1; }
    private struct Four : IRows { public static int Count => 4; }
    private struct Eight : IRows { public static int Count => 8; }

    // Rows r0 … r0 + R − 1 of one chunk: out_r = Σ_k z_rk G_k over z_r = [x chunk (zeros past the sequence's end) | S_c], each of the
    // two column vectors one FMA chain from zero; S_{c+1} (the whole row) goes to next, the chunk's outputs to y.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FusedRows<R>(int r0, int t0, int steps, bool last, int time, T[] xs, T[] ys, T[] previous, T[] next) where R : struct, IRows
    {
        int l = _l, din = _din, dout = _dout, n = _n, cols = _cols, width = Vector512<T>.Count;
        int inputs = steps * din, lin = l * din, lout = l * dout;
        ref T g = ref MemoryMarshal.GetArrayDataReference(_g);
        ref T x0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(xs), ((nint)r0 * time + t0) * din);
        nint xStride = (nint)time * din;
        ref T s0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(previous), (nint)r0 * cols + lout);
        Vector512<T> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        Vector512<T> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
        // z_r = [x chunk | S_c]: two segments, each read through its own row stride, so the inner loop has no branch. Past the
        // sequence's end (the last chunk) the input is read from a zero-padded copy, as the GEMM's zero-padded row.
        ref T input = ref x0;
        if (inputs < lin)
        {
            for (int row = 0; row < R.Count; row++)
                for (int k = 0; k < lin; k++) _pad[row * lin + k] = k < inputs ? Unsafe.Add(ref x0, row * xStride + k) : T.Zero;
            input = ref MemoryMarshal.GetArrayDataReference(_pad);
            xStride = lin;
        }
        // Three runs of k: the inputs that reach both column vectors, the later inputs whose first vector of G is zero (only the
        // second is accumulated: an FMA of a finite value with +0 leaves an accumulator that started from +0 as it was, so skipping
        // it keeps the bits), and the state.
        for (int segment = 0; segment < 3; segment++)
        {
            ref T z = ref segment < 2 ? ref input : ref s0;
            nint stride = segment < 2 ? xStride : cols;
            int from = segment == 1 ? _firstVectorRows : 0, to = segment switch { 0 => _firstVectorRows, 1 => lin, _ => n };
            bool both = segment != 1;
            ref T panel = ref Unsafe.Add(ref g, segment < 2 ? 0 : (nint)lin * cols);
            for (int k = from; k < to; k++)
            {
                var b1 = Vector512.LoadUnsafe(ref panel, (nuint)((nint)k * cols + width));
                ref T zk = ref Unsafe.Add(ref z, k);
                var v0 = Vector512.Create(zk); a01 = Gemm.MulAdd(v0, b1, a01);
                Vector512<T> v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
                if (R.Count > 1)
                {
                    v1 = Vector512.Create(Unsafe.Add(ref zk, stride)); a11 = Gemm.MulAdd(v1, b1, a11);
                    v2 = Vector512.Create(Unsafe.Add(ref zk, 2 * stride)); a21 = Gemm.MulAdd(v2, b1, a21);
                    v3 = Vector512.Create(Unsafe.Add(ref zk, 3 * stride)); a31 = Gemm.MulAdd(v3, b1, a31);
                }
                if (R.Count > 4)
                {
                    v4 = Vector512.Create(Unsafe.Add(ref zk, 4 * stride)); a41 = Gemm.MulAdd(v4, b1, a41);
                    v5 = Vector512.Create(Unsafe.Add(ref zk, 5 * stride)); a51 = Gemm.MulAdd(v5, b1, a51);
                    v6 = Vector512.Create(Unsafe.Add(ref zk, 6 * stride)); a61 = Gemm.MulAdd(v6, b1, a61);
                    v7 = Vector512.Create(Unsafe.Add(ref zk, 7 * stride)); a71 = Gemm.MulAdd(v7, b1, a71);
                }
                if (!both) continue;
                var b0 = Vector512.LoadUnsafe(ref panel, (nuint)((nint)k * cols));
                a00 = Gemm.MulAdd(v0, b0, a00);
                if (R.Count > 1) { a10 = Gemm.MulAdd(v1, b0, a10); a20 = Gemm.MulAdd(v2, b0, a20); a30 = Gemm.MulAdd(v3, b0, a30); }
                if (R.Count > 4) { a40 = Gemm.MulAdd(v4, b0, a40); a50 = Gemm.MulAdd(v5, b0, a50); a60 = Gemm.MulAdd(v6, b0, a60); a70 = Gemm.MulAdd(v7, b0, a70); }
            }
        }
        Store(0, a00, a01);
        if (R.Count > 1) { Store(1, a10, a11); Store(2, a20, a21); Store(3, a30, a31); }
        if (R.Count > 4) { Store(4, a40, a41); Store(5, a50, a51); Store(6, a60, a61); Store(7, a70, a71); }

        void Store(int row, Vector512<T> lo, Vector512<T> hi)
        {
            ref T state = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(next), (nint)(r0 + row) * cols);
            lo.StoreUnsafe(ref state); hi.StoreUnsafe(ref state, (nuint)width);
            ref T target = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ys), ((nint)(r0 + row) * time + t0) * dout);
            // Before the last chunk, a whole-row store whose tail (the state's columns) lands where the next chunk writes, when
            // it stays inside the sequence; otherwise only the chunk's outputs are copied.
            if (!last && (nint)t0 * dout + cols <= (nint)time * dout) { lo.StoreUnsafe(ref target); hi.StoreUnsafe(ref target, (nuint)width); }
            else for (int i = 0; i < steps * dout; i++) Unsafe.Add(ref target, i) = Unsafe.Add(ref state, i);
        }
    }

    // Copies count values from source to destination (not overlapping) in whole vectors, the last one ending at the last value
    // (it may cover values the one before it wrote, with the same values); fewer than a vector's worth go one by one.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort(ref T source, ref T destination, int count)
    {
        int width = Vector512<T>.Count;
        if (!Vector512.IsHardwareAccelerated || count < width)
        {
            for (int i = 0; i < count; i++) Unsafe.Add(ref destination, i) = Unsafe.Add(ref source, i);
            return;
        }
        for (int i = 0; i < count - width; i += width)
            Vector512.LoadUnsafe(ref source, (nuint)i).StoreUnsafe(ref destination, (nuint)i);
        Vector512.LoadUnsafe(ref source, (nuint)(count - width)).StoreUnsafe(ref destination, (nuint)(count - width));
    }
}
