using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// A linear map applied at every step: <c>y_t = W x_t + b</c> (rows: <c>Y = X Wᵀ + b</c>), W <c>[out, in]</c>,
/// optional bias. LeCun-normal init (variance 1/fan_in, Zucchet24 §5), b = 0. Used as encoder, decoder
/// and readout (PyTorch <c>nn.Linear</c>).
/// </summary>
/// <remarks>Parallel work: the forward pass and ∂x run over fixed blocks of rows (batch·time); ∂W and ∂b run
/// over fixed blocks of output features, each writing only its own rows of the gradient, so no reduction
/// is needed and the bits do not depend on the thread count. The input is kept by reference for ∂W.</remarks>
public sealed class Dense<T> : ISequenceLayer<T>, IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    private enum Phase { Forward, InputGradient, ParameterGradient }

    private readonly string _group;
    private ParameterView _weight = null!;
    private ParameterView? _bias;
    private WorkerPool? _pool;
    private int _batch, _time, _rows;
    private Phase _phase;
    private T[] _theta = [], _gradient = [], _weightT = [];
    private SequenceTensor<T> _input = null!, _output = null!, _outputGradient = null!;
    private SequenceTensor<T>? _inputGradient;

    /// <summary>A dense map from <paramref name="inputSize"/> to <paramref name="outputSize"/> features.</summary>
    /// <param name="inputSize">Features in.</param>
    /// <param name="outputSize">Features out.</param>
    /// <param name="bias">Whether to add a learned bias b.</param>
    /// <param name="group">Optimiser group tag of W (b is tagged <c>bias</c>).</param>
    public Dense(int inputSize, int outputSize, bool bias = true, string group = "dense")
    {
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "input size must be positive");
        if (outputSize <= 0) throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "output size must be positive");
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        InputSize = inputSize;
        OutputSize = outputSize;
        HasBias = bias;
        _group = group;
    }

    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public int OutputSize { get; }
    /// <summary>Whether the map has a bias.</summary>
    public bool HasBias { get; }
    /// <summary>W, <c>[out, in]</c>.</summary>
    public ParameterView Weight => _weight;
    /// <summary>b, <c>[out]</c>, or null without bias.</summary>
    public ParameterView? Bias => _bias;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix)
    {
        _weight = layout.Add(ParameterLayout.Join(prefix, "weight"), _group, OutputSize, InputSize);
        _bias = HasBias ? layout.Add(ParameterLayout.Join(prefix, "bias"), "bias", OutputSize) : null;
    }

    /// <inheritdoc />
    public void Initialize(Span<T> theta, CounterRng rng)
    {
        Initializers.LecunNormal(_weight.Of(theta), rng.Fork(0), InputSize);
        if (_bias is not null) _bias.Of(theta).Clear();
    }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        _batch = batch;
        _time = time;
        _rows = checked(batch * time);
        _pool = pool;
        _weightT = OutputSize > NarrowOutputLimit ? new T[InputSize * OutputSize] : [];
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Forward");
        Partition.CheckShape(input, _batch, _time, InputSize, nameof(input), this);
        Partition.CheckShape(output, _batch, _time, OutputSize, nameof(output), this);
        _theta = theta;
        _input = input;
        _output = output;
        _phase = Phase.Forward;
        // Wᵀ [in, out], so the forward GEMM reads op(B) = B as stored.
        if (_weightT.Length > 0) Elementwise.Transpose<T>(_weight.Of(theta), OutputSize, InputSize, _weightT);
        pool.Run(this, Partition.RowChunks(_rows));
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Backward");
        if (_input is null) throw new InvalidOperationException("call Forward before Backward");
        Partition.CheckShape(outputGradient, _batch, _time, OutputSize, nameof(outputGradient), this);
        _theta = theta;
        _gradient = gradient;
        _outputGradient = outputGradient;
        _inputGradient = inputGradient;
        if (inputGradient is not null)
        {
            Partition.CheckShape(inputGradient, _batch, _time, InputSize, nameof(inputGradient), this);
            _phase = Phase.InputGradient;
            pool.Run(this, Partition.RowChunks(_rows));
        }
        _phase = Phase.ParameterGradient;
        pool.Run(this, Partition.FeatureBlocks(OutputSize));
    }

    /// <inheritdoc />
    public void Execute(int chunk)
    {
        int din = InputSize, dout = OutputSize;
        if (_phase == Phase.ParameterGradient)
        {
            // ∂W[o0:o1, :] += dY[:, o0:o1]ᵀ X and ∂b[o0:o1] += column sums of dY: this block's rows only.
            var (o0, m) = Partition.FeatureBlock(chunk, dout);
            var dy = _outputGradient.Data.AsSpan(o0);
            Gemm.Multiply(Transpose.Yes, Transpose.No, m, din, _rows, T.One, dy, dout, _input.Data, din,
                T.One, _weight.Of(_gradient).Slice(o0 * din, m * din), din);
            if (_bias is not null) Elementwise.AddColumnSums(_bias.Of(_gradient).Slice(o0, m), dy, _rows, dout);
            return;
        }
        var (r0, n) = Partition.RowChunk(chunk, _rows);
        if (dout <= NarrowOutputLimit)
        {
            NarrowRows(r0, n);
            return;
        }
        if (_phase == Phase.Forward)
        {
            var y = _output.Data.AsSpan(r0 * dout, n * dout);
            Gemm.Multiply(Transpose.No, Transpose.No, n, dout, din, T.One, _input.Data.AsSpan(r0 * din, n * din), din,
                _weightT, dout, T.Zero, y, dout);
            if (_bias is not null) Elementwise.AddBiasToRows(y, n, dout, _bias.Of(_theta));
        }
        else
        {
            Gemm.Multiply(Transpose.No, Transpose.No, n, din, dout, T.One, _outputGradient.Data.AsSpan(r0 * dout, n * dout), dout,
                _weight.Of(_theta), din, T.Zero, _inputGradient!.Data.AsSpan(r0 * din, n * din), din);
        }
    }

    /// <summary>Outputs at most this wide (a scalar readout) are computed as dot products per row: a GEMM
    /// kernel would fill a whole register tile of columns for one or two useful ones.</summary>
    public const int NarrowOutputLimit = 4;

    /// <summary>Forward or ∂x for a narrow output: <c>y[r, o] = W_o·x_r + b_o</c>, <c>∂x_r = Σ_o ∂y[r, o] W_o</c>.</summary>
    private void NarrowRows(int r0, int n)
    {
        int din = InputSize, dout = OutputSize;
        var w = _weight.Of(_theta);
        for (int r = r0; r < r0 + n; r++)
        {
            if (_phase == Phase.Forward)
            {
                var x = _input.Data.AsSpan(r * din, din);
                for (int o = 0; o < dout; o++)
                    _output.Data[r * dout + o] = System.Numerics.Tensors.TensorPrimitives.Dot(w.Slice(o * din, din), x)
                                                 + (_bias is null ? T.Zero : _bias.Of(_theta)[o]);
            }
            else
            {
                var dx = _inputGradient!.Data.AsSpan(r * din, din);
                System.Numerics.Tensors.TensorPrimitives.Multiply(w[..din], _outputGradient.Data[r * dout], dx);
                for (int o = 1; o < dout; o++)
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(w.Slice(o * din, din), _outputGradient.Data[r * dout + o], dx, dx);
            }
        }
    }
}
