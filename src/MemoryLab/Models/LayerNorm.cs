using System.Numerics;
using System.Numerics.Tensors;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// Layer normalisation over the features of each step (Ba et al. 2016; PyTorch <c>nn.LayerNorm</c>):
/// <c>x̂ = (x − μ)/√(σ² + ε)</c> with μ, σ² the mean and biased variance of the row, <c>y = γ ⊙ x̂ + β</c>.
/// Backward: <c>∂x = (1/√(σ²+ε))·(ĝ − mean(ĝ) − x̂·mean(ĝ ⊙ x̂))</c> with ĝ = γ ⊙ ∂y;
/// <c>∂γ = Σ ∂y ⊙ x̂</c>, <c>∂β = Σ ∂y</c> over batch and time. A norm option of the deep block (Zucchet24 §5).
/// </summary>
/// <remarks>Parameters <c>weight</c> γ (init 1) and <c>bias</c> β (init 0), group <c>norm</c>. Rows run in
/// parallel over fixed row blocks; ∂γ, ∂β over fixed feature blocks, each summing its rows in order.</remarks>
public sealed class LayerNorm<T> : ISequenceLayer<T>, IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    private enum Phase { Forward, InputGradient, ParameterGradient }

    private readonly T _epsilon;
    private ParameterView _gain = null!, _bias = null!;
    private WorkerPool? _pool;
    private int _batch, _time, _rows;
    private Phase _phase;
    private T[] _xhat = [], _rstd = [], _theta = [], _gradient = [];
    private SequenceTensor<T> _input = null!, _output = null!, _outputGradient = null!, _inputGradient = null!;

    /// <summary>Layer norm over <paramref name="features"/> features with variance offset <paramref name="epsilon"/> (PyTorch default 1e−5).</summary>
    public LayerNorm(int features, double epsilon = 1e-5)
    {
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, "features must be positive");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive");
        InputSize = features;
        Epsilon = epsilon;
        _epsilon = T.CreateTruncating(epsilon);
    }

    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public int OutputSize => InputSize;
    /// <summary>ε added to the variance.</summary>
    public double Epsilon { get; }
    /// <summary>γ, <c>[features]</c>.</summary>
    public ParameterView Gain => _gain;
    /// <summary>β, <c>[features]</c>.</summary>
    public ParameterView Bias => _bias;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix)
    {
        _gain = layout.Add(ParameterLayout.Join(prefix, "weight"), "norm", InputSize);
        _bias = layout.Add(ParameterLayout.Join(prefix, "bias"), "norm", InputSize);
    }

    /// <inheritdoc />
    public void Initialize(Span<T> theta, CounterRng rng)
    {
        _gain.Of(theta).Fill(T.One);
        _bias.Of(theta).Clear();
    }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        (_batch, _time, _rows, _pool) = (batch, time, checked(batch * time), pool);
        _xhat = new T[checked(_rows * InputSize)];
        _rstd = new T[_rows];
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Forward");
        Partition.CheckShape(input, _batch, _time, InputSize, nameof(input), this);
        Partition.CheckShape(output, _batch, _time, InputSize, nameof(output), this);
        (_theta, _input, _output, _phase) = (theta, input, output, Phase.Forward);
        pool.Run(this, Partition.RowChunks(_rows));
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Backward");
        if (_input is null) throw new InvalidOperationException("call Forward before Backward");
        Partition.CheckShape(outputGradient, _batch, _time, InputSize, nameof(outputGradient), this);
        (_theta, _gradient, _outputGradient) = (theta, gradient, outputGradient);
        if (inputGradient is not null)
        {
            Partition.CheckShape(inputGradient, _batch, _time, InputSize, nameof(inputGradient), this);
            (_inputGradient, _phase) = (inputGradient, Phase.InputGradient);
            pool.Run(this, Partition.RowChunks(_rows));
        }
        _phase = Phase.ParameterGradient;
        pool.Run(this, Partition.FeatureBlocks(InputSize));
    }

    /// <inheritdoc />
    public void Execute(int chunk)
    {
        int d = InputSize;
        T count = T.CreateTruncating(d);
        if (_phase == Phase.ParameterGradient)
        {
            var (f0, m) = Partition.FeatureBlock(chunk, d);
            var dGain = _gain.Of(_gradient).Slice(f0, m);
            var dBias = _bias.Of(_gradient).Slice(f0, m);
            var dy = _outputGradient.Data;
            for (int r = 0; r < _rows; r++)
            {
                var dyr = dy.AsSpan(r * d + f0, m);
                TensorPrimitives.MultiplyAdd(dyr, _xhat.AsSpan(r * d + f0, m), dGain, dGain);
                TensorPrimitives.Add(dBias, dyr, dBias);
            }
            return;
        }
        var (r0, rows) = Partition.RowChunk(chunk, _rows);
        var gain = _gain.Of(_theta);
        for (int r = r0; r < r0 + rows; r++)
        {
            var xhat = _xhat.AsSpan(r * d, d);
            if (_phase == Phase.Forward)
            {
                var x = _input.Data.AsSpan(r * d, d);
                T mean = TensorPrimitives.Sum<T>(x) / count;
                TensorPrimitives.Subtract(x, mean, xhat);
                T rstd = T.One / T.Sqrt(TensorPrimitives.SumOfSquares<T>(xhat) / count + _epsilon);
                _rstd[r] = rstd;
                TensorPrimitives.Multiply(xhat, rstd, xhat);
                TensorPrimitives.MultiplyAdd(xhat, gain, _bias.Of(_theta), _output.Data.AsSpan(r * d, d));
            }
            else
            {
                var dx = _inputGradient.Data.AsSpan(r * d, d);
                TensorPrimitives.Multiply(_outputGradient.Data.AsSpan(r * d, d), gain, dx);
                T meanG = TensorPrimitives.Sum<T>(dx) / count;
                T meanGx = TensorPrimitives.Dot<T>(dx, xhat) / count;
                TensorPrimitives.Subtract(dx, meanG, dx);
                TensorPrimitives.MultiplyAdd(xhat, -meanGx, dx, dx);
                TensorPrimitives.Multiply(dx, _rstd[r], dx);
            }
        }
    }
}
