namespace MemoryLab.Numerics;

/// <summary>A vector-valued integrand: writes f(t) (all components) into <c>values</c>. Integrating several
/// components at once (e.g. Re/Im parts, or b(w) and b¹(w)) shares every evaluation of an expensive kernel.</summary>
public delegate void VectorIntegrand(double t, Span<double> values);

/// <summary>Outcome of a scalar quadrature.</summary>
/// <param name="Value">The integral estimate.</param>
/// <param name="ErrorEstimate">Estimated absolute error (QUADPACK-style, usually pessimistic).</param>
/// <param name="Evaluations">Number of integrand evaluations.</param>
/// <param name="Converged">Whether the requested tolerance was met.</param>
public readonly record struct QuadratureResult(double Value, double ErrorEstimate, int Evaluations, bool Converged);

/// <summary>
/// Globally adaptive Gauss–Kronrod (G10/K21) quadrature on finite intervals, and on [a, ∞) by a chain of
/// finite intervals of doubling length whose remainder is estimated from the decay of ∫|f| per interval
/// (this handles exponential and slow algebraic tails alike, e.g. t^(−1.1), where a mapped [0,1) interval
/// would leave an endpoint singularity). Rule constants and the error estimate are those of QUADPACK's qk21
/// (Piessens et al. 1983). Used for memory-kernel integrals b(w), b¹(w), ‖ρ‖² (Li21 §2), aiming at
/// 1e−10 relative accuracy or better; the default tolerance is tighter (1e−12) so finite differences of
/// quadrature-based objectives stay smooth.
/// </summary>
public static class Quadrature
{
    /// <summary>Default relative tolerance.</summary>
    public const double DefaultRelativeTolerance = 1e-12;

    /// <summary>Default cap on the number of subintervals of one finite integration.</summary>
    public const int DefaultMaxSubintervals = 4000;

    // QUADPACK qk21: Kronrod abscissae (xgk[1,3,5,7,9] are the 10-point Gauss abscissae), weights.
    private static readonly double[] Xgk =
    [
        0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
        0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
        0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
        0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
        0.294392862701460198131126603103866, 0.148874338981631210884826001129720, 0.0,
    ];

    private static readonly double[] Wgk =
    [
        0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
        0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
        0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
        0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
        0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
        0.149445554002916905664936468389821,
    ];

    private static readonly double[] Wg =
    [
        0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
        0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
        0.295524224714752870173892994651338,
    ];

    /// <summary>The 21 Kronrod nodes on [−1, 1] (ascending) and their weights; exposed for tests of the rule itself.</summary>
    public static (double[] Nodes, double[] Weights) KronrodRule()
    {
        var x = new double[21];
        var w = new double[21];
        for (int j = 0; j < 10; j++)
        {
            x[j] = -Xgk[j]; w[j] = Wgk[j];
            x[20 - j] = Xgk[j]; w[20 - j] = Wgk[j];
        }
        x[10] = 0; w[10] = Wgk[10];
        return (x, w);
    }

    /// <summary>The 10 Gauss nodes on [−1, 1] (ascending) and their weights embedded in the Kronrod rule.</summary>
    public static (double[] Nodes, double[] Weights) GaussRule()
    {
        var x = new double[10];
        var w = new double[10];
        for (int j = 0; j < 5; j++)
        {
            x[j] = -Xgk[2 * j + 1]; w[j] = Wg[j];
            x[9 - j] = Xgk[2 * j + 1]; w[9 - j] = Wg[j];
        }
        return (x, w);
    }

    /// <summary>∫_a^b f(t) dt to relative tolerance <paramref name="relativeTolerance"/> (or absolute <paramref name="absoluteTolerance"/>),
    /// splitting first at <paramref name="breakpoints"/> (points where f is not smooth).</summary>
    public static QuadratureResult Integrate(Func<double, double> f, double a, double b,
        double relativeTolerance = DefaultRelativeTolerance, double absoluteTolerance = 0,
        ReadOnlySpan<double> breakpoints = default, int maxSubintervals = DefaultMaxSubintervals)
    {
        ArgumentNullException.ThrowIfNull(f);
        Span<double> r = stackalloc double[1], e = stackalloc double[1], abs = stackalloc double[1];
        var (evals, ok) = Integrate((t, v) => v[0] = f(t), 1, a, b, r, e, abs,
            relativeTolerance, absoluteTolerance, breakpoints, maxSubintervals);
        return new QuadratureResult(r[0], e[0], evals, ok);
    }

    /// <summary>∫_a^∞ f(t) dt. <paramref name="scale"/> is the length of the first tail interval (a typical time scale of f);
    /// breakpoints beyond <paramref name="a"/> are integrated as finite pieces first.</summary>
    public static QuadratureResult IntegrateToInfinity(Func<double, double> f, double a, double scale = 1,
        double relativeTolerance = DefaultRelativeTolerance, double absoluteTolerance = 0,
        ReadOnlySpan<double> breakpoints = default, double maxIntervalLength = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(f);
        Span<double> r = stackalloc double[1], e = stackalloc double[1];
        var (evals, ok) = IntegrateToInfinity((t, v) => v[0] = f(t), 1, a, scale, r, e,
            relativeTolerance, absoluteTolerance, breakpoints, maxIntervalLength);
        return new QuadratureResult(r[0], e[0], evals, ok);
    }

    /// <summary>Vector form of <see cref="Integrate(Func{double, double}, double, double, double, double, ReadOnlySpan{double}, int)"/>:
    /// every component must meet max(absolute, relative·|I_c|). <paramref name="absIntegral"/> receives ∫|f_c| (for cancellation checks).
    /// Returns (evaluations, converged).</summary>
    public static (int Evaluations, bool Converged) Integrate(VectorIntegrand f, int dimension, double a, double b,
        Span<double> result, Span<double> error, Span<double> absIntegral,
        double relativeTolerance = DefaultRelativeTolerance, double absoluteTolerance = 0,
        ReadOnlySpan<double> breakpoints = default, int maxSubintervals = DefaultMaxSubintervals)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "integrand dimension must be at least 1");
        if (!double.IsFinite(a) || !double.IsFinite(b)) throw new ArgumentException($"integration limits must be finite, got [{a}, {b}]; use IntegrateToInfinity for a tail");
        if (relativeTolerance < 0 || absoluteTolerance < 0 || double.IsNaN(relativeTolerance) || double.IsNaN(absoluteTolerance))
            throw new ArgumentOutOfRangeException(nameof(relativeTolerance), "tolerances must be non-negative");
        if (result.Length < dimension || error.Length < dimension || absIntegral.Length < dimension)
            throw new ArgumentException("result, error and absIntegral need one slot per component");
        var ws = Workspace.Get(dimension);
        Span<double> absTol = stackalloc double[dimension];
        absTol.Fill(absoluteTolerance);
        return ws.Run(f, a, b, breakpoints, relativeTolerance, absTol, maxSubintervals, result, error, absIntegral);
    }

    /// <summary>Vector form of <see cref="IntegrateToInfinity(Func{double, double}, double, double, double, double, ReadOnlySpan{double}, double)"/>.
    /// Returns (evaluations, converged).</summary>
    public static (int Evaluations, bool Converged) IntegrateToInfinity(VectorIntegrand f, int dimension, double a, double scale,
        Span<double> result, Span<double> error,
        double relativeTolerance = DefaultRelativeTolerance, double absoluteTolerance = 0,
        ReadOnlySpan<double> breakpoints = default, double maxIntervalLength = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "integrand dimension must be at least 1");
        if (!double.IsFinite(a)) throw new ArgumentException($"lower limit must be finite, got {a}");
        if (!(scale > 0) || !double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "tail scale must be positive and finite");
        if (!(maxIntervalLength > 0)) throw new ArgumentOutOfRangeException(nameof(maxIntervalLength), maxIntervalLength, "maximum interval length must be positive");
        if (result.Length < dimension || error.Length < dimension)
            throw new ArgumentException("result and error need one slot per component");
        var ws = Workspace.Get(dimension);
        return ws.RunToInfinity(f, a, scale, breakpoints, relativeTolerance, absoluteTolerance, maxIntervalLength, result, error);
    }

    /// <summary>Per-thread buffers of the adaptive integrator (reused across calls: no steady-state allocation
    /// beyond the caller's delegate). Re-entrant calls (an integrand that itself integrates) get a fresh workspace.</summary>
    private sealed class Workspace
    {
        [ThreadStatic] private static Workspace? _cached;

        private readonly int _n;
        private double[] _lo = new double[64], _hi = new double[64];
        private double[] _res, _err, _abs;
        private bool[] _frozen = new bool[64];
        private readonly double[] _fv;
        private readonly double[] _tot, _totErr, _totAbs, _tol;
        private bool _busy;

        private Workspace(int n)
        {
            _n = n;
            _res = new double[64 * n]; _err = new double[64 * n]; _abs = new double[64 * n];
            _fv = new double[21 * n];
            _tot = new double[n]; _totErr = new double[n]; _totAbs = new double[n]; _tol = new double[n];
        }

        public static Workspace Get(int n)
        {
            var w = _cached;
            if (w is { _busy: false } && w._n == n) return w;
            w = new Workspace(n);
            if (_cached is not { _busy: true }) _cached = w;
            return w;
        }

        private void EnsureCapacity(int segments)
        {
            if (segments <= _lo.Length) return;
            int cap = Math.Max(segments, 2 * _lo.Length);
            Array.Resize(ref _lo, cap); Array.Resize(ref _hi, cap); Array.Resize(ref _frozen, cap);
            Array.Resize(ref _res, cap * _n); Array.Resize(ref _err, cap * _n); Array.Resize(ref _abs, cap * _n);
        }

        /// <summary>G10/K21 on [a, b] into segment slot s (QUADPACK qk21 error estimate, per component).</summary>
        private void Rule(VectorIntegrand f, double a, double b, int s)
        {
            int n = _n;
            double centr = 0.5 * (a + b), hlgth = 0.5 * (b - a), dhlgth = Math.Abs(hlgth);
            var fv = _fv.AsSpan();
            // node order in fv: 0..9 = centr − h·xgk[j], 10 = centre, 11..20 = centr + h·xgk[j]
            for (int j = 0; j < 10; j++)
            {
                double absc = hlgth * Xgk[j];
                f(centr - absc, fv.Slice(j * n, n));
                f(centr + absc, fv.Slice((11 + j) * n, n));
            }
            f(centr, fv.Slice(10 * n, n));
            for (int c = 0; c < n; c++)
            {
                double fc = fv[10 * n + c];
                double resk = Wgk[10] * fc, resg = 0, resabs = Math.Abs(resk);
                for (int j = 0; j < 10; j++)
                {
                    double f1 = fv[j * n + c], f2 = fv[(11 + j) * n + c];
                    resk += Wgk[j] * (f1 + f2);
                    resabs += Wgk[j] * (Math.Abs(f1) + Math.Abs(f2));
                    if ((j & 1) == 1) resg += Wg[j >> 1] * (f1 + f2);
                }
                double reskh = 0.5 * resk;
                double resasc = Wgk[10] * Math.Abs(fc - reskh);
                for (int j = 0; j < 10; j++)
                    resasc += Wgk[j] * (Math.Abs(fv[j * n + c] - reskh) + Math.Abs(fv[(11 + j) * n + c] - reskh));
                double result = resk * hlgth;
                resabs *= dhlgth;
                resasc *= dhlgth;
                double abserr = Math.Abs((resk - resg) * hlgth);
                if (resasc != 0 && abserr != 0) abserr = resasc * Math.Min(1.0, Math.Pow(200 * abserr / resasc, 1.5));
                if (resabs > double.Epsilon / (50 * double.Epsilon)) abserr = Math.Max(50 * double.Epsilon * resabs, abserr);
                if (!double.IsFinite(result)) abserr = double.PositiveInfinity;
                _res[s * n + c] = result;
                _err[s * n + c] = abserr;
                _abs[s * n + c] = resabs;
            }
            _lo[s] = a; _hi[s] = b; _frozen[s] = false;
        }

        public (int, bool) Run(VectorIntegrand f, double a, double b, ReadOnlySpan<double> breakpoints,
            double relTol, ReadOnlySpan<double> absTol, int maxSeg,
            Span<double> result, Span<double> error, Span<double> absIntegral)
        {
            _busy = true;
            try { return RunCore(f, a, b, breakpoints, relTol, absTol, maxSeg, result, error, absIntegral); }
            finally { _busy = false; }
        }

        private (int, bool) RunCore(VectorIntegrand f, double a, double b, ReadOnlySpan<double> breakpoints,
            double relTol, ReadOnlySpan<double> absTol, int maxSeg,
            Span<double> result, Span<double> error, Span<double> absIntegral)
        {
            int n = _n;
            double sign = 1;
            if (b < a) { (a, b) = (b, a); sign = -1; }
            if (a == b)
            {
                result[..n].Clear(); error[..n].Clear(); absIntegral[..n].Clear();
                return (0, true);
            }
            // initial partition at the breakpoints strictly inside (a, b), in ascending order
            Span<double> cuts = breakpoints.Length <= 64 ? stackalloc double[breakpoints.Length] : new double[breakpoints.Length];
            int nc = 0;
            foreach (double p in breakpoints)
                if (p > a && p < b && double.IsFinite(p)) cuts[nc++] = p;
            cuts = cuts[..nc];
            cuts.Sort();
            int segs = 0, evals = 0;
            EnsureCapacity(nc + 1);
            double left = a;
            for (int i = 0; i <= nc; i++)
            {
                double right = i < nc ? cuts[i] : b;
                if (right <= left) continue;
                Rule(f, left, right, segs++);
                evals += 21;
                left = right;
            }
            bool converged = false;
            while (true)
            {
                for (int c = 0; c < n; c++) { _tot[c] = 0; _totErr[c] = 0; _totAbs[c] = 0; }
                for (int s = 0; s < segs; s++)
                    for (int c = 0; c < n; c++)
                    {
                        _tot[c] += _res[s * n + c];
                        _totErr[c] += _err[s * n + c];
                        _totAbs[c] += _abs[s * n + c];
                    }
                bool ok = true;
                for (int c = 0; c < n; c++)
                {
                    // the rounding floor (200ε∫|f|) keeps heavily cancelling integrals from looping forever
                    _tol[c] = Math.Max(Math.Max(absTol[c], relTol * Math.Abs(_tot[c])), 200 * double.Epsilon * _totAbs[c]);
                    if (!(_totErr[c] <= _tol[c])) ok = false;
                }
                if (ok) { converged = true; break; }
                if (segs >= maxSeg) break;
                int worst = -1;
                double worstScore = -1;
                for (int s = 0; s < segs; s++)
                {
                    if (_frozen[s]) continue;
                    double score = 0;
                    for (int c = 0; c < n; c++)
                    {
                        double e = _err[s * n + c];
                        double sc = _tol[c] > 0 ? e / _tol[c] : (e > 0 ? double.PositiveInfinity : 0);
                        if (double.IsNaN(sc)) sc = double.PositiveInfinity;
                        if (sc > score) score = sc;
                    }
                    if (score > worstScore) { worstScore = score; worst = s; }
                }
                if (worst < 0 || worstScore <= 0) break;
                double lo = _lo[worst], hi = _hi[worst], mid = 0.5 * (lo + hi);
                if (!(mid > lo && mid < hi) || hi - lo <= 1e-14 * Math.Max(Math.Abs(lo), Math.Abs(hi)))
                {
                    _frozen[worst] = true;   // cannot split further in double precision
                    continue;
                }
                EnsureCapacity(segs + 1);
                Rule(f, lo, mid, worst);
                Rule(f, mid, hi, segs++);
                evals += 42;
            }
            for (int c = 0; c < n; c++)
            {
                result[c] = sign * _tot[c];
                error[c] = _totErr[c];
                absIntegral[c] = _totAbs[c];
            }
            return (evals, converged);
        }

        public (int, bool) RunToInfinity(VectorIntegrand f, double a, double scale, ReadOnlySpan<double> breakpoints,
            double relTol, double absTol, double maxLen, Span<double> result, Span<double> error)
        {
            int n = _n;
            // Finite part up to the last breakpoint, then the tail.
            double start = a;
            foreach (double p in breakpoints) if (double.IsFinite(p) && p > start) start = p;
            Span<double> tot = stackalloc double[n], err = stackalloc double[n], r = stackalloc double[n],
                e = stackalloc double[n], abs = stackalloc double[n], prevAbs = stackalloc double[n], tolAbs = stackalloc double[n];
            tot.Clear(); err.Clear();
            int evals = 0;
            bool allOk = true;
            if (start > a)
            {
                var (ev, ok) = Integrate(f, n, a, start, r, e, abs, relTol, absTol, breakpoints);
                evals += ev; allOk &= ok;
                for (int c = 0; c < n; c++) { tot[c] += r[c]; err[c] += e[c]; }
            }
            double lo = start, len = Math.Min(scale, maxLen);
            int decayingRuns = 0;
            bool havePrev = false, tailDone = false;
            for (int k = 0; k < 4000; k++)
            {
                double hi = lo + len;
                if (!double.IsFinite(hi) || hi > 1e300) break;
                for (int c = 0; c < n; c++) tolAbs[c] = Math.Max(absTol, 0.05 * relTol * Math.Abs(tot[c]));
                var ws = Get(n);
                ws._busy = true;
                (int ev, bool ok) res;
                try { res = ws.RunCore(f, lo, hi, default, relTol, tolAbs, DefaultMaxSubintervals, r, e, abs); }
                finally { ws._busy = false; }
                evals += res.Item1; allOk &= res.Item2;
                for (int c = 0; c < n; c++) { tot[c] += r[c]; err[c] += e[c]; }
                // Remainder ≈ geometric continuation of ∫|f| per interval (intervals double in length).
                bool decaying = havePrev;
                if (havePrev)
                    for (int c = 0; c < n && decaying; c++)
                    {
                        if (abs[c] == 0 && prevAbs[c] == 0) continue;
                        double ratio = prevAbs[c] > 0 ? abs[c] / prevAbs[c] : double.PositiveInfinity;
                        if (!(ratio < 0.99)) { decaying = false; break; }
                        double remainder = abs[c] * ratio / (1 - ratio);
                        double tol = Math.Max(absTol, relTol * Math.Abs(tot[c]));
                        if (!(remainder <= 0.1 * tol)) decaying = false;
                    }
                decayingRuns = decaying ? decayingRuns + 1 : 0;
                abs.CopyTo(prevAbs);
                havePrev = true;
                if (decayingRuns >= 2) { tailDone = true; break; }
                lo = hi;
                len = Math.Min(2 * len, maxLen);
            }
            // a tail whose decay was never established has an unbounded remainder: report it as an infinite error
            for (int c = 0; c < n; c++) { result[c] = tot[c]; error[c] = tailDone ? err[c] : double.PositiveInfinity; }
            return (evals, allOk && tailDone);
        }
    }
}
