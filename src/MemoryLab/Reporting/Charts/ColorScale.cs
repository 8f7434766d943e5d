namespace MemoryLab.Reporting.Charts;

/// <summary>
/// Maps data values to a position t ∈ [0, 1] on a <see cref="ColorMap"/>, and gives the colour bar its ticks.
/// </summary>
public abstract class ColorScale
{
    /// <summary>Position of <paramref name="value"/> on the colour map, clamped to [0, 1]; NaN for NaN/∞ input.</summary>
    public abstract double Map(double value);

    /// <summary>Labelled ticks for the colour bar (values inside the scale's range).</summary>
    public abstract IReadOnlyList<Tick> Ticks(int maxTicks);

    /// <summary>Lowest value of the range (maps to 0).</summary>
    public abstract double Min { get; }

    /// <summary>Highest value of the range (maps to 1).</summary>
    public abstract double Max { get; }

    /// <summary>Linear scale <c>t = (v − min)/(max − min)</c>.</summary>
    public static ColorScale Linear(double min, double max) => new LinearColorScale(min, max);

    /// <summary>Logarithmic scale <c>t = log(v/min)/log(max/min)</c> for positive data.</summary>
    public static ColorScale Log(double min, double max) => new LogColorScale(min, max);

    /// <summary>
    /// Symmetric log scale for signed data spanning many decades (Hessians, Zucchet24 Fig. 4): linear for
    /// |v| ≤ c, logarithmic beyond, <c>f(v) = v/c</c> if |v| ≤ c else <c>sign(v)(1 + log10(|v|/c))</c>;
    /// <c>t = ½ + ½ f(v)/f(maxAbs)</c>, so 0 is the map's centre and each decade beyond c gets equal room.
    /// </summary>
    /// <param name="maxAbs">Largest |v| shown (maps to the ends).</param>
    /// <param name="linearThreshold">c &gt; 0; defaults to maxAbs·10⁻³ (three decades of log range).</param>
    public static ColorScale SymLog(double maxAbs, double? linearThreshold = null) => new SymLogColorScale(maxAbs, linearThreshold ?? maxAbs * 1e-3);
}

/// <summary>Linear colour scale; see <see cref="ColorScale.Linear"/>.</summary>
public sealed class LinearColorScale : ColorScale
{
    /// <summary>Creates the scale; <paramref name="max"/> must exceed <paramref name="min"/>, both finite.</summary>
    public LinearColorScale(double min, double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(max > min))
            throw new ArgumentException($"linear colour scale needs finite min < max, got [{min}, {max}]");
        Min = min; Max = max;
    }

    /// <inheritdoc/>
    public override double Min { get; }
    /// <inheritdoc/>
    public override double Max { get; }

    /// <inheritdoc/>
    public override double Map(double value) => double.IsFinite(value) ? Math.Clamp((value - Min) / (Max - Min), 0, 1) : double.NaN;

    /// <inheritdoc/>
    public override IReadOnlyList<Tick> Ticks(int maxTicks) => TickGenerator.Linear(Min, Max, maxTicks).Major;
}

/// <summary>Logarithmic colour scale; see <see cref="ColorScale.Log"/>.</summary>
public sealed class LogColorScale : ColorScale
{
    /// <summary>Creates the scale; needs 0 &lt; min &lt; max.</summary>
    public LogColorScale(double min, double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(min > 0) || !(max > min))
            throw new ArgumentException($"log colour scale needs finite 0 < min < max, got [{min}, {max}]");
        Min = min; Max = max;
    }

    /// <inheritdoc/>
    public override double Min { get; }
    /// <inheritdoc/>
    public override double Max { get; }

    /// <inheritdoc/>
    public override double Map(double value)
    {
        if (!double.IsFinite(value)) return double.NaN;
        if (value <= 0) return 0;
        return Math.Clamp(Math.Log(value / Min) / Math.Log(Max / Min), 0, 1);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Tick> Ticks(int maxTicks) => TickGenerator.Log(Min, Max, maxTicks).Major;
}

/// <summary>Symmetric log colour scale; see <see cref="ColorScale.SymLog"/>.</summary>
public sealed class SymLogColorScale : ColorScale
{
    /// <summary>Creates the scale; needs 0 &lt; linearThreshold &lt; maxAbs.</summary>
    public SymLogColorScale(double maxAbs, double linearThreshold)
    {
        if (!double.IsFinite(maxAbs) || !(maxAbs > 0))
            throw new ArgumentException($"symlog colour scale needs a finite positive maxAbs, got {maxAbs}", nameof(maxAbs));
        if (!double.IsFinite(linearThreshold) || !(linearThreshold > 0) || !(linearThreshold < maxAbs))
            throw new ArgumentException($"symlog linear threshold must lie in (0, maxAbs = {maxAbs}), got {linearThreshold}", nameof(linearThreshold));
        MaxAbs = maxAbs;
        LinearThreshold = linearThreshold;
    }

    /// <summary>Largest |v| shown.</summary>
    public double MaxAbs { get; }

    /// <summary>c: below it the scale is linear.</summary>
    public double LinearThreshold { get; }

    /// <inheritdoc/>
    public override double Min => -MaxAbs;
    /// <inheritdoc/>
    public override double Max => MaxAbs;

    /// <summary>The symlog transform <c>f(v)</c> before normalisation.</summary>
    public double Transform(double v)
    {
        double a = Math.Abs(v);
        double f = a <= LinearThreshold ? a / LinearThreshold : 1 + Math.Log10(a / LinearThreshold);
        return Math.Sign(v) * f;
    }

    /// <inheritdoc/>
    public override double Map(double value)
    {
        if (!double.IsFinite(value)) return double.NaN;
        return Math.Clamp(0.5 + 0.5 * Transform(value) / Transform(MaxAbs), 0, 1);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Tick> Ticks(int maxTicks)
    {
        // 0 and ±10^k for the decades in [c, maxAbs], thinned evenly when there are too many.
        int kLo = (int)Math.Ceiling(Math.Log10(LinearThreshold) - 1e-9);
        int kHi = (int)Math.Floor(Math.Log10(MaxAbs) + 1e-9);
        int perSide = Math.Max(1, (maxTicks - 1) / 2);
        int count = Math.Max(0, kHi - kLo + 1);
        int stride = Math.Max(1, (int)Math.Ceiling(count / (double)perSide));
        var decades = new List<int>();
        for (int k = kHi; k >= kLo; k -= stride) decades.Add(k); // anchored at the top decade: the ends get labels
        var ticks = new List<Tick>();
        foreach (int k in decades) ticks.Add(new Tick(-Math.Pow(10, k), "\u221210^{" + TickGenerator.Minus(k) + "}"));
        ticks.Add(new Tick(0, "0"));
        for (int i = decades.Count - 1; i >= 0; i--) ticks.Add(new Tick(Math.Pow(10, decades[i]), "10^{" + TickGenerator.Minus(decades[i]) + "}"));
        return ticks;
    }
}
