using System.Globalization;

namespace MemoryLab.Reporting.Charts;

/// <summary>
/// Colour-blind-safe colours for figures. Series colours are the Okabe–Ito palette (Okabe &amp; Ito 2008,
/// "Color Universal Design"), ordered so that the first colours differ most for every type of colour
/// vision deficiency; yellow comes last because it is faint on white.
/// </summary>
public static class Palette
{
    /// <summary>Okabe–Ito blue, <c>#0072B2</c>.</summary>
    public const string Blue = "#0072B2";
    /// <summary>Okabe–Ito vermillion, <c>#D55E00</c>.</summary>
    public const string Vermillion = "#D55E00";
    /// <summary>Okabe–Ito bluish green, <c>#009E73</c>.</summary>
    public const string BluishGreen = "#009E73";
    /// <summary>Okabe–Ito reddish purple, <c>#CC79A7</c>.</summary>
    public const string ReddishPurple = "#CC79A7";
    /// <summary>Okabe–Ito orange, <c>#E69F00</c>.</summary>
    public const string Orange = "#E69F00";
    /// <summary>Okabe–Ito sky blue, <c>#56B4E9</c>.</summary>
    public const string SkyBlue = "#56B4E9";
    /// <summary>Okabe–Ito yellow, <c>#F0E442</c> (faint on white: used last).</summary>
    public const string Yellow = "#F0E442";
    /// <summary>Near-black used for theory curves and axes, <c>#222222</c>.</summary>
    public const string Theory = "#222222";
    /// <summary>Mid grey for reference lines, <c>#888888</c>.</summary>
    public const string Grey = "#888888";

    private static readonly string[] SeriesColors = [Blue, Vermillion, BluishGreen, ReddishPurple, Orange, SkyBlue, "#000000", Yellow];

    /// <summary>Number of distinct series colours before the cycle repeats.</summary>
    public static int Count => SeriesColors.Length;

    /// <summary>The colour of the <paramref name="index"/>-th series (cycles after <see cref="Count"/>).</summary>
    public static string Series(int index)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), index, "series index must be non-negative");
        return SeriesColors[index % SeriesColors.Length];
    }
}

/// <summary>An sRGB colour with 8-bit channels.</summary>
/// <param name="R">Red, 0–255.</param>
/// <param name="G">Green, 0–255.</param>
/// <param name="B">Blue, 0–255.</param>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>Parses <c>#RRGGBB</c>.</summary>
    public static Rgb Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != 7 || hex[0] != '#' || !uint.TryParse(hex.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint v))
            throw new ArgumentException($"colour '{hex}' is not of the form #RRGGBB", nameof(hex));
        return new Rgb((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    /// <summary>The colour as <c>#rrggbb</c> (lower case).</summary>
    public string ToHex() => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");

    /// <inheritdoc/>
    public override string ToString() => ToHex();
}

/// <summary>
/// A continuous colour map: piecewise-linear interpolation in sRGB between evenly spaced anchor colours,
/// evaluated at t ∈ [0, 1].
/// </summary>
public sealed class ColorMap
{
    private readonly Rgb[] _anchors;

    /// <summary>Creates a map through the given anchors (at least two), evenly spaced on [0, 1].</summary>
    public ColorMap(string name, IReadOnlyList<string> anchors, bool diverging)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(anchors);
        if (anchors.Count < 2) throw new ArgumentException("a colour map needs at least two anchor colours", nameof(anchors));
        Name = name;
        IsDiverging = diverging;
        _anchors = anchors.Select(Rgb.Parse).ToArray();
    }

    /// <summary>Name of the map (e.g. <c>BuRd</c>).</summary>
    public string Name { get; }

    /// <summary>True when the middle of the map is neutral and meant for values centred on zero.</summary>
    public bool IsDiverging { get; }

    /// <summary>The anchor colours, low to high.</summary>
    public IReadOnlyList<Rgb> Anchors => _anchors;

    /// <summary>
    /// Paul Tol's diverging blue–white–red map (BuRd, Tol 2021 "Colour Schemes", after ColorBrewer RdBu),
    /// readable by colour-blind viewers; negative values blue, zero white, positive red.
    /// </summary>
    public static ColorMap Diverging { get; } = new("BuRd",
        ["#2166AC", "#4393C3", "#92C5DE", "#D1E5F0", "#F7F7F7", "#FDDBC7", "#F4A582", "#D6604D", "#B2182B"], diverging: true);

    /// <summary>Viridis (van der Walt &amp; Smith, matplotlib), perceptually uniform and colour-blind safe; 9 anchors.</summary>
    public static ColorMap Sequential { get; } = new("viridis",
        ["#440154", "#472D7B", "#3B528B", "#2C728E", "#21918C", "#28AE80", "#5EC962", "#ADDC30", "#FDE725"], diverging: false);

    /// <summary>Colour at <paramref name="t"/> (clamped to [0, 1]).</summary>
    public Rgb At(double t)
    {
        if (double.IsNaN(t)) throw new ArgumentException("colour-map position is NaN", nameof(t));
        t = Math.Clamp(t, 0, 1);
        double s = t * (_anchors.Length - 1);
        int i = Math.Min((int)Math.Floor(s), _anchors.Length - 2);
        double f = s - i;
        Rgb a = _anchors[i], b = _anchors[i + 1];
        return new Rgb(Lerp(a.R, b.R, f), Lerp(a.G, b.G, f), Lerp(a.B, b.B, f));
    }

    private static byte Lerp(byte a, byte b, double f) => (byte)Math.Round(a + (b - a) * f);
}
