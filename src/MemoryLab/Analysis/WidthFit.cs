using MathNet.Numerics.LinearAlgebra;
using MemoryLab.Numerics;

namespace MemoryLab.Analysis;

/// <summary>How <see cref="ExponentialSumKernelObjective"/> maps θ to the decay rates w.</summary>
public enum RateCoordinate
{
    /// <summary>θ holds w itself (Li21's reduced model; w must stay positive).</summary>
    Direct,
    /// <summary>θ holds log w (always positive; the natural scale for rates spread over decades).</summary>
    Log,
}

/// <summary>
/// Kernel-space loss of the reduced linear RNN (Li, Han, E &amp; Li, ICLR 2021, §4), ρ̂(t) = Σ_i a_i e^{−w_i t}, against a kernel ρ
/// given by a <see cref="KernelQuadrature"/>:
/// J(a, w) = Σ_q ω_q (ρ̂(t_q) − ρ(t_q))² + [∫_T^∞ ρ̂² = Σ_ij a_i a_j e^{−(w_i+w_j)T}/(w_i + w_j) when a horizon T is set].
/// θ = (a_1..a_m, r_1..r_m) with r = w or log w. With white-noise inputs this is the population loss (Itô isometry),
/// so gradient flow on it is Li21's plateau dynamics.
/// </summary>
public sealed class ExponentialSumKernelObjective : IObjective<double>
{
    private readonly KernelQuadrature _k;
    private readonly int _m;
    private readonly double[] _basis, _residual, _w; // basis[i·Q + q] = e^{−w_i t_q}

    /// <summary>The loss of width-<paramref name="width"/> sums against <paramref name="kernel"/>.</summary>
    public ExponentialSumKernelObjective(KernelQuadrature kernel, int width, RateCoordinate parametrisation = RateCoordinate.Direct)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (width <= 0) throw new ArgumentException($"width must be positive (got {width})", nameof(width));
        _k = kernel; _m = width; Parametrisation = parametrisation;
        _basis = new double[width * kernel.Count];
        _residual = new double[kernel.Count];
        _w = new double[width];
    }

    /// <summary>How θ holds the rates.</summary>
    public RateCoordinate Parametrisation { get; }
    /// <summary>Width m.</summary>
    public int Width => _m;
    /// <summary>The kernel.</summary>
    public KernelQuadrature Kernel => _k;
    /// <inheritdoc />
    public int Dimension => 2 * _m;

    /// <summary>θ = (a, r) for coefficients and rates in this parametrisation.</summary>
    public double[] Pack(ReadOnlySpan<double> coefficients, ReadOnlySpan<double> rates)
    {
        if (coefficients.Length != _m || rates.Length != _m) throw new ArgumentException($"need {_m} coefficients and {_m} rates (got {coefficients.Length}, {rates.Length})");
        var theta = new double[2 * _m];
        for (int i = 0; i < _m; i++)
        {
            if (!(rates[i] > 0)) throw new ArgumentException($"rate {i} = {rates[i]} must be positive");
            theta[i] = coefficients[i];
            theta[_m + i] = Parametrisation == RateCoordinate.Log ? Math.Log(rates[i]) : rates[i];
        }
        return theta;
    }

    /// <inheritdoc />
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        if (theta.Length != 2 * _m) throw new ArgumentException($"θ has {theta.Length} entries, expected {2 * _m}", nameof(theta));
        var a = theta[.._m];
        for (int i = 0; i < _m; i++) _w[i] = Parametrisation == RateCoordinate.Log ? Math.Exp(theta[_m + i]) : theta[_m + i];
        int nq = _k.Count;
        var t = _k.Nodes; var om = _k.Weights; var rho = _k.Values;
        for (int i = 0; i < _m; i++)
            for (int q = 0; q < nq; q++) _basis[i * nq + q] = Math.Exp(-_w[i] * t[q]);
        double j = 0;
        for (int q = 0; q < nq; q++)
        {
            double s = -rho[q];
            for (int i = 0; i < _m; i++) s += a[i] * _basis[i * nq + q];
            _residual[q] = s;
            j += om[q] * s * s;
        }
        gradient.Clear();
        for (int i = 0; i < _m; i++)
        {
            double ga = 0, gw = 0;
            for (int q = 0; q < nq; q++)
            {
                double c = om[q] * _residual[q] * _basis[i * nq + q];
                ga += c;
                gw -= c * t[q];
            }
            gradient[i] = 2 * ga;
            gradient[_m + i] = 2 * a[i] * gw;
        }
        if (_k.TailStart is { } tail)
        {
            // ∫_T^∞ ρ̂² = Σ_ij a_i a_j E(w_i + w_j), E(s) = e^{−sT}/s, E'(s) = −e^{−sT}(T/s + 1/s²).
            for (int i = 0; i < _m; i++)
            {
                double ga = 0, gw = 0;
                for (int k = 0; k < _m; k++)
                {
                    double s = _w[i] + _w[k], e = Math.Exp(-s * tail);
                    double val = e / s, der = -e * (tail / s + 1 / (s * s));
                    j += a[i] * a[k] * val;
                    ga += a[k] * val;
                    gw += a[k] * der;
                }
                gradient[i] += 2 * ga;
                gradient[_m + i] += 2 * a[i] * gw;
            }
        }
        if (Parametrisation == RateCoordinate.Log)
            for (int i = 0; i < _m; i++) gradient[_m + i] *= _w[i]; // ∂/∂log w = w ∂/∂w
        return j;
    }
}

/// <summary>Settings of <see cref="WidthFit"/>.</summary>
public sealed record WidthFitOptions
{
    /// <summary>Smallest rate of the geometric and random starts; 0: 1/T (T = horizon, or the last node).</summary>
    public double MinRate { get; init; }
    /// <summary>Largest rate of the geometric and random starts; 0: max(10, 200/T) (time in the kernel's units, steps of 1 in this project).</summary>
    public double MaxRate { get; init; }
    /// <summary>Random starts (log-uniform rates in [MinRate, MaxRate]) besides the geometric grid and the given starts.</summary>
    public int RandomStarts { get; init; } = 6;
    /// <summary>Seed of the random starts (<see cref="RandomPurpose.Init"/> stream).</summary>
    public ulong Seed { get; init; }
    /// <summary>A start of the caller's (e.g. a previous fit's rates).</summary>
    public double[]? InitialRates { get; init; }
    /// <summary>Also start from Li21's construction λ_j = jβ/(α+1), j = 1..m (Li, Han, E &amp; Li, ICLR 2021, §3, the rate theorem).</summary>
    public (double Alpha, double Beta)? Li21Start { get; init; }
    /// <summary>Also build the fit up width by width (1, 2, …, m, each adding one rate to the previous fit): a robust
    /// start where merged-rate local minima trap the direct starts.</summary>
    public bool GreedyStart { get; init; } = true;
    /// <summary>Most damped-Newton iterations per start.</summary>
    public int MaxIterations { get; init; } = 200;
    /// <summary>Where the independent starts of a width run (<see cref="ParallelWork.Serial"/>: one after another). The fits are
    /// the same bits however they are spread.</summary>
    public ParallelWork Work { get; init; } = ParallelWork.Serial;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate(int width)
    {
        if (!(MinRate >= 0) || !(MaxRate >= 0)) throw new ArgumentException($"rate range must be ≥ 0 (got [{MinRate}, {MaxRate}])");
        if (MinRate > 0 && MaxRate > 0 && !(MaxRate > MinRate)) throw new ArgumentException($"max rate {MaxRate} must exceed min rate {MinRate}");
        if (RandomStarts < 0) throw new ArgumentException($"random starts must be ≥ 0 (got {RandomStarts})");
        if (MaxIterations <= 0) throw new ArgumentException($"max iterations must be positive (got {MaxIterations})");
        if (InitialRates is { } r)
        {
            if (r.Length != width) throw new ArgumentException($"initial rates have {r.Length} entries, the width is {width}");
            foreach (var x in r) if (!(x > 0) || double.IsInfinity(x)) throw new ArgumentException($"initial rate {x} must be positive and finite");
        }
        if (Li21Start is { } li && !(li.Alpha >= 0 && li.Beta > 0)) throw new ArgumentException($"Li21 start needs α ≥ 0 and β > 0 (got α = {li.Alpha}, β = {li.Beta})");
    }
}

/// <summary>A fitted sum of exponentials ρ̂(t) = Σ a_i e^{−w_i t}, rates increasing.</summary>
/// <param name="Coefficients">a_i.</param>
/// <param name="Rates">w_i (increasing).</param>
/// <param name="Loss">J = ∫(ρ̂ − ρ)² by the kernel's quadrature (with the model tail if set).</param>
/// <param name="RelativeLoss">J / ‖ρ‖².</param>
/// <param name="Iterations">Damped-Newton iterations of the start that won.</param>
/// <param name="Starts">Starts tried.</param>
public sealed record WidthFitResult(double[] Coefficients, double[] Rates, double Loss, double RelativeLoss, int Iterations, int Starts)
{
    /// <summary>Width m.</summary>
    public int Width => Rates.Length;

    /// <summary>ρ̂(t).</summary>
    public double Evaluate(double t)
    {
        double s = 0;
        for (int i = 0; i < Rates.Length; i++) s += Coefficients[i] * Math.Exp(-Rates[i] * t);
        return s;
    }
}

/// <summary>
/// Best width-m approximation of a memory kernel by a sum of m exponentials (Li21 approximation theory; the
/// best width-m error against m (Li, Han, E &amp; Li, ICLR 2021, §3) and the approximants of the stability protocol of Wang, Li &amp; Li (ICLR 2024)).
/// </summary>
/// <remarks>Method: variable projection. For fixed rates the best coefficients solve a linear least-squares
/// problem (rows √ω_q e^{−w_i t_q}, plus rows of a square root of the closed-form tail Gram matrix), solved by
/// Householder QR and an SVD of the triangular factor with a relative cutoff of 1e−13, because exponential bases
/// are badly conditioned. The reduced loss J(w) = min_a J(a, w) is minimised over log w by Levenberg–Marquardt
/// (steps capped at a factor e² per rate): its gradient is ∂J/∂log w at the optimal a (envelope theorem), its
/// Hessian Kaufman's Gauss–Newton approximation and, once that stalls, central differences of the exact gradient
/// (quadratic convergence: an exact sum of m exponentials is recovered to rounding). Starts: the caller's rates,
/// Li21's λ_j = jβ/(α+1), a geometric grid over [MinRate, MaxRate], log-uniform random rates, and a greedy
/// width-by-width build-up; the best result wins. A start that ends with two merged rates (a spurious minimum
/// where huge cancelling coefficients mimic t·e^{−wt}) is split apart and continued. During the search rates stay
/// within [MinRate/10⁶, MaxRate·10³].</remarks>
public static class WidthFit
{
    /// <summary>Li21's rates λ_j = jβ/(α+1), j = 1..m (the construction in the rate theorem).</summary>
    public static double[] Li21Rates(int width, double alpha, double beta)
    {
        if (width <= 0) throw new ArgumentException($"width must be positive (got {width})", nameof(width));
        if (!(alpha >= 0 && beta > 0)) throw new ArgumentException($"need α ≥ 0 and β > 0 (got α = {alpha}, β = {beta})");
        return Enumerable.Range(1, width).Select(j => j * beta / (alpha + 1)).ToArray();
    }

    /// <summary>m rates spaced geometrically over [min, max] (one rate: their geometric mean).</summary>
    public static double[] GeometricRates(int width, double min, double max)
    {
        if (width <= 0) throw new ArgumentException($"width must be positive (got {width})", nameof(width));
        if (!(min > 0 && max > min) || double.IsInfinity(max)) throw new ArgumentException($"need 0 < min < max (got {min}, {max})");
        if (width == 1) return [Math.Sqrt(min * max)];
        return Enumerable.Range(0, width).Select(i => min * Math.Pow(max / min, (double)i / (width - 1))).ToArray();
    }

    /// <summary>Best coefficients for fixed <paramref name="rates"/> and the loss they reach.</summary>
    public static (double[] Coefficients, double Loss) FitCoefficients(KernelQuadrature kernel, ReadOnlySpan<double> rates)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (rates.Length == 0) throw new ArgumentException("need at least one rate", nameof(rates));
        foreach (var w in rates) if (!(w > 0) || double.IsInfinity(w)) throw new ArgumentException($"rate {w} must be positive and finite", nameof(rates));
        var a = new double[rates.Length];
        double j = new Projection(kernel, rates.Length).Solve(rates, a);
        return (a, j);
    }

    /// <summary>Fits a width-<paramref name="width"/> sum of exponentials to <paramref name="kernel"/>.</summary>
    public static WidthFitResult Fit(KernelQuadrature kernel, int width, WidthFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (width <= 0) throw new ArgumentException($"width must be positive (got {width})", nameof(width));
        var o = options ?? new WidthFitOptions();
        o.Validate(width);
        var (min, max) = RateRange(kernel, o);
        var starts = new List<double[]>();
        if (o.InitialRates != null) starts.Add((double[])o.InitialRates.Clone());
        if (o.Li21Start is { } li) starts.Add(Li21Rates(width, li.Alpha, li.Beta));
        starts.Add(GeometricRates(width, min, max));
        var rng = new CounterRng(o.Seed, RandomPurpose.Init);
        for (int s = 0; s < o.RandomStarts; s++)
        {
            var r = rng.Fork((ulong)s);
            starts.Add(Enumerable.Range(0, width).Select(_ => min * Math.Pow(max / min, r.NextDouble())).Order().ToArray());
        }
        if (!o.GreedyStart || width == 1) return BestOf(kernel, width, starts, min, max, o.MaxIterations, o.Work);
        WidthFitResult direct = null!, greedy = null!;
        o.Work.For(2, k =>
        {
            if (k == 0) direct = BestOf(kernel, width, starts, min, max, o.MaxIterations, o.Work);
            else greedy = GreedyPath(kernel, width, min, max, o.MaxIterations, o.Work, null)[^1];
        });
        return greedy.Loss < direct.Loss ? greedy with { Starts = greedy.Starts + direct.Starts } : direct with { Starts = greedy.Starts + direct.Starts };
    }

    /// <summary>Best fits for widths 1..<paramref name="maxWidth"/>, each warm-started from the previous width's rates plus
    /// one new rate (tried at several places), so the loss never increases with width — the approximation-error-vs-m curve.</summary>
    public static IReadOnlyList<WidthFitResult> FitSequence(KernelQuadrature kernel, int maxWidth, WidthFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (maxWidth <= 0) throw new ArgumentException($"max width must be positive (got {maxWidth})", nameof(maxWidth));
        var o = (options ?? new WidthFitOptions()) with { InitialRates = null, GreedyStart = false };
        o.Validate(1);
        var (min, max) = RateRange(kernel, o);
        // Each width also gets the ordinary starts; the better result continues the path.
        return GreedyPath(kernel, maxWidth, min, max, o.MaxIterations, o.Work, m => Fit(kernel, m, o));
    }

    // Widths 1..maxWidth, width m started from width m−1's rates plus one new rate at each of 6 geometric places
    // (skipping near-duplicates), and from fresh(m) when given; the best result of each width seeds the next.
    private static List<WidthFitResult> GreedyPath(KernelQuadrature kernel, int maxWidth, double min, double max, int maxIterations, ParallelWork work,
        Func<int, WidthFitResult>? fresh)
    {
        var candidates = GeometricRates(6, min, max);
        var results = new List<WidthFitResult>();
        for (int m = 1; m <= maxWidth; m++)
        {
            var starts = new List<double[]>();
            if (m == 1) starts.AddRange(candidates.Select(c => new[] { c }));
            else
            {
                var prev = results[^1].Rates;
                foreach (var c in candidates)
                {
                    // A repeated basis function adds nothing and stays stuck.
                    if (prev.Any(r => Math.Abs(Math.Log(r / c)) < 0.05)) continue;
                    starts.Add(prev.Append(c).Order().ToArray());
                }
                if (starts.Count == 0) starts.Add(prev.Append(prev[^1] * 2).ToArray());
            }
            WidthFitResult best = null!, other = null!;
            work.For(fresh is null ? 1 : 2, k =>
            {
                if (k == 0) best = BestOf(kernel, m, starts, min, max, maxIterations, work);
                else other = fresh!(m);
            });
            if (fresh != null) best = (other.Loss < best.Loss ? other : best) with { Starts = best.Starts + other.Starts };
            results.Add(best);
        }
        return results;
    }

    private static (double Min, double Max) RateRange(KernelQuadrature kernel, WidthFitOptions o)
    {
        double horizon = kernel.Horizon > 0 ? kernel.Horizon : 1;
        double min = o.MinRate > 0 ? o.MinRate : 1 / horizon;
        double max = o.MaxRate > 0 ? o.MaxRate : Math.Max(10, 200 / horizon);
        if (!(max > min)) throw new ArgumentException($"rate range [{min}, {max}] is empty; set MinRate and MaxRate");
        return (min, max);
    }

    // Each start is minimised on its own (concurrently under work); the first start with the least loss wins.
    private static WidthFitResult BestOf(KernelQuadrature kernel, int width, List<double[]> starts, double min, double max, int maxIterations, ParallelWork work)
    {
        double lo = Math.Log(min / 1e6), hi = Math.Log(max * 1e3);
        var found = new (double[] Rates, double Loss, int Iterations)[starts.Count];
        work.For(starts.Count, k =>
        {
            var projection = new Projection(kernel, width);
            var (rates, loss, iterations) = Minimise(projection, starts[k], lo, hi, maxIterations);
            // Exponential fitting has spurious minima where two rates merge (their huge, cancelling coefficients mimic
            // t·e^{−wt}). Split such a pair apart and continue while that helps.
            for (int split = 0; split < 3; split++)
            {
                var order = Enumerable.Range(0, width).OrderBy(i => rates[i]).ToArray();
                int pair = -1;
                for (int i = 0; i + 1 < width; i++)
                    if (Math.Log(rates[order[i + 1]] / rates[order[i]]) < 0.01) { pair = i; break; }
                if (pair < 0) break;
                var restart = (double[])rates.Clone();
                restart[order[pair]] *= Math.Exp(-0.7);
                restart[order[pair + 1]] *= Math.Exp(0.7);
                var (r2, l2, it2) = Minimise(projection, restart, lo, hi, maxIterations);
                if (!(l2 < loss)) break;
                (rates, loss, iterations) = (r2, l2, iterations + it2);
            }
            found[k] = (rates, loss, iterations);
        });
        // In start order, a start replaces the best so far when its loss is below the best's recomputed one.
        var solver = new Projection(kernel, width);
        WidthFitResult? best = null;
        foreach (var (rates, loss, iterations) in found)
        {
            if (best is not null && !(loss < best.Loss)) continue;
            var sorted = rates.Order().ToArray();
            var a = new double[width];
            double j = solver.Solve(sorted, a);
            best = new WidthFitResult(a, sorted, j, kernel.TargetNormSquared > 0 ? j / kernel.TargetNormSquared : double.NaN, iterations, starts.Count);
        }
        return best!;
    }

    // Levenberg–Marquardt on v = log w of the reduced loss J(w) = min_a J(a, w): Kaufman's Gauss–Newton Hessian first,
    // then, once that stalls, the Hessian from central differences of the exact reduced gradient. The damping
    // μ·diag(|H|) shrinks while steps succeed and grows while they fail, which copes with the narrow, ill-conditioned
    // valleys of exponential fitting.
    private static (double[] Rates, double Loss, int Iterations) Minimise(Projection p, double[] start, double lo, double hi, int maxIterations)
    {
        int m = start.Length;
        var v = start.Select(w => Math.Clamp(Math.Log(w), lo, hi)).ToArray();
        var g = new double[m];
        double j = p.ValueAndGradient(v, g);
        double floor = Math.Max(1e-28 * p.TargetNormSquared, 1e-300);
        var history = new double[10];
        var h = new double[m * m];
        var lu = new double[m * m];
        var pivots = new int[m];
        var gp = new double[m]; var gm = new double[m]; var vt = new double[m]; var step = new double[m]; var vNew = new double[m]; var gNew = new double[m];
        double mu = 1e-3;
        bool exactHessian = false; // Gauss–Newton (cheap) until it stalls, then central differences of the gradient
        int it = 0, phaseStart = 0;
        for (; it < maxIterations; it++)
        {
            if (exactHessian)
            {
                const double fd = 1e-6;
                for (int k = 0; k < m; k++)
                {
                    Array.Copy(v, vt, m);
                    vt[k] = v[k] + fd; p.ValueAndGradient(vt, gp);
                    vt[k] = v[k] - fd; p.ValueAndGradient(vt, gm);
                    for (int i = 0; i < m; i++) h[i * m + k] = (gp[i] - gm[i]) / (2 * fd);
                }
                for (int i = 0; i < m; i++)
                    for (int k = i + 1; k < m; k++) { double a = 0.5 * (h[i * m + k] + h[k * m + i]); h[i * m + k] = a; h[k * m + i] = a; }
            }
            else p.ValueAndGradient(v, g, h);
            double hScale = 0;
            for (int i = 0; i < m; i++) hScale = Math.Max(hScale, Math.Abs(h[i * m + i]));
            if (!(hScale > 0)) hScale = 1;
            bool accepted = false;
            double jNew = j;
            for (int tries = 0; tries < 60 && mu < 1e16; tries++)
            {
                Array.Copy(h, lu, m * m);
                for (int i = 0; i < m; i++) lu[i * m + i] += mu * Math.Max(Math.Abs(h[i * m + i]), 1e-12 * hScale);
                for (int i = 0; i < m; i++) step[i] = -g[i];
                if (!DenseLu.Factor(lu, pivots, m)) { mu *= 4; continue; }
                DenseLu.Solve(lu, pivots, m, step);
                double maxAbs = step.Max(Math.Abs);
                if (!double.IsFinite(maxAbs)) { mu *= 4; continue; }
                if (maxAbs > 2) for (int i = 0; i < m; i++) step[i] *= 2 / maxAbs;
                if (Dot(step, g) >= 0) { mu *= 4; continue; } // not a descent direction while H is indefinite
                for (int i = 0; i < m; i++) vNew[i] = Math.Clamp(v[i] + step[i], lo, hi);
                jNew = p.ValueAndGradient(vNew, gNew);
                if (double.IsFinite(jNew) && jNew < j) { accepted = true; break; }
                mu *= 4;
            }
            // Stalled: a step gains less than 1e−10 relatively, or the last few steps together less than 1% (ten for
            // Gauss–Newton, five for Newton, which converges quadratically near a minimum, so slow progress means it has
            // reached the rounding noise of J). Gauss–Newton then hands over to Newton; Newton then stops.
            bool stalled = !accepted || j - jNew <= 1e-10 * jNew;
            if (accepted)
            {
                Array.Copy(vNew, v, m); Array.Copy(gNew, g, m);
                j = jNew;
                history[it % 10] = j;
                int window = exactHessian ? 5 : 10;
                if (it - phaseStart >= window && history[(it - window + 10) % 10] - j <= 1e-2 * j) stalled = true;
                mu = Math.Max(mu / 5, 1e-12);
            }
            if (j <= floor) { it++; break; }
            if (stalled)
            {
                if (exactHessian) { it++; break; }
                exactHessian = true; phaseStart = it + 1; mu = 1e-3;
            }
        }
        return (v.Select(Math.Exp).ToArray(), j, it);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    // The variable-projection solver: best a for fixed w by QR least squares, ∂J/∂log w at that a (envelope theorem),
    // and Kaufman's Gauss–Newton approximation of the reduced Hessian, 2 J_Kᵀ J_K with J_K,k = P⊥ (∂D/∂log w_k) a.
    // All buffers are allocated once; the QR keeps its Householder vectors for P⊥ = I − QQᵀ.
    private sealed class Projection
    {
        private readonly KernelQuadrature _k;
        private readonly int _m, _rows;
        private readonly ExponentialSumKernelObjective _objective;
        private readonly double[] _theta, _grad, _w, _a;
        private readonly double[] _d, _r, _hh, _beta, _b, _qtb, _v, _sv, _x, _col, _jk; // column-major rows×m where 2-D

        public Projection(KernelQuadrature kernel, int width)
        {
            _k = kernel; _m = width;
            _rows = kernel.Count + (kernel.TailStart is null ? 0 : width);
            _objective = new ExponentialSumKernelObjective(kernel, width, RateCoordinate.Log);
            _theta = new double[2 * width]; _grad = new double[2 * width]; _w = new double[width]; _a = new double[width];
            _d = new double[_rows * width]; _hh = new double[_rows * width]; _jk = new double[_rows * width];
            _r = new double[width * width]; _v = new double[width * width];
            _beta = new double[width]; _b = new double[_rows]; _qtb = new double[_rows]; _sv = new double[width]; _x = new double[width]; _col = new double[_rows];
        }

        public double TargetNormSquared => _k.TargetNormSquared;

        public double ValueAndGradient(ReadOnlySpan<double> logRates, Span<double> gradient, Span<double> gaussNewton = default)
        {
            int m = _m;
            for (int i = 0; i < m; i++) _w[i] = Math.Exp(logRates[i]);
            if (!double.IsFinite(Solve(_w, _a))) { gradient.Clear(); return double.PositiveInfinity; } // rejected by the caller
            for (int i = 0; i < m; i++) { _theta[i] = _a[i]; _theta[m + i] = logRates[i]; }
            double j = _objective.Evaluate(_theta, _grad);
            for (int i = 0; i < m; i++) gradient[i] = _grad[m + i];
            if (!gaussNewton.IsEmpty)
            {
                // Columns c_k = (∂D/∂log w_k) a = −w_k a_k t ⊙ D[:, k] on the quadrature rows (the closed-form tail rows'
                // dependence on w is left out of this approximation; the gradient above is exact), projected by P⊥.
                int nq = _k.Count;
                for (int k = 0; k < m; k++)
                {
                    var c = _jk.AsSpan(k * _rows, _rows);
                    c.Clear();
                    for (int q = 0; q < nq; q++) c[q] = -_w[k] * _a[k] * _k.Nodes[q] * _d[k * _rows + q];
                    ApplyQt(c);
                    c[..m].Clear();
                    ApplyQ(c);
                }
                for (int i = 0; i < m; i++)
                    for (int k = i; k < m; k++)
                    {
                        double s = 0;
                        for (int q = 0; q < _rows; q++) s += _jk[i * _rows + q] * _jk[k * _rows + q];
                        gaussNewton[i * m + k] = 2 * s; gaussNewton[k * m + i] = 2 * s;
                    }
            }
            return j;
        }

        // Least squares ‖D a − b‖² by Householder QR (no normal equations: the exponential basis is badly conditioned),
        // then the pseudo-inverse of the triangular factor by a one-sided Jacobi SVD with a relative cutoff of 1e−13.
        public double Solve(ReadOnlySpan<double> rates, Span<double> a)
        {
            int nq = _k.Count, m = _m, rows = _rows;
            for (int q = 0; q < nq; q++)
            {
                double sw = Math.Sqrt(_k.Weights[q]);
                _b[q] = sw * _k.Values[q];
                for (int i = 0; i < m; i++) _d[i * rows + q] = sw * Math.Exp(-rates[i] * _k.Nodes[q]);
            }
            if (_k.TailStart is { } t)
            {
                // Rows R with RᵀR = E, E_ij = e^{−(w_i+w_j)T}/(w_i+w_j): R = Λ^{1/2} Vᵀ from E's eigen-decomposition.
                var e = Matrix<double>.Build.Dense(m, m);
                for (int i = 0; i < m; i++)
                    for (int k = 0; k < m; k++) e[i, k] = Math.Exp(-(rates[i] + rates[k]) * t) / (rates[i] + rates[k]);
                var evd = e.Evd(Symmetricity.Symmetric);
                for (int r = 0; r < m; r++)
                {
                    double lam = Math.Sqrt(Math.Max(evd.EigenValues[r].Real, 0));
                    _b[nq + r] = 0;
                    for (int i = 0; i < m; i++) _d[i * rows + nq + r] = lam * evd.EigenVectors[i, r];
                }
            }
            // Householder QR of a working copy; reflector k is I − β_k v_k v_kᵀ with v_k stored in _hh column k.
            Array.Copy(_d, _hh, rows * m);
            Array.Copy(_b, _qtb, rows);
            for (int k = 0; k < m; k++)
            {
                var col = _hh.AsSpan(k * rows, rows);
                double norm = 0;
                for (int q = k; q < rows; q++) norm += col[q] * col[q];
                norm = Math.Sqrt(norm);
                double alpha = col[k] > 0 ? -norm : norm;
                col[k] -= alpha;
                double vv = 0;
                for (int q = k; q < rows; q++) vv += col[q] * col[q];
                _beta[k] = vv > 0 ? 2 / vv : 0;
                for (int jx = k + 1; jx < m; jx++) Reflect(k, _hh.AsSpan(jx * rows, rows));
                Reflect(k, _qtb);
                for (int i = 0; i < k; i++) _r[i * m + k] = _hh[k * rows + i];
                _r[k * m + k] = alpha;
                for (int i = k + 1; i < m; i++) _r[i * m + k] = 0;
            }
            // x = R⁺ (Qᵀb)[0..m) through R = U Σ Vᵀ.
            JacobiSvd(_r, _v, _sv, m);
            double smax = 0;
            for (int i = 0; i < m; i++) smax = Math.Max(smax, _sv[i]);
            double cutoff = 1e-13 * smax;
            Array.Clear(_x);
            for (int r = 0; r < m; r++)
            {
                if (!(_sv[r] > cutoff)) continue;
                double utb = 0; // U column r = R V column r / σ_r, held in _r after the sweep
                for (int i = 0; i < m; i++) utb += _r[i * m + r] * _qtb[i];
                utb /= _sv[r] * _sv[r];
                for (int i = 0; i < m; i++) _x[i] += _v[i * m + r] * utb;
            }
            double j = 0;
            for (int q = 0; q < rows; q++)
            {
                double res = -_b[q];
                for (int i = 0; i < m; i++) res += _d[i * rows + q] * _x[i];
                j += res * res;
            }
            for (int i = 0; i < m; i++) a[i] = _x[i];
            return j;
        }

        private void Reflect(int k, Span<double> y)
        {
            var v = _hh.AsSpan(k * _rows, _rows);
            double dot = 0;
            for (int q = k; q < _rows; q++) dot += v[q] * y[q];
            double f = _beta[k] * dot;
            for (int q = k; q < _rows; q++) y[q] -= f * v[q];
        }

        private void ApplyQt(Span<double> y) { for (int k = 0; k < _m; k++) Reflect(k, y); }
        private void ApplyQ(Span<double> y) { for (int k = _m - 1; k >= 0; k--) Reflect(k, y); }

        // One-sided Jacobi (Hestenes): rotates the columns of A (row-major m×m, in place) until orthogonal, so A ends as
        // U Σ and V collects the rotations; σ_r = ‖A column r‖.
        private static void JacobiSvd(double[] a, double[] v, double[] sv, int m)
        {
            Array.Clear(v);
            for (int i = 0; i < m; i++) v[i * m + i] = 1;
            for (int sweep = 0; sweep < 60; sweep++)
            {
                double off = 0;
                for (int p = 0; p < m - 1; p++)
                    for (int q = p + 1; q < m; q++)
                    {
                        double alpha = 0, beta = 0, gamma = 0;
                        for (int i = 0; i < m; i++)
                        {
                            double ap = a[i * m + p], aq = a[i * m + q];
                            alpha += ap * ap; beta += aq * aq; gamma += ap * aq;
                        }
                        if (gamma == 0 || Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta)) continue;
                        off = Math.Max(off, Math.Abs(gamma) / Math.Sqrt(alpha * beta));
                        double zeta = (beta - alpha) / (2 * gamma);
                        if (double.IsNaN(zeta)) continue;
                        double tan = (zeta >= 0 ? 1.0 : -1.0) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                        double cos = 1 / Math.Sqrt(1 + tan * tan), sin = cos * tan;
                        for (int i = 0; i < m; i++)
                        {
                            double ap = a[i * m + p], aq = a[i * m + q];
                            a[i * m + p] = cos * ap - sin * aq; a[i * m + q] = sin * ap + cos * aq;
                            double vp = v[i * m + p], vq = v[i * m + q];
                            v[i * m + p] = cos * vp - sin * vq; v[i * m + q] = sin * vp + cos * vq;
                        }
                    }
                if (off <= 1e-15) break;
            }
            for (int r = 0; r < m; r++)
            {
                double s = 0;
                for (int i = 0; i < m; i++) s += a[i * m + r] * a[i * m + r];
                sv[r] = Math.Sqrt(s);
            }
        }
    }
}
