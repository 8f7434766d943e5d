using MemoryLab.Targets;

namespace MemoryLab.Theory;

/// <summary>
/// Signal propagation through the leaky integrator <c>h_t = α h_{t−1} + (1 − α) n_t</c>, t → ∞, the regime a GRU unit is in
/// when its update gate z = σ(b_z) = α is fixed and its candidate is linear, n ≈ W_in x (Zucchet24 Fig. 12).
/// The input n is stationary with E[n_t n_{t+Δ}] = g·(a·δ_Δ + b·r^{|Δ|}), a mixture of a white part (ρ = 0) and an AR(1)
/// part (ρ = r), scaled by the input gain g = Var(W_in x)/Var(x) (= fan_in · Var(W_in) = 2 for the chrono GRU's N(0, 2/fan_in)
/// input weights).
/// </summary>
/// <remarks>
/// Derivation. h = (1 − α) Σ_k α^k n_{t−k}, so for a part with variance ρ₀ and correlation ρ^{|Δ|} the master correlation of
/// Zucchet24 §3 gives <c>F(α, β) = E[h(α) h(β)] = ρ₀ (1−α)(1−β) f(α, β; ρ) = ρ₀(1−α)(1−β)(1−ρ²αβ)/((1−ρα)(1−ρβ)(1−αβ))</c>,
/// this formula; parts are independent, so their F add. E[h²] = F(α, α). The update-gate bias enters only through α = σ(b_z),
/// dα/db_z = α(1−α), so <c>E[(∂h/∂b_z)²] = α²(1−α)² ∂²F/∂α∂β |_{β=α}</c> with
/// <c>∂²F/∂α∂β = ρ₀[f − (1−β) ∂_β f − (1−α) ∂_α f + (1−α)(1−β) S]</c> (S = B1 cross kernel). In memory T = 1/(1−α):
/// white part E[h²] = 1/(2T − 1) → 1/(2T), E[(∂h/∂b_z)²] ~ T^{−1}/4 — both decay, unlike the linear RNN's (1−λ)^{−3}.
/// </remarks>
public static class LeakyIntegratorSignal
{
    /// <summary><c>F(α, β) = ρ₀(1−α)(1−β)(1−ρ²αβ)/((1−ρα)(1−ρβ)(1−αβ))</c> for one input part of variance
    /// <paramref name="variance"/> = ρ₀ and correlation ρ (Zucchet24 Fig. 12).</summary>
    public static double Correlation(double alpha, double beta, double variance, double rho)
    {
        Check(alpha, nameof(alpha)); Check(beta, nameof(beta));
        return variance * (1 - alpha) * (1 - beta) * SignalPropagation.Correlation(alpha, beta, rho);
    }

    /// <summary><c>∂²F/∂α∂β</c> at (α, β) for one part: ρ₀[f − (1−β)∂_β f − (1−α)∂_α f + (1−α)(1−β) S].</summary>
    public static double CrossSensitivity(double alpha, double beta, double variance, double rho)
    {
        Check(alpha, nameof(alpha)); Check(beta, nameof(beta));
        double f = SignalPropagation.Correlation(alpha, beta, rho);
        double fa = SignalPropagation.CorrelationDerivative(alpha, beta, rho).Real;
        double fb = SignalPropagation.CorrelationDerivative(beta, alpha, rho).Real;
        double s = SignalPropagation.CrossKernel(alpha, beta, rho);
        return variance * (f - (1 - beta) * fb - (1 - alpha) * fa + (1 - alpha) * (1 - beta) * s);
    }

    /// <summary><c>E[h²] = g Σ_parts F(α, α)</c> for the mixture <paramref name="input"/> (white part ρ = 0, AR part ρ = r).</summary>
    public static double StateSecondMoment(double alpha, MixtureProcess input, double inputGain = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        return inputGain * (Correlation(alpha, alpha, input.WhiteVariance, 0) + Correlation(alpha, alpha, input.ArVariance, input.ArCorrelation));
    }

    /// <summary><c>E[(∂h/∂α)²] = g Σ_parts ∂²F/∂α∂β|_{β=α}</c>.</summary>
    public static double DecaySensitivitySecondMoment(double alpha, MixtureProcess input, double inputGain = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        return inputGain * (CrossSensitivity(alpha, alpha, input.WhiteVariance, 0) + CrossSensitivity(alpha, alpha, input.ArVariance, input.ArCorrelation));
    }

    /// <summary><c>E[(∂h/∂b_z)²] = α²(1−α)² E[(∂h/∂α)²]</c> with α = σ(b_z) (the GRU's update-gate bias).</summary>
    public static double GateBiasSensitivitySecondMoment(double alpha, MixtureProcess input, double inputGain = 1)
    {
        double d = alpha * (1 - alpha);
        return d * d * DecaySensitivitySecondMoment(alpha, input, inputGain);
    }

    /// <summary>α = σ(b_z) = 1 − 1/T for memory <paramref name="memory"/> T ≥ 1.</summary>
    public static double DecayOfMemory(double memory)
    {
        if (!(memory >= 1) || !double.IsFinite(memory)) throw new ArgumentOutOfRangeException(nameof(memory), memory, "memory T must be finite and ≥ 1");
        return 1 - 1 / memory;
    }

    private static void Check(double a, string name)
    {
        if (!(a >= 0 && a < 1)) throw new ArgumentOutOfRangeException(name, a, $"{name} must lie in [0, 1) (a stable leaky integrator)");
    }
}
