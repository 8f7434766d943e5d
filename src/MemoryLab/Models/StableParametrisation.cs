using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// How a trainable scalar w becomes a continuous-time rate λ = φ(w) (a diagonal entry of the recurrent
/// matrix W of <c>dh/dt = W h + …</c>). Wang24 §5 / StableSSM: a "stable" map keeps λ &lt; 0 for every w,
/// which restores stable approximation of long (polynomial) memory. (Wang24 §5.)
/// </summary>
public enum StableParametrisation
{
    /// <summary><c>λ = w</c>: no constraint (the unstable baseline).</summary>
    Direct,
    /// <summary><c>λ = −e^w</c>.</summary>
    Exp,
    /// <summary><c>λ = −log(1 + e^w)</c> (softplus).</summary>
    Softplus,
    /// <summary><c>λ = −1/(w² + b)</c>, b &gt; 0 (Wang24 "best"; b = 0.1 in the StableSSM code).</summary>
    Best,
}

/// <summary>
/// The maps of <see cref="StableParametrisation"/>: value φ(w), derivative φ'(w) and inverse φ⁻¹(λ) (for
/// initialising w from a wanted rate). They delegate to <see cref="RateParametrisation"/> (Numerics), which the exact objectives use too.
/// </summary>
public static class StableParametrisations
{
    /// <summary>The default offset b of <see cref="StableParametrisation.Best"/> (StableSSM code [code]).</summary>
    public const double DefaultBestOffset = 0.1;

    /// <summary>φ(w) = −r(w) with r the positive rate map of <see cref="RateParametrisation"/> (the same maps as the exact objectives).</summary>
    public static T Value<T>(StableParametrisation kind, T w, T bestOffset) where T : IFloatingPointIeee754<T> =>
        kind == StableParametrisation.Direct ? w : -Rate(kind, bestOffset).Rate(w);

    /// <summary>φ'(w): 1, −e^w, −σ(w), 2w/(w² + b)².</summary>
    public static T Derivative<T>(StableParametrisation kind, T w, T bestOffset) where T : IFloatingPointIeee754<T> =>
        kind == StableParametrisation.Direct ? T.One : -Rate(kind, bestOffset).Derivative(w);

    /// <summary>φ⁻¹(λ): the w whose rate is <paramref name="rate"/>. For the stable maps λ must be negative
    /// (and &gt; −1/b for <see cref="StableParametrisation.Best"/>, which takes the root w ≥ 0).</summary>
    public static double Inverse(StableParametrisation kind, double rate, double bestOffset = DefaultBestOffset)
    {
        if (kind == StableParametrisation.Direct) return rate;
        if (!(rate < 0)) throw new ArgumentOutOfRangeException(nameof(rate), rate, $"the {kind} parametrisation only reaches negative rates");
        if (kind == StableParametrisation.Best && -1.0 / rate - bestOffset < 0)
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"the best parametrisation with b = {bestOffset} only reaches rates in [−1/b, 0)");
        return Rate(kind, bestOffset).Inverse(-rate);
    }

    private static RateParametrisation Rate<T>(StableParametrisation kind, T bestOffset) where T : IFloatingPointIeee754<T> => kind switch
    {
        StableParametrisation.Exp => RateParametrisation.Exp,
        StableParametrisation.Softplus => RateParametrisation.Softplus,
        StableParametrisation.Best => RateParametrisation.Best(double.CreateTruncating(bestOffset)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown parametrisation"),
    };
}
