using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemoryLab.Numerics;

/// <summary>What a kernel of the complex diagonal recurrence reads: λ and B̃ᵀ = (γ ⊙ B)ᵀ, which the layer forms
/// once per forward pass, and C, D as views into θ.</summary>
internal sealed class DiagonalWeights<T>(int n, int din, int dout, ParameterView cRe, ParameterView cIm, ParameterView? d, bool diagonalSkip)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>State size N, input and output features.</summary>
    public readonly int N = n, Din = din, Dout = dout;
    /// <summary>λ, real and imaginary parts, [N].</summary>
    public readonly T[] Lr = new T[n], Li = new T[n];
    /// <summary>B̃ᵀ = (γ ⊙ B)ᵀ, real and imaginary parts, [din × N].</summary>
    public readonly T[] BtRe = new T[din * n], BtIm = new T[din * n];
    /// <summary>C, real and imaginary parts, [dout × N].</summary>
    public readonly ParameterView CRe = cRe, CIm = cIm;
    /// <summary>D ([dout × din], or [din] when <see cref="DiagonalSkip"/>), or none.</summary>
    public readonly ParameterView? D = d;
    /// <summary>D is a vector: y += D ⊙ x.</summary>
    public readonly bool DiagonalSkip = diagonalSkip;
}

/// <summary>∂L/∂B̃ᵀ ([din × N]) and ∂L/∂λ ([N]), real and imaginary parts, from a backward pass (in the kernel's buffers,
/// valid until its next pass).</summary>
internal readonly ref struct DiagonalAdjoint<T>(Span<T> btRe, Span<T> btIm, Span<T> lr, Span<T> li)
{
    public readonly Span<T> BtRe = btRe, BtIm = btIm, Lr = lr, Li = li;
}

/// <summary>
/// The fast paths of the complex diagonal recurrence h_t = λ ⊙ h_{t−1} + B̃ x_t, y_t = Re(C h_t) + D x_t over a batch
/// [batch, T, features], behind one dispatch (<see cref="For"/>): the checkpointed one-feature scan, the fused scan of narrow
/// layers, GEMMs around an in-place scan for wide layers, and the causal convolution with K_s = Re(C diag(λ^s) B̃) (+ D at
/// s = 0). Each computes y forward and, backward, adds ∂L/∂C and ∂L/∂D into the gradient, returns ∂L/∂B̃ᵀ and ∂L/∂λ, and
/// writes ∂L/∂x. Bits depend on the path, the vector width and the shape, never on the thread count.
/// </summary>
internal abstract class DiagonalKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Sequences per parallel chunk of the scans: fixed, so results do not depend on threads.</summary>
    public const int ChunkSize = 8;

    /// <summary>Widest input/output for the fused scan: up to here its d FMAs per state element cost less than the extra
    /// passes over the states that the GEMM path makes (with few features the rank-d GEMMs are memory passes, not compute).</summary>
    public const int FusedMaxFeatures = 8;

    protected readonly DiagonalWeights<T> W;
    protected readonly int Batch, Time;

    protected DiagonalKernel(DiagonalWeights<T> weights, int batch, int time)
    {
        W = weights; Batch = batch; Time = time;
    }

    /// <summary>The kernel for this shape: the convolution when asked for, else the scan that suits the feature counts.</summary>
    public static DiagonalKernel<T> For(DiagonalWeights<T> weights, bool convolution, int batch, int time, WorkerPool pool) =>
        convolution ? new DiagonalConvolution<T>(weights, batch, time, pool)
        : weights.Din == 1 && weights.Dout == 1 ? new OneFeatureDiagonalScan<T>(weights, batch, time, pool)
        : weights.Din <= FusedMaxFeatures && weights.Dout <= FusedMaxFeatures ? new FusedDiagonalScan<T>(weights, batch, time, pool)
        : new GemmDiagonalScan<T>(weights, batch, time, pool);

    /// <summary>y = the recurrence's output for input x (both [batch, T, ·]); keeps what the backward pass needs.</summary>
    public abstract void Forward(T[] theta, SequenceTensor<T> x, SequenceTensor<T> y);

    /// <summary>After <see cref="Forward"/>: adds ∂L/∂C and ∂L/∂D into <paramref name="gradient"/>, writes ∂L/∂x into
    /// <paramref name="dx"/> when given, and returns ∂L/∂B̃ᵀ and ∂L/∂λ.</summary>
    public abstract DiagonalAdjoint<T> Backward(T[] theta, SequenceTensor<T> dy, SequenceTensor<T>? dx, T[] gradient);

    /// <summary>The states h of the latest forward pass, [batch, T, N], when the kernel keeps every one.</summary>
    public virtual (ReadOnlyMemory<T> Re, ReadOnlyMemory<T> Im) States => (ReadOnlyMemory<T>.Empty, ReadOnlyMemory<T>.Empty);
}

/// <summary>The scans: sequences in chunks of <see cref="DiagonalKernel{T}.ChunkSize"/> on the worker pool, each chunk's
/// parameter gradients in its own slice, summed in chunk order (deterministic for any thread count).</summary>
internal abstract class DiagonalScan<T> : DiagonalKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly WorkerPool _pool;
    private readonly ChunkAction _forward, _backward;
    private readonly int _chunks, _stateRows; // _stateRows: state rows kept per sequence (T, or the one-feature checkpoints)
    private readonly T[] _hr, _hi;
    private readonly int _hrAt, _hiAt; // where the 64-byte-aligned states start in _hr, _hi (pinned arrays)
    // Per-chunk partial gradients of λ, B̃ᵀ, C and D.
    protected readonly T[] PLr, PLi, PBRe, PBIm, PCRe, PCIm, PD;
    // The call in flight (read by the chunk bodies).
    protected T[] Theta = [];
    private SequenceTensor<T> _x = null!, _y = null!, _dy = null!;
    private SequenceTensor<T>? _dx;

    protected DiagonalScan(DiagonalWeights<T> weights, int batch, int time, WorkerPool pool, int stateRows) : base(weights, batch, time)
    {
        int n = weights.N, din = weights.Din, dout = weights.Dout;
        _pool = pool;
        _chunks = WorkerPool.ChunkCount(batch, ChunkSize);
        _stateRows = stateRows;
        // Aligned so that no 512-bit state load or store straddles two cache lines.
        int states = checked(batch * stateRows * n);
        _hr = ScanKernels.AllocateAligned<T>(states, out _hrAt); _hi = ScanKernels.AllocateAligned<T>(states, out _hiAt);
        PLr = new T[_chunks * n]; PLi = new T[_chunks * n];
        PBRe = new T[_chunks * din * n]; PBIm = new T[_chunks * din * n];
        PCRe = new T[_chunks * dout * n]; PCIm = new T[_chunks * dout * n];
        PD = new T[_chunks * dout * din];
        _forward = new ChunkAction(ForwardChunk);
        _backward = new ChunkAction(BackwardChunk);
    }

    /// <summary>h and y of sequences b0 … b0+count−1 (y without the D term).</summary>
    protected abstract void ScanForward(int count, ReadOnlySpan<T> x, Span<T> hr, Span<T> hi, Span<T> y);

    /// <summary>Chunk <paramref name="chunk"/>'s partial gradients of λ, B̃ᵀ and C, and dx without the D term (when dx is not empty).</summary>
    protected abstract void ScanBackward(int chunk, int count, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi, Span<T> dx);

    /// <summary>C ← α·op(A)·op(B) + β·C for the D term (the GEMM path routes one-feature sides to the narrow products).</summary>
    protected virtual void Product(Transpose transA, Transpose transB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc) => Gemm.Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public override void Forward(T[] theta, SequenceTensor<T> x, SequenceTensor<T> y)
    {
        Theta = theta; _x = x; _y = y;
        _pool.Run(_forward, _chunks);
    }

    public override DiagonalAdjoint<T> Backward(T[] theta, SequenceTensor<T> dy, SequenceTensor<T>? dx, T[] gradient)
    {
        Theta = theta; _dy = dy; _dx = dx;
        _pool.Run(_backward, _chunks);
        // Reduce the per-chunk partial gradients in chunk order (deterministic).
        int n = W.N;
        var dB = ReduceChunks(PBRe, W.Din * n);
        var dBi = ReduceChunks(PBIm, W.Din * n);
        AddChunks(PCRe, W.Dout * n, W.CRe.Of(gradient));
        AddChunks(PCIm, W.Dout * n, W.CIm.Of(gradient));
        if (W.D != null) AddChunks(PD, W.D.Length, W.D.Of(gradient));
        return new DiagonalAdjoint<T>(dB, dBi, ReduceChunks(PLr, n), ReduceChunks(PLi, n));
    }

    public override (ReadOnlyMemory<T> Re, ReadOnlyMemory<T> Im) States => _stateRows != Time
        ? base.States
        : (_hr.AsMemory(_hrAt, Batch * Time * W.N), _hi.AsMemory(_hiAt, Batch * Time * W.N));

    private void ForwardChunk(int chunk)
    {
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, Batch - b0), rows = count * Time;
        var x = _x.Sequences(b0, count);
        var y = _y.Sequences(b0, count);
        ScanForward(count, x, StateRows(_hr, _hrAt, b0, count), StateRows(_hi, _hiAt, b0, count), y);
        // y += D x
        if (W.D is not { } d) return;
        if (W.DiagonalSkip) Kernels.AddRowsScaled(y, x, d.Of(Theta), rows);
        else Product(Transpose.No, Transpose.Yes, rows, W.Dout, W.Din, T.One, x, W.Din, d.Of(Theta), W.Din, T.One, y, W.Dout);
    }

    private void BackwardChunk(int chunk)
    {
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, Batch - b0), rows = count * Time;
        int din = W.Din, dout = W.Dout;
        var x = _x.Sequences(b0, count);
        var dy = _dy.Sequences(b0, count);
        var dx = _dx != null ? _dx.Sequences(b0, count) : Span<T>.Empty;
        ScanBackward(chunk, count, x, dy, StateRows(_hr, _hrAt, b0, count), StateRows(_hi, _hiAt, b0, count), dx);
        // ∂L/∂D = dyᵀ x (or Σ dy ⊙ x), ∂L/∂x += dy D
        if (W.D is not { } d) return;
        if (W.DiagonalSkip) Kernels.ColumnDotProducts(dy, x, rows, din, PD.AsSpan(chunk * din, din));
        else Product(Transpose.Yes, Transpose.No, dout, din, rows, T.One, dy, dout, x, din, T.Zero, PD.AsSpan(chunk * dout * din, dout * din), din);
        if (_dx == null) return;
        if (W.DiagonalSkip) Kernels.AddRowsScaled(dx, dy, d.Of(Theta), rows);
        else Product(Transpose.No, Transpose.No, rows, din, dout, T.One, dy, dout, d.Of(Theta), din, T.One, dx, din);
    }

    /// <summary>Sequences b0 … b0+count−1 of a state buffer: every state, or with one feature the checkpoints.</summary>
    private Span<T> StateRows(T[] buffer, int at, int b0, int count) => buffer.AsSpan(at + b0 * _stateRows * W.N, count * _stateRows * W.N);

    // Sums chunk slices into slice 0 of the same buffer and returns it (the buffer is scratch after backward).
    private Span<T> ReduceChunks(T[] partials, int length)
    {
        var total = partials.AsSpan(0, length);
        for (int c = 1; c < _chunks; c++) Kernels.Add(total, partials.AsSpan(c * length, length));
        return total;
    }

    private void AddChunks(T[] partials, int length, Span<T> into)
    {
        for (int c = 0; c < _chunks; c++) Kernels.Add(into, partials.AsSpan(c * length, length));
    }
}

/// <summary>Wide layers (the deep stack): u = x B̃ᵀ as one GEMM, the scan in place over u (<see cref="Kernels.ComplexScanForward{T}"/>),
/// y = h_re C_reᵀ − h_im C_imᵀ as GEMMs; backward e = dy C, the adjoint scan, then the weight gradients and dx as GEMMs. Where a
/// side has one feature the GEMMs become <see cref="NarrowProducts"/> (the same bits, without the GEMM's 1-wide tiles).</summary>
internal sealed class GemmDiagonalScan<T>(DiagonalWeights<T> weights, int batch, int time, WorkerPool pool)
    : DiagonalScan<T>(weights, batch, time, pool, stateRows: time) where T : unmanaged, IFloatingPointIeee754<T>
{
    // ∂L/∂h of every step.
    private readonly T[] _gr = new T[checked(batch * time * weights.N)], _gi = new T[checked(batch * time * weights.N)];

    protected override void Product(Transpose transA, Transpose transB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc) => NarrowProducts.Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    protected override void ScanForward(int count, ReadOnlySpan<T> x, Span<T> hr, Span<T> hi, Span<T> y)
    {
        int rows = count * Time, n = W.N, din = W.Din, dout = W.Dout, len = Time * n;
        // Inputs of every step at once, u = x B̃ᵀ, written where the states go; then h_t = u_t + λ ⊙ h_{t−1} in place.
        Product(Transpose.No, Transpose.No, rows, n, din, T.One, x, din, W.BtRe, n, T.Zero, hr, n);
        Product(Transpose.No, Transpose.No, rows, n, din, T.One, x, din, W.BtIm, n, T.Zero, hi, n);
        for (int b = 0; b < count; b++)
            Kernels.ComplexScanForward(hr.Slice(b * len, len), hi.Slice(b * len, len), W.Lr, W.Li, Time, n);
        // y = Re(C h) = h_re C_reᵀ − h_im C_imᵀ
        Product(Transpose.No, Transpose.Yes, rows, dout, n, T.One, hr, n, W.CRe.Of(Theta), n, T.Zero, y, dout);
        Product(Transpose.No, Transpose.Yes, rows, dout, n, -T.One, hi, n, W.CIm.Of(Theta), n, T.One, y, dout);
    }

    protected override void ScanBackward(int chunk, int count, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi, Span<T> dx)
    {
        int rows = count * Time, n = W.N, din = W.Din, dout = W.Dout, len = Time * n;
        var gr = _gr.AsSpan(chunk * ChunkSize * len, rows * n);
        var gi = _gi.AsSpan(chunk * ChunkSize * len, rows * n);
        // Direct contributions e = ∂L/∂h from the readout: e_re = dy C_re, e_im = −dy C_im.
        Product(Transpose.No, Transpose.No, rows, n, dout, T.One, dy, dout, W.CRe.Of(Theta), n, T.Zero, gr, n);
        Product(Transpose.No, Transpose.No, rows, n, dout, -T.One, dy, dout, W.CIm.Of(Theta), n, T.Zero, gi, n);
        // g_t = e_t + λ̄ ⊙ g_{t+1} in place, ∂L/∂λ += Σ_t g_t ⊙ conj(h_{t−1}).
        var dLr = PLr.AsSpan(chunk * n, n); var dLi = PLi.AsSpan(chunk * n, n);
        dLr.Clear(); dLi.Clear();
        for (int b = 0; b < count; b++)
            Kernels.ComplexScanBackward(gr.Slice(b * len, len), gi.Slice(b * len, len), hr.Slice(b * len, len), hi.Slice(b * len, len), W.Lr, W.Li, dLr, dLi, Time, n);
        // ∂L/∂B̃ᵀ = xᵀ g, ∂L/∂C_re = dyᵀ h_re, ∂L/∂C_im = −dyᵀ h_im.
        Product(Transpose.Yes, Transpose.No, din, n, rows, T.One, x, din, gr, n, T.Zero, PBRe.AsSpan(chunk * din * n, din * n), n);
        Product(Transpose.Yes, Transpose.No, din, n, rows, T.One, x, din, gi, n, T.Zero, PBIm.AsSpan(chunk * din * n, din * n), n);
        Product(Transpose.Yes, Transpose.No, dout, n, rows, T.One, dy, dout, hr, n, T.Zero, PCRe.AsSpan(chunk * dout * n, dout * n), n);
        Product(Transpose.Yes, Transpose.No, dout, n, rows, -T.One, dy, dout, hi, n, T.Zero, PCIm.AsSpan(chunk * dout * n, dout * n), n);
        if (dx.IsEmpty) return;
        // ∂L/∂x = g_re B̃_re + g_im B̃_im (the D term follows)
        Product(Transpose.No, Transpose.Yes, rows, din, n, T.One, gr, n, W.BtRe, n, T.Zero, dx, din);
        Product(Transpose.No, Transpose.Yes, rows, din, n, T.One, gi, n, W.BtIm, n, T.One, dx, din);
    }
}

/// <summary>Narrow layers (d ≤ <see cref="DiagonalKernel{T}.FusedMaxFeatures"/>): one sweep over time per sequence computes u, h and y
/// (<see cref="ScanKernels.DiagonalForward{T}"/>), and one reverse sweep e, g and every gradient
/// (<see cref="ScanKernels.DiagonalBackward{T}"/>), with g of the sequence in flight in a per-chunk scratch.</summary>
internal class FusedDiagonalScan<T> : DiagonalScan<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _scratch;
    private readonly int _scratchAt, _scratchStride;

    public FusedDiagonalScan(DiagonalWeights<T> weights, int batch, int time, WorkerPool pool)
        : this(weights, batch, time, pool, stateRows: time, scratchStride: 2 * weights.N)
    {
    }

    protected FusedDiagonalScan(DiagonalWeights<T> weights, int batch, int time, WorkerPool pool, int stateRows, int scratchStride)
        : base(weights, batch, time, pool, stateRows)
    {
        _scratchStride = scratchStride;
        _scratch = ScanKernels.AllocateAligned<T>(WorkerPool.ChunkCount(batch, ChunkSize) * scratchStride, out _scratchAt);
    }

    protected override void ScanForward(int count, ReadOnlySpan<T> x, Span<T> hr, Span<T> hi, Span<T> y) =>
        ScanKernels.DiagonalForward<T>(x, hr, hi, W.Lr, W.Li, W.BtRe, W.BtIm, W.CRe.Of(Theta), W.CIm.Of(Theta), y, count, Time, W.N, W.Din, W.Dout);

    protected override void ScanBackward(int chunk, int count, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi, Span<T> dx)
    {
        int n = W.N, din = W.Din, dout = W.Dout;
        var dLr = PLr.AsSpan(chunk * n, n); var dLi = PLi.AsSpan(chunk * n, n);
        var dBr = PBRe.AsSpan(chunk * din * n, din * n); var dBi = PBIm.AsSpan(chunk * din * n, din * n);
        var dCr = PCRe.AsSpan(chunk * dout * n, dout * n); var dCi = PCIm.AsSpan(chunk * dout * n, dout * n);
        dLr.Clear(); dLi.Clear(); dBr.Clear(); dBi.Clear(); dCr.Clear(); dCi.Clear();
        SweepBackward(count, x, dy, hr, hi, _scratch.AsSpan(_scratchAt + chunk * _scratchStride, _scratchStride), dLr, dLi, dBr, dBi, dCr, dCi, dx);
    }

    protected virtual void SweepBackward(int count, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi, Span<T> scratch,
        Span<T> dLr, Span<T> dLi, Span<T> dBr, Span<T> dBi, Span<T> dCr, Span<T> dCi, Span<T> dx) =>
        ScanKernels.DiagonalBackward<T>(x, dy, hr, hi, W.Lr, W.Li, W.BtRe, W.BtIm, W.CRe.Of(Theta), W.CIm.Of(Theta),
            scratch, dLr, dLi, dBr, dBi, dCr, dCi, dx, count, Time, W.N, W.Din, W.Dout);
}

/// <summary>One input and one output feature (the teacher–student shape): the fused sweeps keep only a checkpoint every
/// <see cref="ScanKernels.OneFeatureSegment"/> steps and the backward sweep recomputes each segment's states in cache
/// (<see cref="ScanKernels.DiagonalForwardOneFeature{T}"/>, <see cref="ScanKernels.DiagonalBackwardOneFeature{T}"/>).</summary>
internal sealed class OneFeatureDiagonalScan<T>(DiagonalWeights<T> weights, int batch, int time, WorkerPool pool)
    : FusedDiagonalScan<T>(weights, batch, time, pool, ScanKernels.OneFeatureCheckpoints(time), ScanKernels.OneFeatureScratchLength(weights.N))
    where T : unmanaged, IFloatingPointIeee754<T>
{
    protected override void ScanForward(int count, ReadOnlySpan<T> x, Span<T> hr, Span<T> hi, Span<T> y) =>
        ScanKernels.DiagonalForwardOneFeature<T>(x, hr, hi, W.Lr, W.Li, W.BtRe, W.BtIm, W.CRe.Of(Theta), W.CIm.Of(Theta), y, count, Time, W.N);

    protected override void SweepBackward(int count, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi, Span<T> scratch,
        Span<T> dLr, Span<T> dLi, Span<T> dBr, Span<T> dBi, Span<T> dCr, Span<T> dCi, Span<T> dx) =>
        ScanKernels.DiagonalBackwardOneFeature<T>(x, dy, hr, hi, W.Lr, W.Li, W.BtRe, W.BtIm, W.CRe.Of(Theta), W.CIm.Of(Theta),
            scratch, dLr, dLi, dBr, dBi, dCr, dCi, dx, count, Time, W.N);
}

/// <summary>
/// The recurrence as a causal convolution (the layer is linear time-invariant): with W_s = λ^s,
/// K[s, i, o] = Re(Σ_n C[o,n] λ_n^s B̃[n,i]) = Σ_n Re(W_s)_n U[n,(i,o)] − Im(W_s)_n V[n,(i,o)], U = C_re B̃_re − C_im B̃_im,
/// V = C_re B̃_im + C_im B̃_re (per n), D joining at lag 0; y = K ∗ x (<see cref="ToeplitzConvolution{T}"/>). Backward maps
/// ∂L/∂K to C, B̃, D and, through the adjoint recursion a_{s−1} = ∂L/∂W_{s−1} + λ̄ a_s, to ∂L/∂λ = Σ_s a_s conj(W_{s−1}).
/// </summary>
internal sealed class DiagonalConvolution<T> : DiagonalKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ToeplitzConvolution<T> _conv;
    private readonly T[] _wr, _wi, _u, _v, _kernel, _dKernel, _dWr, _dWi, _dU, _dV, _dBtRe, _dBtIm, _dLr, _dLi;
    private SequenceTensor<T> _x = null!;

    public DiagonalConvolution(DiagonalWeights<T> weights, int batch, int time, WorkerPool pool) : base(weights, batch, time)
    {
        int n = weights.N, din = weights.Din, dd = din * weights.Dout;
        _conv = new ToeplitzConvolution<T>(din, weights.Dout);
        _conv.Prepare(batch, time, pool);
        _wr = new T[time * n]; _wi = new T[time * n]; _dWr = new T[time * n]; _dWi = new T[time * n];
        _u = new T[n * dd]; _v = new T[n * dd]; _dU = new T[n * dd]; _dV = new T[n * dd];
        _kernel = new T[time * dd]; _dKernel = new T[time * dd];
        _dBtRe = new T[din * n]; _dBtIm = new T[din * n]; _dLr = new T[n]; _dLi = new T[n];
    }

    public override void Forward(T[] theta, SequenceTensor<T> x, SequenceTensor<T> y)
    {
        int n = W.N, din = W.Din, dout = W.Dout, dd = din * dout;
        T[] lr = W.Lr, li = W.Li, btRe = W.BtRe, btIm = W.BtIm;
        _x = x;
        // W_0 = 1, W_s = λ ⊙ W_{s−1}
        _wr.AsSpan(0, n).Fill(T.One); _wi.AsSpan(0, n).Clear();
        var powers = new Powers(_wr, _wi, lr, li, Time, n);
        Lanes.ForEach<Powers, T>(ref powers, n);
        var cRe = W.CRe.Of(theta); var cIm = W.CIm.Of(theta);
        for (int k = 0; k < n; k++)
            for (int i = 0; i < din; i++)
            {
                T br = btRe[i * n + k], bi = btIm[i * n + k];
                for (int o = 0; o < dout; o++)
                {
                    T cr = cRe[o * n + k], ci = cIm[o * n + k];
                    _u[k * dd + i * dout + o] = cr * br - ci * bi;
                    _v[k * dd + i * dout + o] = cr * bi + ci * br;
                }
            }
        Gemm.Multiply(Transpose.No, Transpose.No, Time, dd, n, T.One, _wr, n, _u, dd, T.Zero, _kernel, dd);
        Gemm.Multiply(Transpose.No, Transpose.No, Time, dd, n, -T.One, _wi, n, _v, dd, T.One, _kernel, dd);
        if (W.D is { } dView)
        {
            var d = dView.Of(theta);
            if (W.DiagonalSkip)
                for (int i = 0; i < din; i++) _kernel[i * dout + i] += d[i];
            else
                for (int i = 0; i < din; i++)
                    for (int o = 0; o < dout; o++) _kernel[i * dout + o] += d[o * din + i];
        }
        _conv.Forward(_kernel, x, y);
    }

    public override DiagonalAdjoint<T> Backward(T[] theta, SequenceTensor<T> dy, SequenceTensor<T>? dx, T[] gradient)
    {
        int n = W.N, din = W.Din, dout = W.Dout, dd = din * dout;
        T[] lr = W.Lr, li = W.Li, btRe = W.BtRe, btIm = W.BtIm;
        _conv.Backward(_x, dy, _dKernel, dx);
        if (W.D is { } dView)
        {
            var gd = dView.Of(gradient);
            if (W.DiagonalSkip)
                for (int i = 0; i < din; i++) gd[i] += _dKernel[i * dout + i];
            else
                for (int i = 0; i < din; i++)
                    for (int o = 0; o < dout; o++) gd[o * din + i] += _dKernel[i * dout + o];
        }
        Gemm.Multiply(Transpose.No, Transpose.Yes, Time, n, dd, T.One, _dKernel, dd, _u, dd, T.Zero, _dWr, n);
        Gemm.Multiply(Transpose.No, Transpose.Yes, Time, n, dd, -T.One, _dKernel, dd, _v, dd, T.Zero, _dWi, n);
        Gemm.Multiply(Transpose.Yes, Transpose.No, n, dd, Time, T.One, _wr, n, _dKernel, dd, T.Zero, _dU, dd);
        Gemm.Multiply(Transpose.Yes, Transpose.No, n, dd, Time, -T.One, _wi, n, _dKernel, dd, T.Zero, _dV, dd);
        var cRe = W.CRe.Of(theta); var cIm = W.CIm.Of(theta);
        var gcRe = W.CRe.Of(gradient); var gcIm = W.CIm.Of(gradient);
        _dBtRe.AsSpan().Clear(); _dBtIm.AsSpan().Clear();
        for (int k = 0; k < n; k++)
            for (int i = 0; i < din; i++)
            {
                T br = btRe[i * n + k], bi = btIm[i * n + k];
                for (int o = 0; o < dout; o++)
                {
                    T du = _dU[k * dd + i * dout + o], dv = _dV[k * dd + i * dout + o];
                    T cr = cRe[o * n + k], ci = cIm[o * n + k];
                    gcRe[o * n + k] += du * br + dv * bi;
                    gcIm[o * n + k] += dv * br - du * bi;
                    _dBtRe[i * n + k] += du * cr + dv * ci;
                    _dBtIm[i * n + k] += dv * cr - du * ci;
                }
            }
        // a_{s−1} = ∂L/∂W_{s−1} + λ̄ a_s, ∂L/∂λ += a_s conj(W_{s−1})
        _dLr.AsSpan().Clear(); _dLi.AsSpan().Clear();
        var adjoint = new PowersAdjoint(_dWr, _dWi, _wr, _wi, lr, li, _dLr, _dLi, Time, n);
        Lanes.ForEach<PowersAdjoint, T>(ref adjoint, n);
        return new DiagonalAdjoint<T>(_dBtRe, _dBtIm, _dLr, _dLi);
    }

    // W_s = λ ⊙ W_{s−1} for s = 1 … T−1 (rows of N; W_0 set by the caller).
    private readonly ref struct Powers(Span<T> wr, Span<T> wi, ReadOnlySpan<T> lr, ReadOnlySpan<T> li, int time, int n) : ILaneKernel<T>
    {
        private readonly Span<T> _wr = wr, _wi = wi;
        private readonly ReadOnlySpan<T> _lr = lr, _li = li;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            ref T wr = ref MemoryMarshal.GetReference(_wr), wi = ref MemoryMarshal.GetReference(_wi);
            ref T lr = ref MemoryMarshal.GetReference(_lr), li = ref MemoryMarshal.GetReference(_li);
            for (int s = 1; s < time; s++)
            {
                ref T pr = ref Unsafe.Add(ref wr, (s - 1) * n), pi = ref Unsafe.Add(ref wi, (s - 1) * n);
                ref T cr = ref Unsafe.Add(ref wr, s * n), ci = ref Unsafe.Add(ref wi, s * n);
                for (nuint k = from; k < to; k += (nuint)TS.Count)
                {
                    TV a = TS.Load(ref lr, k), b = TS.Load(ref li, k), xr = TS.Load(ref pr, k), xi = TS.Load(ref pi, k);
                    TS.Store(TS.Sub(TS.Mul(a, xr), TS.Mul(b, xi)), ref cr, k);
                    TS.Store(TS.Add(TS.Mul(a, xi), TS.Mul(b, xr)), ref ci, k);
                }
            }
        }
    }

    // For s = T−1 … 1: ∂L/∂λ += a_s conj(W_{s−1}), a_{s−1} = ∂L/∂W_{s−1} + λ̄ a_s (a held in place of ∂L/∂W).
    private readonly ref struct PowersAdjoint(Span<T> dWr, Span<T> dWi, ReadOnlySpan<T> wr, ReadOnlySpan<T> wi, ReadOnlySpan<T> lr, ReadOnlySpan<T> li,
        Span<T> dLr, Span<T> dLi, int time, int n) : ILaneKernel<T>
    {
        private readonly Span<T> _dWr = dWr, _dWi = dWi, _dLr = dLr, _dLi = dLi;
        private readonly ReadOnlySpan<T> _wr = wr, _wi = wi, _lr = lr, _li = li;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            ref T dwr = ref MemoryMarshal.GetReference(_dWr), dwi = ref MemoryMarshal.GetReference(_dWi);
            ref T wr = ref MemoryMarshal.GetReference(_wr), wi = ref MemoryMarshal.GetReference(_wi);
            ref T lr = ref MemoryMarshal.GetReference(_lr), li = ref MemoryMarshal.GetReference(_li);
            ref T dlr = ref MemoryMarshal.GetReference(_dLr), dli = ref MemoryMarshal.GetReference(_dLi);
            for (int s = time - 1; s >= 1; s--)
            {
                ref T ar = ref Unsafe.Add(ref dwr, s * n), ai = ref Unsafe.Add(ref dwi, s * n);
                ref T pr = ref Unsafe.Add(ref dwr, (s - 1) * n), pi = ref Unsafe.Add(ref dwi, (s - 1) * n);
                ref T vr = ref Unsafe.Add(ref wr, (s - 1) * n), vi = ref Unsafe.Add(ref wi, (s - 1) * n);
                for (nuint k = from; k < to; k += (nuint)TS.Count)
                {
                    TV xr = TS.Load(ref ar, k), xi = TS.Load(ref ai, k), yr = TS.Load(ref vr, k), yi = TS.Load(ref vi, k);
                    TV a = TS.Load(ref lr, k), b = TS.Load(ref li, k);
                    TS.Store(TS.Add(TS.Load(ref dlr, k), TS.Add(TS.Mul(xr, yr), TS.Mul(xi, yi))), ref dlr, k);
                    TS.Store(TS.Add(TS.Load(ref dli, k), TS.Sub(TS.Mul(xi, yr), TS.Mul(xr, yi))), ref dli, k);
                    TS.Store(TS.Add(TS.Load(ref pr, k), TS.Add(TS.Mul(xr, a), TS.Mul(xi, b))), ref pr, k);
                    TS.Store(TS.Add(TS.Load(ref pi, k), TS.Sub(TS.Mul(xi, a), TS.Mul(xr, b))), ref pi, k);
                }
            }
        }
    }
}
