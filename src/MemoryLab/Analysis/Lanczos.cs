using MemoryLab.Numerics;

namespace MemoryLab.Analysis;

/// <summary>The largest eigenpairs of a symmetric operator found by <see cref="Lanczos.TopEigenpairs"/>.</summary>
/// <param name="Eigenvalues">Ritz values, largest first.</param>
/// <param name="Vectors">The matching unit Ritz vectors.</param>
/// <param name="Residuals">‖A v − λ v‖ for each pair (how well it has converged).</param>
/// <param name="Products">Operator applications spent.</param>
public sealed record LanczosResult(double[] Eigenvalues, double[][] Vectors, double[] Residuals, int Products);

/// <summary>
/// Lanczos iteration with full reorthogonalisation for the top eigenpairs of a symmetric operator given only as
/// v ↦ A v — e.g. a Hessian through <see cref="HessianVectorOperator"/>, so a model with millions of parameters needs a few
/// dozen gradient evaluations instead of n (Zucchet24 Fig. 4 takes the Hessian's top eigenvectors).
/// </summary>
public static class Lanczos
{
    /// <summary>The <paramref name="count"/> largest (algebraic) eigenpairs of the n×n symmetric operator
    /// <paramref name="apply"/> (writes A v into its second argument) after at most <paramref name="steps"/> Lanczos steps
    /// from a random start drawn from <paramref name="seed"/>'s <see cref="RandomPurpose.Evaluation"/> stream.</summary>
    public static LanczosResult TopEigenpairs(int n, Action<double[], double[]> apply, int count, int steps, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(apply);
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "dimension must be positive");
        int m = Math.Min(Math.Max(steps, count), n);
        count = Math.Min(count, m);
        var q = new List<double[]>(m);
        var alpha = new List<double>(m);
        var beta = new List<double>(m);
        var v = new double[n];
        new CounterRng(seed, RandomPurpose.Evaluation).FillNormal<double>(v);
        Scale(v, 1 / Norm(v));
        var w = new double[n];
        int products = 0;
        double lastB = 0;
        for (int j = 0; j < m; j++)
        {
            q.Add((double[])v.Clone());
            apply(v, w); products++;
            double a = Dot(w, v);
            alpha.Add(a);
            // Full reorthogonalisation (twice is enough): keeps the Ritz values free of ghost copies.
            for (int pass = 0; pass < 2; pass++)
                foreach (var qi in q)
                {
                    double c = Dot(w, qi);
                    for (int i = 0; i < n; i++) w[i] -= c * qi[i];
                }
            double b = Norm(w);
            lastB = b;
            if (j == m - 1 || b <= 1e-12 * Math.Max(1, Math.Abs(a))) break;
            beta.Add(b);
            for (int i = 0; i < n; i++) v[i] = w[i] / b;
        }
        int k = alpha.Count;
        var t = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            t[i * k + i] = alpha[i];
            if (i + 1 < k) { t[i * k + i + 1] = beta[i]; t[(i + 1) * k + i] = beta[i]; }
        }
        var evd = Hessian.Eigen(t, k);
        count = Math.Min(count, k);
        var values = new double[count];
        var vectors = new double[count][];
        var residuals = new double[count];
        for (int r = 0; r < count; r++)
        {
            values[r] = evd.Eigenvalues[r];
            var y = evd.Eigenvector(r);
            var x = new double[n];
            for (int j = 0; j < k; j++)
                for (int i = 0; i < n; i++) x[i] += y[j] * q[j][i];
            Scale(x, 1 / Norm(x));
            vectors[r] = x;
            // ‖A x − θ x‖ = |β_k y_k| for a Ritz pair (Parlett, The Symmetric Eigenvalue Problem, §13.2).
            residuals[r] = Math.Abs(lastB * y[k - 1]);
        }
        return new LanczosResult(values, vectors, residuals, products);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static double Norm(double[] a) => Math.Sqrt(Dot(a, a));

    private static void Scale(double[] a, double s)
    {
        for (int i = 0; i < a.Length; i++) a[i] *= s;
    }
}
