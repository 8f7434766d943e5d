using System.Globalization;

namespace MemoryLab.Experiments;

/// <summary>One key a binder reads, as <see cref="SpecNode.Describing"/> records it.</summary>
/// <param name="Path">Dotted path from the bound section (<c>optimizer.lr</c>, <c>beta1</c>).</param>
/// <param name="Type">real, integer, boolean, string, name (one of a set), section, list of …</param>
/// <param name="Default">The default as text; null when the key is required, empty when it is optional without a default.</param>
/// <param name="Range">Allowed values: an interval (<c>[0, 1)</c>, <c>≥ 1</c>) or names (<c>adam | adamw | sgd</c>); empty when any value of the type goes.</param>
/// <param name="Doc">One line on what the key means.</param>
public sealed record SpecKeyInfo(string Path, string Type, string? Default, string Range, string Doc)
{
    /// <summary>The default for display: <c>required</c>, <c>—</c> (optional, no default) or the value.</summary>
    public string DefaultText => Default is null ? "required" : Default.Length == 0 ? "—" : Default;
}

/// <summary>Collects the keys binders read on a describing spec node (<see cref="SpecNode.Describing"/>), in reading order,
/// each path once.</summary>
public sealed class SpecKeyRecorder
{
    private readonly List<SpecKeyInfo> _keys = new();

    /// <summary>The keys read, in order.</summary>
    public IReadOnlyList<SpecKeyInfo> Keys => _keys;

    /// <summary>Adds <paramref name="info"/> unless its path is already recorded (then fills in a missing description).</summary>
    public void Add(SpecKeyInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        int i = _keys.FindIndex(k => k.Path == info.Path);
        if (i < 0) _keys.Add(info);
        else if (_keys[i].Doc.Length == 0 && info.Doc.Length > 0) _keys[i] = _keys[i] with { Doc = info.Doc };
    }

    /// <summary>Runs <paramref name="bind"/> on a describing node and returns the keys it read. A binder's own checks of
    /// placeholder values (a model that cannot be built from nothing) may throw after the reads: the reads are kept.</summary>
    public static IReadOnlyList<SpecKeyInfo> Describe(Action<SpecNode> bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        var recorder = new SpecKeyRecorder();
        try { bind(SpecNode.Describing(recorder)); }
        catch (Exception e) when (e is SpecException or ArgumentException or InvalidOperationException or KeyNotFoundException) { }
        return recorder.Keys;
    }

    /// <summary>An interval in words from a reader's bounds: <c>[0, 1)</c>, <c>&gt; 0</c>, <c>≥ 1</c>; empty without bounds.</summary>
    public static string Range(double? min, double? max, double? above, double? below)
    {
        string? lo = min is { } a ? "[" + F(a) : above is { } b ? "(" + F(b) : null;
        string? hi = max is { } c ? F(c) + "]" : below is { } d ? F(d) + ")" : null;
        if (lo is null && hi is null) return "";
        if (hi is null) return (min is not null ? "≥ " : "> ") + lo![1..];
        if (lo is null) return (max is not null ? "≤ " : "< ") + hi[..^1];
        return lo + ", " + hi;
    }

    /// <summary>A value strictly inside the bounds where there is room (a placeholder for a required key while describing), so
    /// a binder's own checks of several keys together (<c>cols ≤ rows</c>, <c>β &gt; 0</c>) are likely to pass and it reads on.</summary>
    public static double Inside(double? min, double? max, double? above, double? below)
    {
        double? lo = min ?? above, hi = max ?? below;
        if (lo is { } l && hi is { } h) return Math.Floor((l + h) / 2) is var m && m > l && m < h ? m : (l + h) / 2;
        if (lo is { } l2) return l2 + 1;
        if (hi is { } h2) return h2 - 1;
        return 1;
    }

    private static string F(double x) => x switch
    {
        Math.PI => "π",
        2 * Math.PI => "2π",
        _ => x.ToString("R", CultureInfo.InvariantCulture),
    };
}
