namespace MemoryLab.Analysis;

/// <summary>Settings of <see cref="PlateauDetector"/>; every threshold of the plateau definition is here. Lengths are
/// fractions of the run, because a plateau is judged on the linear step axis the loss is plotted against (Li, Han, E &amp;
/// Li, ICLR 2021, Fig. 1).</summary>
public sealed record PlateauDetectorOptions
{
    /// <summary>Flatness: over a plateau the smoothed loss never falls more than this fraction below its level at the
    /// plateau's start (default 10%). Rises are allowed.</summary>
    public double MaxFall { get; init; } = 0.10;
    /// <summary>Length: a plateau spans at least this fraction of the run's steps (default 5%).</summary>
    public double MinLengthFraction { get; init; } = 0.05;
    /// <summary>Exit: after the plateau the smoothed loss falls at least this fraction below the plateau's median level
    /// (default 30%); a converged tail never does.</summary>
    public double MinDropAfter { get; init; } = 0.30;
    /// <summary>Exit: the mean fall of log-loss per step from the plateau's end to the exit point must be at least this many
    /// times the mean fall per step over the plateau (default 2). A plateau ends in an acceleration of learning; a smooth
    /// exponential decay keeps a constant rate per step (ratio 1) and a power law slows down (ratio &lt; 1).</summary>
    public double MinAcceleration { get; init; } = 2.0;
    /// <summary>Half-width of the running median of log-loss, as a fraction of the run (default 1%).</summary>
    public double SmoothingFraction { get; init; } = 0.01;
    /// <summary>Number of equally spaced steps the smoothed curve is evaluated at (at most one per step).</summary>
    public int GridPoints { get; init; } = 1000;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(MaxFall > 0 && MaxFall < 1)) throw new ArgumentException($"max fall over a plateau must lie in (0, 1) (got {MaxFall})");
        if (!(MinLengthFraction > 0 && MinLengthFraction < 1)) throw new ArgumentException($"min length must lie in (0, 1) of the run (got {MinLengthFraction})");
        if (!(MinDropAfter > 0 && MinDropAfter < 1)) throw new ArgumentException($"min drop after a plateau must lie in (0, 1) (got {MinDropAfter})");
        if (!(MinAcceleration >= 1) || double.IsInfinity(MinAcceleration)) throw new ArgumentException($"min acceleration must be finite and ≥ 1 (got {MinAcceleration})");
        if (!(SmoothingFraction >= 0 && SmoothingFraction < 0.5)) throw new ArgumentException($"smoothing half-width must lie in [0, 0.5) of the run (got {SmoothingFraction})");
        if (GridPoints < 10) throw new ArgumentException($"grid points must be ≥ 10 (got {GridPoints})");
    }
}

/// <summary>One detected plateau.</summary>
/// <param name="StartStep">s₁, first step of the plateau.</param>
/// <param name="EndStep">s₂, last step before the smoothed loss falls more than <see cref="PlateauDetectorOptions.MaxFall"/> below its level at s₁.</param>
/// <param name="LossLevel">Median of the smoothed loss over [s₁, s₂].</param>
/// <param name="ExitStep">First step after s₂ where the smoothed loss is <see cref="PlateauDetectorOptions.MinDropAfter"/> below the plateau's level (an escape time read on the curve).</param>
/// <param name="Acceleration">Mean fall of log-loss per step from s₂ to the exit divided by that over the plateau.</param>
/// <param name="Fraction">(s₂ − s₁) / run length.</param>
public sealed record Plateau(double StartStep, double EndStep, double LossLevel, double ExitStep, double Acceleration, double Fraction)
{
    /// <summary>s₂ − s₁.</summary>
    public double Steps => EndStep - StartStep;
}

/// <summary>Result of <see cref="PlateauDetector.Detect(ReadOnlySpan{double}, PlateauDetectorOptions?)"/>.</summary>
/// <param name="Plateaus">Plateaus in step order.</param>
/// <param name="GridSteps">The equally spaced steps the smoothed curve is given at.</param>
/// <param name="SmoothedLoss">Running median of the loss (taken in log space) at <paramref name="GridSteps"/>.</param>
public sealed record PlateauSummary(IReadOnlyList<Plateau> Plateaus, double[] GridSteps, double[] SmoothedLoss)
{
    /// <summary>Number of plateaus.</summary>
    public int Count => Plateaus.Count;
    /// <summary>Σ (s₂ − s₁).</summary>
    public double TotalSteps => Plateaus.Sum(p => p.Steps);
    /// <summary>Σ (s₂ − s₁) / run length.</summary>
    public double TotalFraction => Plateaus.Sum(p => p.Fraction);
}

/// <summary>
/// Finds plateaus in a training curve on the linear step axis, as Li, Han, E &amp; Li (ICLR 2021, Fig. 1) plot and read them:
/// a plateau is a stretch of at least <see cref="PlateauDetectorOptions.MinLengthFraction"/> of the run over which the
/// smoothed loss stays within <see cref="PlateauDetectorOptions.MaxFall"/> of its starting level, followed by a drop of
/// <see cref="PlateauDetectorOptions.MinDropAfter"/> below that level that is faster per step than the plateau by
/// <see cref="PlateauDetectorOptions.MinAcceleration"/>. A plateau starts at a settled point (at most half the band above
/// the stretch's median level). The curve is first smoothed by a running median of log-loss (half-width
/// <see cref="PlateauDetectorOptions.SmoothingFraction"/> of the run) at equally spaced steps.
/// Scanning starts from the earliest step; after a plateau it resumes at that plateau's exit.
/// </summary>
public static class PlateauDetector
{
    /// <summary>Plateaus of a per-step loss curve (losses[k] at step k + 1). Non-finite or non-positive losses are skipped
    /// by the median windows.</summary>
    public static PlateauSummary Detect(ReadOnlySpan<double> losses, PlateauDetectorOptions? options = null)
    {
        options ??= new PlateauDetectorOptions();
        options.Validate();
        int n = losses.Length;
        if (n < 10) throw new ArgumentException($"a curve needs at least 10 steps (got {n})", nameof(losses));
        var logLoss = new double[n];
        for (int k = 0; k < n; k++) logLoss[k] = losses[k] > 0 && double.IsFinite(losses[k]) ? Math.Log10(losses[k]) : double.NaN;

        int g = Math.Min(options.GridPoints, n);
        int half = (int)Math.Round(options.SmoothingFraction * n);
        var steps = new double[g];
        var level = new double[g];
        var window = new List<double>(2 * half + 1);
        for (int j = 0; j < g; j++)
        {
            int k = g == 1 ? 0 : (int)Math.Round(j * (n - 1) / (double)(g - 1));
            window.Clear();
            for (int q = Math.Max(0, k - half); q <= Math.Min(n - 1, k + half); q++)
                if (!double.IsNaN(logLoss[q])) window.Add(logLoss[q]);
            steps[j] = k + 1;
            level[j] = window.Count == 0 ? double.NaN : Statistics.Median(window);
        }

        double band = Math.Log10(1 - options.MaxFall);           // < 0
        double drop = Math.Log10(1 - options.MinDropAfter);      // < 0
        double minLength = options.MinLengthFraction * n;
        var plateaus = new List<Plateau>();
        int start = 0;
        while (start < g - 1)
        {
            if (double.IsNaN(level[start])) { start++; continue; }
            int end = start;
            while (end + 1 < g && !(level[end + 1] < level[start] + band)) end++;
            if (end == g - 1 || steps[end] - steps[start] < minLength) { start++; continue; }
            var flat = new List<double>();
            for (int j = start; j <= end; j++) if (!double.IsNaN(level[j])) flat.Add(level[j]);
            double plateauLevel = Statistics.Median(flat);
            // A start still on the descent into the plateau (above its median by more than half the band) would end the
            // stretch early, at the first noise dip 10% below that start: begin at a later, settled point instead.
            if (level[start] - plateauLevel > -band / 2) { start++; continue; }
            int exit = -1;
            for (int j = end + 1; j < g; j++)
                if (level[j] <= plateauLevel + drop) { exit = j; break; }
            if (exit < 0) { start++; continue; }
            double plateauRate = Math.Max(level[start] - level[end], 0) / (steps[end] - steps[start]);
            double exitRate = (level[end] - level[exit]) / (steps[exit] - steps[end]);
            double acceleration = plateauRate > 0 ? exitRate / plateauRate : double.PositiveInfinity;
            if (!(acceleration >= options.MinAcceleration)) { start++; continue; }
            plateaus.Add(new Plateau(steps[start], steps[end], Math.Pow(10, plateauLevel), steps[exit], acceleration, (steps[end] - steps[start]) / n));
            start = exit;
        }
        return new PlateauSummary(plateaus, steps, level.Select(l => Math.Pow(10, l)).ToArray());
    }
}
