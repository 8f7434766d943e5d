using System.Globalization;
using System.Numerics;

namespace MemoryLab.Models;

/// <summary>Builds one kind of layer from its description (see <see cref="ModelFactory.Register"/>).</summary>
public delegate ISequenceLayer<T> LayerBuilder<T>(LayerBuildContext context) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// Builds an <see cref="ISequenceLayer{T}"/> from a <see cref="ModelDescription"/> tree through a registry of
/// kinds. A kind is registered once with a float and a double builder — usually one generic method,
/// <c>factory.Register("gru", Gru&lt;float&gt;, Gru&lt;double&gt;, "…")</c>. Options a builder did not read,
/// and children it did not use, are errors (a typo never passes silently).
/// </summary>
public sealed class ModelFactory
{
    private readonly Dictionary<string, Entry> _kinds = new(StringComparer.Ordinal);

    private sealed record Entry(LayerBuilder<float> Float, LayerBuilder<double> Double, string Summary);

    /// <summary>An empty registry (see <see cref="CreateDefault"/> for the built-in kinds).</summary>
    public ModelFactory() { }

    /// <summary>A registry holding every built-in kind (<see cref="Kinds"/> lists them).</summary>
    public static ModelFactory CreateDefault()
    {
        var f = new ModelFactory();
        BuiltInLayers.RegisterAll(f);
        return f;
    }

    /// <summary>The registered kinds, sorted.</summary>
    public IReadOnlyList<string> Kinds => _kinds.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>One line on what <paramref name="kind"/> builds and its options.</summary>
    public string Summary(string kind) => _kinds.TryGetValue(kind, out var e) ? e.Summary : throw UnknownKind(kind, kind);

    /// <summary>Adds <paramref name="kind"/>; throws if it is already registered.</summary>
    public void Register(string kind, LayerBuilder<float> forFloat, LayerBuilder<double> forDouble, string summary)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(forFloat);
        ArgumentNullException.ThrowIfNull(forDouble);
        if (!_kinds.TryAdd(kind, new Entry(forFloat, forDouble, summary ?? "")))
            throw new ArgumentException($"model kind '{kind}' is already registered", nameof(kind));
    }

    /// <summary>Builds <paramref name="description"/> for inputs of <paramref name="inputSize"/> features.</summary>
    /// <exception cref="ModelDescriptionException">An unknown kind, a missing, malformed or unknown option, or a wrong number of children.</exception>
    public ISequenceLayer<T> Build<T>(ModelDescription description, int inputSize) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(description);
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "input size must be positive");
        return Build<T>(description, inputSize, description.Kind);
    }

    internal ISequenceLayer<T> Build<T>(ModelDescription description, int inputSize, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!_kinds.TryGetValue(description.Kind, out var entry)) throw UnknownKind(description.Kind, path);
        var context = new LayerBuildContext(this, description, inputSize, path);
        ISequenceLayer<T> layer;
        try
        {
            if (typeof(T) == typeof(float)) layer = (ISequenceLayer<T>)entry.Float(context);
            else if (typeof(T) == typeof(double)) layer = (ISequenceLayer<T>)entry.Double(context);
            else throw new NotSupportedException($"models are built for float or double, not {typeof(T).Name}");
        }
        catch (ArgumentException e) when (e is not ModelDescriptionException)
        {
            // A layer constructor rejected a value: report it at the option it came from when the parameter names one
            // (hiddenSize → hidden, offDiagonalScale → off_diagonal_scale), else at this description.
            throw new ModelDescriptionException(path, OptionOf(e.ParamName, description) ?? OptionWithValue(e, description), e.Message);
        }
        context.CheckEverythingUsed();
        return layer;
    }

    // The one option whose text is the rejected value (hidden: 0 rejected as "state size must be positive (got 0)").
    private static string? OptionWithValue(ArgumentException e, ModelDescription description)
    {
        string? text = e is ArgumentOutOfRangeException { ActualValue: { } value } ? Convert.ToString(value, CultureInfo.InvariantCulture)
            : System.Text.RegularExpressions.Regex.Match(e.Message, @"\(got ([^),\s]+)\)") is { Success: true } m ? m.Groups[1].Value : null;
        if (string.IsNullOrEmpty(text)) return null;
        var keys = description.Options.Where(o => o.Value.Trim() == text).Select(o => o.Key).ToArray();
        return keys.Length == 1 ? keys[0] : null;
    }

    private static string? OptionOf(string? parameter, ModelDescription description)
    {
        if (string.IsNullOrEmpty(parameter)) return null;
        var sb = new System.Text.StringBuilder();
        foreach (char ch in parameter)
        {
            if (char.IsUpper(ch) && sb.Length > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(ch));
        }
        string snake = sb.ToString();
        foreach (string candidate in new[] { snake, snake.EndsWith("_size", StringComparison.Ordinal) ? snake[..^5] : snake })
            if (description.Options.ContainsKey(candidate)) return candidate;
        return null;
    }

    private ModelDescriptionException UnknownKind(string kind, string path) =>
        new(path, null, $"unknown kind '{kind}'; known kinds: {string.Join(", ", Kinds)}");
}

/// <summary>What a <see cref="LayerBuilder{T}"/> sees: the description, the input width, typed option readers
/// (each names the option and the place in errors) and a way to build children.</summary>
public sealed class LayerBuildContext
{
    /// <summary>The option every description may carry: the name its parent stack declares it under.</summary>
    public const string NameOption = "name";

    private readonly ModelFactory _factory;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal) { NameOption };
    private readonly HashSet<int> _childrenBuilt = new();

    internal LayerBuildContext(ModelFactory factory, ModelDescription description, int inputSize, string path)
    {
        _factory = factory;
        Description = description;
        InputSize = inputSize;
        Path = path;
    }

    /// <summary>The description being built.</summary>
    public ModelDescription Description { get; }
    /// <summary>Features per input step of the layer being built.</summary>
    public int InputSize { get; }
    /// <summary>Where this description sits in the tree (for messages).</summary>
    public string Path { get; }
    /// <summary>Number of children.</summary>
    public int ChildCount => Description.Children.Count;

    /// <summary>A required integer option.</summary>
    public int Int(string key) => ParseInt(key, Required(key));
    /// <summary>An integer option with a default.</summary>
    public int Int(string key, int fallback) => TryRaw(key, out var raw) ? ParseInt(key, raw) : fallback;
    /// <summary>A required real option.</summary>
    public double Double(string key) => ParseDouble(key, Required(key));
    /// <summary>A real option with a default.</summary>
    public double Double(string key, double fallback) => TryRaw(key, out var raw) ? ParseDouble(key, raw) : fallback;
    /// <summary>A real option that may be absent.</summary>
    public double? OptionalDouble(string key) => TryRaw(key, out var raw) ? ParseDouble(key, raw) : null;
    /// <summary>A boolean option (<c>true</c>/<c>false</c>) with a default.</summary>
    public bool Bool(string key, bool fallback)
    {
        if (!TryRaw(key, out var raw)) return fallback;
        return raw.Trim().ToLowerInvariant() switch
        {
            "true" or "yes" or "1" => true,
            "false" or "no" or "0" => false,
            _ => throw Error(key, $"'{raw}' is not a boolean (true or false)"),
        };
    }
    /// <summary>A text option with a default.</summary>
    public string String(string key, string fallback) => TryRaw(key, out var raw) ? raw : fallback;

    /// <summary>An enum option with a default; case, '_' and '-' are ignored (<c>hard_tanh</c> = <c>HardTanh</c>).</summary>
    public TEnum Enum<TEnum>(string key, TEnum fallback) where TEnum : struct, Enum
    {
        if (!TryRaw(key, out var raw)) return fallback;
        string wanted = Normalise(raw);
        foreach (var value in System.Enum.GetValues<TEnum>())
            if (Normalise(value.ToString()) == wanted) return value;
        throw Error(key, $"'{raw}' is not one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}");
    }

    /// <summary>Builds child <paramref name="index"/> for inputs of <paramref name="inputSize"/> features.</summary>
    public ISequenceLayer<T> Child<T>(int index, int inputSize) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if ((uint)index >= (uint)ChildCount)
            throw new ModelDescriptionException(Path, null, $"'{Description.Kind}' needs a child description at position {index}, it has {ChildCount}");
        _childrenBuilt.Add(index);
        var child = Description.Children[index];
        return _factory.Build<T>(child, inputSize, $"{Path}/children[{index}]:{child.Kind}");
    }

    /// <summary>Throws unless there are exactly <paramref name="count"/> children.</summary>
    public void RequireChildren(int count)
    {
        if (ChildCount != count)
            throw new ModelDescriptionException(Path, null, $"'{Description.Kind}' takes {count} child description(s), got {ChildCount}");
    }

    /// <summary>The parameter-name prefix the child at <paramref name="index"/> asks for (its <c>name</c> option), or its position.</summary>
    public string ChildName(int index) =>
        Description.Children[index].Options.TryGetValue(NameOption, out var n) && !string.IsNullOrWhiteSpace(n)
            ? n : index.ToString(CultureInfo.InvariantCulture);

    /// <summary>An error about option <paramref name="key"/> at this description.</summary>
    public ModelDescriptionException Error(string? key, string message) => new(Path, key, message);

    internal void CheckEverythingUsed()
    {
        var unknown = Description.Options.Keys.Where(k => !_read.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0)
            throw Error(unknown[0], $"unknown option for '{Description.Kind}'; it reads: {string.Join(", ", _read.Where(k => k != NameOption).Order(StringComparer.Ordinal))}");
        if (_childrenBuilt.Count < ChildCount)
            throw new ModelDescriptionException(Path, null, $"'{Description.Kind}' does not use child descriptions, got {ChildCount}");
    }

    private bool TryRaw(string key, out string raw)
    {
        _read.Add(key);
        return Description.Options.TryGetValue(key, out raw!);
    }

    private string Required(string key) => TryRaw(key, out var raw) ? raw : throw Error(key, $"required by '{Description.Kind}'");

    /// <summary>The largest integer option (every integer option is a size: widths, counts, chunk lengths).</summary>
    public const int MaxSize = 1 << 24;

    private int ParseInt(string key, string raw)
    {
        if (!long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)) throw Error(key, $"'{raw}' is not an integer");
        if (v > MaxSize) throw Error(key, $"{raw} is larger than any size a model here can use (at most {MaxSize})");
        if (v < int.MinValue) throw Error(key, $"'{raw}' is out of range");
        return (int)v;
    }

    private double ParseDouble(string key, string raw)
    {
        string t = raw.Trim();
        bool special = t.EndsWith("inf", StringComparison.OrdinalIgnoreCase) || t.EndsWith("nan", StringComparison.OrdinalIgnoreCase)
            || t.EndsWith("infinity", StringComparison.OrdinalIgnoreCase) || t.Contains('∞');
        if (special) throw Error(key, $"must be a finite number (got {raw})");
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) throw Error(key, $"'{raw}' is not a number");
        if (!double.IsFinite(v)) throw Error(key, $"must be a finite number (got {raw})");
        return v;
    }

    private static string Normalise(string s) => s.Replace("_", "").Replace("-", "").Trim().ToLowerInvariant();
}
