namespace MemoryLab.Reporting.Charts;

/// <summary>How an axis maps data to position.</summary>
public enum AxisScale
{
    /// <summary>Position proportional to the value.</summary>
    Linear,
    /// <summary>Position proportional to log10 of the value; values ≤ 0 are skipped with a warning.</summary>
    Log,
}

/// <summary>One axis of a chart: label, scale, optional fixed range, optional custom ticks.</summary>
public sealed class Axis
{
    /// <summary>Axis label as <see cref="MathText"/> markup, e.g. <c>1 − \lambda</c> or <c>\tau_0'</c>; null for none.</summary>
    public string? Label { get; set; }

    /// <summary>Linear or log.</summary>
    public AxisScale Scale { get; set; } = AxisScale.Linear;

    /// <summary>Fixed lower end; null to fit the data (with a small margin).</summary>
    public double? Min { get; set; }

    /// <summary>Fixed upper end; null to fit the data (with a small margin).</summary>
    public double? Max { get; set; }

    /// <summary>Draws the axis from high to low (for matrices, row 0 at the top).</summary>
    public bool Reversed { get; set; }

    /// <summary>Explicit labelled ticks (e.g. parameter-block names on a Hessian); null for automatic ticks.</summary>
    public IReadOnlyList<Tick>? CustomTicks { get; set; }

    /// <summary>Hides the tick labels (the ticks stay).</summary>
    public bool HideTickLabels { get; set; }

    /// <summary>Sets linear or log scale and returns the axis, for chaining.</summary>
    public Axis WithScale(AxisScale scale) { Scale = scale; return this; }

    /// <summary>Sets the label and returns the axis, for chaining.</summary>
    public Axis WithLabel(string? label) { Label = label; return this; }

    /// <summary>Fixes the range and returns the axis, for chaining.</summary>
    public Axis WithRange(double? min, double? max)
    {
        if (min is double a && max is double b && !(b > a)) throw new ArgumentException($"axis range needs max > min, got [{a}, {b}]");
        Min = min; Max = max;
        return this;
    }
}
