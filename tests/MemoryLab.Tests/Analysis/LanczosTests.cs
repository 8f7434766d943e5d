using MemoryLab.Analysis;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Analysis;

public class LanczosTests
{
    private static double[] RandomSymmetric(int n, ulong seed, double[] spectrum)
    {
        // Q diag(spectrum) Qᵀ with Q from the eigenvectors of a random symmetric matrix.
        var rng = new CounterRng(seed, RandomPurpose.Evaluation);
        var g = new double[n * n];
        rng.FillNormal<double>(g);
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) g[i * n + j] = g[j * n + i];
        var q = Hessian.Eigen(g, n);
        var a = new double[n * n];
        for (int k = 0; k < n; k++)
        {
            var v = q.Eigenvector(k);
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) a[i * n + j] += spectrum[k] * v[i] * v[j];
        }
        return a;
    }

    private static Action<double[], double[]> Apply(double[] a, int n) => (v, w) =>
    {
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < n; j++) s += a[i * n + j] * v[j];
            w[i] = s;
        }
    };

    [Fact]
    public void AFullKrylovSpaceGivesTheExactTopEigenpairs()
    {
        const int n = 40;
        var spectrum = Enumerable.Range(0, n).Select(k => Math.Pow(0.8, k) * (k % 3 == 2 ? -1 : 1)).ToArray();
        var a = RandomSymmetric(n, 1, spectrum);
        var exact = Hessian.Eigen(a, n);
        var r = Lanczos.TopEigenpairs(n, Apply(a, n), count: 4, steps: n, seed: 2);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(exact.Eigenvalues[k], r.Eigenvalues[k], 1e-10);
            var v = exact.Eigenvector(k);
            double dot = Math.Abs(v.Zip(r.Vectors[k]).Sum(p => p.First * p.Second));
            Assert.Equal(1, dot, 1e-8);
        }
    }

    [Fact]
    public void FewStepsFindWellSeparatedTopEigenvaluesAndTheResidualBoundsTheirError()
    {
        const int n = 300;
        var spectrum = Enumerable.Range(0, n).Select(k => k < 3 ? 100.0 / (k + 1) : 1.0 / (1 + k)).ToArray();
        var a = RandomSymmetric(n, 3, spectrum);
        var r = Lanczos.TopEigenpairs(n, Apply(a, n), count: 3, steps: 20, seed: 4);
        Assert.Equal(20, r.Products);
        var av = new double[n];
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(spectrum[k], r.Eigenvalues[k], 1e-6 * spectrum[0]);
            // The reported residual is ‖A v − θ v‖.
            Apply(a, n)(r.Vectors[k], av);
            double res = Math.Sqrt(av.Select((x, i) => Math.Pow(x - r.Eigenvalues[k] * r.Vectors[k][i], 2)).Sum());
            Assert.Equal(res, r.Residuals[k], 1e-8 + 1e-3 * res);
        }
    }
}
