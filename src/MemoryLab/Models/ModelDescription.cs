using System.Globalization;
using System.Text;

namespace MemoryLab.Models;

/// <summary>
/// A model written as data, so a user composes one without code: a <see cref="Kind"/> (a name in a
/// <see cref="ModelFactory"/>'s registry), its <see cref="Options"/> as text (what a YAML or key=value
/// binding produces), and its <see cref="Children"/> (the layers of a stack, the recurrent layer of a block).
/// The input width is not written here: it flows from the data and from layer to layer when built.
/// </summary>
/// <example><c>deep_stack(d_model=256, blocks=4, norm=layer)[gru(init=chrono, t_min=1, t_max=10)]</c> is
/// <c>ModelDescription.Of("deep_stack", ("d_model", 256), ("blocks", 4), ("norm", "layer")).With(ModelDescription.Of("gru", ("init", "chrono"), ("t_min", 1), ("t_max", 10)))</c>.</example>
public sealed record ModelDescription
{
    private static readonly IReadOnlyDictionary<string, string> NoOptions = new Dictionary<string, string>();

    /// <summary>A description of kind <paramref name="kind"/> with <paramref name="options"/> and <paramref name="children"/>.</summary>
    public ModelDescription(string kind, IReadOnlyDictionary<string, string>? options = null, IReadOnlyList<ModelDescription>? children = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        Kind = kind;
        Options = options is null ? NoOptions : new Dictionary<string, string>(options, StringComparer.Ordinal);
        Children = children is null ? [] : children.ToArray();
        for (int i = 0; i < Children.Count; i++)
            if (Children[i] is null) throw new ArgumentException($"child {i} of '{kind}' is null", nameof(children));
    }

    /// <summary>The registered kind, e.g. <c>gru</c>, <c>dense</c>, <c>deep_stack</c>.</summary>
    public string Kind { get; }

    /// <summary>Options by key (values as invariant-culture text).</summary>
    public IReadOnlyDictionary<string, string> Options { get; }

    /// <summary>Child descriptions, in order.</summary>
    public IReadOnlyList<ModelDescription> Children { get; }

    /// <summary>A description from (key, value) pairs; values are written with the invariant culture (booleans as <c>true</c>/<c>false</c>).</summary>
    public static ModelDescription Of(string kind, params (string Key, object Value)[] options)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in options)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key);
            if (!map.TryAdd(key, Format(value))) throw new ArgumentException($"option '{key}' of '{kind}' is given twice", nameof(options));
        }
        return new ModelDescription(kind, map);
    }

    /// <summary>This description with <paramref name="children"/> as its children.</summary>
    public ModelDescription With(params ModelDescription[] children) => new(Kind, Options, children);

    /// <summary>Compact text: <c>kind(key=value, …)[child, …]</c>, options sorted by key.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(Kind);
        if (Options.Count > 0)
            sb.Append('(').AppendJoin(", ", Options.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Key + "=" + o.Value)).Append(')');
        if (Children.Count > 0) sb.Append('[').AppendJoin(", ", Children).Append(']');
        return sb.ToString();
    }

    /// <summary>Equal when kind, options and children are equal (a value, not a reference, comparison).</summary>
    public bool Equals(ModelDescription? other) =>
        other is not null && Kind == other.Kind && Options.Count == other.Options.Count
        && Options.All(o => other.Options.TryGetValue(o.Key, out var v) && v == o.Value)
        && Children.SequenceEqual(other.Children);

    /// <summary>A hash consistent with <see cref="Equals(ModelDescription?)"/>.</summary>
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Kind);
        foreach (var o in Options.OrderBy(o => o.Key, StringComparer.Ordinal)) { h.Add(o.Key); h.Add(o.Value); }
        foreach (var c in Children) h.Add(c);
        return h.ToHashCode();
    }

    private static string Format(object value) => value switch
    {
        null => throw new ArgumentNullException(nameof(value), "option values must not be null"),
        bool b => b ? "true" : "false",
        Enum e => e.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? throw new ArgumentException("option value has no text form"),
    };
}

/// <summary>A model description that cannot be built: names the place (<see cref="Path"/>) and the option (<see cref="Key"/>) at fault.</summary>
public sealed class ModelDescriptionException : ArgumentException
{
    /// <summary>An error at <paramref name="path"/> (e.g. <c>deep_stack/children[0]:gru</c>), about <paramref name="key"/> when one option is at fault.</summary>
    public ModelDescriptionException(string path, string? key, string message)
        : base($"model {path}{(key is null ? "" : $", option '{key}'")}: {message}")
    {
        Path = path;
        Key = key;
    }

    /// <summary>Where in the description tree the error is.</summary>
    public string Path { get; }

    /// <summary>The option at fault, if any.</summary>
    public string? Key { get; }
}
