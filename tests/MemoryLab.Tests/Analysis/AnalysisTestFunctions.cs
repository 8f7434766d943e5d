using MemoryLab.Numerics;

namespace MemoryLab.Tests.Analysis;

/// <summary>Objectives with known flows and Hessians, shared by the Analysis tests.</summary>
internal static class AnalysisTestFunctions
{
    /// <summary>Q diag(λ) Qᵀ with Q a fixed product of Householder reflections (orthogonal), row-major.</summary>
    public static (double[] M, double[] Q) SymmetricMatrix(double[] eigenvalues)
    {
        int n = eigenvalues.Length;
        var q = new double[n * n];
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        // Two reflections I − 2uuᵀ/uᵀu with fixed u make a generic rotation.
        foreach (var seed in new[] { 1.0, 2.5 })
        {
            var u = new double[n];
            for (int i = 0; i < n; i++) u[i] = Math.Sin(seed * (i + 1)) + 0.3 * (i + 1);
            double uu = u.Sum(x => x * x);
            var next = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int k = 0; k < n; k++) s += q[i * n + k] * ((k == j ? 1 : 0) - 2 * u[k] * u[j] / uu);
                    next[i * n + j] = s;
                }
            q = next;
        }
        var m = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += q[i * n + k] * eigenvalues[k] * q[j * n + k];
                m[i * n + j] = s;
            }
        return (m, q);
    }

    /// <summary>J = ½ θᵀMθ, ∇J = Mθ.</summary>
    public static DelegateObjective<double> Quadratic(double[] m, int n) => new(n, (theta, g) =>
    {
        double j = 0;
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int k = 0; k < n; k++) s += m[i * n + k] * theta[k];
            g[i] = s;
            j += 0.5 * theta[i] * s;
        }
        return j;
    });

    /// <summary>Exact flow of J = ½θᵀMθ: θ(τ) = Q e^{−Λτ} Qᵀ θ₀.</summary>
    public static double[] QuadraticFlow(double[] q, double[] eigenvalues, double[] theta0, double tau)
    {
        int n = eigenvalues.Length;
        var c = new double[n];
        for (int k = 0; k < n; k++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += q[i * n + k] * theta0[i];
            c[k] = s * Math.Exp(-eigenvalues[k] * tau);
        }
        var r = new double[n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) r[i] += q[i * n + k] * c[k];
        return r;
    }

    /// <summary>Extended Rosenbrock J = Σ 100(θ_{i+1} − θ_i²)² + (1 − θ_i)².</summary>
    public static DelegateObjective<double> Rosenbrock(int n) => new(n, (x, g) =>
    {
        g.Clear();
        double j = 0;
        for (int i = 0; i + 1 < n; i++)
        {
            double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
            j += 100 * a * a + b * b;
            g[i] += -400 * a * x[i] - 2 * b;
            g[i + 1] += 200 * a;
        }
        return j;
    });

    /// <summary>The analytic Hessian of <see cref="Rosenbrock"/>.</summary>
    public static double[] RosenbrockHessian(double[] x)
    {
        int n = x.Length;
        var h = new double[n * n];
        for (int i = 0; i + 1 < n; i++)
        {
            double a = x[i + 1] - x[i] * x[i];
            h[i * n + i] += -400 * a + 800 * x[i] * x[i] + 2;
            h[i * n + i + 1] += -400 * x[i];
            h[(i + 1) * n + i] += -400 * x[i];
            h[(i + 1) * n + i + 1] += 200;
        }
        return h;
    }

    public static double Norm(ReadOnlySpan<double> v)
    {
        double s = 0;
        foreach (var x in v) s += x * x;
        return Math.Sqrt(s);
    }

    /// <summary>Bisection for the root of a function increasing through 0 on [a, b].</summary>
    public static double Bisect(Func<double, double> f, double a, double b)
    {
        for (int i = 0; i < 200; i++)
        {
            double c = 0.5 * (a + b);
            if (f(c) > 0) b = c; else a = c;
        }
        return 0.5 * (a + b);
    }
}
