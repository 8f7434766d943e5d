using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using CVector = MathNet.Numerics.LinearAlgebra.Vector<System.Numerics.Complex>;
using DVector = MathNet.Numerics.LinearAlgebra.Vector<double>;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Theory;

/// <summary>
/// Continuous Lyapunov equations <c>A X + X Aᵀ + Q = 0</c> for Hurwitz A (X = ∫_0^∞ e^{At} Q e^{Aᵀt} dt).
/// Matrices are row-major <c>double[]</c> of size m·m.
/// </summary>
public static class Lyapunov
{
    /// <summary>Solves by eigendecomposition A = VΛV⁻¹: X = V[(V⁻¹QV⁻ᵀ)_ij / −(λ_i+λ_j)]Vᵀ, O(m³).
    /// Throws <see cref="UnstableModelException"/> if A is not Hurwitz.</summary>
    public static double[] Solve(ReadOnlySpan<double> a, ReadOnlySpan<double> q, int m)
    {
        var eig = Eigen.Decompose(a, m);
        var ql = q.ToArray();
        var qm = Matrix<Complex>.Build.Dense(m, m, (i, j) => ql[i * m + j]);
        var qt = eig.VInverse * qm * eig.VInverse.Transpose();
        var x = Matrix<Complex>.Build.Dense(m, m, (i, j) => -qt[i, j] / (eig.Values[i] + eig.Values[j]));
        var full = eig.V * x * eig.V.Transpose();
        var r = new double[m * m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) r[i * m + j] = full[i, j].Real;
        return r;
    }

    /// <summary>Solves by the Kronecker form (I⊗A + A⊗I)·vec X = −vec Q (dense LU, O(m⁶)): an independent reference for small m.</summary>
    public static double[] SolveKronecker(ReadOnlySpan<double> a, ReadOnlySpan<double> q, int m)
    {
        if (a.Length != m * m || q.Length != m * m) throw new ArgumentException($"A and Q must be {m}×{m}");
        int n = m * m;
        var k = Matrix<double>.Build.Dense(n, n);
        // row-major vec: X_ij at i·m + j; (AX)_ij = Σ_p A_ip X_pj, (XAᵀ)_ij = Σ_p X_ip A_jp
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                int row = i * m + j;
                for (int p = 0; p < m; p++)
                {
                    k[row, p * m + j] += a[i * m + p];
                    k[row, i * m + p] += a[j * m + p];
                }
            }
        var ql = q.ToArray();
        var rhs = DVector.Build.Dense(n, idx => -ql[idx]);
        return k.Solve(rhs).ToArray();
    }

    /// <summary>Complex eigendecomposition of a real matrix with checks (Hurwitz, conditioning, residual).</summary>
    internal sealed class Eigen
    {
        public required Complex[] Values { get; init; }
        public required Matrix<Complex> V { get; init; }
        public required Matrix<Complex> VInverse { get; init; }

        public static Eigen Decompose(ReadOnlySpan<double> a, int m)
        {
            if (m < 1) throw new ArgumentOutOfRangeException(nameof(m), m, "matrix size must be at least 1");
            if (a.Length != m * m) throw new ArgumentException($"matrix must have {m * m} entries, got {a.Length}");
            double norm = 0;
            foreach (double x in a)
            {
                if (!double.IsFinite(x)) throw new ArgumentException("recurrent matrix W has non-finite entries");
                norm = Math.Max(norm, Math.Abs(x));
            }
            var local = a.ToArray();
            var ac = Matrix<Complex>.Build.Dense(m, m, (i, j) => local[i * m + j]);
            var evd = ac.Evd();
            var values = evd.EigenValues.ToArray();
            double maxRe = values.Max(l => l.Real);
            if (!(maxRe < 0))
                throw new UnstableModelException($"W is not Hurwitz: its largest eigenvalue real part is {maxRe:G6} ≥ 0, so e^(Wt) does not decay and the population loss is infinite");
            var v = evd.EigenVectors;
            var vinv = v.Inverse();
            double cond = v.FrobeniusNorm() * vinv.FrobeniusNorm();
            if (!(cond < 1e10))
                throw new ArgumentException($"W is (numerically) defective: eigenvector condition number ≈ {cond:G3}; the eigen-based solver cannot be trusted");
            var residual = (ac * v - v * Matrix<Complex>.Build.DenseOfDiagonalArray(values)).FrobeniusNorm();
            if (!(residual <= 1e-8 * Math.Max(norm, 1e-300) * m * v.FrobeniusNorm()))
                throw new InvalidOperationException($"eigendecomposition of W failed (residual {residual:G3})");
            return new Eigen { Values = values, V = v, VInverse = vinv };
        }
    }
}

/// <summary>
/// The exact population loss of the general continuous-time linear RNN <c>dh/dt = Wh + Ux, ŷ = cᵀh</c> on a
/// d-input linear functional with kernels ρ_k (Li21; SCIENCE.md A1): ρ̂(t)ᵀ = cᵀe^{Wt}U and
/// <c>J = ∫_0^∞ |cᵀe^{Wt}U − ρ(t)ᵀ|² dt = cᵀPc − 2Σ_k cᵀF_k u_k + Σ_k‖ρ_k‖²</c>, where P solves the Lyapunov
/// equation <c>WP + PWᵀ + UUᵀ = 0</c> and F_k = ∫e^{Wt}ρ_k(t)dt = V diag(b_k(−λ_j)) V⁻¹ (eigendecomposition W = VΛV⁻¹,
/// kernel Laplace transforms at complex points). Gradients are exact: the model–model term through the adjoint
/// Lyapunov solution Q (WᵀQ + QW + ccᵀ = 0): ∂/∂W = 2QP, ∂/∂U = 2QU, ∂/∂c = 2Pc; the cross term through the
/// Daleckii–Krein derivative of F_k (divided differences of f_k(λ) = b_k(−λ), f_k' = b¹_k(−λ)).
/// θ layout: <c>W</c> [m, m] (recurrent), <c>U</c> [m, d] (input), <c>c</c> [m] (readout), row-major.
/// Throws <see cref="UnstableModelException"/> when W is not Hurwitz. Not thread-safe (one instance per thread).
/// </summary>
public sealed class LinearRnnKernelObjective : IObjective<double>
{
    private readonly MemoryKernel[] _targets;
    private readonly double _targetNorm;

    /// <summary>Targets ρ_k, one per input feature; hidden width m.</summary>
    public LinearRnnKernelObjective(IReadOnlyList<MemoryKernel> targets, int width)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0) throw new ArgumentException("need at least one target kernel (one per input feature)");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "hidden width m must be at least 1");
        _targets = targets.ToArray();
        foreach (var k in _targets)
        {
            ArgumentNullException.ThrowIfNull(k, nameof(targets));
            if (!double.IsFinite(k.SquaredNorm)) throw new ArgumentException($"kernel '{k.Name}' has infinite L² norm: its population loss is infinite", nameof(targets));
            _targetNorm += k.SquaredNorm;
        }
        Width = width;
        Layout = new ParameterLayout();
        Layout.Add("W", "recurrent", width, width);
        Layout.Add("U", "input", width, _targets.Length);
        Layout.Add("c", "readout", width);
    }

    /// <summary>A single-input model.</summary>
    public LinearRnnKernelObjective(MemoryKernel target, int width) : this([target ?? throw new ArgumentNullException(nameof(target))], width) { }

    /// <summary>m.</summary>
    public int Width { get; }
    /// <summary>d.</summary>
    public int Inputs => _targets.Length;
    /// <summary>The target kernels.</summary>
    public IReadOnlyList<MemoryKernel> Targets => _targets;
    /// <summary>"W" [m,m], "U" [m,d], "c" [m].</summary>
    public ParameterLayout Layout { get; }
    /// <inheritdoc />
    public int Dimension => Layout.Count;

    /// <summary>Assembles θ from W (row-major m×m), U (m×d), c (m).</summary>
    public double[] Pack(ReadOnlySpan<double> w, ReadOnlySpan<double> u, ReadOnlySpan<double> c)
    {
        int m = Width, d = Inputs;
        if (w.Length != m * m || u.Length != m * d || c.Length != m) throw new ArgumentException($"need W {m}×{m}, U {m}×{d}, c {m}");
        var theta = new double[Dimension];
        w.CopyTo(theta.AsSpan(Layout["W"].Offset));
        u.CopyTo(theta.AsSpan(Layout["U"].Offset));
        c.CopyTo(theta.AsSpan(Layout["c"].Offset));
        return theta;
    }

    /// <inheritdoc />
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        if (theta.Length != Dimension) throw new ArgumentException($"θ has {theta.Length} entries, the linear RNN objective expects {Dimension} (W, U, c)");
        bool wantGradient = !gradient.IsEmpty;
        if (wantGradient && gradient.Length != Dimension) throw new ArgumentException($"gradient has {gradient.Length} entries, expected {Dimension}");
        int m = Width, d = Inputs;
        var wv = Layout["W"].Of(theta);
        var uv = Layout["U"].Of(theta);
        var cv = Layout["c"].Of(theta);
        var eig = Lyapunov.Eigen.Decompose(wv, m);
        var lam = eig.Values;
        var v = eig.V;
        var vi = eig.VInverse;
        var build = Matrix<Complex>.Build;
        var cLocal = cv.ToArray();
        var cvec = CVector.Build.Dense(m, i => cLocal[i]);
        var uLocal = uv.ToArray();
        var um = build.Dense(m, d, (i, k) => uLocal[i * d + k]);
        var ct = v.TransposeThisAndMultiply(cvec);   // c̃ = Vᵀc
        var ut = vi * um;                            // Ũ = V⁻¹U
        var h = build.Dense(m, m, (i, j) => -1 / (lam[i] + lam[j]));
        var pt = (ut * ut.Transpose()).PointwiseMultiply(h);   // P̃ = V⁻¹UUᵀV⁻ᵀ ∘ H
        Complex cpc = ct * (pt * ct);
        // kernel transforms at z = −λ_j: f = b(−λ), f' = b¹(−λ)
        var f = new Complex[d, m];
        var g = new Complex[d, m];
        for (int k = 0; k < d; k++)
            for (int j = 0; j < m; j++)
                (f[k, j], g[k, j]) = _targets[k].LaplacePair(-lam[j]);
        Complex cross = 0;
        for (int k = 0; k < d; k++)
            for (int j = 0; j < m; j++) cross += ct[j] * f[k, j] * ut[j, k];
        double loss = cpc.Real - 2 * cross.Real + _targetNorm;
        if (!wantGradient) return loss;

        var p = v * pt * v.Transpose();                                   // P (real up to rounding)
        var qt = ct.OuterProduct(ct).PointwiseMultiply(h);
        var q = vi.Transpose() * qt * vi;                                 // Q
        var pc = p * cvec;
        // ∂/∂c = 2Pc − 2 V(Σ_k f_k ∘ Ũ_k)
        var s = CVector.Build.Dense(m, j =>
        {
            Complex acc = 0;
            for (int k = 0; k < d; k++) acc += f[k, j] * ut[j, k];
            return acc;
        });
        var vs = v * s;
        var gc = Layout["c"].Of(gradient);
        for (int i = 0; i < m; i++) gc[i] = 2 * pc[i].Real - 2 * vs[i].Real;
        // ∂/∂U = 2QU − 2[V⁻ᵀ(f_k ∘ c̃)]_k
        var qu = q * um;
        var gu = Layout["U"].Of(gradient);
        var fc = build.Dense(m, d, (j, k) => f[k, j] * ct[j]);
        var vfc = vi.TransposeThisAndMultiply(fc);
        for (int i = 0; i < m; i++)
            for (int k = 0; k < d; k++) gu[i * d + k] = 2 * qu[i, k].Real - 2 * vfc[i, k].Real;
        // ∂/∂W = 2QP − 2V⁻ᵀ Z Vᵀ, Z_ij = c̃_i Σ_k Ũ_jk D^k_ij, D^k = divided differences of f_k
        var z = build.Dense(m, m);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                Complex dl = lam[i] - lam[j];
                bool close = Complex.Abs(dl) <= 1e-6 * Math.Max(Complex.Abs(lam[i]), Complex.Abs(lam[j]));
                Complex acc = 0;
                for (int k = 0; k < d; k++)
                {
                    Complex dd = close ? 0.5 * (g[k, i] + g[k, j]) : (f[k, i] - f[k, j]) / dl;
                    acc += ut[j, k] * dd;
                }
                z[i, j] = ct[i] * acc;
            }
        var qp = q * p;
        var crossW = vi.TransposeThisAndMultiply(z) * v.Transpose();
        var gw = Layout["W"].Of(gradient);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) gw[i * m + j] = 2 * qp[i, j].Real - 2 * crossW[i, j].Real;
        return loss;
    }

    /// <summary>The model's kernel ρ̂(t)ᵀ = cᵀe^{Wt}U at time t via the eigendecomposition (for plots and checks).</summary>
    public double[] ModelKernel(ReadOnlySpan<double> theta, double t)
    {
        if (theta.Length != Dimension) throw new ArgumentException($"θ has {theta.Length} entries, expected {Dimension}");
        int m = Width, d = Inputs;
        var eig = Lyapunov.Eigen.Decompose(Layout["W"].Of(theta), m);
        var uv = Layout["U"].Of(theta).ToArray();
        var cv = Layout["c"].Of(theta).ToArray();
        var ct = eig.V.TransposeThisAndMultiply(CVector.Build.Dense(m, i => cv[i]));
        var ut = eig.VInverse * Matrix<Complex>.Build.Dense(m, d, (i, k) => uv[i * d + k]);
        var r = new double[d];
        for (int k = 0; k < d; k++)
        {
            Complex acc = 0;
            for (int j = 0; j < m; j++) acc += ct[j] * Complex.Exp(eig.Values[j] * t) * ut[j, k];
            r[k] = acc.Real;
        }
        return r;
    }
}
