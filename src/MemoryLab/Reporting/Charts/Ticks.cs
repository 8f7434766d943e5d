using System.Globalization;

namespace MemoryLab.Reporting.Charts;

/// <summary>A labelled tick on an axis or colour bar.</summary>
/// <param name="Value">Position in data units.</param>
/// <param name="Label">Label as <see cref="MathText"/> markup (e.g. <c>10^{−3}</c>).</param>
public readonly record struct Tick(double Value, string Label);

/// <summary>The ticks of one axis: labelled major ticks and unlabelled minor ticks.</summary>
/// <param name="Major">Labelled ticks, increasing.</param>
/// <param name="Minor">Unlabelled ticks, increasing, none at a major position.</param>
internal sealed record AxisTicks(IReadOnlyList<Tick> Major, IReadOnlyList<double> Minor);

/// <summary>
/// Tick placement. Linear axes get ticks at multiples of a step from {1, 2, 5}×10^k; log axes get decades
/// (every s-th decade when there are many, the others as minor ticks; 2…9×10^k minor ticks when there is
/// room) and fall back to 1-2-5 or linear ticks inside a single decade.
/// </summary>
internal static class TickGenerator
{
    /// <summary>The smallest step from {1, 2, 5}×10^k that is ≥ <paramref name="rough"/> (&gt; 0).</summary>
    public static double NiceStep(double rough)
    {
        if (!double.IsFinite(rough) || rough <= 0) throw new ArgumentException($"tick step must be finite and positive, got {rough}", nameof(rough));
        double exp = Math.Floor(Math.Log10(rough));
        double pow = Math.Pow(10, exp);
        double f = rough / pow;
        double m = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
        return m * pow;
    }

    /// <summary>
    /// Ticks for a linear axis on [min, max]: the smallest 1-2-5 step giving at most <paramref name="maxTicks"/> ticks
    /// inside the range. Values are exact multiples k·step (rounded to the step's decimals).
    /// </summary>
    public static AxisTicks Linear(double min, double max, int maxTicks = 7)
    {
        CheckRange(min, max);
        if (maxTicks < 2) throw new ArgumentOutOfRangeException(nameof(maxTicks), maxTicks, "at least two ticks are needed");
        double step = NiceStep((max - min) / maxTicks);
        while (true)
        {
            var values = Multiples(min, max, step);
            if (values.Count <= maxTicks)
            {
                var ticks = values.Select(v => new Tick(v, FormatLinear(v, step, min, max))).ToList();
                return new AxisTicks(ticks, []);
            }
            step = NiceStep(step * 1.000001); // the next step in the 1-2-5 sequence
        }
    }

    /// <summary>
    /// Ticks for a log axis on [min, max] (0 &lt; min &lt; max). With two or more decades inside the range the
    /// labelled ticks are 10^k for k a multiple of the smallest stride in {1, 2, 3, 4, 5, 10, 20, …} giving at
    /// most <paramref name="maxTicks"/>; skipped decades become minor ticks, and with stride 1 and at most
    /// <paramref name="maxMinorDecades"/> decades the 2…9×10^k positions are minor ticks too.
    /// </summary>
    public static AxisTicks Log(double min, double max, int maxTicks = 7, double maxMinorDecades = 7)
    {
        CheckRange(min, max);
        if (!(min > 0)) throw new ArgumentException($"log axis needs a positive minimum, got {min}", nameof(min));
        if (maxTicks < 2) throw new ArgumentOutOfRangeException(nameof(maxTicks), maxTicks, "at least two ticks are needed");
        double lmin = Math.Log10(min), lmax = Math.Log10(max);
        int kmin = (int)Math.Ceiling(lmin - 1e-9), kmax = (int)Math.Floor(lmax + 1e-9);
        int decades = kmax - kmin + 1;
        var minor = new List<double>();
        if (decades >= 2)
        {
            int stride = 1;
            foreach (int s in Strides())
            {
                stride = s;
                int count = 0;
                for (int k = kmin; k <= kmax; k++) if (Mod(k, s) == 0) count++;
                if (count <= maxTicks && count >= 1) break;
            }
            var major = new List<Tick>();
            for (int k = kmin; k <= kmax; k++)
            {
                if (Mod(k, stride) == 0) major.Add(new Tick(Pow10(k), "10^{" + Minus(k) + "}"));
                else minor.Add(Pow10(k));
            }
            if (stride == 1 && lmax - lmin <= maxMinorDecades) minor.AddRange(SubDecades(min, max, exclude: major.Select(t => t.Value)));
            minor.Sort();
            return new AxisTicks(major, minor);
        }

        // Less than two decades: 1-2-5 ticks if there are at least two, else linear ticks.
        var candidates = new List<double>();
        for (int k = (int)Math.Floor(lmin) - 1; k <= (int)Math.Ceiling(lmax) + 1; k++)
            foreach (double m in (ReadOnlySpan<double>)[1, 2, 5])
            {
                double v = RoundSig(m * Pow10(k));
                if (v >= min * (1 - 1e-12) && v <= max * (1 + 1e-12)) candidates.Add(v);
            }
        List<Tick> ticks;
        if (candidates.Count >= 2 && candidates.Count <= maxTicks)
        {
            ticks = candidates.Select(v => new Tick(v, FormatLog(v))).ToList();
        }
        else
        {
            ticks = Linear(min, max, maxTicks).Major.Where(t => t.Value > 0).ToList();
        }
        minor.AddRange(SubDecades(min, max, exclude: ticks.Select(t => t.Value)));
        minor.Sort();
        return new AxisTicks(ticks, minor);
    }

    /// <summary>
    /// Label for a linear tick: fixed decimals from the step, or m×10^k when the values are very large or
    /// the step very small. Negative values use the minus sign U+2212.
    /// </summary>
    public static string FormatLinear(double value, double step, double min, double max)
    {
        if (value == 0) return "0";
        double big = Math.Max(Math.Abs(min), Math.Abs(max));
        if (big >= 1e5 || step < 1e-4 && big < 1e-2)
            return Scientific(value);
        int decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
        string s = Math.Abs(value).ToString("F" + decimals, CultureInfo.InvariantCulture);
        return value < 0 ? "\u2212" + s : s;
    }

    /// <summary>Label for a non-decade log tick: decimal between 10⁻³ and 10⁴, m×10^k outside.</summary>
    public static string FormatLog(double value)
    {
        double a = Math.Abs(value);
        if (a >= 1e-3 && a < 1e4)
        {
            string s = RoundSig(a).ToString("0.####", CultureInfo.InvariantCulture);
            return value < 0 ? "\u2212" + s : s;
        }
        return Scientific(value);
    }

    /// <summary>m×10^{k} markup for a non-zero value (m with up to 3 significant digits; 1× omitted).</summary>
    public static string Scientific(double value)
    {
        if (value == 0) return "0";
        int k = (int)Math.Floor(Math.Log10(Math.Abs(value)) + 1e-9);
        double m = Math.Round(value / Pow10(k), 3);
        if (Math.Abs(m) >= 10) { m /= 10; k++; }
        string sign = m < 0 ? "\u2212" : "";
        m = Math.Abs(m);
        string ms = m.ToString("0.##", CultureInfo.InvariantCulture);
        return ms == "1" ? sign + "10^{" + Minus(k) + "}" : sign + ms + "\u00D710^{" + Minus(k) + "}";
    }

    /// <summary>An integer with a true minus sign (U+2212) when negative.</summary>
    public static string Minus(int k) => k < 0 ? "\u2212" + (-k).ToString(CultureInfo.InvariantCulture) : k.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<int> Strides()
    {
        foreach (int s in (int[])[1, 2, 3, 4, 5]) yield return s;
        for (int p = 10; p < 100_000; p *= 10)
            foreach (int m in (int[])[1, 2, 5]) yield return m * p;
    }

    private static IEnumerable<double> SubDecades(double min, double max, IEnumerable<double> exclude)
    {
        var ex = exclude.ToList();
        int kLo = (int)Math.Floor(Math.Log10(min)), kHi = (int)Math.Floor(Math.Log10(max));
        for (int k = kLo; k <= kHi; k++)
            for (int m = 1; m <= 9; m++)
            {
                double v = RoundSig(m * Pow10(k));
                if (v < min * (1 - 1e-12) || v > max * (1 + 1e-12)) continue;
                if (ex.Any(e => Math.Abs(e - v) <= 1e-9 * v)) continue;
                yield return v;
            }
    }

    private static List<double> Multiples(double min, double max, double step)
    {
        long first = (long)Math.Ceiling(min / step - 1e-9), last = (long)Math.Floor(max / step + 1e-9);
        int decimals = Math.Clamp((int)-Math.Floor(Math.Log10(step)) + 1, 0, 15);
        var list = new List<double>();
        for (long k = first; k <= last && list.Count < 10_000; k++)
        {
            double v = k * step;
            v = step >= 1e-15 && decimals > 0 ? Math.Round(v, decimals) : v;
            list.Add(v == 0 ? 0 : v);
        }
        return list;
    }

    private static void CheckRange(double min, double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(max > min))
            throw new ArgumentException($"axis range must be finite with max > min, got [{min}, {max}]");
    }

    private static int Mod(int k, int s) => ((k % s) + s) % s;

    /// <summary>10^k exactly as the decimal literal parses (Math.Pow(10, −3) is not 0.001).</summary>
    internal static double Pow10(int k) => double.Parse("1e" + k.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static double RoundSig(double v)
    {
        if (v == 0 || !double.IsFinite(v)) return v;
        return double.Parse(v.ToString("G12", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
