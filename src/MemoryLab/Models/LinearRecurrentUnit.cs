using System.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The Linear Recurrent Unit (LRU23):
/// <code>
///   x_k = Λ ⊙ x_{k−1} + exp(γ_log) ⊙ (B u_k),   λ_j = exp(−exp(ν_log,j) + i·exp(θ_log,j))
///   y_k = Re(C x_k) + D ⊙ u_k
/// </code>
/// with ring initialisation on [r_min, r_max] and γ_log initialised at log √(1−|λ|²). It is the
/// <see cref="DiagonalRecurrence{T}"/> with the exp parametrisation, a learned γ and a diagonal skip.
/// </summary>
public sealed class LinearRecurrentUnit<T> : DiagonalRecurrence<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>An LRU on <paramref name="features"/> input/output features with <paramref name="stateSize"/> complex neurons;
    /// <paramref name="algorithm"/> picks the scan or the kernel convolution (see <see cref="LtiCostModel"/>).</summary>
    public LinearRecurrentUnit(int features, int stateSize, double rMin = DiagonalRecurrenceOptions.DefaultRMin,
        double rMax = DiagonalRecurrenceOptions.DefaultRMax, double maxPhase = DiagonalRecurrenceOptions.DefaultMaxPhase,
        RingInitialisation init = RingInitialisation.Lru23, LtiAlgorithm algorithm = LtiAlgorithm.Scan)
        : this(features, new DiagonalRecurrenceOptions
        {
            StateSize = stateSize,
            RMin = rMin,
            RMax = rMax,
            MaxPhase = maxPhase,
            Init = init,
            Algorithm = algorithm,
        })
    {
    }

    /// <summary>An LRU with the ring, γ and algorithm settings of <paramref name="options"/>; its parametrisation,
    /// normalisation and skip are replaced by the LRU's (exp, learned γ, diagonal D).</summary>
    public LinearRecurrentUnit(int features, DiagonalRecurrenceOptions options)
        : base(features, features, Lru(options))
    {
    }

    private static DiagonalRecurrenceOptions Lru(DiagonalRecurrenceOptions options) => options with
    {
        Parametrisation = EigenvalueParametrisation.Exp,
        Normalisation = InputNormalisation.Learned,
        Skip = SkipConnection.Diagonal,
    };
}
