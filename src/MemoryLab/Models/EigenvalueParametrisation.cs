using System.Numerics;

namespace MemoryLab.Models;

/// <summary>How a complex eigenvalue λ = ν·e^{iθ} of a diagonal recurrence is written in terms of two
/// trainable numbers (p, q) (SCIENCE.md B2; Zucchet24 §4; LRU23).</summary>
public enum EigenvalueParametrisation
{
    /// <summary>p = Re λ, q = Im λ ("cRNN").</summary>
    Default,
    /// <summary>p = ν, q = θ.</summary>
    Polar,
    /// <summary>LRU23: ν = exp(−exp(p)), θ = exp(q) (θ &gt; 0; a negative phase is the conjugate neuron).</summary>
    Exp,
    /// <summary>ν = tanh(p), θ = q.</summary>
    Tanh,
    /// <summary>Zucchet24 "opt": ν = tanh(p), θ = q·(1−ν²)/(ν√(1+ν²)), which makes E|∂_q(γh)|² independent of ν.</summary>
    Opt,
}

/// <summary>Input normalisation γ(λ) multiplying B (SCIENCE.md B1/B2).</summary>
public enum InputNormalisation
{
    /// <summary>γ = 1.</summary>
    None,
    /// <summary>γ = √(1 − |λ|² + 1e−6): unit state variance for white noise.</summary>
    L2,
    /// <summary>γ = 1 − |λ|: unit gain for constant input.</summary>
    L1,
    /// <summary>γ trainable, held as <see cref="GammaParametrisation"/> says and started as <see cref="GammaInitialisation"/>
    /// says (LRU23: γ = exp(γ_log), γ_log initialised at log √(1−|λ|²)).</summary>
    Learned,
}

/// <summary>How a learned γ is a parameter (Zucchet &amp; Orvieto 2024's code, <c>which_gamma = learned</c>: through its
/// log with the exp parametrisation, as the LRU of Orvieto et al. 2023, and directly with the others).</summary>
public enum GammaParametrisation
{
    /// <summary>γ = exp(γ_log); the parameter is <c>gamma_log</c> (Orvieto et al. 2023, §3.3).</summary>
    Log,
    /// <summary>γ itself is the parameter <c>gamma</c>.</summary>
    Direct,
}

/// <summary>Where a learned γ starts.</summary>
public enum GammaInitialisation
{
    /// <summary>γ₀ = √(1 − |λ₀|²): unit state variance for white noise (Orvieto et al. 2023, §3.3).</summary>
    Modulus,
    /// <summary>γ₀ = √(1 − (Re λ₀)²). What Zucchet &amp; Orvieto 2024's code does for the (Re λ, Im λ)
    /// parametrisation: its <c>gamma_init</c> reads that pair as a polar one, ν e^{iθ} with ν = Re λ.</summary>
    RealPart,
}

/// <summary>Maps between (p, q) and λ = ν e^{iθ}, and carries gradients back (the chain rule of each map).</summary>
public static class EigenvalueMaps
{
    /// <summary>λ and (ν, θ) from the trainable pair.</summary>
    public static (T Re, T Im, T Nu, T Theta) ToLambda<T>(EigenvalueParametrisation kind, T p, T q) where T : IFloatingPointIeee754<T>
    {
        T nu, theta;
        switch (kind)
        {
            case EigenvalueParametrisation.Default:
                return (p, q, T.Sqrt(p * p + q * q), T.Atan2(q, p));
            case EigenvalueParametrisation.Polar: nu = p; theta = q; break;
            case EigenvalueParametrisation.Exp: nu = T.Exp(-T.Exp(p)); theta = T.Exp(q); break;
            case EigenvalueParametrisation.Tanh: nu = T.Tanh(p); theta = q; break;
            case EigenvalueParametrisation.Opt: nu = T.Tanh(p); theta = q * OptScale(nu); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
        return (nu * T.Cos(theta), nu * T.Sin(theta), nu, theta);
    }

    /// <summary>The trainable pair that gives λ = ν e^{iθ} (ν ≥ 0). Guards the edges: ν is kept below 1 − 1e−7
    /// for the maps that cannot reach 1, and θ above 1e−12 for the exp map.</summary>
    public static (T P, T Q) FromPolar<T>(EigenvalueParametrisation kind, T nu, T theta) where T : IFloatingPointIeee754<T>
    {
        T below1 = T.One - T.CreateTruncating(1e-7);
        switch (kind)
        {
            case EigenvalueParametrisation.Default: return (nu * T.Cos(theta), nu * T.Sin(theta));
            case EigenvalueParametrisation.Polar: return (nu, theta);
            case EigenvalueParametrisation.Exp:
                {
                    T n = T.Clamp(nu, T.CreateTruncating(1e-30), below1);
                    T th = T.Max(T.Abs(theta), T.CreateTruncating(1e-12));
                    return (T.Log(-T.Log(n)), T.Log(th));
                }
            case EigenvalueParametrisation.Tanh:
                {
                    T n = T.Min(nu, below1);
                    return (T.Atanh(n), theta);
                }
            case EigenvalueParametrisation.Opt:
                {
                    T n = T.Clamp(nu, T.CreateTruncating(1e-12), below1);
                    return (T.Atanh(n), theta / OptScale(n));
                }
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>s(ν) = (1−ν²)/(ν√(1+ν²)), the "opt" phase scale (Zucchet24 §B1).</summary>
    public static T OptScale<T>(T nu) where T : IFloatingPointIeee754<T> =>
        (T.One - nu * nu) / (nu * T.Sqrt(T.One + nu * nu));

    /// <summary>Chain rule: from ∂L/∂Re λ, ∂L/∂Im λ and ∂L/∂|λ| (extra, e.g. through γ) to ∂L/∂p, ∂L/∂q.</summary>
    public static (T DP, T DQ) Backward<T>(EigenvalueParametrisation kind, T p, T q, T dRe, T dIm, T dAbs) where T : IFloatingPointIeee754<T>
    {
        if (kind == EigenvalueParametrisation.Default)
        {
            T r = T.Sqrt(p * p + q * q);
            if (r == T.Zero) return (dRe, dIm);
            return (dRe + dAbs * p / r, dIm + dAbs * q / r);
        }
        var (re, im, nu, theta) = ToLambda(kind, p, q);
        _ = re; _ = im;
        T c = T.Cos(theta), s = T.Sin(theta);
        // λ = ν e^{iθ}: ∂/∂ν = cos θ ∂_Re + sin θ ∂_Im, ∂/∂θ = ν(−sin θ ∂_Re + cos θ ∂_Im); |λ| = |ν|.
        T dNu = c * dRe + s * dIm + dAbs * T.CreateTruncating(T.Sign(nu));
        T dTheta = nu * (c * dIm - s * dRe);
        switch (kind)
        {
            case EigenvalueParametrisation.Polar: return (dNu, dTheta);
            case EigenvalueParametrisation.Exp: return (dNu * (-T.Exp(p) * nu), dTheta * theta);
            case EigenvalueParametrisation.Tanh: return (dNu * (T.One - nu * nu), dTheta);
            case EigenvalueParametrisation.Opt:
                {
                    T scale = OptScale(nu);
                    // d ln s / dν = −2ν/(1−ν²) − 1/ν − ν/(1+ν²)
                    T dLogS = -T.CreateTruncating(2) * nu / (T.One - nu * nu) - T.One / nu - nu / (T.One + nu * nu);
                    T dNuTotal = dNu + dTheta * q * scale * dLogS;
                    return (dNuTotal * (T.One - nu * nu), dTheta * scale);
                }
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>γ(|λ|) and dγ/d|λ| for the fixed normalisations (Learned is a parameter, handled by the layer).</summary>
    public static (T Gamma, T DGamma) Gamma<T>(InputNormalisation kind, T abs) where T : IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case InputNormalisation.None: return (T.One, T.Zero);
            case InputNormalisation.L2:
                {
                    T g = T.Sqrt(T.One - abs * abs + T.CreateTruncating(1e-6));
                    return (g, -abs / g);
                }
            case InputNormalisation.L1: return (T.One - abs, -T.One);
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "learned γ is a parameter");
        }
    }
}
