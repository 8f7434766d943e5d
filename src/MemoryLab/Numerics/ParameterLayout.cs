namespace MemoryLab.Numerics;

/// <summary>
/// A named, shaped slice of the flat parameter vector θ. Gradients use the same layout, so the same
/// view reads a parameter and its gradient.
/// </summary>
/// <param name="Name">Full dotted name, e.g. <c>blocks.0.rnn.nu_log</c>.</param>
/// <param name="Group">Optimiser group tag (e.g. <c>recurrent</c>, <c>input</c>, <c>readout</c>): per-group learning-rate factors and weight decay key on it (LRU23 recipe).</param>
/// <param name="Offset">Start of the slice in θ.</param>
/// <param name="Length">Number of scalars (product of <paramref name="Shape"/>).</param>
/// <param name="Shape">Row-major shape.</param>
public sealed record ParameterView(string Name, string Group, int Offset, int Length, int[] Shape)
{
    /// <summary>The slice of <paramref name="flat"/> this view names.</summary>
    public Span<T> Of<T>(T[] flat) => flat.AsSpan(Offset, Length);

    /// <summary>The slice of <paramref name="flat"/> this view names.</summary>
    public Span<T> Of<T>(Span<T> flat) => flat.Slice(Offset, Length);

    /// <summary>The slice of <paramref name="flat"/> this view names.</summary>
    public ReadOnlySpan<T> Of<T>(ReadOnlySpan<T> flat) => flat.Slice(Offset, Length);

    /// <summary>Shape written as <c>[a, b]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// The layout of the flat parameter vector θ: an ordered list of named views. Layers declare their
/// parameters here once; the optimiser, checkpoints, Hessians and gradient checks see only the flat
/// vector and these names.
/// </summary>
public sealed class ParameterLayout
{
    private readonly List<ParameterView> _views = new();
    private readonly Dictionary<string, ParameterView> _byName = new(StringComparer.Ordinal);

    /// <summary>Total number of scalars in θ.</summary>
    public int Count { get; private set; }

    /// <summary>The views in declaration order (offsets increase).</summary>
    public IReadOnlyList<ParameterView> Views => _views;

    /// <summary>Declares a parameter of the given shape at the end of θ.</summary>
    public ParameterView Add(string name, string group, params int[] shape)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_byName.ContainsKey(name)) throw new ArgumentException($"parameter '{name}' is declared twice", nameof(name));
        long length = 1;
        foreach (int s in shape)
        {
            if (s <= 0) throw new ArgumentException($"parameter '{name}' has a non-positive dimension {s}", nameof(shape));
            length *= s;
        }
        if (Count + length > int.MaxValue) throw new InvalidOperationException("parameter vector exceeds 2^31 entries");
        var view = new ParameterView(name, group, Count, (int)length, (int[])shape.Clone());
        _views.Add(view);
        _byName[name] = view;
        Count += (int)length;
        return view;
    }

    /// <summary>The view named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> with the known names otherwise.</summary>
    public ParameterView this[string name] =>
        _byName.TryGetValue(name, out var v) ? v
        : throw new KeyNotFoundException($"no parameter named '{name}'; known: {string.Join(", ", _byName.Keys)}");

    /// <summary>Looks a view up by name.</summary>
    public bool TryGet(string name, out ParameterView view) => _byName.TryGetValue(name, out view!);

    /// <summary>Joins a prefix and a local name with a dot (no dot for an empty prefix).</summary>
    public static string Join(string prefix, string name) => string.IsNullOrEmpty(prefix) ? name : prefix + "." + name;
}
