using System.Numerics;

namespace MemoryLab.Theory;

/// <summary>How the magnitude ν = |λ| of a diagonal recurrence's eigenvalue is parametrised (Zucchet24 Fig. 6; LRU23).</summary>
public enum MagnitudeMap
{
    /// <summary><c>ν = ω_ν</c> (polar).</summary>
    Direct,
    /// <summary><c>ν = exp(−exp(ω_ν))</c> (LRU23); E[(d_ω γh)²] → 1/4 for white noise as ν → 1.</summary>
    Exp,
    /// <summary><c>ν = tanh(ω_ν)</c> ("opt"); E[(d_ω γh)²] = 1 exactly for white noise.</summary>
    Tanh,
}

/// <summary>How the phase θ = arg λ is parametrised (Zucchet24 Figs. 6, 7).</summary>
public enum PhaseMap
{
    /// <summary><c>θ = ω_θ</c>.</summary>
    Direct,
    /// <summary><c>θ = exp(ω_θ)</c> (LRU23).</summary>
    Exp,
    /// <summary><c>θ = ω_θ(1−ν²)/(ν√(1+ν²))</c>: makes E|d_{ω_θ}(γh)|² = 1 for white noise (Zucchet24).</summary>
    Scaled,
}

/// <summary>An eigenvalue λ = ν e^{iθ} with its partial derivatives in the parameters (ω_ν, ω_θ).</summary>
/// <param name="Lambda">λ.</param>
/// <param name="Nu">ν = |λ|.</param>
/// <param name="Theta">θ = arg λ.</param>
/// <param name="DNu">dν/dω_ν.</param>
/// <param name="DLambdaDOmegaNu">∂λ/∂ω_ν (includes the phase's dependence on ν for <see cref="PhaseMap.Scaled"/>).</param>
/// <param name="DLambdaDOmegaTheta">∂λ/∂ω_θ.</param>
public readonly record struct EigenvaluePoint(Complex Lambda, double Nu, double Theta, double DNu, Complex DLambdaDOmegaNu, Complex DLambdaDOmegaTheta)
{
    /// <summary>∂λ/∂ω_ν with θ itself held fixed, <c>e^{iθ}·dν/dω_ν</c>: equal to <see cref="DLambdaDOmegaNu"/> unless the phase map
    /// depends on ν (<see cref="PhaseMap.Scaled"/>), whose θ = ω_θ s(ν) moves with ω_ν at fixed ω_θ.</summary>
    public Complex DLambdaDOmegaNuAtFixedTheta => Complex.FromPolarCoordinates(1, Theta) * DNu;
}

/// <summary>
/// A parametrisation λ(ω_ν, ω_θ) = ν(ω_ν)·e^{iθ(ω_θ, ν)} of a complex eigenvalue (the rows polar, exp, opt of Zucchet24 Fig. 6 and
/// the phase maps of its Fig. 7): maps, derivatives and inverse.
/// </summary>
/// <param name="Magnitude">The magnitude map.</param>
/// <param name="Phase">The phase map.</param>
public readonly record struct EigenvalueMap(MagnitudeMap Magnitude, PhaseMap Phase)
{
    /// <summary>Polar: ν = ω_ν, θ = ω_θ.</summary>
    public static EigenvalueMap Polar => new(MagnitudeMap.Direct, PhaseMap.Direct);
    /// <summary>LRU23: ν = exp(−exp ω_ν), θ = exp ω_θ.</summary>
    public static EigenvalueMap Lru => new(MagnitudeMap.Exp, PhaseMap.Exp);
    /// <summary>"opt": ν = tanh ω_ν, scaled θ.</summary>
    public static EigenvalueMap Optimal => new(MagnitudeMap.Tanh, PhaseMap.Scaled);

    /// <summary>λ and its partial derivatives at (ω_ν, ω_θ).</summary>
    public EigenvaluePoint Evaluate(double omegaNu, double omegaTheta)
    {
        double nu, dnu;
        switch (Magnitude)
        {
            case MagnitudeMap.Direct: nu = omegaNu; dnu = 1; break;
            case MagnitudeMap.Exp:
                {
                    double e = Math.Exp(omegaNu);
                    nu = Math.Exp(-e);
                    dnu = -e * nu;
                    break;
                }
            case MagnitudeMap.Tanh: nu = Math.Tanh(omegaNu); dnu = 1 - nu * nu; break;
            default: throw new InvalidOperationException($"unknown magnitude map {Magnitude}");
        }
        double theta, dThetaDOmega, dThetaDNu = 0;
        switch (Phase)
        {
            case PhaseMap.Direct: theta = omegaTheta; dThetaDOmega = 1; break;
            case PhaseMap.Exp: theta = Math.Exp(omegaTheta); dThetaDOmega = theta; break;
            case PhaseMap.Scaled:
                {
                    if (!(nu > 0)) throw new ArgumentOutOfRangeException(nameof(omegaNu), omegaNu, "the scaled phase map needs ν > 0");
                    double s = (1 - nu * nu) / (nu * Math.Sqrt(1 + nu * nu));
                    double ds = s * (-2 * nu / (1 - nu * nu) - 1 / nu - nu / (1 + nu * nu));
                    theta = omegaTheta * s;
                    dThetaDOmega = s;
                    dThetaDNu = omegaTheta * ds;
                    break;
                }
            default: throw new InvalidOperationException($"unknown phase map {Phase}");
        }
        Complex unit = Complex.FromPolarCoordinates(1, theta);
        Complex lambda = nu * unit;
        Complex i = Complex.ImaginaryOne;
        Complex dNuPart = unit * dnu + i * lambda * dThetaDNu * dnu;
        Complex dThetaPart = i * lambda * dThetaDOmega;
        return new EigenvaluePoint(lambda, nu, theta, dnu, dNuPart, dThetaPart);
    }

    /// <summary>(ω_ν, ω_θ) with λ(ω) = ν e^{iθ}; throws when ν or θ is outside the map's range.</summary>
    public (double OmegaNu, double OmegaTheta) Inverse(double nu, double theta)
    {
        double on = Magnitude switch
        {
            MagnitudeMap.Direct => nu,
            MagnitudeMap.Exp => nu > 0 && nu < 1 ? Math.Log(-Math.Log(nu)) : throw new ArgumentOutOfRangeException(nameof(nu), nu, "exp magnitude map reaches ν in (0, 1) only"),
            MagnitudeMap.Tanh => nu > -1 && nu < 1 ? Math.Atanh(nu) : throw new ArgumentOutOfRangeException(nameof(nu), nu, "tanh magnitude map reaches ν in (−1, 1) only"),
            _ => throw new InvalidOperationException($"unknown magnitude map {Magnitude}"),
        };
        double ot = Phase switch
        {
            PhaseMap.Direct => theta,
            PhaseMap.Exp => theta > 0 ? Math.Log(theta) : throw new ArgumentOutOfRangeException(nameof(theta), theta, "exp phase map reaches θ > 0 only"),
            PhaseMap.Scaled => nu > 0 && nu < 1 ? theta * nu * Math.Sqrt(1 + nu * nu) / (1 - nu * nu) : throw new ArgumentOutOfRangeException(nameof(nu), nu, "scaled phase map needs 0 < ν < 1"),
            _ => throw new InvalidOperationException($"unknown phase map {Phase}"),
        };
        return (on, ot);
    }

    /// <summary>e.g. <c>tanh/scaled</c>.</summary>
    public override string ToString() => $"{Magnitude.ToString().ToLowerInvariant()}/{Phase.ToString().ToLowerInvariant()}";
}
