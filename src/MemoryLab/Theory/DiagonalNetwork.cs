using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Theory;

/// <summary>
/// n complex diagonal neurons with fixed input and readout weights: <c>h_{k,t+1} = λ_k h_{k,t} + b_k x_{t+1}</c>,
/// output <c>y_t = Re Σ_k c_k h_{k,t}</c>, driven by one real input. The network of Zucchet24's Hessian analysis (§4) and of
/// the theory panel of its Fig. 10. Arrays have length n.
/// </summary>
/// <param name="Lambda">Eigenvalues λ_k, |λ_k| &lt; 1, shape (n).</param>
/// <param name="B">Input weights b_k, shape (n).</param>
/// <param name="C">Readout weights c_k, shape (n).</param>
public sealed record DiagonalNetwork(Complex[] Lambda, Complex[] B, Complex[] C)
{
    /// <summary>Number of neurons n.</summary>
    public int Size => Lambda.Length;

    /// <summary>Throws unless the three arrays have one common length ≥ 1 and every |λ_k| &lt; 1.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Lambda);
        ArgumentNullException.ThrowIfNull(B);
        ArgumentNullException.ThrowIfNull(C);
        if (Lambda.Length == 0) throw new ArgumentException("a diagonal network needs at least one neuron");
        if (B.Length != Lambda.Length || C.Length != Lambda.Length)
            throw new ArgumentException($"λ, b and c must have one length (got {Lambda.Length}, {B.Length}, {C.Length})");
        foreach (var l in Lambda)
            if (!(Complex.Abs(l) < 1)) throw new ArgumentOutOfRangeException(nameof(Lambda), l, "every eigenvalue must satisfy |λ| < 1");
    }

    /// <summary>
    /// The random network of Zucchet24 Fig. 10's theory panel (the authors' <c>figures/effect_shrink_eigvals.ipynb</c>,
    /// <c>sample</c>): magnitudes uniform on the ring, <c>ν = √(u(r_max² − r_min²) + r_min²)</c> with u ~ U[0, 1] (LRU23's ring
    /// initialisation), phases <c>θ ~ U[−θ₀, θ₀]</c>, and <c>b_k, c_k ~ CN(0, 1)</c> (real and imaginary parts N(0, ½)).
    /// The notebook uses n = 10, r_min = 0.99, r_max = (1 + 0.99)/2. Independent streams of <paramref name="rng"/> draw
    /// ν, θ, b and c, so changing one draw moves nothing else.
    /// </summary>
    public static DiagonalNetwork SampleRing(int size, double rMin, double rMax, double maxPhase, CounterRng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "a diagonal network needs at least one neuron");
        if (!(rMin >= 0 && rMin <= rMax && rMax < 1))
            throw new ArgumentOutOfRangeException(nameof(rMin), (rMin, rMax), "the ring needs 0 ≤ r_min ≤ r_max < 1");
        if (!(maxPhase >= 0) || !double.IsFinite(maxPhase)) throw new ArgumentOutOfRangeException(nameof(maxPhase), maxPhase, "the phase range θ₀ must be finite and ≥ 0");
        var (nuRng, thetaRng, bRng, cRng) = (rng.Fork(0), rng.Fork(1), rng.Fork(2), rng.Fork(3));
        var lambda = new Complex[size];
        var b = new Complex[size];
        var c = new Complex[size];
        double half = Math.Sqrt(0.5);
        for (int k = 0; k < size; k++)
        {
            double nu = Math.Sqrt(nuRng.NextDouble() * (rMax * rMax - rMin * rMin) + rMin * rMin);
            lambda[k] = Complex.FromPolarCoordinates(nu, thetaRng.NextUniform(-maxPhase, maxPhase));
            b[k] = new Complex(half * bRng.NextNormal(), half * bRng.NextNormal());
            c[k] = new Complex(half * cRng.NextNormal(), half * cRng.NextNormal());
        }
        return new DiagonalNetwork(lambda, b, c);
    }
}
