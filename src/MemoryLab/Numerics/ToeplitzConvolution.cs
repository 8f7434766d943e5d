using System.Numerics;

namespace MemoryLab.Numerics;

/// <summary>
/// Causal multi-channel convolution of a batch of sequences with a kernel over lags, as dense GEMMs against
/// a block-Toeplitz matrix:
/// <code>
///   y[b, t, o] = Σ_{s=0}^{t} Σ_i K[s, i, o] · x[b, t−s, i]          (kernel stored as Kᵀ per lag: [T, in, out])
///   Y = X · M,  M[(t', i), (t, o)] = K[t − t', i, o] for t ≥ t' (else 0),   X: [batch, T·in], Y: [batch, T·out]
/// </code>
/// The exact backward is ∂L/∂X = G Mᵀ and ∂L/∂K[s, i, o] = Σ_{t'} Q[(t', i), (t'+s, o)] with Q = Xᵀ G
/// (the cross-correlation of the output gradient and the input, summed along the diagonals of Q).
/// This is the convolution view of a linear time-invariant layer (Li21 §2, Zucchet24 §2: y = ρ * x).
/// </summary>
/// <remarks>Only the upper block triangle of M (and of Q) is touched: the time axis is cut into panels of
/// <see cref="PanelSteps"/> steps and each GEMM multiplies only the blocks on or above the diagonal, so the
/// work is ≈ batch·T·(T + PanelSteps)·in·out multiply-adds per GEMM instead of 2× that. Tasks are a fixed
/// tiling (row chunks of <see cref="SequencesPerChunk"/> sequences × time panels; the reduction over the
/// batch for Q happens inside one GEMM per tile), so the bits do not depend on the thread count.
/// With one input channel (every layer of the teacher–student task) M is never written out: row t' of M is row 0 shifted
/// by t'·out, so the GEMMs read M from the kernel itself, zero-padded in front (<see cref="Gemm.MultiplyToeplitz"/>,
/// the same bits). That saves building T²·out entries per forward pass and, on several threads, the move of those
/// cache lines from the thread that built them to the threads that read them, which cost more than the GEMM's share
/// of a second thread gained.
/// Every buffer is allocated in <see cref="Prepare"/>; a forward/backward pair allocates nothing.</remarks>
public sealed class ToeplitzConvolution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Time steps per panel of the triangular tiling: large enough for efficient GEMM blocks, small
    /// enough that the wasted below-diagonal work (≈ PanelSteps/T of the total) stays small.</summary>
    public const int PanelSteps = 64;

    /// <summary>Sequences per row chunk of the forward and input-gradient GEMMs (fixed for determinism).</summary>
    public const int SequencesPerChunk = 32;

    /// <summary>Passes with fewer multiply-adds than this run on the calling thread alone. A task's output (and Q, which one
    /// thread then sums) moving between cores costs more than a second core saves on a small pass: at T = 300 and batch 16
    /// (0.9 million multiply-adds a pass) the LRU's training step took longer on two threads than on one.</summary>
    public const long MinParallelMultiplyAdds = 2_000_000;

    /// <summary>Largest Toeplitz matrix (T²·in·out entries) this class allocates; wider or longer problems belong to the scan.</summary>
    public const long MaxToeplitzEntries = 1L << 25;

    private readonly int _din, _dout;
    private readonly ChunkAction _forward, _inputGradient, _correlation;
    private int _batch, _time, _panels, _rowChunks, _tiles, _ldm;
    // _m: the block-Toeplitz matrix (more than one input channel), or _g: the kernel after T·out zeros (one input channel).
    private T[] _m = [], _g = [], _q = [];
    private bool _hasKernel, _onPool;   // _onPool: the passes are large enough for the pool (MinParallelMultiplyAdds)
    private int[] _tileRow = [], _tileCol = [];
    private WorkerPool _pool = null!;
    private SequenceTensor<T> _x = null!, _y = null!, _dy = null!;
    private SequenceTensor<T>? _dx;

    /// <summary>A convolution from <paramref name="inputSize"/> to <paramref name="outputSize"/> channels.</summary>
    public ToeplitzConvolution(int inputSize, int outputSize)
    {
        if (inputSize <= 0 || outputSize <= 0) throw new ArgumentException($"input and output sizes must be positive (got {inputSize}, {outputSize})");
        _din = inputSize; _dout = outputSize;
        _forward = new ChunkAction(ForwardTask);
        _inputGradient = new ChunkAction(InputGradientTask);
        _correlation = new ChunkAction(CorrelationTask);
    }

    /// <summary>Entries of the block-Toeplitz matrix for a shape: T²·in·out.</summary>
    public static long ToeplitzEntries(int time, int inputSize, int outputSize) => (long)time * time * inputSize * outputSize;

    /// <summary>Input channels.</summary>
    public int InputSize => _din;
    /// <summary>Output channels.</summary>
    public int OutputSize => _dout;
    /// <summary>Length of the kernel span: T·in·out (lags × in × out).</summary>
    public int KernelLength => _time * _din * _dout;

    /// <summary>Allocates the Toeplitz matrix and the correlation buffer for a shape.</summary>
    /// <exception cref="ArgumentException">The shape is not positive, or T²·in·out exceeds <see cref="MaxToeplitzEntries"/>.</exception>
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        long entries = ToeplitzEntries(time, _din, _dout);
        if (entries > MaxToeplitzEntries)
            throw new ArgumentException($"the convolution path needs a {entries}-entry Toeplitz matrix (T={time}, in={_din}, out={_dout}), more than {MaxToeplitzEntries}; use the scan algorithm for this shape");
        _batch = batch; _time = time; _pool = pool;
        _panels = WorkerPool.ChunkCount(time, PanelSteps);
        _rowChunks = WorkerPool.ChunkCount(batch, SequencesPerChunk);
        _ldm = time * _dout;
        _m = _din == 1 ? [] : new T[entries];
        _g = _din == 1 ? new T[2 * time * _dout] : [];
        _q = new T[entries];
        _hasKernel = false;
        _onPool = PassMultiplyAdds(batch, time, _din, _dout) >= MinParallelMultiplyAdds;
        _tiles = _panels * (_panels + 1) / 2;
        _tileRow = new int[_tiles]; _tileCol = new int[_tiles];
        for (int j = 0, k = 0; j < _panels; j++)
            for (int r = 0; r <= j; r++, k++) { _tileRow[k] = r; _tileCol[k] = j; }
    }

    /// <summary>y = K * x (causal). <paramref name="kernel"/> is [T, in, out]: kernel[(s·in + i)·out + o] = K_s[o, i].</summary>
    public void Forward(ReadOnlySpan<T> kernel, SequenceTensor<T> x, SequenceTensor<T> y)
    {
        SetKernel(kernel);
        Apply(x, y);
    }

    /// <summary>Builds the Toeplitz matrix of <paramref name="kernel"/> ([T, in, out], as <see cref="Forward"/>) for the
    /// <see cref="Apply"/> calls that follow: a fixed kernel (a teacher's) is laid out once, not once per batch.</summary>
    public void SetKernel(ReadOnlySpan<T> kernel)
    {
        CheckPrepared();
        if (kernel.Length < KernelLength) throw new ArgumentException($"kernel has {kernel.Length} entries, needs T·in·out = {KernelLength}");
        BuildToeplitz(kernel);
        _hasKernel = true;
    }

    /// <summary>y = K * x with the kernel of the latest <see cref="SetKernel"/> (or <see cref="Forward"/>); the same bits as
    /// <see cref="Forward"/> with that kernel. Every entry of <paramref name="y"/> is written.</summary>
    public void Apply(SequenceTensor<T> x, SequenceTensor<T> y)
    {
        CheckPrepared();
        if (!_hasKernel) throw new InvalidOperationException("call SetKernel (or Forward) before Apply");
        Check(x, _din, nameof(x)); Check(y, _dout, nameof(y));
        _x = x; _y = y;
        Run(_forward, _rowChunks * _panels);
    }

    /// <summary>Given ∂L/∂y, <b>writes</b> ∂L/∂K into <paramref name="kernelGradient"/> ([T, in, out]) and, when
    /// <paramref name="inputGradient"/> is not null, writes ∂L/∂x into it. Uses the kernel of the latest
    /// <see cref="Forward"/>; <paramref name="x"/> must be the input of that pass.</summary>
    public void Backward(SequenceTensor<T> x, SequenceTensor<T> outputGradient, Span<T> kernelGradient, SequenceTensor<T>? inputGradient)
    {
        CheckPrepared();
        Check(x, _din, nameof(x)); Check(outputGradient, _dout, nameof(outputGradient));
        if (inputGradient != null) Check(inputGradient, _din, nameof(inputGradient));
        if (kernelGradient.Length < KernelLength) throw new ArgumentException($"kernel gradient has {kernelGradient.Length} entries, needs T·in·out = {KernelLength}");
        _x = x; _dy = outputGradient; _dx = inputGradient;
        if (inputGradient != null) Run(_inputGradient, _rowChunks * _panels);
        Run(_correlation, _tiles);
        SumDiagonals(kernelGradient);
    }

    private void BuildToeplitz(ReadOnlySpan<T> kernel)
    {
        int din = _din, dout = _dout, time = _time;
        if (din == 1)
        {
            kernel[..(time * dout)].CopyTo(_g.AsSpan(time * dout)); // the first T·out entries stay zero
            return;
        }
        var m = _m.AsSpan();
        for (int tp = 0; tp < time; tp++)
            for (int i = 0; i < din; i++)
            {
                var row = m.Slice((tp * din + i) * _ldm, _ldm);
                row[..(tp * dout)].Clear();
                for (int s = 0; s < time - tp; s++)
                    kernel.Slice((s * din + i) * dout, dout).CopyTo(row.Slice((tp + s) * dout, dout));
            }
    }

    // A pass of fewer than MinParallelMultiplyAdds runs its tasks on the calling thread, in the same order of tasks and with
    // the same bits as on the pool.
    private void Run(ChunkAction pass, int tasks)
    {
        if (_onPool) _pool.Run(pass, tasks);
        else
            for (int i = 0; i < tasks; i++) pass.Execute(i);
    }

    /// <summary>Multiply-adds of one of the three GEMM passes (forward, input gradient, correlation) at a shape:
    /// ≈ batch·T·(T + P)/2·in·out, the triangle plus the diagonal panels. Below <see cref="MinParallelMultiplyAdds"/> the
    /// passes run on the calling thread.</summary>
    public static long PassMultiplyAdds(int batch, int time, int inputSize, int outputSize) =>
        (long)batch * time * (time + PanelSteps) / 2 * inputSize * outputSize;

    private (int Start, int End) Panel(int j) => (j * PanelSteps, Math.Min(_time, (j + 1) * PanelSteps));

    // Y[rows, panel j] = X[rows, steps < end_j] · M[steps < end_j, panel j]: blocks below the diagonal are skipped.
    private void ForwardTask(int task)
    {
        int rc = task / _panels, j = task % _panels;
        int b0 = rc * SequencesPerChunk, rows = Math.Min(SequencesPerChunk, _batch - b0);
        var (a, e) = Panel(j);
        int ldx = _time * _din, ldy = _ldm;
        if (_din == 1) // M[t', c] = g[T·out + c − t'·out]
            Gemm.MultiplyToeplitz(Transpose.No, Transpose.No, rows, (e - a) * _dout, e, T.One, _x.Data.AsSpan(b0 * ldx), ldx,
                _g, (_time + a) * _dout, _dout, T.Zero, _y.Data.AsSpan(b0 * ldy + a * _dout), ldy);
        else
            Gemm.Multiply(Transpose.No, Transpose.No, rows, (e - a) * _dout, e * _din, T.One,
                _x.Data.AsSpan(b0 * ldx), ldx, _m.AsSpan(a * _dout), _ldm, T.Zero, _y.Data.AsSpan(b0 * ldy + a * _dout), ldy);
    }

    // dX[rows, panel j] = G[rows, steps ≥ a] · M[panel j, steps ≥ a]ᵀ.
    private void InputGradientTask(int task)
    {
        int rc = task / _panels, j = task % _panels;
        int b0 = rc * SequencesPerChunk, rows = Math.Min(SequencesPerChunk, _batch - b0);
        var (a, e) = Panel(j);
        int ldx = _time * _din, ldy = _ldm;
        if (_din == 1) // M[a + j, a·out + p] = g[T·out + p − j·out]
            Gemm.MultiplyToeplitz(Transpose.No, Transpose.Yes, rows, e - a, (_time - a) * _dout, T.One,
                _dy.Data.AsSpan(b0 * ldy + a * _dout), ldy, _g, _time * _dout, _dout, T.Zero, _dx!.Data.AsSpan(b0 * ldx + a), ldx);
        else
            Gemm.Multiply(Transpose.No, Transpose.Yes, rows, (e - a) * _din, (_time - a) * _dout, T.One,
                _dy.Data.AsSpan(b0 * ldy + a * _dout), ldy, _m.AsSpan(a * _din * _ldm + a * _dout), _ldm,
                T.Zero, _dx!.Data.AsSpan(b0 * ldx + a * _din), ldx);
    }

    // Q[panel r, panel j] = X[:, panel r]ᵀ · G[:, panel j] for r ≤ j; the whole batch is one GEMM's k.
    private void CorrelationTask(int tile)
    {
        int r = _tileRow[tile], j = _tileCol[tile];
        var (ra, re) = Panel(r);
        var (ca, ce) = Panel(j);
        int ldx = _time * _din, ldy = _ldm;
        Gemm.Multiply(Transpose.Yes, Transpose.No, (re - ra) * _din, (ce - ca) * _dout, _batch, T.One,
            _x.Data.AsSpan(ra * _din), ldx, _dy.Data.AsSpan(ca * _dout), ldy,
            T.Zero, _q.AsSpan(ra * _din * _ldm + ca * _dout), _ldm);
    }

    // dK[s, i, o] = Σ_{t'} Q[(t', i), (t'+s, o)], in increasing t' (a fixed order).
    private void SumDiagonals(Span<T> dk)
    {
        int din = _din, dout = _dout, time = _time;
        dk[..KernelLength].Clear();
        var q = _q.AsSpan();
        for (int tp = 0; tp < time; tp++)
            for (int i = 0; i < din; i++)
            {
                var row = q.Slice((tp * din + i) * _ldm, _ldm);
                if (din == 1)
                {
                    Kernels.Add(dk[..((time - tp) * dout)], row[(tp * dout)..]);
                }
                else
                    for (int s = 0; s < time - tp; s++)
                    {
                        Kernels.Add(dk.Slice((s * din + i) * dout, dout), row.Slice((tp + s) * dout, dout));
                    }
            }
    }

    private void CheckPrepared()
    {
        if (_pool is null) throw new InvalidOperationException("call Prepare before Forward or Backward");
    }

    private void Check(SequenceTensor<T> t, int features, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (!t.HasShape(_batch, _time, features))
            throw new ArgumentException($"{name} is {t} but the convolution was prepared for [{_batch}, {_time}, {features}]", name);
    }
}
