using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Theory;

/// <summary>
/// Continuous Lyapunov equations <c>A X + X Aᵀ + Q = 0</c> for Hurwitz A (X = ∫_0^∞ e^{At} Q e^{Aᵀt} dt).
/// Matrices are row-major <c>double[]</c> of size m·m.
/// </summary>
public static class Lyapunov
{
    /// <summary>
    /// Solves by the matrix-sign-function Newton iteration with determinant scaling (Roberts 1971; Byers 1987):
    /// A_{k+1} = (A_k + c_k²A_k⁻¹)/(2c_k), Q_{k+1} = (Q_k + c_k²A_k⁻¹Q_kA_k⁻ᵀ)/(2c_k), c_k = |det A_k|^{1/m};
    /// A_k → −I and Q_k → 2X quadratically. Unlike an eigenvector-based solve its accuracy does not degrade when A is
    /// close to defective (colliding eigenvalues). O(m³) per iteration, typically 6–10 iterations.
    /// Throws <see cref="UnstableModelException"/> if A is not Hurwitz.
    /// </summary>
    public static double[] Solve(ReadOnlySpan<double> a, ReadOnlySpan<double> q, int m)
    {
        if (m < 1) throw new ArgumentOutOfRangeException(nameof(m), m, "matrix size must be at least 1");
        if (a.Length != m * m || q.Length != m * m) throw new ArgumentException($"A and Q must be {m}×{m}");
        var al = a.ToArray();
        var eigenvalues = Matrix<double>.Build.Dense(m, m, (i, j) => al[i * m + j]).Evd().EigenValues;
        double maxRe = eigenvalues.Max(l => l.Real);
        if (!(maxRe < 0))
            throw new UnstableModelException($"A is not Hurwitz: its largest eigenvalue real part is {maxRe:G6} ≥ 0, so the Lyapunov integral diverges");
        return SolveHurwitz(a, q, m);
    }

    /// <summary>The sign iteration for an A already known to be Hurwitz.</summary>
    internal static double[] SolveHurwitz(ReadOnlySpan<double> a, ReadOnlySpan<double> q, int m)
    {
        int n = m * m;
        var ak = a.ToArray();
        var qk = q.ToArray();
        var next = new double[n];
        var tmp = new double[n];
        var qNext = new double[n];
        bool scaled = true, finalStep = false;
        for (int k = 0; k < 100; k++)
        {
            var (inv, logAbsDet) = DenseMath.Invert(ak, m);
            double c = scaled ? Math.Exp(logAbsDet / m) : 1;
            if (!double.IsFinite(c) || c <= 0) c = 1;
            double c2 = c * c, half = 0.5 / c, change = 0;
            for (int i = 0; i < n; i++)
            {
                next[i] = half * (ak[i] + c2 * inv[i]);
                double d = next[i] - ak[i];
                change += d * d;
            }
            // Q ← (Q + c²·A⁻¹QA⁻ᵀ)/(2c)
            Gemm.Multiply(Transpose.No, Transpose.No, m, m, m, 1.0, inv, m, qk, m, 0.0, tmp, m);
            Gemm.Multiply(Transpose.No, Transpose.Yes, m, m, m, 1.0, tmp, m, inv, m, 0.0, qNext, m);
            for (int i = 0; i < n; i++) qk[i] = half * (qk[i] + c2 * qNext[i]);
            (ak, next) = (next, ak);
            change = Math.Sqrt(change);
            if (finalStep) break;
            if (change < 1e-2) scaled = false;   // near convergence plain Newton converges quadratically
            // quadratic convergence: once the step is below 1e−8 the next one is at rounding level, so take it and stop
            if (change <= 1e-8 * Math.Sqrt(m)) finalStep = true;
        }
        double residual = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                double d = ak[i * m + j] + (i == j ? 1 : 0);
                residual += d * d;
            }
        if (!(Math.Sqrt(residual) < 1e-8 * Math.Sqrt(m)))
            throw new InvalidOperationException($"Lyapunov sign iteration did not converge (‖A_k + I‖ = {Math.Sqrt(residual):G3}); A is too ill-conditioned");
        var r = new double[n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) r[i * m + j] = 0.25 * (qk[i * m + j] + qk[j * m + i]);   // X = Q_∞/2, symmetrised
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
        var rhs = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(n, idx => -ql[idx]);
        return k.Solve(rhs).ToArray();
    }

    /// <summary>Complex eigendecomposition W = V diag(λ) V⁻¹ of a real matrix (MathNet's real EVD, complex pairs
    /// assembled from its real Schur-vector blocks), with checks: Hurwitz, eigenvector conditioning, residual.</summary>
    internal sealed class Eigen
    {
        public required Complex[] Values { get; init; }
        /// <summary>V, row-major m×m.</summary>
        public required Complex[] V { get; init; }
        /// <summary>V⁻¹, row-major m×m.</summary>
        public required Complex[] VInverse { get; init; }

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
            var evd = Matrix<double>.Build.Dense(m, m, (i, j) => local[i * m + j]).Evd(Symmetricity.Asymmetric);
            var values = evd.EigenValues.ToArray();
            double maxRe = values.Max(l => l.Real);
            if (!(maxRe < 0))
                throw new UnstableModelException($"W is not Hurwitz: its largest eigenvalue real part is {maxRe:G6} ≥ 0, so e^(Wt) does not decay and the population loss is infinite");
            var vr = evd.EigenVectors;
            var v = new Complex[m * m];
            for (int j = 0; j < m; j++)
            {
                if (values[j].Imaginary == 0 || j + 1 == m)
                {
                    for (int i = 0; i < m; i++) v[i * m + j] = vr[i, j];
                    continue;
                }
                // a complex pair: columns j, j+1 hold Re and Im of one eigenvector; match it to λ_j by its residual
                var col = new Complex[m];
                for (int i = 0; i < m; i++) col[i] = new Complex(vr[i, j], vr[i, j + 1]);
                bool conj = Residual(local, col, values[j], m) > Residual(local, col, Complex.Conjugate(values[j]), m);
                for (int i = 0; i < m; i++)
                {
                    Complex x = conj ? Complex.Conjugate(col[i]) : col[i];
                    v[i * m + j] = x;
                    v[i * m + j + 1] = Complex.Conjugate(x);
                }
                j++;
            }
            var vinv = DenseMath.Invert(v, m);
            double nv = 0, ni = 0;
            for (int i = 0; i < m * m; i++) { nv += Norm2(v[i]); ni += Norm2(vinv[i]); }
            double cond = Math.Sqrt(nv * ni);
            if (!(cond < 1e10))
                throw new ArgumentException($"W is (numerically) defective: eigenvector condition number ≈ {cond:G3}; the eigen-based cross term cannot be trusted");
            double res = 0;
            for (int j = 0; j < m; j++)
            {
                var col = new Complex[m];
                for (int i = 0; i < m; i++) col[i] = v[i * m + j];
                res = Math.Max(res, Residual(local, col, values[j], m));
            }
            if (!(res <= 1e-8 * Math.Max(norm, 1e-300) * m * Math.Sqrt(nv)))
                throw new InvalidOperationException($"eigendecomposition of W failed (residual {res:G3})");
            return new Eigen { Values = values, V = v, VInverse = vinv };
        }

        private static double Norm2(Complex z) => z.Real * z.Real + z.Imaginary * z.Imaginary;

        private static double Residual(double[] a, Complex[] v, Complex lambda, int m)
        {
            double r = 0;
            for (int i = 0; i < m; i++)
            {
                Complex s = -lambda * v[i];
                for (int p = 0; p < m; p++) s += a[i * m + p] * v[p];
                r += Norm2(s);
            }
            return Math.Sqrt(r);
        }
    }
}

/// <summary>Small dense kernels on row-major arrays (real and complex): inverses by Gauss–Jordan with partial
/// pivoting and complex products. MathNet's general routines carry threading overhead that dominates at these sizes.</summary>
internal static class DenseMath
{
    /// <summary>A⁻¹ and log|det A| (throws if A is singular).</summary>
    public static (double[] Inverse, double LogAbsDet) Invert(double[] a, int m)
    {
        var w = (double[])a.Clone();
        var inv = new double[m * m];
        for (int i = 0; i < m; i++) inv[i * m + i] = 1;
        double logDet = 0;
        for (int col = 0; col < m; col++)
        {
            int piv = col;
            for (int r = col + 1; r < m; r++) if (Math.Abs(w[r * m + col]) > Math.Abs(w[piv * m + col])) piv = r;
            double p = w[piv * m + col];
            if (p == 0 || !double.IsFinite(p)) throw new InvalidOperationException("matrix is singular");
            if (piv != col)
                for (int c = 0; c < m; c++)
                {
                    (w[col * m + c], w[piv * m + c]) = (w[piv * m + c], w[col * m + c]);
                    (inv[col * m + c], inv[piv * m + c]) = (inv[piv * m + c], inv[col * m + c]);
                }
            logDet += Math.Log(Math.Abs(p));
            double ip = 1 / p;
            for (int c = 0; c < m; c++) { w[col * m + c] *= ip; inv[col * m + c] *= ip; }
            for (int r = 0; r < m; r++)
            {
                if (r == col) continue;
                double f = w[r * m + col];
                if (f == 0) continue;
                for (int c = 0; c < m; c++) { w[r * m + c] -= f * w[col * m + c]; inv[r * m + c] -= f * inv[col * m + c]; }
            }
        }
        return (inv, logDet);
    }

    /// <summary>A⁻¹ for complex A (throws if singular).</summary>
    public static Complex[] Invert(Complex[] a, int m)
    {
        var w = (Complex[])a.Clone();
        var inv = new Complex[m * m];
        for (int i = 0; i < m; i++) inv[i * m + i] = 1;
        for (int col = 0; col < m; col++)
        {
            int piv = col;
            for (int r = col + 1; r < m; r++) if (Complex.Abs(w[r * m + col]) > Complex.Abs(w[piv * m + col])) piv = r;
            Complex p = w[piv * m + col];
            if (p == Complex.Zero) throw new InvalidOperationException("eigenvector matrix is singular: W is defective");
            if (piv != col)
                for (int c = 0; c < m; c++)
                {
                    (w[col * m + c], w[piv * m + c]) = (w[piv * m + c], w[col * m + c]);
                    (inv[col * m + c], inv[piv * m + c]) = (inv[piv * m + c], inv[col * m + c]);
                }
            Complex ip = 1 / p;
            for (int c = 0; c < m; c++) { w[col * m + c] *= ip; inv[col * m + c] *= ip; }
            for (int r = 0; r < m; r++)
            {
                if (r == col) continue;
                Complex f = w[r * m + col];
                if (f == Complex.Zero) continue;
                for (int c = 0; c < m; c++) { w[r * m + c] -= f * w[col * m + c]; inv[r * m + c] -= f * inv[col * m + c]; }
            }
        }
        return inv;
    }

    /// <summary>C = op(A)·op(B) for complex row-major matrices: op(A) is m×k, op(B) is k×n (transpose without conjugation).</summary>
    public static Complex[] Multiply(Complex[] a, bool transA, Complex[] b, bool transB, int m, int k, int n)
    {
        var c = new Complex[m * n];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                Complex aip = transA ? a[p * m + i] : a[i * k + p];
                if (aip == Complex.Zero) continue;
                for (int j = 0; j < n; j++) c[i * n + j] += aip * (transB ? b[j * k + p] : b[p * n + j]);
            }
        return c;
    }
}

/// <summary>
/// The exact population loss of the general continuous-time linear RNN <c>dh/dt = Wh + Ux, ŷ = cᵀh</c> on a
/// d-input linear functional with kernels ρ_k (Li21 §2): ρ̂(t)ᵀ = cᵀe^{Wt}U and
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
        var w = Layout["W"].Of(theta).ToArray();
        var u = Layout["U"].Of(theta).ToArray();
        var c = Layout["c"].Of(theta).ToArray();
        var eig = Lyapunov.Eigen.Decompose(w, m);
        var lam = eig.Values;
        var v = eig.V;
        var vi = eig.VInverse;
        // c̃ = Vᵀc, Ũ = V⁻¹U (complex, non-conjugating transposes throughout)
        var ct = new Complex[m];
        for (int j = 0; j < m; j++)
        {
            Complex acc = 0;
            for (int a = 0; a < m; a++) acc += v[a * m + j] * c[a];
            ct[j] = acc;
        }
        var ut = new Complex[m * d];
        for (int j = 0; j < m; j++)
            for (int k = 0; k < d; k++)
            {
                Complex acc = 0;
                for (int a = 0; a < m; a++) acc += vi[j * m + a] * u[a * d + k];
                ut[j * d + k] = acc;
            }
        // model–model term: P solves WP + PWᵀ + UUᵀ = 0 (sign-function solver: robust near defective W)
        var uut = new double[m * m];
        Gemm.Multiply(Transpose.No, Transpose.Yes, m, m, d, 1.0, u, d, u, d, 0.0, uut, m);
        var pm = Lyapunov.SolveHurwitz(w, uut, m);
        var pc = new double[m];
        Gemm.Multiply(Transpose.No, Transpose.No, m, 1, m, 1.0, pm, m, c, 1, 0.0, pc, 1);
        double cpc = 0;
        for (int i = 0; i < m; i++) cpc += c[i] * pc[i];
        // cross term Σ_k cᵀF_k u_k with F_k = V diag(f_k(λ)) V⁻¹, f_k(λ) = b_k(−λ), f_k'(λ) = b¹_k(−λ)
        var f = new Complex[d * m];
        var g = new Complex[d * m];
        for (int k = 0; k < d; k++)
            for (int j = 0; j < m; j++)
                (f[k * m + j], g[k * m + j]) = _targets[k].LaplacePair(-lam[j]);
        Complex cross = 0;
        for (int k = 0; k < d; k++)
            for (int j = 0; j < m; j++) cross += ct[j] * f[k * m + j] * ut[j * d + k];
        double loss = cpc - 2 * cross.Real + _targetNorm;
        if (!wantGradient) return loss;

        // adjoint Lyapunov solution Q: WᵀQ + QW + ccᵀ = 0
        var wt = new double[m * m];
        var cct = new double[m * m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) { wt[i * m + j] = w[j * m + i]; cct[i * m + j] = c[i] * c[j]; }
        var qm = Lyapunov.SolveHurwitz(wt, cct, m);
        // ∂/∂c = 2Pc − 2V·s, s_j = Σ_k f_kj Ũ_jk
        var gc = Layout["c"].Of(gradient);
        var sv = new Complex[m];
        for (int j = 0; j < m; j++)
            for (int k = 0; k < d; k++) sv[j] += f[k * m + j] * ut[j * d + k];
        for (int i = 0; i < m; i++)
        {
            Complex acc = 0;
            for (int j = 0; j < m; j++) acc += v[i * m + j] * sv[j];
            gc[i] = 2 * pc[i] - 2 * acc.Real;
        }
        // ∂/∂U = 2QU − 2[V⁻ᵀ(f_k ∘ c̃)]_k
        var gu = Layout["U"].Of(gradient);
        var qu = new double[m * d];
        Gemm.Multiply(Transpose.No, Transpose.No, m, d, m, 1.0, qm, m, u, d, 0.0, qu, d);
        for (int i = 0; i < m; i++)
            for (int k = 0; k < d; k++)
            {
                Complex acc = 0;
                for (int j = 0; j < m; j++) acc += vi[j * m + i] * f[k * m + j] * ct[j];
                gu[i * d + k] = 2 * qu[i * d + k] - 2 * acc.Real;
            }
        // ∂/∂W = 2QP − 2V⁻ᵀZVᵀ, Z_ij = c̃_i Σ_k Ũ_jk D^k_ij, D^k = divided differences of f_k (f_k' where λ_i ≈ λ_j)
        var z = new Complex[m * m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                Complex dl = lam[i] - lam[j];
                bool close = Complex.Abs(dl) <= 1e-6 * Math.Max(Complex.Abs(lam[i]), Complex.Abs(lam[j]));
                Complex acc = 0;
                for (int k = 0; k < d; k++)
                {
                    Complex dd = close ? 0.5 * (g[k * m + i] + g[k * m + j]) : (f[k * m + i] - f[k * m + j]) / dl;
                    acc += ut[j * d + k] * dd;
                }
                z[i * m + j] = ct[i] * acc;
            }
        var crossW = DenseMath.Multiply(DenseMath.Multiply(vi, true, z, false, m, m, m), false, v, true, m, m, m);
        var qp = new double[m * m];
        Gemm.Multiply(Transpose.No, Transpose.No, m, m, m, 1.0, qm, m, pm, m, 0.0, qp, m);
        var gw = Layout["W"].Of(gradient);
        for (int i = 0; i < m * m; i++) gw[i] = 2 * qp[i] - 2 * crossW[i].Real;
        return loss;
    }

    /// <summary>The model's kernel ρ̂(t)ᵀ = cᵀe^{Wt}U at time t via the eigendecomposition (for plots and checks).</summary>
    public double[] ModelKernel(ReadOnlySpan<double> theta, double t)
    {
        if (theta.Length != Dimension) throw new ArgumentException($"θ has {theta.Length} entries, expected {Dimension}");
        int m = Width, d = Inputs;
        var eig = Lyapunov.Eigen.Decompose(Layout["W"].Of(theta), m);
        var u = Layout["U"].Of(theta);
        var c = Layout["c"].Of(theta);
        var r = new double[d];
        for (int j = 0; j < m; j++)
        {
            Complex cj = 0;
            for (int a = 0; a < m; a++) cj += eig.V[a * m + j] * c[a];
            Complex e = cj * Complex.Exp(eig.Values[j] * t);
            for (int k = 0; k < d; k++)
            {
                Complex uj = 0;
                for (int a = 0; a < m; a++) uj += eig.VInverse[j * m + a] * u[a * d + k];
                r[k] += (e * uj).Real;
            }
        }
        return r;
    }
}
