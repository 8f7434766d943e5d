using System.Numerics;

namespace MemoryLab.Theory;

/// <summary>
/// Closed forms of signal propagation through the linear recurrence <c>h_{t+1} = λ h_t + x_{t+1}</c>, h₀ = 0, t → ∞,
/// driven by a stationary unit-variance input with <c>E[x_t x_{t+Δ}] = ρ^{|Δ|}</c> (Zucchet24 §3–4, Fig. 1).
/// Everything derives from the master correlation <c>f(λ, μ; ρ) = E[h(λ) h(μ)]</c>, analytic in λ and μ, so complex
/// eigenvalues use <c>E[h(λ) conj h(μ)] = f(λ, μ̄)</c> (the input is real). Requires |λ|, |μ| &lt; 1 and |ρ| ≤ 1.
/// </summary>
public static class SignalPropagation
{
    /// <summary>Master correlation <c>f(λ,μ;ρ) = (1 − ρ²λμ) / ((1−λμ)(1−ρλ)(1−ρμ))</c>.</summary>
    public static Complex Correlation(Complex lambda, Complex mu, double rho)
    {
        Check(lambda, mu, rho);
        Complex lm = lambda * mu;
        return (1 - rho * rho * lm) / ((1 - lm) * (1 - rho * lambda) * (1 - rho * mu));
    }

    /// <summary>Real form of <see cref="Correlation(Complex, Complex, double)"/>.</summary>
    public static double Correlation(double lambda, double mu, double rho) => Correlation(new Complex(lambda, 0), new Complex(mu, 0), rho).Real;

    /// <summary><c>∂f/∂λ (λ, μ; ρ) = E[(dh/dλ)(λ) · h(μ)] = f·(μ/(1−λμ) + ρ/(1−ρλ) − ρ²μ/(1−ρ²λμ))</c>.</summary>
    public static Complex CorrelationDerivative(Complex lambda, Complex mu, double rho)
    {
        Complex f = Correlation(lambda, mu, rho);
        Complex lm = lambda * mu;
        return f * (mu / (1 - lm) + rho / (1 - rho * lambda) - rho * rho * mu / (1 - rho * rho * lm));
    }

    /// <summary>Cross kernel <c>S(λ,μ;ρ) = ∂²f/∂λ∂μ = E[(dh/dλ)(λ)·(dh/dμ)(μ)]</c> =
    /// [1 + λμ − 2ρ(1−ρ²)λμ(λ+μ) − 4ρ²λμ(1−λμ) − ρ⁴λ²μ²(1+λμ)] / [(1−λμ)³(1−ρλ)²(1−ρμ)²] (the mixed derivative of f; not the hand-written |S| of the
    /// authors' <c>figures/visualization_S.ipynb</c>, which is wrong for 0 &lt; ρ &lt; 1: 519.7 instead of 778.1 at λ = μ = 0.9, ρ = 0.5).</summary>
    public static Complex CrossKernel(Complex lambda, Complex mu, double rho)
    {
        Check(lambda, mu, rho);
        Complex lm = lambda * mu;
        double r2 = rho * rho;
        Complex num = 1 + lm - 2 * rho * (1 - r2) * lm * (lambda + mu) - 4 * r2 * lm * (1 - lm) - r2 * r2 * lm * lm * (1 + lm);
        Complex a = 1 - lm, b = 1 - rho * lambda, c = 1 - rho * mu;
        return num / (a * a * a * b * b * c * c);
    }

    /// <summary>Real form of <see cref="CrossKernel(Complex, Complex, double)"/>.</summary>
    public static double CrossKernel(double lambda, double mu, double rho) => CrossKernel(new Complex(lambda, 0), new Complex(mu, 0), rho).Real;

    /// <summary><c>E[h²] = f(λ,λ) = (1+ρλ) / ((1−ρλ)(1−λ²))</c> for real λ (white noise 1/(1−λ²), constant 1/(1−λ)²).</summary>
    public static double StateVariance(double lambda, double rho)
    {
        Check(lambda, lambda, rho);
        return (1 + rho * lambda) / ((1 - rho * lambda) * (1 - lambda * lambda));
    }

    /// <summary><c>E|h|² = f(λ, λ̄)</c> for complex λ.</summary>
    public static double StateSecondMoment(Complex lambda, double rho) => Correlation(lambda, Complex.Conjugate(lambda), rho).Real;

    /// <summary><c>E[(dh/dλ)²] = [(1+λ²)(1−λ²ρ²) + 2ρλ(1−λ²)] / [(1−λ²)³(1−ρλ)²]</c> for real λ: grows like (1−λ)^{−3}
    /// while the state grows like (1−λ)^{−1} — the curse of memory (Zucchet24 §3).</summary>
    public static double SensitivityVariance(double lambda, double rho)
    {
        Check(lambda, lambda, rho);
        double l2 = lambda * lambda, one = 1 - l2, b = 1 - rho * lambda;
        return ((1 + l2) * (1 - l2 * rho * rho) + 2 * rho * lambda * one) / (one * one * one * b * b);
    }

    /// <summary><c>E|dh/dλ|² = S(λ, λ̄)</c> for complex λ (= E|dh/dν|²; E|dh/dθ|² = ν²·S(λ,λ̄)).</summary>
    public static double SensitivitySecondMoment(Complex lambda, double rho) => CrossKernel(lambda, Complex.Conjugate(lambda), rho).Real;

    /// <summary>Input normalisation <c>γ(λ) = √(1 − |λ|²)</c> (LRU23; gives E|γh|² = 1 for white noise).</summary>
    public static double Normalisation(Complex lambda)
    {
        double m2 = lambda.Real * lambda.Real + lambda.Imaginary * lambda.Imaginary;
        if (!(m2 < 1)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "γ(λ) = √(1−|λ|²) needs |λ| < 1");
        return Math.Sqrt(1 - m2);
    }

    /// <summary>
    /// <c>E|d(g·h)/dω|²</c> for one real parameter ω on which λ and a real input gain g depend, given λ, ∂λ/∂ω, g, ∂g/∂ω:
    /// <c>g'²·f(λ,λ̄) + g²|λ'|²·S(λ,λ̄) + 2gg'·Re[λ'·∂₁f(λ,λ̄)]</c>. With g = γ this covers the normalised,
    /// reparametrised sensitivities of Zucchet24 Fig. 6 (e.g. E[(d_ω γh)²] → 1/4 for ν = exp(−exp ω)).
    /// </summary>
    public static double ParameterSensitivity(Complex lambda, Complex dLambda, double gain, double dGain, double rho)
    {
        Complex conj = Complex.Conjugate(lambda);
        double f = Correlation(lambda, conj, rho).Real;
        double s = CrossKernel(lambda, conj, rho).Real;
        Complex df = CorrelationDerivative(lambda, conj, rho);
        double l2 = dLambda.Real * dLambda.Real + dLambda.Imaginary * dLambda.Imaginary;
        return dGain * dGain * f + gain * gain * l2 * s + 2 * gain * dGain * (dLambda * df).Real;
    }

    /// <summary>E|d(γh)/dω_ν|² (or without γ when <paramref name="normalised"/> is false) for the magnitude parameter of
    /// <paramref name="map"/> at (ω_ν, ω_θ), along <paramref name="direction"/>. At the optimum of the γ-normalised 1-D
    /// teacher–student loss this is its second derivative along ω_ν. Zucchet24 Fig. 6 takes it with θ held
    /// fixed; moving ω_ν at fixed ω_θ under the scaled phase also moves θ and adds, for white noise, exactly
    /// <c>(dθ/dω_ν)² ν²(1+ν²)/(1−ν²)²</c> (the cross term vanishes).</summary>
    public static double MagnitudeSensitivity(EigenvalueMap map, double omegaNu, double omegaTheta, double rho, bool normalised = true,
        MagnitudeDirection direction = MagnitudeDirection.FixedOmegaTheta)
    {
        var p = map.Evaluate(omegaNu, omegaTheta);
        double g = normalised ? Normalisation(p.Lambda) : 1;
        double dg = normalised ? -p.Nu * p.DNu / g : 0;
        Complex dLambda = direction switch
        {
            MagnitudeDirection.FixedOmegaTheta => p.DLambdaDOmegaNu,
            MagnitudeDirection.FixedTheta => p.DLambdaDOmegaNuAtFixedTheta,
            _ => throw new ArgumentOutOfRangeException(nameof(direction), direction, "unknown magnitude direction"),
        };
        return ParameterSensitivity(p.Lambda, dLambda, g, dg, rho);
    }

    /// <summary>E|d(γh)/dω_θ|² (or without γ) for the phase parameter of <paramref name="map"/>; for θ = ω_θ and white noise
    /// this is ν²(1+ν²)/(1−ν²)² with γ (Zucchet24 Fig. 6).</summary>
    public static double PhaseSensitivity(EigenvalueMap map, double omegaNu, double omegaTheta, double rho, bool normalised = true)
    {
        var p = map.Evaluate(omegaNu, omegaTheta);
        double g = normalised ? Normalisation(p.Lambda) : 1;
        return ParameterSensitivity(p.Lambda, p.DLambdaDOmegaTheta, g, 0, rho);
    }

    /// <summary>
    /// The (Re λ_i, Im λ_i) × (Re λ_j, Im λ_j) block of <c>H = E[∇y ∇yᵀ]</c> for <c>y = Re Σ_k c_k h_k</c>, h_k driven by b_k·x
    /// (the Hessian of the squared loss at the optimum; Zucchet24 §4): with
    /// A = b_i b_j c_i c_j S(λ_i, λ_j), B = b_i b̄_j c_i c̄_j S(λ_i, λ̄_j),
    /// <c>½[[Re(A+B), Im(B−A)], [−Im(A+B), Re(B−A)]]</c>.
    /// </summary>
    public static double[,] HessianBlock(Complex bi, Complex ci, Complex lambdaI, Complex bj, Complex cj, Complex lambdaJ, double rho)
    {
        Complex a = bi * bj * ci * cj * CrossKernel(lambdaI, lambdaJ, rho);
        Complex b = bi * Complex.Conjugate(bj) * ci * Complex.Conjugate(cj) * CrossKernel(lambdaI, Complex.Conjugate(lambdaJ), rho);
        return new double[,]
        {
            { 0.5 * (a + b).Real, 0.5 * (b - a).Imaginary },
            { -0.5 * (a + b).Imaginary, 0.5 * (b - a).Real },
        };
    }

    private static void Check(Complex lambda, Complex mu, double rho)
    {
        if (!(Complex.Abs(lambda) < 1)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "signal propagation closed forms need |λ| < 1 (a stable recurrence)");
        if (!(Complex.Abs(mu) < 1)) throw new ArgumentOutOfRangeException(nameof(mu), mu, "signal propagation closed forms need |μ| < 1 (a stable recurrence)");
        if (!(Math.Abs(rho) <= 1)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "input autocorrelation ρ must lie in [−1, 1]");
    }
}

/// <summary>Along which line the magnitude parameter ω_ν moves.</summary>
public enum MagnitudeDirection
{
    /// <summary>ω_θ fixed: the map's partial derivative; under <see cref="PhaseMap.Scaled"/> θ = ω_θ s(ν) moves with ν.</summary>
    FixedOmegaTheta,
    /// <summary>θ itself fixed, as Zucchet24 computes the ω_ν curvature of its Fig. 6 (the authors' <c>figures/1D-case.ipynb</c> uses a real teacher and θ = 0 there).</summary>
    FixedTheta,
}
