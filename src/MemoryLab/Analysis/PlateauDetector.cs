namespace MemoryLab.Analysis;

/// <summary>Settings of <see cref="PlateauDetector"/>; every threshold of the plateau definition is here.</summary>
public sealed record PlateauDetectorOptions
{
    /// <summary>Flatness: on a plateau the smoothed loss falls by less than this fraction per decade of steps
    /// (default 10%, i.e. a log-log slope below σ_max = −log₁₀(0.9) ≈ 0.046 decades of loss per decade of steps).</summary>
    public double MaxDecreasePerDecade { get; init; } = 0.10;
    /// <summary>Noise allowance z: a point counts as flat when its measured slope is within z standard errors of
    /// σ_max (no significant evidence of faster decrease). 0 turns it off for noise-free curves.</summary>
    public double NoiseAllowance { get; init; } = 2.0;
    /// <summary>Length: a plateau spans at least this many decades of steps, s₂ ≥ 10^L·s₁ (default 0.5: s₂ ≥ 3.16·s₁).</summary>
    public double MinLengthDecades { get; init; } = 0.5;
    /// <summary>Exit: before the curve turns flat again, the smoothed loss must fall at least this fraction below its
    /// level at the plateau's end (default 30%); a converged tail never does.</summary>
    public double MinDropAfter { get; init; } = 0.30;
    /// <summary>Exit: the steepest fall of log-loss per step (linear steps) in the exit phase (from the plateau's end,
    /// past the exit point, until the curve is flat again) must be at least this many times the steepest fall per
    /// step the flatness test allows at the plateau's end (default 2). A plateau ends in an acceleration of learning; a smooth exponential decay keeps a
    /// constant rate per step (ratio 1) and a power law slows down (ratio &lt; 1), although on a log-step axis
    /// both look flat over their first steps.</summary>
    public double MinAcceleration { get; init; } = 2.0;
    /// <summary>Resolution of the log-step grid the smoothed curve lives on.</summary>
    public int PointsPerDecade { get; init; } = 50;
    /// <summary>Running-median window half-width in decades of steps (log-spaced windows: ±12% in steps by default).</summary>
    public double SmoothingHalfWidthDecades { get; init; } = 0.05;
    /// <summary>Smallest number of raw points in a median window; windows widen (to the nearest points) where the
    /// log axis is sparse, i.e. the first few steps. Each window's value is placed at the median step of its
    /// points, so the analysed range starts near step (this + 1)/2: a log-step analysis cannot resolve less.</summary>
    public int MinPointsPerWindow { get; init; } = 9;
    /// <summary>Half-width in decades of the centred difference that gives the local log-log slope.</summary>
    public double SlopeHalfWidthDecades { get; init; } = 0.1;
    /// <summary>Flat stretches separated by a non-flat gap of at most this many decades are merged when the merged
    /// stretch still passes the flatness test on average (bridges noise spikes).</summary>
    public double MaxGapDecades { get; init; } = 0.1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(MaxDecreasePerDecade > 0 && MaxDecreasePerDecade < 1)) throw new ArgumentException($"max decrease per decade must lie in (0, 1) (got {MaxDecreasePerDecade})");
        if (!(NoiseAllowance >= 0) || double.IsInfinity(NoiseAllowance)) throw new ArgumentException($"noise allowance must be finite and ≥ 0 (got {NoiseAllowance})");
        if (!(MinLengthDecades > 0)) throw new ArgumentException($"min length must be positive (got {MinLengthDecades} decades)");
        if (!(MinDropAfter > 0 && MinDropAfter < 1)) throw new ArgumentException($"min drop after a plateau must lie in (0, 1) (got {MinDropAfter})");
        if (!(MinAcceleration >= 1)) throw new ArgumentException($"min acceleration must be ≥ 1 (got {MinAcceleration})");
        if (PointsPerDecade < 4) throw new ArgumentException($"points per decade must be ≥ 4 (got {PointsPerDecade})");
        if (!(SmoothingHalfWidthDecades >= 0)) throw new ArgumentException($"smoothing half-width must be ≥ 0 (got {SmoothingHalfWidthDecades})");
        if (MinPointsPerWindow < 1) throw new ArgumentException($"min points per window must be ≥ 1 (got {MinPointsPerWindow})");
        if (!(SlopeHalfWidthDecades > 0)) throw new ArgumentException($"slope half-width must be positive (got {SlopeHalfWidthDecades})");
        if (!(MaxGapDecades >= 0)) throw new ArgumentException($"max gap must be ≥ 0 (got {MaxGapDecades})");
    }
}

/// <summary>One detected plateau.</summary>
/// <param name="StartStep">s₁, first step of the plateau (on the log-step grid).</param>
/// <param name="EndStep">s₂, last step of the plateau.</param>
/// <param name="LossLevel">Median of the smoothed loss over the plateau.</param>
/// <param name="Decades">log₁₀(s₂/s₁).</param>
/// <param name="ExitStep">First step after s₂ where the smoothed loss is <see cref="PlateauDetectorOptions.MinDropAfter"/> below its value at s₂ (an escape time measured on the curve).</param>
/// <param name="Acceleration">Steepest fall of log-loss per step in the exit phase divided by the steepest the flatness test allows at s₂.</param>
public sealed record Plateau(double StartStep, double EndStep, double LossLevel, double Decades, double ExitStep, double Acceleration)
{
    /// <summary>s₂ − s₁.</summary>
    public double Steps => EndStep - StartStep;
}

/// <summary>Result of <see cref="PlateauDetector.Detect(ReadOnlySpan{double}, ReadOnlySpan{double}, PlateauDetectorOptions?)"/>.</summary>
/// <param name="Plateaus">Plateaus in step order.</param>
/// <param name="GridSteps">The log-spaced steps the smoothed curve is given on (the analysed range: from about step
/// (<see cref="PlateauDetectorOptions.MinPointsPerWindow"/> + 1)/2 of a per-step curve to the last step).</param>
/// <param name="SmoothedLoss">Running median of the loss (in log space) at <paramref name="GridSteps"/>.</param>
/// <param name="Slope">Local decrease rate σ = −d log₁₀L / d log₁₀s of the smoothed curve (decades of loss per decade of steps).</param>
/// <param name="FlatBound">The largest σ that still counts as flat at each grid step: σ_max + z·(standard error of σ).</param>
public sealed record PlateauSummary(IReadOnlyList<Plateau> Plateaus, double[] GridSteps, double[] SmoothedLoss, double[] Slope, double[] FlatBound)
{
    /// <summary>Number of plateaus.</summary>
    public int Count => Plateaus.Count;
    /// <summary>Σ (s₂ − s₁).</summary>
    public double TotalSteps => Plateaus.Sum(p => p.Steps);
    /// <summary>Σ log₁₀(s₂/s₁).</summary>
    public double TotalDecades => Plateaus.Sum(p => p.Decades);
}

/// <summary>
/// Finds plateaus in a loss curve (Li21 Fig. 1: long stretches of no progress that end in a sudden drop).
/// </summary>
/// <remarks>
/// <para>Smoothing. With u = log₁₀ s, raw log-losses are replaced by running medians over windows of
/// ±<see cref="PlateauDetectorOptions.SmoothingHalfWidthDecades"/> (log-spaced windows, widened to at least
/// <see cref="PlateauDetectorOptions.MinPointsPerWindow"/> points where steps are sparse), each placed at the median u
/// of its points, and interpolated onto a uniform u-grid: ℓ̃(u). Each median carries a standard error
/// 1.2533·σ̂/√n, σ̂ from the median absolute second difference of the raw log-losses in the window (robust to
/// trend and outliers). The local decrease rate is σ(u) = [ℓ̃(u − h) − ℓ̃(u + h)] / 2h.</para>
/// <para>Definition. A grid point is flat when σ ≤ σ_max + z·SE(σ), σ_max = −log₁₀(1 − f): the loss falls by less
/// than the fraction f per decade of steps, up to noise. A plateau is a maximal run [s₁, s₂] of flat points
/// (runs split by gaps ≤ <see cref="PlateauDetectorOptions.MaxGapDecades"/> are merged if flat on average) with
/// (1) s₂ ≥ 10^L·s₁;
/// (2) a drop after it: in its exit phase (from s₂ until the curve is flat again beyond a bridgeable gap) some s₃ has
/// ℓ̃(s₃) ≤ ℓ̃(s₂) + log₁₀(1 − d), s₃ the first (a converged tail has none, nor does a small step between plateaus);
/// (3) an acceleration: max [σ(s) − z·SE(σ)]/s over the exit phase ≥ a·bound(s₂)/s₂,
/// i.e. the log-loss falls per step at least a times faster than a flat stretch may at its end. Without (3) the
/// start of any smooth decay would qualify; with it, e^{−s/τ} (constant rate per step, ratio ≈ 1) and power laws
/// (slowing down, ratio &lt; 1) never do.</para>
/// <para>Steps must increase; points with s ≤ 0 or a non-finite or non-positive loss are ignored (log scales).
/// The same definition applies to gradient-flow curves with τ in place of s.</para>
/// </remarks>
public static class PlateauDetector
{
    /// <summary>Detects plateaus in a curve given per step, step i being s = i + 1.</summary>
    public static PlateauSummary Detect(ReadOnlySpan<double> losses, PlateauDetectorOptions? options = null)
    {
        var steps = new double[losses.Length];
        for (int i = 0; i < steps.Length; i++) steps[i] = i + 1;
        return Detect(steps, losses, options);
    }

    /// <summary>Detects plateaus in the curve (s_i, L_i); steps must increase.</summary>
    public static PlateauSummary Detect(ReadOnlySpan<double> steps, ReadOnlySpan<double> losses, PlateauDetectorOptions? options = null)
    {
        var o = options ?? new PlateauDetectorOptions();
        o.Validate();
        if (steps.Length != losses.Length) throw new ArgumentException($"steps ({steps.Length}) and losses ({losses.Length}) differ in length");
        var u = new List<double>(steps.Length);
        var l = new List<double>(steps.Length);
        for (int i = 0; i < steps.Length; i++)
        {
            if (i > 0 && !(steps[i] > steps[i - 1])) throw new ArgumentException($"steps must increase (entry {i}: {steps[i]} after {steps[i - 1]})", nameof(steps));
            if (!(steps[i] > 0) || !(losses[i] > 0) || !double.IsFinite(losses[i]) || !double.IsFinite(steps[i])) continue;
            u.Add(Math.Log10(steps[i]));
            l.Add(Math.Log10(losses[i]));
        }
        var empty = new PlateauSummary([], [], [], [], []);
        double du = 1.0 / o.PointsPerDecade;
        if (u.Count < 3 || u[^1] - u[0] < 2 * du) return empty;

        // 1. Running medians (with standard errors) placed at their windows' median log-step, then onto a uniform grid.
        var (nodeU, nodeL, nodeSe) = SmoothMedian(u, l, du, o.SmoothingHalfWidthDecades, o.MinPointsPerWindow);
        if (nodeU.Length < 2 || nodeU[^1] - nodeU[0] < 2 * du) return empty;
        double u0 = nodeU[0], u1 = nodeU[^1];
        int g = (int)Math.Ceiling((u1 - u0) / du - 1e-9) + 1;
        var grid = new double[g];
        for (int k = 0; k < g; k++) grid[k] = Math.Min(u0 + k * du, u1);
        var smooth = new double[g];
        for (int k = 0; k < g; k++) smooth[k] = Interp(nodeU, nodeL, grid[k]);

        // 2. Local decrease rate σ by a centred difference (one-sided and shorter at the ends), and the flat bound.
        double maxSlope = -Math.Log10(1 - o.MaxDecreasePerDecade);
        double minDrop = -Math.Log10(1 - o.MinDropAfter);
        var slope = new double[g];
        var slopeError = new double[g];
        var bound = new double[g];
        for (int k = 0; k < g; k++)
        {
            double a = Math.Max(u0, grid[k] - o.SlopeHalfWidthDecades), b = Math.Min(u1, grid[k] + o.SlopeHalfWidthDecades);
            slope[k] = (Interp(nodeU, nodeL, a) - Interp(nodeU, nodeL, b)) / (b - a);
            slopeError[k] = DifferenceError(nodeU, nodeSe, a, b);
            bound[k] = maxSlope + o.NoiseAllowance * slopeError[k];
        }

        // 3. Maximal flat runs; short gaps are bridged when the merged run is flat on average.
        var runs = new List<(int Start, int End)>();
        for (int k = 0; k < g; k++)
        {
            if (slope[k] > bound[k]) continue;
            int e = k;
            while (e + 1 < g && slope[e + 1] <= bound[e + 1]) e++;
            if (runs.Count > 0)
            {
                var (ps, pe) = runs[^1];
                double mean = (smooth[ps] - smooth[e]) / (grid[e] - grid[ps]);
                double meanBound = maxSlope + o.NoiseAllowance * DifferenceError(nodeU, nodeSe, grid[ps], grid[e]);
                if (grid[k] - grid[pe] <= o.MaxGapDecades + 1e-12 && mean <= meanBound) { runs[^1] = (ps, e); k = e; continue; }
            }
            runs.Add((k, e));
            k = e;
        }

        // 4. Keep runs that are long enough and end in an accelerating drop.
        var plateaus = new List<Plateau>();
        foreach (var (s, e) in runs)
        {
            if (grid[e] - grid[s] < o.MinLengthDecades - 1e-12) continue;
            // Exit phase: from s₂ on until the curve is flat again for more than a bridgeable gap. The drop must be
            // reached inside it (a plateau ends in its own drop, not in one after the next plateau). Along the way
            // keep the steepest fall of log-loss per step, σ/s (up to ln 10), with σ at its lower noise bound
            // σ − z·SE, the mirror of the flatness test, so a noise spike cannot fake an acceleration.
            int exit = -1, flatSince = -1;
            double steepest = 0;
            for (int k = e + 1; k < g; k++)
            {
                if (slope[k] <= bound[k])
                {
                    if (exit >= 0) break;
                    if (flatSince < 0) flatSince = k;
                    if (grid[k] - grid[flatSince] > o.MaxGapDecades + 1e-12) break;
                    continue;
                }
                flatSince = -1;
                steepest = Math.Max(steepest, (slope[k] - o.NoiseAllowance * slopeError[k]) / Math.Pow(10, grid[k]));
                if (exit < 0 && smooth[k] <= smooth[e] - minDrop) exit = k;
            }
            if (exit < 0) continue;
            double s2 = Math.Pow(10, grid[e]);
            double accel = steepest / (bound[e] / s2);
            if (accel < o.MinAcceleration) continue;
            var level = smooth.AsSpan(s, e - s + 1).ToArray();
            Array.Sort(level);
            plateaus.Add(new Plateau(Math.Pow(10, grid[s]), s2, Math.Pow(10, level[level.Length / 2]), grid[e] - grid[s], Math.Pow(10, grid[exit]), accel));
        }
        return new PlateauSummary(plateaus,
            grid.Select(x => Math.Pow(10, x)).ToArray(),
            smooth.Select(x => Math.Pow(10, x)).ToArray(),
            slope, bound);
    }

    // Standard error of [ℓ̃(a) − ℓ̃(b)] / (b − a) with independent medians at a and b.
    private static double DifferenceError(double[] nodeU, double[] nodeSe, double a, double b)
    {
        double sa = Interp(nodeU, nodeSe, a), sb = Interp(nodeU, nodeSe, b);
        return Math.Sqrt(sa * sa + sb * sb) / (b - a);
    }

    // Running medians of l over windows |u − c| ≤ halfWidth with centres c every du, each widened symmetrically to at
    // least minPoints points. A window's node sits at the median u of its points (repeats dropped) and carries the
    // standard error of its median, 1.2533·σ̂/√n with σ̂ = median|Δ²l| / (0.6745·√6) (second differences cancel a
    // locally linear trend; the MAD resists outliers).
    private static (double[] U, double[] L, double[] Se) SmoothMedian(List<double> u, List<double> l, double du, double halfWidth, int minPoints)
    {
        int n = u.Count;
        var nodeU = new List<double>();
        var nodeL = new List<double>();
        var nodeSe = new List<double>();
        var buffer = new double[n];
        int lo = 0, hi = -1; // points inside the unwidened window; both ends move forward monotonically
        int centres = (int)Math.Ceiling((u[^1] - u[0]) / du - 1e-9) + 1;
        for (int k = 0; k < centres; k++)
        {
            double c = Math.Min(u[0] + k * du, u[^1]);
            while (lo < n && u[lo] < c - halfWidth - 1e-12) lo++;
            if (hi < lo - 1) hi = lo - 1;
            while (hi + 1 < n && u[hi + 1] <= c + halfWidth + 1e-12) hi++;
            int wlo = lo, whi = hi;
            if (whi - wlo + 1 < minPoints)
            {
                if (whi < wlo)
                {
                    int m = Math.Min(lo, n - 1);
                    if (m > 0 && Math.Abs(u[m - 1] - c) < Math.Abs(u[m] - c)) m--;
                    wlo = whi = m;
                }
                while (whi - wlo + 1 < Math.Min(minPoints, n))
                {
                    bool canLeft = wlo > 0, canRight = whi + 1 < n;
                    if (canLeft && (!canRight || c - u[wlo - 1] <= u[whi + 1] - c)) wlo--;
                    else whi++;
                }
            }
            int count = whi - wlo + 1;
            double mu = count % 2 == 1 ? u[wlo + count / 2] : 0.5 * (u[wlo + count / 2 - 1] + u[wlo + count / 2]);
            if (nodeU.Count > 0 && mu <= nodeU[^1] + 1e-12) continue;
            for (int i = 0; i < count; i++) buffer[i] = l[wlo + i];
            Array.Sort(buffer, 0, count);
            double median = count % 2 == 1 ? buffer[count / 2] : 0.5 * (buffer[count / 2 - 1] + buffer[count / 2]);
            double se = 0;
            if (count >= 3)
            {
                for (int i = 0; i + 2 < count; i++) buffer[i] = Math.Abs(l[wlo + i] - 2 * l[wlo + i + 1] + l[wlo + i + 2]);
                int m2 = count - 2;
                Array.Sort(buffer, 0, m2);
                double mad = m2 % 2 == 1 ? buffer[m2 / 2] : 0.5 * (buffer[m2 / 2 - 1] + buffer[m2 / 2]);
                se = 1.2533 * mad / (0.6745 * Math.Sqrt(6.0)) / Math.Sqrt(count);
            }
            nodeU.Add(mu);
            nodeL.Add(median);
            nodeSe.Add(se);
        }
        return (nodeU.ToArray(), nodeL.ToArray(), nodeSe.ToArray());
    }

    private static double Interp(double[] x, double[] y, double at)
    {
        if (at <= x[0]) return y[0];
        if (at >= x[^1]) return y[^1];
        int i = Array.BinarySearch(x, at);
        if (i >= 0) return y[i];
        i = ~i;
        double w = (at - x[i - 1]) / (x[i] - x[i - 1]);
        return y[i - 1] + w * (y[i] - y[i - 1]);
    }
}
