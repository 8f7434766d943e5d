using MathNet.Numerics.LinearAlgebra;
using MemoryLab.Numerics;

namespace MemoryLab.Analysis;

/// <summary>Finite-difference stencil for differencing exact gradients.</summary>
public enum HessianStencil
{
    /// <summary>(g(θ+h) − g(θ−h)) / 2h: 2 gradient calls per direction, error O(h²).</summary>
    TwoPoint,
    /// <summary>(8[g(θ+h) − g(θ−h)] − [g(θ+2h) − g(θ−2h)]) / 12h: 4 calls per direction, error O(h⁴).</summary>
    FourPoint,
}

/// <summary>Eigen-decomposition of a symmetric matrix, eigenvalues in decreasing order.</summary>
/// <param name="N">Matrix size.</param>
/// <param name="Eigenvalues">λ₁ ≥ λ₂ ≥ … ≥ λ_N.</param>
/// <param name="Vectors">Row-major N×N; column k is the unit eigenvector of <c>Eigenvalues[k]</c>.</param>
public sealed record SymmetricEigenDecomposition(int N, double[] Eigenvalues, double[] Vectors)
{
    /// <summary>A copy of the unit eigenvector of the k-th largest eigenvalue, its sign fixed so its largest-magnitude entry is positive.</summary>
    public double[] Eigenvector(int k)
    {
        if (k < 0 || k >= N) throw new ArgumentOutOfRangeException(nameof(k), k, $"eigenvector index must lie in [0, {N})");
        var v = new double[N];
        int arg = 0;
        for (int i = 0; i < N; i++)
        {
            v[i] = Vectors[i * N + k];
            if (Math.Abs(v[i]) > Math.Abs(v[arg])) arg = i;
        }
        if (v[arg] < 0) for (int i = 0; i < N; i++) v[i] = -v[i];
        return v;
    }

    /// <summary>The eigenvectors of the <paramref name="count"/> largest eigenvalues.</summary>
    public double[][] TopEigenvectors(int count)
    {
        if (count < 0 || count > N) throw new ArgumentOutOfRangeException(nameof(count), count, $"count must lie in [0, {N}]");
        var r = new double[count][];
        for (int k = 0; k < count; k++) r[k] = Eigenvector(k);
        return r;
    }
}

/// <summary>
/// Float64 Hessians of an <see cref="IObjective{T}"/> from differences of its exact gradients (Zucchet24
/// Fig. 4: the Hessian of the loss at the teacher's own parameters), Hessian-vector
/// products, the symmetric eigen-decomposition, and how concentrated an eigenvector is on few parameters
/// (diagonal recurrences give near-axis-aligned eigenvectors, dense ones spread their mass).
/// </summary>
/// <remarks>Differencing exact gradients, rather than losses, loses only one order of precision: with the
/// default 4-point stencil and step 1e−4·max(1, |θ_j|) the truncation error is O(h⁴·∂⁵J) and rounding
/// O(ε·|∇J|/h) ≈ 1e−12 relative. Shrink the step for parameters near a singularity (|λ| → 1).</remarks>
public static class Hessian
{
    /// <summary>The symmetrised n×n Hessian at <paramref name="theta"/>, row-major.</summary>
    public static double[] Compute(IObjective<double> objective, ReadOnlySpan<double> theta, double step = 1e-4, HessianStencil stencil = HessianStencil.FourPoint)
    {
        ArgumentNullException.ThrowIfNull(objective);
        var h = new double[checked(objective.Dimension * objective.Dimension)];
        Compute(objective, theta, h, step, stencil);
        return h;
    }

    /// <summary>Writes the symmetrised Hessian into <paramref name="hessian"/> (row-major n×n) and returns the
    /// relative asymmetry max|H_ij − H_ji| / max|H_ij| of the raw differences (a check on the step size:
    /// it should be tiny for a smooth objective).</summary>
    public static double Compute(IObjective<double> objective, ReadOnlySpan<double> theta, Span<double> hessian, double step = 1e-4, HessianStencil stencil = HessianStencil.FourPoint)
    {
        ArgumentNullException.ThrowIfNull(objective);
        int n = objective.Dimension;
        if (theta.Length != n) throw new ArgumentException($"θ has {theta.Length} entries, the objective expects {n}", nameof(theta));
        if (hessian.Length < n * n) throw new ArgumentException($"the Hessian buffer holds {hessian.Length} entries, {n * n} are needed", nameof(hessian));
        if (!(step > 0) || double.IsInfinity(step)) throw new ArgumentException($"difference step must be positive and finite (got {step})", nameof(step));
        var x = theta.ToArray();
        var gp = new double[n]; var gm = new double[n]; var column = new double[n];
        for (int j = 0; j < n; j++)
        {
            double x0 = x[j];
            double hj = step * Math.Max(1.0, Math.Abs(x0));
            // Use the step actually representable in floating point.
            hj = (x0 + hj) - x0;
            x[j] = x0 + hj; objective.Evaluate(x, gp);
            x[j] = x0 - hj; objective.Evaluate(x, gm);
            if (stencil == HessianStencil.TwoPoint)
            {
                for (int i = 0; i < n; i++) column[i] = (gp[i] - gm[i]) / (2 * hj);
            }
            else
            {
                for (int i = 0; i < n; i++) column[i] = 8 * (gp[i] - gm[i]);
                x[j] = x0 + 2 * hj; objective.Evaluate(x, gp);
                x[j] = x0 - 2 * hj; objective.Evaluate(x, gm);
                for (int i = 0; i < n; i++) column[i] = (column[i] - (gp[i] - gm[i])) / (12 * hj);
            }
            x[j] = x0;
            for (int i = 0; i < n; i++) hessian[i * n + j] = column[i];
        }
        double maxAbs = 0, maxAsym = 0;
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
            {
                double a = hessian[i * n + j], b = hessian[j * n + i];
                maxAsym = Math.Max(maxAsym, Math.Abs(a - b));
                double s = 0.5 * (a + b);
                hessian[i * n + j] = s; hessian[j * n + i] = s;
                maxAbs = Math.Max(maxAbs, Math.Abs(s));
            }
        return maxAbs > 0 ? maxAsym / maxAbs : maxAsym;
    }

    /// <summary>H v at θ by differencing the exact gradient along v: (∇J(θ+εv) − ∇J(θ−εv)) / 2ε (or the 4-point
    /// stencil), with ε = <paramref name="step"/>·max(1, ‖θ‖∞)/‖v‖₂ so the displacement has a fixed size.
    /// Allocates two gradient buffers; use <see cref="HessianVectorOperator"/> to repeat without allocating.</summary>
    public static void VectorProduct(IObjective<double> objective, ReadOnlySpan<double> theta, ReadOnlySpan<double> v, Span<double> result,
        double step = 1e-4, HessianStencil stencil = HessianStencil.FourPoint)
    {
        ArgumentNullException.ThrowIfNull(objective);
        new HessianVectorOperator(objective, step, stencil).Apply(theta, v, result);
    }

    /// <summary>Eigen-decomposition of the symmetric row-major n×n <paramref name="matrix"/> (MathNet symmetric EVD), eigenvalues decreasing.</summary>
    public static SymmetricEigenDecomposition Eigen(ReadOnlySpan<double> matrix, int n)
    {
        if (n <= 0) throw new ArgumentException($"matrix size must be positive (got {n})", nameof(n));
        if (matrix.Length != n * n) throw new ArgumentException($"a {n}×{n} matrix has {n * n} entries, got {matrix.Length}", nameof(matrix));
        var copy = matrix.ToArray();
        foreach (var x in copy)
            if (!double.IsFinite(x)) throw new ArgumentException("matrix has a NaN or infinite entry", nameof(matrix));
        var m = Matrix<double>.Build.Dense(n, n, (i, j) => copy[i * n + j]);
        var evd = m.Evd(Symmetricity.Symmetric);
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = evd.EigenValues[i].Real;
        var order = Enumerable.Range(0, n).OrderByDescending(i => values[i]).ToArray();
        var sorted = new double[n];
        var vectors = new double[n * n];
        for (int k = 0; k < n; k++)
        {
            sorted[k] = values[order[k]];
            for (int i = 0; i < n; i++) vectors[i * n + k] = evd.EigenVectors[i, order[k]];
        }
        return new SymmetricEigenDecomposition(n, sorted, vectors);
    }

    /// <summary>Inverse participation ratio Σv_i⁴ / (Σv_i²)²: 1 for a vector on one axis, 1/n for mass spread evenly.
    /// Its inverse is the effective number of parameters the vector lives on.</summary>
    public static double InverseParticipationRatio(ReadOnlySpan<double> v)
    {
        double s2 = 0, s4 = 0;
        foreach (var x in v) { double q = x * x; s2 += q; s4 += q * q; }
        if (!(s2 > 0)) throw new ArgumentException("the vector is zero (or not finite)", nameof(v));
        return s4 / (s2 * s2);
    }

    /// <summary>Fraction of Σv_i² carried by the <paramref name="k"/> largest-magnitude entries.</summary>
    public static double TopMassFraction(ReadOnlySpan<double> v, int k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be ≥ 0");
        var sq = new double[v.Length];
        double total = 0;
        for (int i = 0; i < v.Length; i++) { sq[i] = v[i] * v[i]; total += sq[i]; }
        if (!(total > 0)) throw new ArgumentException("the vector is zero (or not finite)", nameof(v));
        Array.Sort(sq);
        double top = 0;
        for (int i = 0; i < Math.Min(k, sq.Length); i++) top += sq[sq.Length - 1 - i];
        return top / total;
    }

    /// <summary>Fraction of Σv_i² on each named parameter of <paramref name="layout"/> (e.g. how much of a top
    /// eigenvector lies on A versus B, C, D), in layout order.</summary>
    public static IReadOnlyList<(string Name, double Fraction)> MassByView(ReadOnlySpan<double> v, ParameterLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (v.Length != layout.Count) throw new ArgumentException($"vector has {v.Length} entries, the layout {layout.Count}", nameof(v));
        double total = 0;
        foreach (var x in v) total += x * x;
        if (!(total > 0)) throw new ArgumentException("the vector is zero (or not finite)", nameof(v));
        var r = new List<(string, double)>(layout.Views.Count);
        foreach (var view in layout.Views)
        {
            double s = 0;
            foreach (var x in view.Of(v)) s += x * x;
            r.Add((view.Name, s / total));
        }
        return r;
    }
}

/// <summary>Repeated Hessian-vector products v ↦ ∇²J(θ) v by differences of exact gradients, with buffers
/// allocated once (for Lanczos or power iterations on big models).</summary>
public sealed class HessianVectorOperator
{
    private readonly IObjective<double> _f;
    private readonly double _step;
    private readonly HessianStencil _stencil;
    private readonly double[] _x, _gp, _gm;

    /// <summary>An operator for <paramref name="objective"/> with displacement size <paramref name="step"/> (see <see cref="Hessian.VectorProduct"/>).</summary>
    public HessianVectorOperator(IObjective<double> objective, double step = 1e-4, HessianStencil stencil = HessianStencil.FourPoint)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (!(step > 0) || double.IsInfinity(step)) throw new ArgumentException($"difference step must be positive and finite (got {step})", nameof(step));
        _f = objective; _step = step; _stencil = stencil;
        int n = objective.Dimension;
        _x = new double[n]; _gp = new double[n]; _gm = new double[n];
    }

    /// <summary>Writes ∇²J(<paramref name="theta"/>) <paramref name="v"/> into <paramref name="result"/>.</summary>
    public void Apply(ReadOnlySpan<double> theta, ReadOnlySpan<double> v, Span<double> result)
    {
        int n = _x.Length;
        if (theta.Length != n || v.Length != n || result.Length != n)
            throw new ArgumentException($"θ, v and the result must all have {n} entries (got {theta.Length}, {v.Length}, {result.Length})");
        double vNorm = 0, thetaMax = 1;
        for (int i = 0; i < n; i++) { vNorm += v[i] * v[i]; thetaMax = Math.Max(thetaMax, Math.Abs(theta[i])); }
        vNorm = Math.Sqrt(vNorm);
        if (vNorm == 0) { result.Clear(); return; }
        if (!double.IsFinite(vNorm)) throw new ArgumentException("v has a NaN or infinite entry", nameof(v));
        double eps = _step * thetaMax / vNorm;
        Difference(theta, v, eps, _gp, _gm);
        if (_stencil == HessianStencil.TwoPoint)
        {
            for (int i = 0; i < n; i++) result[i] = (_gp[i] - _gm[i]) / (2 * eps);
            return;
        }
        for (int i = 0; i < n; i++) result[i] = 8 * (_gp[i] - _gm[i]);
        Difference(theta, v, 2 * eps, _gp, _gm);
        for (int i = 0; i < n; i++) result[i] = (result[i] - (_gp[i] - _gm[i])) / (12 * eps);
    }

    private void Difference(ReadOnlySpan<double> theta, ReadOnlySpan<double> v, double eps, double[] plus, double[] minus)
    {
        for (int i = 0; i < _x.Length; i++) _x[i] = theta[i] + eps * v[i];
        _f.Evaluate(_x, plus);
        for (int i = 0; i < _x.Length; i++) _x[i] = theta[i] - eps * v[i];
        _f.Evaluate(_x, minus);
    }
}
