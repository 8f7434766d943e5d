using MathNet.Numerics.LinearAlgebra;
using MemoryLab.Numerics;
using Complex = System.Numerics.Complex;

namespace MemoryLab.Models;

/// <summary>Random recurrent matrices with a prescribed spectrum (the teacher of Zucchet24 §5, Fig. 3 left).</summary>
public static class SpectralInit
{
    /// <summary>
    /// Draws A₀ with N(0, 1/n) entries, eigendecomposes A₀ = V diag(l) V⁻¹ and maps each eigenvalue to
    /// <c>(ν₀ + (1−ν₀)·tanh|l|) · e^{i·arg(l)·θ₀/π}</c>, returning <c>Re(V diag(·) V⁻¹)</c> row-major.
    /// Conjugate pairs map to conjugate pairs, so the result is real up to rounding.
    /// </summary>
    public static double[] RemappedRandomMatrix(int n, double nu0, double theta0, CounterRng rng)
    {
        if (n <= 0) throw new ArgumentException($"matrix size must be positive (got {n})");
        if (!(nu0 >= 0 && nu0 < 1)) throw new ArgumentException($"ν₀ must lie in [0, 1) (got {nu0})");
        var a0 = Matrix<Complex>.Build.Dense(n, n);
        double std = Math.Sqrt(1.0 / n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) a0[i, j] = new Complex(std * rng.NextNormal(), 0);
        var evd = a0.Evd(Symmetricity.Asymmetric);
        var v = evd.EigenVectors;
        var mapped = Matrix<Complex>.Build.Dense(n, n);
        for (int i = 0; i < n; i++)
        {
            Complex l = evd.EigenValues[i];
            double radius = nu0 + (1 - nu0) * Math.Tanh(l.Magnitude);
            mapped[i, i] = Complex.FromPolarCoordinates(radius, l.Phase * theta0 / Math.PI);
        }
        var a = v * mapped * v.Inverse();
        var result = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) result[i * n + j] = a[i, j].Real;
        return result;
    }

    /// <summary>Eigenvalues of a real row-major n×n matrix.</summary>
    public static Complex[] Eigenvalues(ReadOnlySpan<double> a, int n)
    {
        var m = Matrix<double>.Build.Dense(n, n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) m[i, j] = a[i * n + j];
        return m.Evd().EigenValues.ToArray();
    }
}
