using System.Numerics;

namespace MemoryLab.Theory;

/// <summary>
/// <c>|S(λ, λ₀; ρ)|</c> over a polar grid <c>λ = ν e^{iθ}</c> of the unit disc (Zucchet24 Fig. 8): how strongly the sensitivity
/// dh/dλ of an eigenvalue λ correlates with that of a fixed λ₀, which sets the off-diagonal Hessian terms between two
/// neurons (<see cref="SignalPropagation.HessianBlock"/>). S is the mixed derivative of the master correlation
/// (<see cref="SignalPropagation.CrossKernel(Complex, Complex, double)"/>); the hand-written |S| in the authors'
/// <c>figures/visualization_S.ipynb</c> agrees with it only at ρ = 0 and ρ = 1.
/// </summary>
public sealed class CrossKernelField
{
    /// <summary>Evaluates |S(ν_i e^{iθ_j}, λ₀; ρ)| for every grid magnitude ν_i (each in [0, 1)) and phase θ_j.</summary>
    public CrossKernelField(Complex reference, double rho, IReadOnlyList<double> magnitudes, IReadOnlyList<double> phases)
    {
        ArgumentNullException.ThrowIfNull(magnitudes);
        ArgumentNullException.ThrowIfNull(phases);
        if (magnitudes.Count == 0 || phases.Count == 0) throw new ArgumentException("the grid needs at least one magnitude and one phase");
        foreach (double nu in magnitudes)
            if (!(nu >= 0 && nu < 1)) throw new ArgumentOutOfRangeException(nameof(magnitudes), nu, "grid magnitudes must lie in [0, 1)");
        foreach (double theta in phases)
            if (!double.IsFinite(theta)) throw new ArgumentOutOfRangeException(nameof(phases), theta, "grid phases must be finite");
        Reference = reference;
        Rho = rho;
        Magnitudes = magnitudes.ToArray();
        Phases = phases.ToArray();
        Modulus = new double[Magnitudes.Length, Phases.Length];
        for (int i = 0; i < Magnitudes.Length; i++)
            for (int j = 0; j < Phases.Length; j++)
            {
                double value = Complex.Abs(SignalPropagation.CrossKernel(Complex.FromPolarCoordinates(Magnitudes[i], Phases[j]), reference, rho));
                Modulus[i, j] = value;
                if (value > Maximum.Modulus) Maximum = (Magnitudes[i], Phases[j], value);
            }
    }

    /// <summary>λ₀.</summary>
    public Complex Reference { get; }
    /// <summary>ρ, the input autocorrelation.</summary>
    public double Rho { get; }
    /// <summary>Grid magnitudes ν_i, shape (n_ν).</summary>
    public double[] Magnitudes { get; }
    /// <summary>Grid phases θ_j, shape (n_θ).</summary>
    public double[] Phases { get; }
    /// <summary>|S(ν_i e^{iθ_j}, λ₀; ρ)|, shape (n_ν, n_θ).</summary>
    public double[,] Modulus { get; }
    /// <summary>The grid point of largest |S| (the first one on ties).</summary>
    public (double Nu, double Theta, double Modulus) Maximum { get; } = (double.NaN, double.NaN, double.NegativeInfinity);
}
