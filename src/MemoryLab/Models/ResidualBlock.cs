using System.Numerics;
using System.Numerics.Tensors;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>Which normalisation a <see cref="ResidualBlock{T}"/> uses (Zucchet24 Fig. 13 compares them).</summary>
public enum NormKind
{
    /// <summary>No normalisation (identity).</summary>
    None,
    /// <summary><see cref="LayerNorm{T}"/> over features.</summary>
    Layer,
    /// <summary><see cref="BatchNorm{T}"/> over batch × time.</summary>
    Batch,
}

/// <summary>
/// The deep block of Zucchet24 (§5, after the LRU23 / S5 blocks):
/// <code>
///   y = x + GLU(norm₂(gelu(RNN(norm₁(x)))))
/// </code>
/// with any recurrent layer mapping d → d, GLU(z) = W₁z ⊙ σ(W₂z) (<see cref="Glu{T}"/>) and norm ∈ {none,
/// layer, batch}; norm₁ and norm₂ are two separate layers with their own γ, β. Parameters sit under
/// <c>norm_in</c>, <c>rnn</c>, <c>norm_out</c> and <c>glu</c>. Backward: the inner chain's backward plus ∂y for the skip.
/// </summary>
public sealed class ResidualBlock<T> : ISequenceLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LayerStack<T> _inner;
    private readonly Glu<T> _glu;

    /// <summary>Gradient buffers of the inner chain, of the GLU's halves and of the recurrent layer's backward scratch (when it
    /// takes them): these live only inside <see cref="Backward"/>, so blocks that run backward one after another may share
    /// them. Set before <see cref="Prepare"/>.</summary>
    internal GradientBuffers<T> GradientBuffers
    {
        get => _inner.GradientBuffers;
        set
        {
            _inner.GradientBuffers = value; _glu.GradientBuffers = value;
            if (Recurrent is IUsesGradientBuffers<T> r) r.GradientBuffers = value;
        }
    }

    /// <summary>A block around <paramref name="recurrent"/> (which must map d features to d).</summary>
    /// <param name="recurrent">The sequence mixer: GRU, LRU, complex diagonal, …</param>
    /// <param name="norm">Normalisation used at both places.</param>
    /// <param name="gelu">Exact (erf) or tanh GELU.</param>
    /// <param name="batchNormMomentum">Momentum of the running statistics when <paramref name="norm"/> is batch.</param>
    public ResidualBlock(ISequenceLayer<T> recurrent, NormKind norm = NormKind.None, GeluApproximation gelu = GeluApproximation.None,
        double batchNormMomentum = 0.1)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        if (recurrent.InputSize != recurrent.OutputSize)
            throw new ArgumentException($"a residual block needs a recurrent layer from d to d features, got {recurrent.InputSize} → {recurrent.OutputSize}", nameof(recurrent));
        if (!Enum.IsDefined(norm)) throw new ArgumentOutOfRangeException(nameof(norm), norm, "unknown norm");
        int d = recurrent.InputSize;
        Norm = norm;
        Recurrent = recurrent;
        var names = new List<string>();
        var layers = new List<ISequenceLayer<T>>();
        void Add(string name, ISequenceLayer<T> layer) { names.Add(name); layers.Add(layer); }
        if (norm != NormKind.None) Add("norm_in", MakeNorm(norm, d, batchNormMomentum));
        Add("rnn", recurrent);
        Add("gelu", new Gelu<T>(d, gelu));
        if (norm != NormKind.None) Add("norm_out", MakeNorm(norm, d, batchNormMomentum));
        Add("glu", _glu = new Glu<T>(d));
        _inner = new LayerStack<T>(names.ToArray(), layers.ToArray());
    }

    /// <summary>The normalisation kind.</summary>
    public NormKind Norm { get; }
    /// <summary>The recurrent layer.</summary>
    public ISequenceLayer<T> Recurrent { get; }
    /// <summary>The inner chain norm₁ → RNN → GELU → norm₂ → GLU (no norms when <see cref="Norm"/> is none).</summary>
    public LayerStack<T> Inner => _inner;

    /// <inheritdoc />
    public int InputSize => _inner.InputSize;
    /// <inheritdoc />
    public int OutputSize => _inner.OutputSize;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix) => _inner.Declare(layout, prefix);

    /// <inheritdoc />
    public void Initialize(Span<T> theta, CounterRng rng) => _inner.Initialize(theta, rng);

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool) => _inner.Prepare(batch, time, pool);

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        _inner.Forward(theta, input, output, training);
        TensorPrimitives.Add<T>(output.Data, input.Data, output.Data);
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        _inner.Backward(theta, outputGradient, inputGradient, gradient);
        if (inputGradient is not null) TensorPrimitives.Add<T>(inputGradient.Data, outputGradient.Data, inputGradient.Data);
    }

    private static ISequenceLayer<T> MakeNorm(NormKind norm, int d, double momentum) => norm switch
    {
        NormKind.Layer => new LayerNorm<T>(d),
        NormKind.Batch => new BatchNorm<T>(d, momentum),
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, "no layer for this norm"),
    };
}
