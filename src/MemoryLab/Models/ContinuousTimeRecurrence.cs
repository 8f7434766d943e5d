using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The residual (forward-Euler) continuous-time RNN of Li21/Wang24:
/// <c>h_{t+1} = h_t + dt·σ(W h_t + U x_t + b)</c>, h₀ = 0; the output at step t is the state after
/// reading x_t. W's diagonal goes through a stable parametrisation,
/// <c>W_ii = φ(w_i)</c> with φ ∈ {direct w, exp −e^w, softplus −log(1+e^w), best −1/(w²+b)} (Wang24 §5);
/// off-diagonal entries are used as stored.
/// </summary>
/// <remarks>
/// θ holds W as one <c>[hidden, hidden]</c> view <c>weight_hh</c> whose diagonal entries are the raw w_i
/// (so perturbation analyses perturb w, the trained parameter) and whose off-diagonal entries are W's.
/// Initialisation [assumed]: diagonal rates −λ_i with λ_i ~ U[rateMin, rateMax] mapped back through φ⁻¹,
/// off-diagonal N(0, s²/H) with s = <c>offDiagonalScale</c>, U LeCun normal, b = 0.
/// </remarks>
public sealed class ContinuousTimeRecurrence<T> : SimpleRecurrence<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _bestOffset;
    private T[] _effective = [];

    /// <summary>A continuous-time RNN with <paramref name="hiddenSize"/> units.</summary>
    /// <param name="inputSize">Features per input step.</param>
    /// <param name="hiddenSize">Width of h.</param>
    /// <param name="activation">σ (tanh, hardtanh or identity).</param>
    /// <param name="parametrisation">Map φ from the raw diagonal w to W's diagonal.</param>
    /// <param name="dt">Euler step.</param>
    /// <param name="bestOffset">b of the <see cref="StableParametrisation.Best"/> map.</param>
    /// <param name="rateMin">Smallest initial decay rate λ (W_ii = −λ).</param>
    /// <param name="rateMax">Largest initial decay rate λ.</param>
    /// <param name="offDiagonalScale">Initial off-diagonal entries are N(0, scale²/H).</param>
    /// <param name="chunkSize">Sequences per parallel chunk.</param>
    public ContinuousTimeRecurrence(int inputSize, int hiddenSize, Activation activation = Activation.Tanh,
        StableParametrisation parametrisation = StableParametrisation.Softplus, double dt = 1.0,
        double bestOffset = StableParametrisations.DefaultBestOffset, double rateMin = 0.5, double rateMax = 1.5,
        double offDiagonalScale = 0.5, int chunkSize = DefaultChunkSize)
        : base(inputSize, hiddenSize, activation, residual: true, dt, chunkSize)
    {
        if (!Enum.IsDefined(parametrisation)) throw new ArgumentOutOfRangeException(nameof(parametrisation), parametrisation, "unknown parametrisation");
        if (!(bestOffset > 0)) throw new ArgumentOutOfRangeException(nameof(bestOffset), bestOffset, "the offset b of the best parametrisation must be positive");
        if (!(rateMin > 0) || !(rateMax >= rateMin) || !double.IsFinite(rateMax))
            throw new ArgumentException($"initial rates need 0 < rateMin ≤ rateMax < ∞, got [{rateMin}, {rateMax}]");
        if (parametrisation == StableParametrisation.Best && rateMax > 1 / bestOffset)
            throw new ArgumentException($"the best parametrisation with b = {bestOffset} reaches rates up to 1/b = {1 / bestOffset}, but rateMax is {rateMax}");
        if (!(offDiagonalScale >= 0) || !double.IsFinite(offDiagonalScale))
            throw new ArgumentOutOfRangeException(nameof(offDiagonalScale), offDiagonalScale, "the off-diagonal scale must be finite and non-negative");
        Parametrisation = parametrisation;
        Dt = dt;
        BestOffset = bestOffset;
        RateMin = rateMin;
        RateMax = rateMax;
        OffDiagonalScale = offDiagonalScale;
        _bestOffset = T.CreateTruncating(bestOffset);
    }

    /// <summary>The map φ of W's diagonal.</summary>
    public StableParametrisation Parametrisation { get; }
    /// <summary>Euler step dt.</summary>
    public double Dt { get; }
    /// <summary>b of the best map.</summary>
    public double BestOffset { get; }
    /// <summary>Smallest initial decay rate.</summary>
    public double RateMin { get; }
    /// <summary>Largest initial decay rate.</summary>
    public double RateMax { get; }
    /// <summary>Scale of the initial off-diagonal entries.</summary>
    public double OffDiagonalScale { get; }

    /// <inheritdoc />
    public override void Initialize(Span<T> theta, CounterRng rng)
    {
        int h = HiddenSize;
        Initializers.LecunNormal(InputWeights.Of(theta), rng.Fork(0), InputSize);
        var w = RecurrentWeights.Of(theta);
        Initializers.Normal(w, rng.Fork(1), OffDiagonalScale / Math.Sqrt(h));
        var rates = rng.Fork(2);
        for (int i = 0; i < h; i++)
            w[i * h + i] = T.CreateTruncating(StableParametrisations.Inverse(Parametrisation, -rates.NextUniform(RateMin, RateMax), BestOffset));
        Bias.Of(theta).Clear();
    }

    /// <summary>The effective recurrent matrix W (diagonal mapped through φ) for parameters <paramref name="theta"/>.</summary>
    public T[] EffectiveRecurrentMatrix(ReadOnlySpan<T> theta)
    {
        var m = new T[HiddenSize * HiddenSize];
        BuildEffective(theta, m);
        return m;
    }

    /// <inheritdoc />
    protected override void AllocateBuffers(int batch, int time)
    {
        base.AllocateBuffers(batch, time);
        _effective = new T[HiddenSize * HiddenSize];
    }

    /// <inheritdoc />
    protected override void BeginForward() => BuildEffective(Theta, _effective);

    /// <inheritdoc />
    protected override ReadOnlySpan<T> RecurrentMatrix(T[] theta) => _effective;

    /// <inheritdoc />
    protected override void FinishGradient(Span<T> layerGradient)
    {
        // ∂loss/∂w_i = ∂loss/∂W_ii · φ'(w_i); off-diagonal entries are W's own.
        int h = HiddenSize;
        var w = RecurrentWeights.Of(Theta);
        var g = layerGradient.Slice(RecurrentWeights.Offset - ParameterOffset, h * h);
        for (int i = 0; i < h; i++) g[i * h + i] *= StableParametrisations.Derivative(Parametrisation, w[i * h + i], _bestOffset);
    }

    private void BuildEffective(ReadOnlySpan<T> theta, Span<T> m)
    {
        int h = HiddenSize;
        var w = RecurrentWeights.Of(theta);
        w.CopyTo(m);
        for (int i = 0; i < h; i++) m[i * h + i] = StableParametrisations.Value(Parametrisation, w[i * h + i], _bestOffset);
    }
}
