using System.Numerics;
using System.Runtime.InteropServices;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// Gated linear unit with its own linear maps (Dauphin et al. 2017; the deep block's output stage,
/// Zucchet24 §5): <c>GLU(z) = (W₁z + b₁) ⊙ σ(W₂z + b₂)</c>. W₁ and W₂ are the two halves of one
/// <see cref="Dense{T}"/> to 2·out features (as PyTorch's <c>Linear(d, 2d)</c> followed by <c>nn.GLU</c>),
/// so both come from one GEMM. Backward with a = W₁z + b₁, s = σ(W₂z + b₂):
/// <c>∂a = ∂y ⊙ s</c>, <c>∂(W₂z + b₂) = ∂y ⊙ a ⊙ s(1 − s)</c>, then the dense backward.
/// </summary>
/// <remarks>Parameters: <c>weight</c> <c>[2·out, in]</c> = [W₁; W₂] (LeCun normal), <c>bias</c> <c>[2·out]</c> = [b₁; b₂]
/// (zero; omitted without bias).</remarks>
public sealed class Glu<T> : ISequenceLayer<T>, IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Dense<T> _linear;
    private WorkerPool? _pool;
    private int _batch, _time;
    private bool _backward;
    // [a | s]: the linear half a and, after the forward pass, the gate s = σ(W₂z + b₂) in place of its argument.
    private SequenceTensor<T> _both = null!, _bothGradient = null!, _output = null!, _outputGradient = null!;

    /// <summary>Where <see cref="Prepare"/> takes the gradient of the two halves from (null: a buffer of its own). Set before
    /// <see cref="Prepare"/>.</summary>
    internal GradientBuffers<T>? GradientBuffers { get; set; }

    /// <summary>A GLU from <paramref name="inputSize"/> to <paramref name="outputSize"/> features (default: the same).</summary>
    public Glu(int inputSize, int? outputSize = null, bool bias = true)
    {
        int o = outputSize ?? inputSize;
        _linear = new Dense<T>(inputSize, 2 * o, bias, group: "glu");
        OutputSize = o;
    }

    /// <inheritdoc />
    public int InputSize => _linear.InputSize;
    /// <inheritdoc />
    public int OutputSize { get; }
    /// <summary>The linear map to [a | b] (W = [W₁; W₂]).</summary>
    public Dense<T> Linear => _linear;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix) => _linear.Declare(layout, prefix);

    /// <inheritdoc />
    public void Initialize(Span<T> theta, CounterRng rng) => _linear.Initialize(theta, rng);

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        _linear.Prepare(batch, time, pool);
        (_batch, _time, _pool) = (batch, time, pool);
        _both = new SequenceTensor<T>(batch, time, 2 * OutputSize);
        // ∂L/∂(a, b) lives only inside Backward, so layers that never run backward at the same time may share it.
        _bothGradient = GradientBuffers?.Get(batch, time, 2 * OutputSize, GradientBuffers<T>.GluSlot) ?? new SequenceTensor<T>(batch, time, 2 * OutputSize);
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Forward");
        Partition.CheckShape(output, _batch, _time, OutputSize, nameof(output), this);
        _linear.Forward(theta, input, _both, training);
        (_output, _backward) = (output, false);
        pool.Run(this, Partition.RowChunks(_batch * _time));
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Backward");
        if (_output is null) throw new InvalidOperationException("call Forward before Backward");
        Partition.CheckShape(outputGradient, _batch, _time, OutputSize, nameof(outputGradient), this);
        (_outputGradient, _backward) = (outputGradient, true);
        pool.Run(this, Partition.RowChunks(_batch * _time));
        _linear.Backward(theta, _bothGradient, inputGradient, gradient);
    }

    /// <inheritdoc />
    public void Execute(int chunk)
    {
        var (r0, rows) = Partition.RowChunk(chunk, _batch * _time);
        int d = OutputSize;
        for (int r = r0; r < r0 + rows; r++)
        {
            var both = _both.Data.AsSpan(r * 2 * d, 2 * d);
            if (_backward) GateBackward(both[..d], both[d..], _outputGradient.Data.AsSpan(r * d, d), _bothGradient.Data.AsSpan(r * 2 * d, 2 * d));
            else GateForward(both[..d], both[d..], _output.Data.AsSpan(r * d, d));
        }
    }

    /// <summary>s ← σ(b) in place, y = a ⊙ s.</summary>
    private static void GateForward(ReadOnlySpan<T> a, Span<T> b, Span<T> y)
    {
        var va = MemoryMarshal.Cast<T, Vector<T>>(a);
        var vb = MemoryMarshal.Cast<T, Vector<T>>(b);
        var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
        for (int k = 0; k < vb.Length; k++)
        {
            var s = Elementwise.Sigmoid(vb[k]);
            vb[k] = s;
            vy[k] = va[k] * s;
        }
        for (int i = vb.Length * Vector<T>.Count; i < b.Length; i++)
        {
            b[i] = Elementwise.Sigmoid(b[i]);
            y[i] = a[i] * b[i];
        }
    }

    /// <summary>∂a = ∂y ⊙ s, ∂b = ∂y ⊙ a ⊙ s(1 − s).</summary>
    private static void GateBackward(ReadOnlySpan<T> a, ReadOnlySpan<T> s, ReadOnlySpan<T> dy, Span<T> dboth)
    {
        int d = a.Length;
        var da = dboth[..d];
        var db = dboth[d..];
        var va = MemoryMarshal.Cast<T, Vector<T>>(a);
        var vs = MemoryMarshal.Cast<T, Vector<T>>(s);
        var vdy = MemoryMarshal.Cast<T, Vector<T>>(dy);
        var vda = MemoryMarshal.Cast<T, Vector<T>>(da);
        var vdb = MemoryMarshal.Cast<T, Vector<T>>(db);
        for (int k = 0; k < va.Length; k++)
        {
            var gs = vdy[k] * vs[k];
            vda[k] = gs;
            vdb[k] = gs * va[k] * (Vector<T>.One - vs[k]);
        }
        for (int i = va.Length * Vector<T>.Count; i < d; i++)
        {
            T gs = dy[i] * s[i];
            da[i] = gs;
            db[i] = gs * a[i] * (T.One - s[i]);
        }
    }
}
