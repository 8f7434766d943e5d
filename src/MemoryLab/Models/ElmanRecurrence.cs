using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The Elman (vanilla, "tanh") RNN: <c>h_t = σ(W h_{t−1} + U x_t + b)</c>, h₋₁ = 0, output y_t = h_t
/// (Li21 §5 tanh RNN). Put a <see cref="Dense{T}"/> after it for a linear readout.
/// </summary>
/// <remarks>Initialisation [assumed; PyTorch uses U(±1/√H) everywhere]: U LeCun normal (variance 1/in),
/// W ~ N(0, g²/H) so its spectral radius is about the gain g (default 0.9: near the edge of chaos but
/// contracting, also safe for σ = identity), b = 0.</remarks>
public sealed class ElmanRecurrence<T> : SimpleRecurrence<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>An Elman RNN with <paramref name="hiddenSize"/> units.</summary>
    /// <param name="inputSize">Features per input step.</param>
    /// <param name="hiddenSize">Width of h.</param>
    /// <param name="activation">σ (tanh, hardtanh or identity).</param>
    /// <param name="recurrentGain">Initial spectral radius g of W (W ~ N(0, g²/H)).</param>
    /// <param name="chunkSize">Sequences per parallel chunk (fixed: results do not depend on the thread count).</param>
    public ElmanRecurrence(int inputSize, int hiddenSize, Activation activation = Activation.Tanh,
        double recurrentGain = 0.9, int chunkSize = DefaultChunkSize)
        : base(inputSize, hiddenSize, activation, residual: false, dt: 1.0, chunkSize)
    {
        if (!(recurrentGain >= 0) || !double.IsFinite(recurrentGain))
            throw new ArgumentOutOfRangeException(nameof(recurrentGain), recurrentGain, "the recurrent gain must be finite and non-negative");
        RecurrentGain = recurrentGain;
    }

    /// <summary>Initial spectral radius of W.</summary>
    public double RecurrentGain { get; }

    /// <inheritdoc />
    public override void Initialize(Span<T> theta, CounterRng rng)
    {
        Initializers.LecunNormal(InputWeights.Of(theta), rng.Fork(0), InputSize);
        Initializers.Normal(RecurrentWeights.Of(theta), rng.Fork(1), RecurrentGain / Math.Sqrt(HiddenSize));
        Bias.Of(theta).Clear();
    }
}
