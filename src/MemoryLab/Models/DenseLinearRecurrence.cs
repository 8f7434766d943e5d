using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>Settings of a <see cref="DenseLinearRecurrence{T}"/>.</summary>
public sealed record DenseLinearRecurrenceOptions
{
    /// <summary>State size N (all heads together).</summary>
    public required int StateSize { get; init; }
    /// <summary>Number of heads: A is block-diagonal with <c>Heads</c> blocks of size N/Heads.</summary>
    public int Heads { get; init; } = 1;
    /// <summary>Whether y has the D x term.</summary>
    public bool Skip { get; init; } = true;
    /// <summary>ν₀ of the spectral initialisation of A (Zucchet24 §5: 0, so |λ| ≲ 0.8).</summary>
    public double Nu0 { get; init; }
    /// <summary>θ₀ of the spectral initialisation of A (π keeps the phases as drawn).</summary>
    public double Theta0 { get; init; } = Math.PI;
    /// <summary>Scan, convolution, or chosen per shape and thread count by <see cref="LtiCostModel"/> (default in code: the
    /// scan; a spec's default is <c>auto</c>, resolved into the run's spec when the run is planned).</summary>
    public LtiAlgorithm Algorithm { get; init; } = LtiAlgorithm.Scan;

    /// <summary>Throws <see cref="ArgumentException"/> for out-of-range settings.</summary>
    public void Validate()
    {
        if (StateSize <= 0) throw new ArgumentException($"state size must be positive (got {StateSize})");
        if (Heads <= 0 || StateSize % Heads != 0) throw new ArgumentException($"heads ({Heads}) must divide the state size ({StateSize})");
        if (!(Nu0 >= 0 && Nu0 < 1)) throw new ArgumentException($"ν₀ must lie in [0, 1) (got {Nu0})");
    }
}

/// <summary>
/// Dense linear recurrence (Zucchet24 §3):
/// <code>
///   h_t = A h_{t−1} + B x_t,   h_{−1} = 0
///   y_t = C h_t + D x_t
/// </code>
/// with A optionally block-diagonal (multi-head). Each step is one GEMM over a chunk of sequences;
/// backward runs g_t = Cᵀ dy_t + Aᵀ g_{t+1} and forms ∂L/∂A = Σ_t g_t h_{t−1}ᵀ as one GEMM per sequence.
/// With <see cref="LtiAlgorithm.Convolution"/> the layer builds the kernel K_s = C A^s B (+ D at s = 0) by the
/// recursion V_s = A V_{s−1}, V_0 = B, and convolves (<see cref="ToeplitzConvolution{T}"/>); the backward runs
/// the reverse recursion R_{s−1} = ∂L/∂V_{s−1} + Aᵀ R_s with ∂L/∂A = Σ_s R_s V_{s−1}ᵀ (cost O(T·N²·in), not O(T²)).
/// </summary>
public sealed class DenseLinearRecurrence<T> : ISequenceLayer<T>, ILtiLayer where T : unmanaged, IFloatingPointIeee754<T>
{
    internal const int ChunkSize = 16; // sequences per chunk (GEMM rows per step); fixed for determinism

    private readonly DenseLinearRecurrenceOptions _o;
    private readonly int _n, _din, _dout, _heads, _hs;
    private ParameterView _a = null!, _b = null!, _c = null!;
    private ParameterView? _d;
    private int _batch, _time, _chunks;
    private T[] _h = [], _g = [], _bt = [], _at = []; // _at: each head block of A transposed
    private T[] _pA = [], _pB = [], _pC = [], _pD = [];
    // Fused path (one head, narrow d): time-major rows per chunk, row r = [h_{r−1} | x_r] and [g_r | dy_{r−1}],
    // and the per-chunk step matrices [Aᵀ; Bᵀ] and [A; C].
    private T[] _hx = [], _gy = [], _wf = [], _wb = [];
    private WorkerPool _pool = null!;
    private readonly ChunkAction _forward, _backward;
    private T[] _theta = [];
    private SequenceTensor<T> _x = null!, _y = null!, _dy = null!;
    private SequenceTensor<T>? _dx;
    // Convolution path: V_s stored transposed, [T, in, N], so K = V Cᵀ is one GEMM and ∂L/∂A one GEMM per head.
    private LtiAlgorithm _algorithm = LtiAlgorithm.Scan;
    private ToeplitzConvolution<T>? _conv;
    private T[] _v = [], _r = [], _kernel = [], _dKernel = [];

    /// <summary>A dense linear recurrence from <paramref name="inputSize"/> to <paramref name="outputSize"/> features.</summary>
    public DenseLinearRecurrence(int inputSize, int outputSize, DenseLinearRecurrenceOptions options)
    {
        options.Validate();
        if (inputSize <= 0 || outputSize <= 0) throw new ArgumentException($"input and output sizes must be positive (got {inputSize}, {outputSize})");
        _o = options;
        _n = options.StateSize; _din = inputSize; _dout = outputSize;
        _heads = options.Heads; _hs = _n / _heads;
        _forward = new ChunkAction(ForwardChunk);
        _backward = new ChunkAction(BackwardChunk);
    }

    /// <summary>The settings.</summary>
    public DenseLinearRecurrenceOptions Options => _o;
    /// <summary>The algorithm the latest <see cref="Prepare"/> settled on (<see cref="LtiAlgorithm.Auto"/> resolved by <see cref="LtiCostModel.Choose"/>).</summary>
    public LtiAlgorithm ResolvedAlgorithm => _algorithm;
    /// <inheritdoc />
    public LtiAlgorithm AlgorithmFor(int batch, int time, int threads) => _o.Algorithm == LtiAlgorithm.Auto
        ? LtiCostModel.Choose(LtiLayerKind.Dense, batch, time, _n, _din, _dout, _heads, threads)
        : _o.Algorithm;
    /// <inheritdoc />
    public int InputSize => _din;
    /// <inheritdoc />
    public int OutputSize => _dout;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix)
    {
        _a = _heads == 1
            ? layout.Add(ParameterLayout.Join(prefix, "A"), "recurrent", _n, _n)
            : layout.Add(ParameterLayout.Join(prefix, "A"), "recurrent", _heads, _hs, _hs);
        _b = layout.Add(ParameterLayout.Join(prefix, "B"), "input", _n, _din);
        _c = layout.Add(ParameterLayout.Join(prefix, "C"), "readout", _dout, _n);
        if (_o.Skip) _d = layout.Add(ParameterLayout.Join(prefix, "D"), "skip", _dout, _din);
    }

    /// <summary>A (each head) by <see cref="SpectralInit.RemappedRandomMatrix"/> with ν₀, θ₀; B, C, D lecun-normal (variance 1/fan-in).</summary>
    public void Initialize(Span<T> theta, CounterRng rng)
    {
        var a = _a.Of(theta);
        for (int h = 0; h < _heads; h++)
        {
            var block = SpectralInit.RemappedRandomMatrix(_hs, _o.Nu0, _o.Theta0, rng.Fork((ulong)h));
            for (int i = 0; i < block.Length; i++) a[h * _hs * _hs + i] = T.CreateTruncating(block[i]);
        }
        rng.FillNormal(_b.Of(theta), 0, Math.Sqrt(1.0 / _din));
        rng.FillNormal(_c.Of(theta), 0, Math.Sqrt(1.0 / _n));
        if (_d != null) rng.FillNormal(_d.Of(theta), 0, Math.Sqrt(1.0 / _din));
    }

    /// <summary>Writes A as a full N×N matrix (zeros off the head blocks) into <paramref name="dense"/>.</summary>
    public void FullRecurrentMatrix(ReadOnlySpan<T> theta, Span<T> dense)
    {
        dense[..(_n * _n)].Clear();
        var a = _a.Of(theta);
        for (int h = 0; h < _heads; h++)
            for (int i = 0; i < _hs; i++)
                for (int j = 0; j < _hs; j++)
                    dense[(h * _hs + i) * _n + h * _hs + j] = a[(h * _hs + i) * _hs + j];
    }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        _batch = batch; _time = time; _pool = pool;
        _algorithm = AlgorithmFor(batch, time, pool.Threads);
        _bt = new T[_din * _n];
        _at = new T[_a.Length];
        if (_algorithm == LtiAlgorithm.Convolution)
        {
            _conv ??= new ToeplitzConvolution<T>(_din, _dout);
            _conv.Prepare(batch, time, pool);
            _v = new T[checked(time * _din * _n)]; _r = new T[_v.Length];
            _kernel = new T[checked(time * _din * _dout)]; _dKernel = new T[_kernel.Length];
            _h = _g = _pA = _pB = _pC = _pD = [];
            _chunks = 0;
            return;
        }
        _chunks = WorkerPool.ChunkCount(batch, ChunkSize);
        if (Fused)
        {
            _hx = new T[checked(batch * (time + 1) * (_n + _din))];
            _gy = new T[checked(batch * (time + 1) * (_n + _dout))];
            _wf = new T[_chunks * (_n + _din) * _n];
            _wb = new T[_chunks * (_n + _dout) * _n];
        }
        else
        {
            _h = new T[checked(batch * time * _n)];
            _g = new T[_h.Length];
        }
        _pA = new T[_chunks * _a.Length];
        _pB = new T[_chunks * _din * _n];
        _pC = new T[_chunks * _dout * _n];
        _pD = new T[_chunks * _dout * _din];
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        Check(input, _din); Check(output, _dout);
        Transposes(theta);
        _theta = theta; _x = input; _y = output;
        if (_algorithm == LtiAlgorithm.Convolution)
        {
            BuildKernel(theta);
            _conv!.Forward(_kernel, _x, _y);
        }
        else _pool.Run(_forward, _chunks);
    }

    /// <summary>The convolution kernel of <paramref name="theta"/> at the prepared length, [T, in, out]: kernel[(s·in + i)·out + o] =
    /// (C A^s B)[o, i], plus D[o, i] at s = 0 — exactly what <see cref="Forward"/> convolves with (the same bits). Needs a
    /// <see cref="Prepare"/> that settled on <see cref="LtiAlgorithm.Convolution"/>. The span is the layer's own buffer, valid
    /// until its next forward pass.</summary>
    public ReadOnlySpan<T> ConvolutionKernel(T[] theta)
    {
        if (_algorithm != LtiAlgorithm.Convolution) throw new InvalidOperationException("the kernel needs a layer prepared for the convolution algorithm");
        Transposes(theta);
        BuildKernel(theta);
        return _kernel;
    }

    // Bᵀ and each head block of A transposed, as the forward passes read them.
    private void Transposes(T[] theta)
    {
        var b = _b.Of(theta);
        for (int i = 0; i < _n; i++)
            for (int j = 0; j < _din; j++) _bt[j * _n + i] = b[i * _din + j];
        var a = _a.Of(theta);
        for (int hd = 0; hd < _heads; hd++)
            for (int i = 0; i < _hs; i++)
                for (int j = 0; j < _hs; j++) _at[hd * _hs * _hs + j * _hs + i] = a[hd * _hs * _hs + i * _hs + j];
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        Check(outputGradient, _dout);
        if (inputGradient != null) Check(inputGradient, _din);
        _theta = theta; _dy = outputGradient; _dx = inputGradient;
        if (_algorithm == LtiAlgorithm.Convolution)
        {
            ConvolutionBackward(theta, gradient);
            return;
        }
        _pool.Run(_backward, _chunks);
        var ga = _a.Of(gradient); var gb = _b.Of(gradient); var gc = _c.Of(gradient);
        for (int c = 0; c < _chunks; c++)
        {
            Kernels.Add(ga, _pA.AsSpan(c * _a.Length, _a.Length));
            Kernels.Add(gc, _pC.AsSpan(c * _dout * _n, _dout * _n));
            if (_d != null) Kernels.Add(_d.Of(gradient), _pD.AsSpan(c * _dout * _din, _dout * _din));
            var pb = _pB.AsSpan(c * _din * _n, _din * _n); // ∂L/∂Bᵀ, [in × N]
            for (int i = 0; i < _n; i++)
                for (int j = 0; j < _din; j++) gb[i * _din + j] += pb[j * _n + i];
        }
    }

    /// <summary>One head with few input and output features (the teacher–student shape): each step is one GEMM
    /// [h_{t−1} | x_t]·[Aᵀ; Bᵀ] over the chunk's sequences stored time-major (contiguous rows, the input map
    /// folded into the same product), backward likewise [g_{t+1} | dy_t]·[A; C], and [∂L/∂A | ∂L/∂B] is one GEMM
    /// over all steps. Wide or multi-head layers keep the general path.</summary>
    private bool Fused => _heads == 1 && _din <= FusedMaxFeatures && _dout <= FusedMaxFeatures;

    /// <summary>Widest input/output of the fused path: the appended columns widen every step's GEMM by d.</summary>
    private const int FusedMaxFeatures = 8;

    private void ForwardChunk(int chunk)
    {
        if (Fused) { ForwardChunkFused(chunk); return; }
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, _batch - b0), rows = count * _time, stride = _time * _n;
        var x = _x.Sequences(b0, count);
        var h = _h.AsSpan(b0 * stride, count * stride);
        if (_din == 1) NarrowProducts.OuterProduct(x, _bt, T.One, h, rows); // u = x Bᵀ (same bits as the GEMM, much faster)
        else Gemm.Multiply(Transpose.No, Transpose.No, rows, _n, _din, T.One, x, _din, _bt, _n, T.Zero, h, _n); // u = x Bᵀ
        for (int t = 1; t < _time; t++)
        {
            // H_t[:, head] += H_{t−1}[:, head] A_headᵀ  (rows are the chunk's sequences, stride T·N)
            if (SmallHeads) HeadBlocks(count, h[((t - 1) * _n)..], stride, _at, true, h[(t * _n)..], stride);
            else
                for (int hd = 0; hd < _heads; hd++)
                {
                    int col = hd * _hs;
                    Gemm.Multiply(Transpose.No, Transpose.No, count, _hs, _hs, T.One, h[((t - 1) * _n + col)..], stride,
                        _at.AsSpan(hd * _hs * _hs, _hs * _hs), _hs, T.One, h[(t * _n + col)..], stride);
                }
        }
        var y = _y.Sequences(b0, count);
        if (_dout == 1)
        {
            // One output feature: row dots with the GEMM's bits, without its 1-wide tiles.
            NarrowProducts.RowDots(h, _c.Of(_theta), T.One, false, y, rows);
            if (_d != null) NarrowProducts.RowDots(x, _d.Of(_theta), T.One, true, y, rows);
            return;
        }
        Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _dout, _n, T.One, h, _n, _c.Of(_theta), _n, T.Zero, y, _dout);
        if (_d != null) Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _dout, _din, T.One, x, _din, _d.Of(_theta), _din, T.One, y, _dout);
    }

    /// <summary>Steps per block of the fused backward's weight-gradient GEMMs: 32 steps of a 16-sequence chunk
    /// are 32 KiB of g rows at N = 64, still in L1/L2 when their GEMM reads them.</summary>
    private const int GradientBlockSteps = 32;

    private void ForwardChunkFused(int chunk)
    {
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, _batch - b0), rows = count * _time;
        int n = _n, din = _din, dout = _dout, time = _time, width = n + din;
        var x = _x.Sequences(b0, count);
        var y = _y.Sequences(b0, count);
        var a = _a.Of(_theta); var bm = _b.Of(_theta); var c = _c.Of(_theta);
        // W_f = [Aᵀ; Bᵀ], (N + d_in) × N: h_t = [h_{t−1} | x_t] W_f.
        var wf = _wf.AsSpan(chunk * width * n, width * n);
        for (int k = 0; k < n; k++)
            for (int i = 0; i < n; i++) wf[k * n + i] = a[i * n + k];
        for (int j = 0; j < din; j++)
            for (int i = 0; i < n; i++) wf[(n + j) * n + i] = bm[i * din + j];
        // Rows r = 0..T of the chunk, time-major: [h_{r−1} | x_r], h_{−1} = 0 (x_T unused, kept 0).
        var hx = _hx.AsSpan(b0 * (time + 1) * width, count * (time + 1) * width);
        hx[..(count * width)].Clear();
        hx[(time * count * width)..].Clear();
        for (int b = 0; b < count; b++)
            for (int t = 0; t < time; t++)
                for (int j = 0; j < din; j++) hx[(t * count + b) * width + n + j] = x[(b * time + t) * din + j]; // d is small: no call per row
        for (int t = 0; t < time; t++)
            Gemm.Multiply(Transpose.No, Transpose.No, count, n, width, T.One, hx[(t * count * width)..], width,
                wf, n, T.Zero, hx[((t + 1) * count * width)..], width);
        // y_t = C h_t (+ D x_t below); h_t is the head of row t + 1.
        for (int b = 0; b < count; b++)
            for (int t = 0; t < time; t++)
            {
                var h = hx.Slice(((t + 1) * count + b) * width, n);
                for (int o = 0; o < dout; o++) y[(b * time + t) * dout + o] = ScanKernels.Dot<T>(h, c.Slice(o * n, n));
            }
        if (_d != null) Gemm.Multiply(Transpose.No, Transpose.Yes, rows, dout, din, T.One, x, din, _d.Of(_theta), din, T.One, y, dout);
    }

    private void BackwardChunkFused(int chunk)
    {
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, _batch - b0), rows = count * _time;
        int n = _n, din = _din, dout = _dout, time = _time, width = n + din, gw = n + dout;
        var x = _x.Sequences(b0, count);
        var dy = _dy.Sequences(b0, count);
        var a = _a.Of(_theta); var c = _c.Of(_theta);
        // W_b = [A; C], (N + d_out) × N: g_t = [g_{t+1} | dy_t] W_b.
        var wb = _wb.AsSpan(chunk * gw * n, gw * n);
        a.CopyTo(wb);
        c.CopyTo(wb[(n * n)..]);
        // Rows r = 0..T: [g_r | dy_{r−1}], g_T = 0.
        var gy = _gy.AsSpan(b0 * (time + 1) * gw, count * (time + 1) * gw);
        gy[..(count * gw)].Clear();
        gy[(time * count * gw)..].Clear();
        for (int b = 0; b < count; b++)
            for (int t = 0; t < time; t++)
                for (int o = 0; o < dout; o++) gy[((t + 1) * count + b) * gw + n + o] = dy[(b * time + t) * dout + o];
        var hx = _hx.AsSpan(b0 * (time + 1) * width, count * (time + 1) * width);
        var pa = _pA.AsSpan(chunk * n * n, n * n);
        var pb = _pB.AsSpan(chunk * din * n, din * n); // ∂L/∂Bᵀ, [in × N]
        var pc = _pC.AsSpan(chunk * dout * n, dout * n);
        bool first = true;
        for (int t = time - 1; t >= 0; t--)
        {
            Gemm.Multiply(Transpose.No, Transpose.No, count, n, gw, T.One, gy[((t + 1) * count * gw)..], gw,
                wb, n, T.Zero, gy[(t * count * gw)..], gw);
            if (t % GradientBlockSteps != 0) continue;
            // Steps t..t1−1 are done: add their share of the weight gradients while their g rows are still in
            // cache (every GradientBlockSteps steps, in reverse time order: fixed, so deterministic).
            int t1 = Math.Min(t + GradientBlockSteps, time), r0 = t * count, block = (t1 - t) * count;
            T beta = first ? T.Zero : T.One;
            first = false;
            // ∂L/∂A += Σ g_s h_{s−1}ᵀ, ∂L/∂Bᵀ += Σ x_s g_sᵀ (rows s of both), ∂L/∂C += Σ dy_s h_sᵀ (rows s + 1).
            Gemm.Multiply(Transpose.Yes, Transpose.No, n, n, block, T.One, gy[(r0 * gw)..], gw, hx[(r0 * width)..], width, beta, pa, n);
            Gemm.Multiply(Transpose.Yes, Transpose.No, din, n, block, T.One, hx[(r0 * width + n)..], width, gy[(r0 * gw)..], gw, beta, pb, n);
            Gemm.Multiply(Transpose.Yes, Transpose.No, dout, n, block, T.One, gy[((r0 + count) * gw + n)..], gw, hx[((r0 + count) * width)..], width,
                beta, pc, n);
        }
        if (_d != null)
            Gemm.Multiply(Transpose.Yes, Transpose.No, dout, din, rows, T.One, dy, dout, x, din, T.Zero, _pD.AsSpan(chunk * dout * din, dout * din), din);
        if (_dx != null)
        {
            // ∂L/∂x_t = Bᵀ g_t + Dᵀ dy_t
            var dx = _dx.Sequences(b0, count);
            for (int b = 0; b < count; b++)
                for (int t = 0; t < time; t++)
                {
                    var g = gy.Slice((t * count + b) * gw, n);
                    for (int j = 0; j < din; j++) dx[(b * time + t) * din + j] = ScanKernels.Dot<T>(g, _bt.AsSpan(j * n, n));
                }
            if (_d != null) Gemm.Multiply(Transpose.No, Transpose.No, rows, din, dout, T.One, dy, dout, _d.Of(_theta), din, T.One, dx, din);
        }
    }

    private void BackwardChunk(int chunk)
    {
        if (Fused) { BackwardChunkFused(chunk); return; }
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, _batch - b0), rows = count * _time, stride = _time * _n;
        var x = _x.Sequences(b0, count);
        var dy = _dy.Sequences(b0, count);
        var h = _h.AsSpan(b0 * stride, count * stride);
        var g = _g.AsSpan(b0 * stride, count * stride);
        var a = _a.Of(_theta);
        if (_dout == 1) NarrowProducts.OuterProduct(dy, _c.Of(_theta), T.One, g, rows); // e = dy C
        else Gemm.Multiply(Transpose.No, Transpose.No, rows, _n, _dout, T.One, dy, _dout, _c.Of(_theta), _n, T.Zero, g, _n); // e = dy C
        for (int t = _time - 2; t >= 0; t--)
        {
            // G_t[:, head] += G_{t+1}[:, head] A_head
            if (SmallHeads) HeadBlocks(count, g[((t + 1) * _n)..], stride, a, true, g[(t * _n)..], stride);
            else
                for (int hd = 0; hd < _heads; hd++)
                {
                    int col = hd * _hs;
                    Gemm.Multiply(Transpose.No, Transpose.No, count, _hs, _hs, T.One, g[((t + 1) * _n + col)..], stride,
                        a.Slice(hd * _hs * _hs, _hs * _hs), _hs, T.One, g[(t * _n + col)..], stride);
                }
        }
        // ∂L/∂A_head = Σ_b Σ_{t≥1} g_t h_{t−1}ᵀ
        var pa = _pA.AsSpan(chunk * _a.Length, _a.Length);
        pa.Clear();
        if (_time > 1)
            for (int b = 0; b < count; b++)
                for (int hd = 0; hd < _heads; hd++)
                {
                    int col = hd * _hs;
                    Gemm.Multiply(Transpose.Yes, Transpose.No, _hs, _hs, _time - 1, T.One, g[(b * stride + _n + col)..], _n,
                        h[(b * stride + col)..], _n, T.One, pa.Slice(hd * _hs * _hs, _hs * _hs), _hs);
                }
        // One-feature sides take the narrow products (the GEMM's bits, without its 1-row tiles).
        if (_din == 1) NarrowProducts.VectorTimesMatrix(x, g, T.One, _pB.AsSpan(chunk * _n, _n), rows);
        else Gemm.Multiply(Transpose.Yes, Transpose.No, _din, _n, rows, T.One, x, _din, g, _n, T.Zero, _pB.AsSpan(chunk * _din * _n, _din * _n), _n);
        if (_dout == 1) NarrowProducts.VectorTimesMatrix(dy, h, T.One, _pC.AsSpan(chunk * _n, _n), rows);
        else Gemm.Multiply(Transpose.Yes, Transpose.No, _dout, _n, rows, T.One, dy, _dout, h, _n, T.Zero, _pC.AsSpan(chunk * _dout * _n, _dout * _n), _n);
        if (_d != null && _dout == 1) NarrowProducts.VectorTimesMatrix(dy, x, T.One, _pD.AsSpan(chunk * _din, _din), rows);
        else if (_d != null)
            Gemm.Multiply(Transpose.Yes, Transpose.No, _dout, _din, rows, T.One, dy, _dout, x, _din, T.Zero, _pD.AsSpan(chunk * _dout * _din, _dout * _din), _din);
        if (_dx != null)
        {
            var dx = _dx.Sequences(b0, count);
            if (_din == 1)
            {
                NarrowProducts.RowDots(g, _bt, T.One, false, dx, rows); // g B
                if (_d != null) NarrowProducts.RowDots(dy, _d.Of(_theta), T.One, true, dx, rows);
                return;
            }
            Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _din, _n, T.One, g, _n, _bt, _n, T.Zero, dx, _din); // g B
            if (_d != null) Gemm.Multiply(Transpose.No, Transpose.No, rows, _din, _dout, T.One, dy, _dout, _d.Of(_theta), _din, T.One, dx, _din);
        }
    }

    // Vᵀ_0 = Bᵀ, Vᵀ_s = Vᵀ_{s−1} A_headᵀ (head by head), K_sᵀ = Vᵀ_s Cᵀ: all lags at once, [T·in, out]; D joins at lag 0.
    private void BuildKernel(T[] theta)
    {
        int n = _n, din = _din, dout = _dout, step = din * n;
        _bt.CopyTo(_v, 0);
        for (int s = 1; s < _time; s++)
        {
            if (SmallHeads) HeadBlocks(din, _v.AsSpan((s - 1) * step), n, _at, false, _v.AsSpan(s * step), n);
            else
                for (int hd = 0; hd < _heads; hd++)
                {
                    int col = hd * _hs;
                    Gemm.Multiply(Transpose.No, Transpose.No, din, _hs, _hs, T.One, _v.AsSpan((s - 1) * step + col), n,
                        _at.AsSpan(hd * _hs * _hs, _hs * _hs), _hs, T.Zero, _v.AsSpan(s * step + col), n);
                }
        }
        Gemm.Multiply(Transpose.No, Transpose.Yes, _time * din, dout, n, T.One, _v, n, _c.Of(theta), n, T.Zero, _kernel, dout);
        if (_d != null)
        {
            var d = _d.Of(theta);
            for (int i = 0; i < din; i++)
                for (int o = 0; o < dout; o++) _kernel[i * dout + o] += d[o * din + i];
        }
    }

    // ∂L/∂Kᵀ from the convolution; ∂L/∂C = Σ_s ∂Kᵀ_sᵀ Vᵀ_s; R = ∂L/∂Vᵀ = ∂Kᵀ C, accumulated backwards R_{s−1} += R_s A;
    // ∂L/∂A_head = Σ_{s≥1} R_sᵀ Vᵀ_{s−1} (one GEMM over all lags); ∂L/∂Bᵀ = R_0.
    private void ConvolutionBackward(T[] theta, T[] gradient)
    {
        int n = _n, din = _din, dout = _dout, step = din * n;
        _conv!.Backward(_x, _dy, _dKernel, _dx);
        if (_d != null)
        {
            var gd = _d.Of(gradient);
            for (int i = 0; i < din; i++)
                for (int o = 0; o < dout; o++) gd[o * din + i] += _dKernel[i * dout + o];
        }
        var c = _c.Of(theta);
        Gemm.Multiply(Transpose.Yes, Transpose.No, dout, n, _time * din, T.One, _dKernel, dout, _v, n, T.One, _c.Of(gradient), n);
        Gemm.Multiply(Transpose.No, Transpose.No, _time * din, n, dout, T.One, _dKernel, dout, c, n, T.Zero, _r, n);
        var a = _a.Of(theta);
        for (int s = _time - 1; s >= 1; s--)
        {
            if (SmallHeads) HeadBlocks(din, _r.AsSpan(s * step), n, a, true, _r.AsSpan((s - 1) * step), n);
            else
                for (int hd = 0; hd < _heads; hd++)
                {
                    int col = hd * _hs;
                    Gemm.Multiply(Transpose.No, Transpose.No, din, _hs, _hs, T.One, _r.AsSpan(s * step + col), n,
                        a.Slice(hd * _hs * _hs, _hs * _hs), _hs, T.One, _r.AsSpan((s - 1) * step + col), n);
                }
        }
        var ga = _a.Of(gradient);
        if (_time > 1)
            for (int hd = 0; hd < _heads; hd++)
            {
                int col = hd * _hs;
                Gemm.Multiply(Transpose.Yes, Transpose.No, _hs, _hs, (_time - 1) * din, T.One, _r.AsSpan(step + col), n,
                    _v.AsSpan(col), n, T.One, ga.Slice(hd * _hs * _hs, _hs * _hs), _hs);
            }
        var gb = _b.Of(gradient);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < din; j++) gb[i * din + j] += _r[j * n + i];
    }

    /// <summary>Whether the per-step block products of a multi-head layer run in <see cref="HeadBlocks"/> instead of one
    /// <see cref="Gemm"/> call per head: with many small heads (Zucchet &amp; Orvieto 2024, Fig. 11: up to 32 heads of 2 neurons)
    /// the calls' set-up, not the arithmetic, was the step's cost. Only where <see cref="Gemm"/> runs its blocked FMA kernel,
    /// whose per-element sums <see cref="HeadBlocks"/> repeats exactly (a head fits one k-block).</summary>
    private bool SmallHeads => _heads > 1 && _hs <= Gemm.KBlock
        && (typeof(T) == typeof(float) || typeof(T) == typeof(double)) && Fma.IsSupported && Avx2.IsSupported;

    /// <summary>
    /// For every head h: C[r, h·hs + j] (+)= Σ_p A[r, h·hs + p] · W_h[p, j] over <paramref name="rows"/> rows (A and C rows
    /// <paramref name="lda"/>, <paramref name="ldc"/> apart; W_h the h-th hs×hs row-major block of <paramref name="blocks"/>),
    /// accumulating onto C or overwriting it. The bits of <c>Gemm.Multiply(No, No, rows, hs, hs, 1, A[h·hs..], lda, W_h, hs,
    /// β, C[h·hs..], ldc)</c> head by head (β = 1 or 0): each element is one FMA chain over p from +0 in order (hs ≤ one
    /// k-block), then stored as fma(1, acc, c) or 1·acc, as the GEMM's kernel stores it.
    /// </summary>
    private void HeadBlocks(int rows, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> blocks, bool accumulate, Span<T> c, int ldc)
    {
        int hs = _hs, heads = _heads, w = Vector256<T>.Count;
        bool vector = hs % w == 0;
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rw = ref MemoryMarshal.GetReference(blocks);
        ref T rc = ref MemoryMarshal.GetReference(c);
        // Bounds, once (the loops below read through refs): the last row's last head ends inside each span.
        if (rows > 0 && (a.Length < (rows - 1) * lda + heads * hs || c.Length < (rows - 1) * ldc + heads * hs || blocks.Length < heads * hs * hs))
            throw new ArgumentException($"head blocks out of range ({rows} rows, {heads} heads of {hs})");
        for (int r = 0; r < rows; r++)
            for (int hd = 0; hd < heads; hd++)
            {
                ref T ar = ref Unsafe.Add(ref ra, r * lda + hd * hs);
                ref T wb = ref Unsafe.Add(ref rw, hd * hs * hs);
                ref T cr = ref Unsafe.Add(ref rc, r * ldc + hd * hs);
                if (vector)
                {
                    for (int j = 0; j < hs; j += w)
                    {
                        var acc = Vector256<T>.Zero;
                        for (int p = 0; p < hs; p++)
                            acc = MulAdd(Vector256.Create(Unsafe.Add(ref ar, p)), Vector256.LoadUnsafe(ref Unsafe.Add(ref wb, p * hs + j)), acc);
                        ref T cj = ref Unsafe.Add(ref cr, j);
                        (accumulate ? MulAdd(Vector256<T>.One, acc, Vector256.LoadUnsafe(ref cj)) : Vector256<T>.One * acc).StoreUnsafe(ref cj);
                    }
                    continue;
                }
                for (int j = 0; j < hs; j++)
                {
                    T acc = T.Zero;
                    for (int p = 0; p < hs; p++) acc = T.FusedMultiplyAdd(Unsafe.Add(ref ar, p), Unsafe.Add(ref wb, p * hs + j), acc);
                    ref T cj = ref Unsafe.Add(ref cr, j);
                    cj = accumulate ? T.FusedMultiplyAdd(T.One, acc, cj) : T.One * acc;
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> MulAdd(Vector256<T> x, Vector256<T> y, Vector256<T> z)
    {
        if (typeof(T) == typeof(float)) return Fma.MultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Fma.MultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        throw new NotSupportedException($"no FMA for {typeof(T).Name}");
    }

    private void Check(SequenceTensor<T> t, int features)
    {
        if (!t.HasShape(_batch, _time, features))
            throw new ArgumentException($"expected a tensor of shape [{_batch}, {_time}, {features}], got {t}");
    }
}
