using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// Batch normalisation of each feature over batch × time (Ioffe &amp; Szegedy 2015; PyTorch
/// <c>nn.BatchNorm1d</c> on <c>[batch·time, features]</c>): <c>y = γ ⊙ (x − μ)/√(σ² + ε) + β</c>.
/// Training: μ, σ² are the statistics of the current batch (biased variance), and the running statistics
/// move by <c>r ← (1 − m) r + m·stat</c> (the variance term unbiased, N/(N−1)); evaluation
/// (<c>training = false</c>) uses the running statistics. A norm option of the deep block (Zucchet24 §5, Fig. 13).
/// </summary>
/// <remarks>
/// Training backward with N = batch·time rows: <c>∂β = Σ ∂y</c>, <c>∂γ = Σ ∂y ⊙ x̂</c>,
/// <c>∂x = γ/√(σ²+ε) · (∂y − ∂β/N − x̂ ⊙ ∂γ/N)</c>; evaluation backward: <c>∂x = γ ∂y/√(r_σ²+ε)</c>.
/// Parameters <c>weight</c> γ (init 1) and <c>bias</c> β (init 0), group <c>norm</c>. The running statistics
/// are layer state, not part of θ (as PyTorch's buffers): read or set them through <see cref="RunningMean"/>
/// and <see cref="RunningVariance"/> when saving a model. Work runs over fixed feature blocks, each summing
/// its rows in order in float64, so the bits do not depend on the thread count.
/// </remarks>
public sealed class BatchNorm<T> : ISequenceLayer<T>, IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    private ParameterView _gain = null!, _bias = null!;
    private WorkerPool? _pool;
    private int _batch, _time, _rows;
    private bool _backward, _trainingStatistics;
    private T[] _xhat = [], _rstd = [], _theta = [], _gradient = [];
    private SequenceTensor<T> _input = null!, _output = null!, _outputGradient = null!;
    private SequenceTensor<T>? _inputGradient;

    /// <summary>Batch norm over <paramref name="features"/> features.</summary>
    /// <param name="features">Features per step.</param>
    /// <param name="momentum">m of the running-statistics update (PyTorch default 0.1).</param>
    /// <param name="epsilon">ε added to the variance (PyTorch default 1e−5).</param>
    public BatchNorm(int features, double momentum = 0.1, double epsilon = 1e-5)
    {
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, "features must be positive");
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1]");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive");
        InputSize = features;
        Momentum = momentum;
        Epsilon = epsilon;
        RunningMean = new T[features];
        RunningVariance = new T[features];
        RunningVariance.AsSpan().Fill(T.One);
    }

    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public int OutputSize => InputSize;
    /// <summary>Momentum m of the running statistics.</summary>
    public double Momentum { get; }
    /// <summary>ε added to the variance.</summary>
    public double Epsilon { get; }
    /// <summary>Running mean per feature (starts at 0), used when <c>training = false</c>.</summary>
    public T[] RunningMean { get; }
    /// <summary>Running (unbiased) variance per feature (starts at 1), used when <c>training = false</c>.</summary>
    public T[] RunningVariance { get; }
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
        RunningMean.AsSpan().Clear();
        RunningVariance.AsSpan().Fill(T.One);
    }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        (_batch, _time, _rows, _pool) = (batch, time, checked(batch * time), pool);
        _xhat = new T[checked(_rows * InputSize)];
        _rstd = new T[InputSize];
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Forward");
        Partition.CheckShape(input, _batch, _time, InputSize, nameof(input), this);
        Partition.CheckShape(output, _batch, _time, InputSize, nameof(output), this);
        (_theta, _input, _output, _trainingStatistics, _backward) = (theta, input, output, training, false);
        pool.Run(this, Partition.FeatureBlocks(InputSize));
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Backward");
        if (_input is null) throw new InvalidOperationException("call Forward before Backward");
        Partition.CheckShape(outputGradient, _batch, _time, InputSize, nameof(outputGradient), this);
        if (inputGradient is not null) Partition.CheckShape(inputGradient, _batch, _time, InputSize, nameof(inputGradient), this);
        (_theta, _gradient, _outputGradient, _inputGradient, _backward) = (theta, gradient, outputGradient, inputGradient, true);
        pool.Run(this, Partition.FeatureBlocks(InputSize));
    }

    /// <inheritdoc />
    public void Execute(int chunk)
    {
        var (f0, m) = Partition.FeatureBlock(chunk, InputSize);
        for (int f = f0; f < f0 + m; f++)
        {
            if (_backward) BackwardFeature(f);
            else ForwardFeature(f);
        }
    }

    private void ForwardFeature(int f)
    {
        int d = InputSize, n = _rows;
        var x = _input.Data;
        double mean, rstd;
        if (_trainingStatistics)
        {
            double s = 0;
            for (int r = 0; r < n; r++) s += double.CreateTruncating(x[r * d + f]);
            mean = s / n;
            double ss = 0;
            for (int r = 0; r < n; r++)
            {
                double c = double.CreateTruncating(x[r * d + f]) - mean;
                ss += c * c;
            }
            double variance = ss / n;
            rstd = 1 / Math.Sqrt(variance + Epsilon);
            double unbiased = n > 1 ? ss / (n - 1) : variance;
            RunningMean[f] = T.CreateTruncating((1 - Momentum) * double.CreateTruncating(RunningMean[f]) + Momentum * mean);
            RunningVariance[f] = T.CreateTruncating((1 - Momentum) * double.CreateTruncating(RunningVariance[f]) + Momentum * unbiased);
        }
        else
        {
            mean = double.CreateTruncating(RunningMean[f]);
            rstd = 1 / Math.Sqrt(double.CreateTruncating(RunningVariance[f]) + Epsilon);
        }
        _rstd[f] = T.CreateTruncating(rstd);
        T mu = T.CreateTruncating(mean), sc = _rstd[f], gain = _gain.Of(_theta)[f], bias = _bias.Of(_theta)[f];
        var y = _output.Data;
        for (int r = 0; r < n; r++)
        {
            T xh = (x[r * d + f] - mu) * sc;
            _xhat[r * d + f] = xh;
            y[r * d + f] = gain * xh + bias;
        }
    }

    private void BackwardFeature(int f)
    {
        int d = InputSize, n = _rows;
        var dy = _outputGradient.Data;
        double sumDy = 0, sumDyX = 0;
        for (int r = 0; r < n; r++)
        {
            double g = double.CreateTruncating(dy[r * d + f]);
            sumDy += g;
            sumDyX += g * double.CreateTruncating(_xhat[r * d + f]);
        }
        _gain.Of(_gradient)[f] += T.CreateTruncating(sumDyX);
        _bias.Of(_gradient)[f] += T.CreateTruncating(sumDy);
        if (_inputGradient is null) return;
        var dx = _inputGradient.Data;
        T scale = _gain.Of(_theta)[f] * _rstd[f];
        if (!_trainingStatistics)
        {
            for (int r = 0; r < n; r++) dx[r * d + f] = scale * dy[r * d + f];
            return;
        }
        T meanDy = T.CreateTruncating(sumDy / n), meanDyX = T.CreateTruncating(sumDyX / n);
        for (int r = 0; r < n; r++) dx[r * d + f] = scale * (dy[r * d + f] - meanDy - _xhat[r * d + f] * meanDyX);
    }
}
