using System.Numerics;

namespace MemoryLab.Models;

/// <summary>The built-in ways of writing a complex eigenvalue λ = ν·e^{iθ} of a diagonal recurrence in terms of two
/// trainable numbers (p, q) (Zucchet &amp; Orvieto 2024, §4 and §B1; Orvieto et al. 2023, §3.2–3.3); each names an
/// <see cref="IEigenvalueMap{T}"/> (<see cref="EigenvalueMaps.For{T}"/>).</summary>
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

/// <summary>Input normalisation γ(λ) multiplying B (Zucchet &amp; Orvieto 2024, §3–4; Orvieto et al. 2023, §3.4).</summary>
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
    /// <summary>γ = exp(γ_log); the parameter is <c>gamma_log</c> (Orvieto et al. 2023, §3.4).</summary>
    Log,
    /// <summary>γ itself is the parameter <c>gamma</c>.</summary>
    Direct,
}

/// <summary>Where a learned γ starts.</summary>
public enum GammaInitialisation
{
    /// <summary>γ₀ = √(1 − |λ₀|²): unit state variance for white noise (Orvieto et al. 2023, §3.4).</summary>
    Modulus,
    /// <summary>γ₀ = √(1 − (Re λ₀)²). What Zucchet &amp; Orvieto 2024's code does for the (Re λ, Im λ)
    /// parametrisation: its <c>gamma_init</c> reads that pair as a polar one, ν e^{iθ} with ν = Re λ.</summary>
    RealPart,
}

/// <summary>
/// How a complex eigenvalue λ of a diagonal recurrence is written in terms of two trainable numbers (p, q): the map,
/// its chain rule and its inverse from polar form. <see cref="DiagonalRecurrence{T}"/> takes one (the built-in ones
/// are <see cref="EigenvalueMaps.For{T}"/> of each <see cref="EigenvalueParametrisation"/>); a map of your own is
/// usually a <see cref="PolarEigenvalueMap{T}"/>, which needs only ν(p, q), θ(p, q) and their chain rule.
/// </summary>
public interface IEigenvalueMap<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>The name a spec's <c>parametrisation:</c> gives.</summary>
    string Name { get; }
    /// <summary>Names of p and q in θ.</summary>
    (string P, string Q) ParameterNames { get; }
    /// <summary>λ = Re + i·Im from (p, q).</summary>
    (T Re, T Im) ToLambda(T p, T q);
    /// <summary>∂L/∂p, ∂L/∂q from ∂L/∂Re λ, ∂L/∂Im λ and ∂L/∂|λ| (the last through an input normalisation γ(|λ|)).</summary>
    (T DP, T DQ) Backward(T p, T q, T dRe, T dIm, T dAbs);
    /// <summary>The (p, q) that give λ = ν e^{iθ} (ν ≥ 0): the ring initialisation's draws in this map, in float64.</summary>
    (double P, double Q) FromPolar(double nu, double theta);
}

/// <summary>A map written in polar form, λ = ν(p, q)·e^{iθ(p, q)}: the base carries the gradient from λ to (ν, θ),
/// <see cref="PolarBackward"/> carries it on to (p, q).</summary>
public abstract class PolarEigenvalueMap<T> : IEigenvalueMap<T> where T : IFloatingPointIeee754<T>
{
    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract (string P, string Q) ParameterNames { get; }
    /// <summary>(ν, θ) from (p, q).</summary>
    public abstract (T Nu, T Theta) ToPolar(T p, T q);
    /// <summary>∂L/∂p, ∂L/∂q from ∂L/∂ν and ∂L/∂θ at (p, q), whose image is (ν, θ).</summary>
    protected abstract (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta);
    /// <inheritdoc />
    public abstract (double P, double Q) FromPolar(double nu, double theta);

    /// <inheritdoc />
    public (T Re, T Im) ToLambda(T p, T q)
    {
        var (nu, theta) = ToPolar(p, q);
        return (nu * T.Cos(theta), nu * T.Sin(theta));
    }

    /// <inheritdoc />
    public (T DP, T DQ) Backward(T p, T q, T dRe, T dIm, T dAbs)
    {
        var (nu, theta) = ToPolar(p, q);
        T c = T.Cos(theta), s = T.Sin(theta);
        // λ = ν e^{iθ}: ∂/∂ν = cos θ ∂_Re + sin θ ∂_Im, ∂/∂θ = ν(−sin θ ∂_Re + cos θ ∂_Im); |λ| = |ν|.
        T dNu = c * dRe + s * dIm + dAbs * T.CreateTruncating(T.Sign(nu));
        T dTheta = nu * (c * dIm - s * dRe);
        return PolarBackward(p, q, nu, theta, dNu, dTheta);
    }

    /// <summary>1 − 1e−7: the largest ν the maps that cannot reach 1 are initialised at.</summary>
    protected const double Below1 = 1 - 1e-7;
}

/// <summary>The built-in maps (one instance each per scalar type) and the fixed input normalisations.</summary>
public static class EigenvalueMaps
{
    /// <summary>The built-in map <paramref name="kind"/>.</summary>
    public static IEigenvalueMap<T> For<T>(EigenvalueParametrisation kind) where T : IFloatingPointIeee754<T> => kind switch
    {
        EigenvalueParametrisation.Default => BuiltIn<T>.Cartesian,
        EigenvalueParametrisation.Polar => BuiltIn<T>.Polar,
        EigenvalueParametrisation.Exp => BuiltIn<T>.Exp,
        EigenvalueParametrisation.Tanh => BuiltIn<T>.Tanh,
        EigenvalueParametrisation.Opt => BuiltIn<T>.Opt,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The trainable pair that gives λ = ν e^{iθ} in the built-in map <paramref name="kind"/>.</summary>
    public static (double P, double Q) FromPolar(EigenvalueParametrisation kind, double nu, double theta) => For<double>(kind).FromPolar(nu, theta);

    private static class BuiltIn<T> where T : IFloatingPointIeee754<T>
    {
        public static readonly IEigenvalueMap<T> Cartesian = new CartesianMap<T>();
        public static readonly IEigenvalueMap<T> Polar = new PolarMap<T>();
        public static readonly IEigenvalueMap<T> Exp = new ExpMap<T>();
        public static readonly IEigenvalueMap<T> Tanh = new TanhMap<T>();
        public static readonly IEigenvalueMap<T> Opt = new OptMap<T>();
    }

    /// <summary>s(ν) = (1−ν²)/(ν√(1+ν²)), the "opt" phase scale (Zucchet &amp; Orvieto 2024, §B1).</summary>
    public static T OptScale<T>(T nu) where T : IFloatingPointIeee754<T> =>
        (T.One - nu * nu) / (nu * T.Sqrt(T.One + nu * nu));

    // p = Re λ, q = Im λ.
    private sealed class CartesianMap<T> : IEigenvalueMap<T> where T : IFloatingPointIeee754<T>
    {
        public string Name => "default";
        public (string P, string Q) ParameterNames => ("lambda_re", "lambda_im");
        public (T Re, T Im) ToLambda(T p, T q) => (p, q);
        public (T DP, T DQ) Backward(T p, T q, T dRe, T dIm, T dAbs)
        {
            T r = T.Sqrt(p * p + q * q);
            if (r == T.Zero) return (dRe, dIm);
            return (dRe + dAbs * p / r, dIm + dAbs * q / r);
        }
        public (double P, double Q) FromPolar(double nu, double theta) => (nu * Math.Cos(theta), nu * Math.Sin(theta));
    }

    private sealed class PolarMap<T> : PolarEigenvalueMap<T> where T : IFloatingPointIeee754<T>
    {
        public override string Name => "polar";
        public override (string P, string Q) ParameterNames => ("nu", "theta");
        public override (T Nu, T Theta) ToPolar(T p, T q) => (p, q);
        protected override (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta) => (dNu, dTheta);
        public override (double P, double Q) FromPolar(double nu, double theta) => (nu, theta);
    }

    // Orvieto et al. 2023: ν = exp(−exp(p)), θ = exp(q) (θ > 0; a negative phase is the conjugate neuron).
    private sealed class ExpMap<T> : PolarEigenvalueMap<T> where T : IFloatingPointIeee754<T>
    {
        public override string Name => "exp";
        public override (string P, string Q) ParameterNames => ("nu_log", "theta_log");
        public override (T Nu, T Theta) ToPolar(T p, T q) => (T.Exp(-T.Exp(p)), T.Exp(q));
        protected override (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta) => (dNu * (-T.Exp(p) * nu), dTheta * theta);
        public override (double P, double Q) FromPolar(double nu, double theta)
        {
            double n = double.Clamp(nu, 1e-30, Below1);
            double th = double.Max(double.Abs(theta), 1e-12);
            return (double.Log(-double.Log(n)), double.Log(th));
        }
    }

    // Zucchet & Orvieto 2024, §4: ν = tanh(p), θ = q.
    private sealed class TanhMap<T> : PolarEigenvalueMap<T> where T : IFloatingPointIeee754<T>
    {
        public override string Name => "tanh";
        public override (string P, string Q) ParameterNames => ("omega_nu", "omega_theta");
        public override (T Nu, T Theta) ToPolar(T p, T q) => (T.Tanh(p), q);
        protected override (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta) => (dNu * (T.One - nu * nu), dTheta);
        public override (double P, double Q) FromPolar(double nu, double theta) => (double.Atanh(double.Min(nu, Below1)), theta);
    }

    // Zucchet & Orvieto 2024, §B1: ν = tanh(p), θ = q·s(ν), which makes E|∂_q(γh)|² independent of ν.
    private sealed class OptMap<T> : PolarEigenvalueMap<T> where T : IFloatingPointIeee754<T>
    {
        public override string Name => "opt";
        public override (string P, string Q) ParameterNames => ("omega_nu", "omega_theta");
        public override (T Nu, T Theta) ToPolar(T p, T q)
        {
            T nu = T.Tanh(p);
            return (nu, q * OptScale(nu));
        }
        protected override (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta)
        {
            T scale = OptScale(nu);
            // d ln s / dν = −2ν/(1−ν²) − 1/ν − ν/(1+ν²)
            T dLogS = -T.CreateTruncating(2) * nu / (T.One - nu * nu) - T.One / nu - nu / (T.One + nu * nu);
            T dNuTotal = dNu + dTheta * q * scale * dLogS;
            return (dNuTotal * (T.One - nu * nu), dTheta * scale);
        }
        public override (double P, double Q) FromPolar(double nu, double theta)
        {
            double n = double.Clamp(nu, 1e-12, Below1);
            return (double.Atanh(n), theta / OptScale(n));
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
