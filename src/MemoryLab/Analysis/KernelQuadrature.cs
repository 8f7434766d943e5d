namespace MemoryLab.Analysis;

/// <summary>Gauss–Legendre rules on [−1, 1], nodes by Newton's method on the three-term recurrence.</summary>
public static class GaussLegendre
{
    /// <summary>The n-point rule (exact for polynomials of degree ≤ 2n − 1): nodes increasing, weights summing to 2.</summary>
    public static (double[] Nodes, double[] Weights) Rule(int n)
    {
        if (n < 1 || n > 512) throw new ArgumentOutOfRangeException(nameof(n), n, "the number of Gauss–Legendre nodes must lie in [1, 512]");
        var x = new double[n];
        var w = new double[n];
        for (int i = 0; i < (n + 1) / 2; i++)
        {
            double z = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5)); // Tricomi's initial guess
            double dp = 0;
            for (int iter = 0; iter < 100; iter++)
            {
                double p0 = 1, p1 = z;
                for (int k = 2; k <= n; k++) (p0, p1) = (p1, ((2 * k - 1) * z * p1 - (k - 1) * p0) / k);
                dp = n * (z * p1 - p0) / (z * z - 1);
                double dz = p1 / dp;
                z -= dz;
                if (Math.Abs(dz) < 1e-16) break;
            }
            {
                double p0 = 1, p1 = z;
                for (int k = 2; k <= n; k++) (p0, p1) = (p1, ((2 * k - 1) * z * p1 - (k - 1) * p0) / k);
                dp = n * (z * p1 - p0) / (z * z - 1);
            }
            x[n - 1 - i] = z; x[i] = -z;
            double wi = 2 / ((1 - z * z) * dp * dp);
            w[i] = wi; w[n - 1 - i] = wi;
        }
        if (n % 2 == 1) x[n / 2] = 0;
        return (x, w);
    }
}

/// <summary>Settings of <see cref="KernelQuadrature.FromFunction"/>.</summary>
public sealed record KernelQuadratureOptions
{
    /// <summary>Gauss–Legendre nodes per panel.</summary>
    public int PointsPerPanel { get; init; } = 16;
    /// <summary>Longest panel as a fraction of the horizon (long panels are split evenly).</summary>
    public double MaxPanelFraction { get; init; } = 1.0 / 32;
    /// <summary>Geometric grading towards t = 0: panel edges at T·2^{−k}, k = 1..this, so fast exponentials e^{−wt}
    /// (w up to ~10⁹/T) are integrated accurately.</summary>
    public int GradingLevels { get; init; } = 30;
    /// <summary>Extra panel edges, e.g. where ρ jumps or kinks (the "shift" kernel at 9 and 11): Gauss rules are
    /// accurate only for integrands smooth inside each panel.</summary>
    public double[]? Breakpoints { get; init; }
    /// <summary>What happens beyond the horizon T (default: integrate to ∞ through the map t = T/u).</summary>
    public KernelTail Tail { get; init; } = KernelTail.Mapped;
    /// <summary>Geometric panels of the mapped tail, u ∈ [2^{−k−1}, 2^{−k}] for k &lt; this (t up to T·2^this), plus one to u = 0.</summary>
    public int TailLevels { get; init; } = 24;
}

/// <summary>How a kernel-space loss treats t beyond the quadrature horizon T.</summary>
public enum KernelTail
{
    /// <summary>Integrate on [0, T] only: J_T = ∫_0^T (ρ̂ − ρ)² (like a sampled loss on a finite window).</summary>
    Truncate,
    /// <summary>Take ρ = 0 beyond T and add the model's tail ∫_T^∞ ρ̂² in closed form (exact when ρ has died out by T).</summary>
    ClosedFormModelTail,
    /// <summary>Integrate ρ on [T, ∞) too, by Gauss–Legendre in u = T/t ∈ (0, 1] (dt = T du/u²) on panels graded towards
    /// u = 0: the full Li21 loss J = ∫_0^∞ (ρ̂ − ρ)², also for slowly decaying (power-law) kernels.</summary>
    Mapped,
}

/// <summary>
/// A memory kernel ρ discretised for kernel-space losses J = ∫(ρ̂ − ρ)² (Li21 §2): nodes t_q, weights ω_q,
/// values ρ(t_q), and optionally a horizon T beyond which ρ = 0 and the model's own tail is integrated in closed
/// form. Made from a function (composite Gauss–Legendre on panels graded towards 0, plus a mapped tail to ∞) or
/// from samples with weights of the caller's choosing (e.g. unit weights on t = 1..100 for Wang24's discrete kernels).
/// </summary>
public sealed class KernelQuadrature
{
    private KernelQuadrature(double[] nodes, double[] weights, double[] values, double? tailStart, double horizon)
    {
        Nodes = nodes; Weights = weights; Values = values; TailStart = tailStart; Horizon = horizon;
        double s = 0;
        for (int q = 0; q < nodes.Length; q++) s += weights[q] * values[q] * values[q];
        TargetNormSquared = s;
    }

    /// <summary>Quadrature nodes t_q (increasing, ≥ 0).</summary>
    public double[] Nodes { get; }
    /// <summary>Quadrature weights ω_q (&gt; 0).</summary>
    public double[] Weights { get; }
    /// <summary>ρ(t_q).</summary>
    public double[] Values { get; }
    /// <summary>Horizon T beyond which ρ = 0 and ∫_T^∞ ρ̂² is added in closed form; null: no tail term.</summary>
    public double? TailStart { get; }
    /// <summary>The kernel's time scale T: the horizon given to <see cref="FromFunction"/>, else the last sample (it sets
    /// default rate ranges, 1/T and up).</summary>
    public double Horizon { get; }
    /// <summary>‖ρ‖² = Σ ω_q ρ(t_q)².</summary>
    public double TargetNormSquared { get; }
    /// <summary>Number of nodes.</summary>
    public int Count => Nodes.Length;

    /// <summary>Discretises ρ on [0, <paramref name="horizon"/>] by composite Gauss–Legendre, and beyond it per
    /// <see cref="KernelQuadratureOptions.Tail"/> (default: mapped to ∞, so J is Li21's ∫_0^∞).</summary>
    public static KernelQuadrature FromFunction(Func<double, double> rho, double horizon, KernelQuadratureOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rho);
        var o = options ?? new KernelQuadratureOptions();
        if (!(horizon > 0) || double.IsInfinity(horizon)) throw new ArgumentException($"horizon must be positive and finite (got {horizon})", nameof(horizon));
        if (o.PointsPerPanel < 1) throw new ArgumentException($"points per panel must be ≥ 1 (got {o.PointsPerPanel})");
        if (!(o.MaxPanelFraction > 0 && o.MaxPanelFraction <= 1)) throw new ArgumentException($"max panel fraction must lie in (0, 1] (got {o.MaxPanelFraction})");
        if (o.GradingLevels < 0 || o.GradingLevels > 60) throw new ArgumentException($"grading levels must lie in [0, 60] (got {o.GradingLevels})");
        if (o.TailLevels < 0 || o.TailLevels > 60) throw new ArgumentException($"tail levels must lie in [0, 60] (got {o.TailLevels})");
        var edges = new SortedSet<double> { 0, horizon };
        for (int k = 1; k <= o.GradingLevels; k++) edges.Add(horizon * Math.Pow(2, -k));
        if (o.Breakpoints != null)
            foreach (var b in o.Breakpoints)
            {
                if (!double.IsFinite(b)) throw new ArgumentException($"breakpoint {b} is not finite");
                if (b > 0 && b < horizon) edges.Add(b);
            }
        var list = edges.ToList();
        var (gx, gw) = GaussLegendre.Rule(o.PointsPerPanel);
        double maxPanel = o.MaxPanelFraction * horizon;
        var nodes = new List<double>(); var weights = new List<double>();
        for (int p = 0; p + 1 < list.Count; p++)
        {
            double a = list[p], b = list[p + 1];
            int pieces = Math.Max(1, (int)Math.Ceiling((b - a) / maxPanel - 1e-12));
            for (int j = 0; j < pieces; j++)
            {
                double lo = a + (b - a) * j / pieces, hi = a + (b - a) * (j + 1) / pieces;
                double mid = 0.5 * (lo + hi), half = 0.5 * (hi - lo);
                for (int i = 0; i < gx.Length; i++) { nodes.Add(mid + half * gx[i]); weights.Add(half * gw[i]); }
            }
        }
        if (o.Tail == KernelTail.Mapped)
        {
            // ∫_T^∞ f(t) dt = ∫_0^1 f(T/u) T/u² du; panels [2^{−k−1}, 2^{−k}] then [0, 2^{−L}]. Nodes come out in
            // decreasing u, i.e. increasing t.
            var tailNodes = new List<(double T, double W)>();
            for (int k = 0; k <= o.TailLevels; k++)
            {
                double hi = Math.Pow(2, -k), lo = k == o.TailLevels ? 0 : hi / 2;
                double mid = 0.5 * (lo + hi), half = 0.5 * (hi - lo);
                for (int i = 0; i < gx.Length; i++)
                {
                    double uq = mid + half * gx[i];
                    tailNodes.Add((horizon / uq, half * gw[i] * horizon / (uq * uq)));
                }
            }
            foreach (var (t, w) in tailNodes.OrderBy(x => x.T)) { nodes.Add(t); weights.Add(w); }
        }
        var values = new double[nodes.Count];
        for (int q = 0; q < values.Length; q++)
        {
            values[q] = rho(nodes[q]);
            if (!double.IsFinite(values[q])) throw new ArgumentException($"ρ({nodes[q]}) = {values[q]} is not finite");
        }
        return new KernelQuadrature(nodes.ToArray(), weights.ToArray(), values, o.Tail == KernelTail.ClosedFormModelTail ? horizon : null, horizon);
    }

    /// <summary>A kernel given as samples with quadrature weights (e.g. a table, or unit weights for a discrete-time
    /// loss Σ_t (ρ̂(t) − ρ(t))²). <paramref name="tailStart"/>: see <see cref="TailStart"/>.</summary>
    public static KernelQuadrature FromSamples(double[] nodes, double[] weights, double[] values, double? tailStart = null)
    {
        ArgumentNullException.ThrowIfNull(nodes); ArgumentNullException.ThrowIfNull(weights); ArgumentNullException.ThrowIfNull(values);
        if (nodes.Length == 0) throw new ArgumentException("a kernel needs at least one sample");
        if (weights.Length != nodes.Length || values.Length != nodes.Length)
            throw new ArgumentException($"nodes ({nodes.Length}), weights ({weights.Length}) and values ({values.Length}) differ in length");
        for (int q = 0; q < nodes.Length; q++)
        {
            if (!(nodes[q] >= 0) || double.IsInfinity(nodes[q])) throw new ArgumentException($"node {q} = {nodes[q]} must be finite and ≥ 0");
            if (q > 0 && !(nodes[q] > nodes[q - 1])) throw new ArgumentException($"nodes must increase (node {q} = {nodes[q]} after {nodes[q - 1]})");
            if (!(weights[q] > 0) || double.IsInfinity(weights[q])) throw new ArgumentException($"weight {q} = {weights[q]} must be positive and finite");
            if (!double.IsFinite(values[q])) throw new ArgumentException($"value {q} = {values[q]} is not finite");
        }
        if (tailStart is { } t && !(t >= nodes[^1]) ) throw new ArgumentException($"tail start {t} must not precede the last node {nodes[^1]}");
        return new KernelQuadrature((double[])nodes.Clone(), (double[])weights.Clone(), (double[])values.Clone(), tailStart, tailStart ?? nodes[^1]);
    }

    /// <summary>Discrete kernel on t = first..first+count−1 with unit weights (Wang24's sampled kernels, e.g. 0.9^t on t = 1..100).</summary>
    public static KernelQuadrature Discrete(Func<double, double> rho, int first, int count)
    {
        ArgumentNullException.ThrowIfNull(rho);
        if (count <= 0) throw new ArgumentException($"count must be positive (got {count})", nameof(count));
        if (first < 0) throw new ArgumentException($"first step must be ≥ 0 (got {first})", nameof(first));
        var t = new double[count]; var w = new double[count]; var v = new double[count];
        for (int i = 0; i < count; i++) { t[i] = first + i; w[i] = 1; v[i] = rho(t[i]); }
        return FromSamples(t, w, v);
    }

    /// <summary>Σ ω_q f(t_q) (+ nothing for the tail): the quadrature of any function on the nodes.</summary>
    public double Integrate(Func<double, double> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        double s = 0;
        for (int q = 0; q < Nodes.Length; q++) s += Weights[q] * f(Nodes[q]);
        return s;
    }
}
