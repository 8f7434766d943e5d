using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// Parameter initialisers, named after their maths (as minimal-LRU does). Each draws from the
/// <see cref="CounterRng"/> it is given, so a layer forks one stream per parameter tensor and adding a
/// tensor moves no other draw.
/// </summary>
public static class Initializers
{
    /// <summary>Entries i.i.d. N(0, std²).</summary>
    public static void Normal<T>(Span<T> destination, CounterRng rng, double std) where T : unmanaged, IFloatingPointIeee754<T> =>
        rng.FillNormal(destination, 0, std);

    /// <summary>LeCun normal: N(0, 1/fan_in) (Zucchet24 §5: B, C, D of the linear RNN; Dense layers).</summary>
    public static void LecunNormal<T>(Span<T> destination, CounterRng rng, int fanIn) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (fanIn <= 0) throw new ArgumentOutOfRangeException(nameof(fanIn), fanIn, "fan-in must be positive");
        rng.FillNormal(destination, 0, Math.Sqrt(1.0 / fanIn));
    }

    /// <summary>Entries i.i.d. U[lo, hi) (PyTorch's default RNN init uses U[−1/√H, 1/√H]).</summary>
    public static void Uniform<T>(Span<T> destination, CounterRng rng, double lo, double hi) where T : unmanaged, IFloatingPointIeee754<T> =>
        rng.FillUniform(destination, lo, hi);

    /// <summary>
    /// A Haar-random orthogonal n×n matrix (row-major) times <paramref name="gain"/>: the Q of the QR
    /// factorisation of a Gaussian matrix with R's diagonal made positive (Mezzadri 2007), computed by
    /// modified Gram–Schmidt with one re-orthogonalisation pass, in float64.
    /// </summary>
    public static void Orthogonal<T>(Span<T> destination, int n, CounterRng rng, double gain = 1.0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "size must be positive");
        if (destination.Length != n * n) throw new ArgumentException($"an orthogonal {n}×{n} matrix needs {n * n} entries, got {destination.Length}", nameof(destination));
        // Columns q_j of the Gaussian matrix, stored as rows of `q` for contiguous access.
        var q = new double[n * n];
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextNormal();
        for (int j = 0; j < n; j++)
        {
            var qj = q.AsSpan(j * n, n);
            for (int pass = 0; pass < 2; pass++)
                for (int k = 0; k < j; k++)
                {
                    var qk = q.AsSpan(k * n, n);
                    double dot = 0;
                    for (int i = 0; i < n; i++) dot += qk[i] * qj[i];
                    for (int i = 0; i < n; i++) qj[i] -= dot * qk[i];
                }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += qj[i] * qj[i];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < n; i++) qj[i] /= norm;
        }
        // Gram–Schmidt gives R with a positive diagonal, so Q is Haar-distributed; Q[i, j] = q_j[i].
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                destination[i * n + j] = T.CreateTruncating(gain * q[j * n + i]);
    }
}
