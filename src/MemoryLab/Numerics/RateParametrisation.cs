using System.Numerics;

namespace MemoryLab.Numerics;

/// <summary>Scalar maps from an unconstrained parameter v to a decay rate w (the recurrent weight is W = −w),
/// Wang24's stable reparametrisations (Wang24 §5).</summary>
public enum RateMap
{
    /// <summary><c>w = v</c>: no constraint; the model is unstable when v ≤ 0.</summary>
    Direct,
    /// <summary><c>w = e^v</c> (W = −e^M).</summary>
    Exp,
    /// <summary><c>w = log(1 + e^v)</c> (W = −softplus(M)).</summary>
    Softplus,
    /// <summary><c>w = 1 / (v² + b)</c> with offset b &gt; 0 (Wang24 "best"; rates bounded by 1/b).</summary>
    Best,
}

/// <summary>
/// A stable parametrisation of a positive decay rate, <c>w = r(v)</c>, with its derivative and inverse
/// (Wang24 §5). Used by the reduced-model objective
/// (θ = (a, v), w = r(v)) and by layers with W = −r(V). Generic over float and double.
/// </summary>
/// <param name="Map">Which map.</param>
/// <param name="BestOffset">The offset b of <see cref="RateMap.Best"/> (ignored otherwise). Wang24's value is not
/// stated by Wang24; 0.5 is our [assumed] default, exposed as a setting.</param>
public readonly record struct RateParametrisation(RateMap Map, double BestOffset = 0.5)
{
    /// <summary><c>w = v</c>.</summary>
    public static RateParametrisation Direct => new(RateMap.Direct);
    /// <summary><c>w = e^v</c>.</summary>
    public static RateParametrisation Exp => new(RateMap.Exp);
    /// <summary><c>w = log(1+e^v)</c>.</summary>
    public static RateParametrisation Softplus => new(RateMap.Softplus);
    /// <summary><c>w = 1/(v² + b)</c>.</summary>
    public static RateParametrisation Best(double offset = 0.5) => new(RateMap.Best, offset);

    /// <summary>All four maps (with the default "best" offset), for sweeps and tests.</summary>
    public static IReadOnlyList<RateParametrisation> All { get; } = [Direct, Exp, Softplus, Best()];

    /// <summary>Lower-case name: direct, exp, softplus, best.</summary>
    public string Name => Map switch
    {
        RateMap.Direct => "direct",
        RateMap.Exp => "exp",
        RateMap.Softplus => "softplus",
        RateMap.Best => "best",
        _ => Map.ToString(),
    };

    /// <summary>Parses <c>direct</c>, <c>exp</c>, <c>softplus</c>, <c>best</c> (case-insensitive).</summary>
    public static RateParametrisation Parse(string name, double bestOffset = 0.5)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "direct" or "linear" or "none" => Direct,
            "exp" => Exp,
            "softplus" => Softplus,
            "best" => Best(bestOffset),
            _ => throw new ArgumentException($"unknown rate parametrisation '{name}'; expected direct, exp, softplus or best", nameof(name)),
        };
    }

    private void CheckOffset()
    {
        if (Map == RateMap.Best && !(BestOffset > 0 && double.IsFinite(BestOffset)))
            throw new ArgumentOutOfRangeException(nameof(BestOffset), BestOffset, "the 'best' parametrisation needs an offset b > 0");
    }

    /// <summary>The rate <c>w = r(v)</c>.</summary>
    public T Rate<T>(T v) where T : IFloatingPointIeee754<T>
    {
        switch (Map)
        {
            case RateMap.Direct: return v;
            case RateMap.Exp: return T.Exp(v);
            case RateMap.Softplus:
                // log(1+e^v) = max(v,0) + log1p(e^{−|v|}): no overflow for large v, no cancellation for small
                return T.Max(v, T.Zero) + Log1P(T.Exp(-T.Abs(v)));
            case RateMap.Best:
                CheckOffset();
                return T.One / (v * v + T.CreateChecked(BestOffset));
            default: throw new InvalidOperationException($"unknown rate map {Map}");
        }
    }

    /// <summary>The derivative <c>dw/dv = r'(v)</c>.</summary>
    public T Derivative<T>(T v) where T : IFloatingPointIeee754<T>
    {
        switch (Map)
        {
            case RateMap.Direct: return T.One;
            case RateMap.Exp: return T.Exp(v);
            case RateMap.Softplus:
                // sigmoid(v), written to avoid overflow for either sign
                if (v >= T.Zero) return T.One / (T.One + T.Exp(-v));
                T e = T.Exp(v);
                return e / (T.One + e);
            case RateMap.Best:
                CheckOffset();
                T d = v * v + T.CreateChecked(BestOffset);
                return -(v + v) / (d * d);
            default: throw new InvalidOperationException($"unknown rate map {Map}");
        }
    }

    /// <summary>The second derivative <c>r''(v)</c> (for Hessians and gradient-flow Jacobians).</summary>
    public T SecondDerivative<T>(T v) where T : IFloatingPointIeee754<T>
    {
        switch (Map)
        {
            case RateMap.Direct: return T.Zero;
            case RateMap.Exp: return T.Exp(v);
            case RateMap.Softplus:
                T s = Derivative(v);
                return s * (T.One - s);
            case RateMap.Best:
                CheckOffset();
                T b = T.CreateChecked(BestOffset);
                T d = v * v + b;
                // d/dv[−2v d^{−2}] = −2 d^{−2} + 8v² d^{−3}
                return (T.CreateChecked(6) * v * v - (b + b)) / (d * d * d);
            default: throw new InvalidOperationException($"unknown rate map {Map}");
        }
    }

    /// <summary>The parameter v with <c>r(v) = w</c> (the non-negative root for "best").
    /// Throws when w is outside the map's range (w ≤ 0 for exp/softplus, w ∉ (0, 1/b] for best).</summary>
    public T Inverse<T>(T rate) where T : IFloatingPointIeee754<T>
    {
        switch (Map)
        {
            case RateMap.Direct: return rate;
            case RateMap.Exp:
                if (!(rate > T.Zero)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "the exp parametrisation only reaches rates w > 0");
                return T.Log(rate);
            case RateMap.Softplus:
                if (!(rate > T.Zero)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "the softplus parametrisation only reaches rates w > 0");
                // v = log(e^w − 1) = w + log(1 − e^{−w})
                return rate + T.Log(-ExpM1(-rate));
            case RateMap.Best:
                CheckOffset();
                T b = T.CreateChecked(BestOffset);
                if (!(rate > T.Zero) || rate * b > T.One * (T.One + T.CreateChecked(1e-15)))
                    throw new ArgumentOutOfRangeException(nameof(rate), rate, $"the best parametrisation with offset b = {BestOffset} only reaches rates in (0, {1 / BestOffset}]");
                return T.Sqrt(T.Max(T.One / rate - b, T.Zero));
            default: throw new InvalidOperationException($"unknown rate map {Map}");
        }
    }

    /// <summary>log(1+x) accurate for tiny x (the BCL's LogP1 computes log(1+x) naively); Goldberg's correction.</summary>
    private static T Log1P<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One) return x;
        return T.Log(u) * x / (u - T.One);
    }

    /// <summary>e^x − 1 accurate for tiny x (Kahan's correction).</summary>
    private static T ExpM1<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.Exp(x);
        if (u == T.One) return x;
        T um1 = u - T.One;
        if (um1 == -T.One) return -T.One;
        return um1 * x / T.Log(u);
    }

    /// <summary>Element-wise w = r(v) and dw/dv over spans (derivative span may be empty).</summary>
    public void Rates<T>(ReadOnlySpan<T> v, Span<T> rates, Span<T> derivatives) where T : IFloatingPointIeee754<T>
    {
        if (rates.Length < v.Length) throw new ArgumentException("rates span is shorter than the parameters");
        bool wantDerivative = !derivatives.IsEmpty;
        if (wantDerivative && derivatives.Length < v.Length) throw new ArgumentException("derivative span is shorter than the parameters");
        for (int i = 0; i < v.Length; i++)
        {
            rates[i] = Rate(v[i]);
            if (wantDerivative) derivatives[i] = Derivative(v[i]);
        }
    }

    /// <summary>The name.</summary>
    public override string ToString() => Map == RateMap.Best ? $"best(b={BestOffset})" : Name;
}
