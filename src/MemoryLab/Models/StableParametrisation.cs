using System.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// How a trainable scalar w becomes a continuous-time rate λ = φ(w) (a diagonal entry of the recurrent
/// matrix W of <c>dh/dt = W h + …</c>). Wang24 §5 / StableSSM: a "stable" map keeps λ &lt; 0 for every w,
/// which restores stable approximation of long (polynomial) memory. SCIENCE.md A3, B2.
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
/// initialising w from a wanted rate). Written here in Models; Targets' exact objectives can reuse them.
/// </summary>
public static class StableParametrisations
{
    /// <summary>The default offset b of <see cref="StableParametrisation.Best"/> (StableSSM code [code]).</summary>
    public const double DefaultBestOffset = 0.1;

    /// <summary>φ(w).</summary>
    public static T Value<T>(StableParametrisation kind, T w, T bestOffset) where T : IFloatingPointIeee754<T> => kind switch
    {
        StableParametrisation.Direct => w,
        StableParametrisation.Exp => -T.Exp(w),
        StableParametrisation.Softplus => -Softplus(w),
        StableParametrisation.Best => -T.One / (w * w + bestOffset),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown parametrisation"),
    };

    /// <summary>φ'(w): 1, −e^w, −σ(w), 2w/(w² + b)².</summary>
    public static T Derivative<T>(StableParametrisation kind, T w, T bestOffset) where T : IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case StableParametrisation.Direct: return T.One;
            case StableParametrisation.Exp: return -T.Exp(w);
            case StableParametrisation.Softplus: return -T.One / (T.One + T.Exp(-w));
            case StableParametrisation.Best:
                T d = w * w + bestOffset;
                return (w + w) / (d * d);
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown parametrisation");
        }
    }

    /// <summary>φ⁻¹(λ): the w whose rate is <paramref name="rate"/>. For the stable maps λ must be negative
    /// (and &gt; −1/b for <see cref="StableParametrisation.Best"/>, which takes the root w ≥ 0).</summary>
    public static double Inverse(StableParametrisation kind, double rate, double bestOffset = DefaultBestOffset)
    {
        if (kind != StableParametrisation.Direct && !(rate < 0))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"the {kind} parametrisation only reaches negative rates");
        switch (kind)
        {
            case StableParametrisation.Direct: return rate;
            case StableParametrisation.Exp: return Math.Log(-rate);
            case StableParametrisation.Softplus: return Math.Log(double.ExpM1(-rate)); // softplus⁻¹(r) = log(e^r − 1)
            case StableParametrisation.Best:
                double s = -1.0 / rate - bestOffset;
                if (s < 0) throw new ArgumentOutOfRangeException(nameof(rate), rate, $"the best parametrisation with b = {bestOffset} only reaches rates in [−1/b, 0)");
                return Math.Sqrt(s);
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown parametrisation");
        }
    }

    /// <summary>log(1 + e^w) without overflow: max(w, 0) + log(1 + e^{−|w|}).</summary>
    private static T Softplus<T>(T w) where T : IFloatingPointIeee754<T> =>
        T.Max(w, T.Zero) + T.LogP1(T.Exp(-T.Abs(w)));
}
