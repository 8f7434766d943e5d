using System.Globalization;
using System.Numerics;

namespace MemoryLab.Models;

/// <summary>Builds one kind of layer from its description (see <see cref="ModelFactory.Register(string, LayerBuilder{float}, LayerBuilder{double}, string)"/>).</summary>
public delegate ISequenceLayer<T> LayerBuilder<T>(LayerBuildContext context) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>A layer kind in one type (what a plugin exports): its name, one line on its options, and one generic
/// builder for float and double. <see cref="ModelFactory.Register(ILayerKind)"/> adds it.</summary>
public interface ILayerKind
{
    /// <summary>The name a description's <c>kind</c> gives.</summary>
    string Name { get; }
    /// <summary>One line on what it builds and its options.</summary>
    string Summary { get; }
    /// <summary>Builds the layer, reading its options from <paramref name="context"/>.</summary>
    ISequenceLayer<T> Build<T>(LayerBuildContext context) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// Builds an <see cref="ISequenceLayer{T}"/> from a <see cref="ModelDescription"/> tree through a registry of
/// kinds and of eigenvalue parametrisations (<see cref="IEigenvalueMap{T}"/>, which layers look up by name with
/// <see cref="LayerBuildContext.EigenvalueMap{T}"/>). A kind is registered once with a float and a double builder — usually one generic method,
/// <c>factory.Register("gru", Gru&lt;float&gt;, Gru&lt;double&gt;, "…")</c>. Options a builder did not read,
/// and children it did not use, are errors (a typo never passes silently).
/// </summary>
public sealed class ModelFactory
{
    private readonly Dictionary<string, Entry> _kinds = new(StringComparer.Ordinal);

    private readonly Dictionary<string, (IEigenvalueMap<float> Float, IEigenvalueMap<double> Double)> _maps = new(StringComparer.Ordinal);

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

    /// <summary>One line on what <paramref name="kind"/> builds.</summary>
    public string Summary(string kind) => _kinds.TryGetValue(kind, out var e) ? e.Summary : throw UnknownKind(kind, kind);

    /// <summary>The options <paramref name="kind"/>'s builder reads, with type, default, range and meaning, recorded by running
    /// the builder itself on a description with no options (and one width-keeping child, for kinds that wrap one): the
    /// builder is the one source of truth for <c>memlab kinds</c> and the spec reference.</summary>
    public IReadOnlyList<ModelOptionInfo> DescribeOptions(string kind)
    {
        if (!_kinds.TryGetValue(kind, out var entry)) throw UnknownKind(kind, kind);
        var recorder = new List<ModelOptionInfo>();
        var description = new ModelDescription(kind, null, [new ModelDescription("gelu")]);
        var context = new LayerBuildContext(this, description, 2, kind) { Recorder = recorder };
        try { entry.Double(context); }
        catch (ArgumentException) { } // a placeholder the layer rejects: the options were read before it
        catch (InvalidOperationException) { }
        return recorder;
    }

    /// <summary>Adds <paramref name="kind"/>; throws if it is already registered.</summary>
    public void Register(string kind, LayerBuilder<float> forFloat, LayerBuilder<double> forDouble, string summary)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(forFloat);
        ArgumentNullException.ThrowIfNull(forDouble);
        if (!_kinds.TryAdd(kind, new Entry(forFloat, forDouble, summary ?? "")))
            throw new ArgumentException($"model kind '{kind}' is already registered", nameof(kind));
    }

    /// <summary>Adds a layer kind given as one type.</summary>
    public void Register(ILayerKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        Register(kind.Name, kind.Build<float>, kind.Build<double>, kind.Summary);
    }

    /// <summary>The registered eigenvalue parametrisations, sorted.</summary>
    public IReadOnlyList<string> Parametrisations => _maps.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Adds an eigenvalue parametrisation under its <see cref="IEigenvalueMap{T}.Name"/> (the float and double
    /// instances must agree on it); throws if the name is taken.</summary>
    public void RegisterParametrisation(IEigenvalueMap<float> forFloat, IEigenvalueMap<double> forDouble)
    {
        ArgumentNullException.ThrowIfNull(forFloat);
        ArgumentNullException.ThrowIfNull(forDouble);
        ArgumentException.ThrowIfNullOrWhiteSpace(forFloat.Name);
        if (forFloat.Name != forDouble.Name || forFloat.ParameterNames != forDouble.ParameterNames)
            throw new ArgumentException($"the float and double maps disagree on their name or parameter names ('{forFloat.Name}', '{forDouble.Name}')");
        if (!_maps.TryAdd(forFloat.Name, (forFloat, forDouble)))
            throw new ArgumentException($"parametrisation '{forFloat.Name}' is already registered", nameof(forFloat));
    }

    /// <summary>Adds the parametrisation <paramref name="genericMap"/>, a generic type definition with one type parameter
    /// (such as <c>typeof(LogitPolar&lt;&gt;)</c>) and a parameterless constructor, built for float and double.</summary>
    public void RegisterParametrisation(Type genericMap)
    {
        ArgumentNullException.ThrowIfNull(genericMap);
        if (!genericMap.IsGenericTypeDefinition || genericMap.GetGenericArguments().Length != 1)
            throw new ArgumentException($"{genericMap} is not a generic type definition with one type parameter", nameof(genericMap));
        RegisterParametrisation((IEigenvalueMap<float>)Activator.CreateInstance(genericMap.MakeGenericType(typeof(float)))!,
            (IEigenvalueMap<double>)Activator.CreateInstance(genericMap.MakeGenericType(typeof(double)))!);
    }

    internal bool TryGetParametrisation<T>(string name, out IEigenvalueMap<T> map) where T : IFloatingPointIeee754<T>
    {
        map = null!;
        if (!_maps.TryGetValue(name, out var pair)) return false;
        if (typeof(T) == typeof(float)) map = (IEigenvalueMap<T>)pair.Float;
        else if (typeof(T) == typeof(double)) map = (IEigenvalueMap<T>)pair.Double;
        else throw new NotSupportedException($"models are built for float or double, not {typeof(T).Name}");
        return true;
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
            // A layer constructor rejected a value: report it at this description.
            throw new ModelDescriptionException(path, null, e.Message);
        }
        context.CheckEverythingUsed();
        return layer;
    }

    private ModelDescriptionException UnknownKind(string kind, string path) =>
        new(path, null, $"unknown kind '{kind}'; known kinds: {string.Join(", ", Kinds)}");
}

/// <summary>One option a model kind's builder reads (see <see cref="ModelFactory.DescribeOptions"/>).</summary>
/// <param name="Key">The option's key.</param>
/// <param name="Type">integer, real, boolean, string or name (one of a set).</param>
/// <param name="Default">The default as text; null when required, empty when optional without a default.</param>
/// <param name="Range">Allowed values (<c>≥ 1</c>, <c>tanh | hard_tanh | identity</c>); empty when any value of the type goes.</param>
/// <param name="Doc">One line on what the option means.</param>
public sealed record ModelOptionInfo(string Key, string Type, string? Default, string Range, string Doc);

/// <summary>What a <see cref="LayerBuilder{T}"/> sees: the description, the input width, typed option readers
/// (each names the option and the place in errors) and a way to build children.</summary>
public sealed class LayerBuildContext
{
    /// <summary>The option every description may carry: the name its parent stack declares it under.</summary>
    public const string NameOption = "name";

    private readonly ModelFactory _factory;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal) { NameOption };
    private readonly HashSet<int> _childrenBuilt = new();

    /// <summary>Set while documenting a kind (<see cref="ModelFactory.DescribeOptions"/>): readers record and return defaults.</summary>
    internal List<ModelOptionInfo>? Recorder { get; init; }

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

    /// <summary>A required integer option; <paramref name="doc"/> is one line on its meaning (for <c>memlab kinds</c>).</summary>
    public int Int(string key, string? doc = null, int? min = null) =>
        Record(key, "integer", null, Range(min), doc) ? min ?? 1 : CheckMin(key, ParseInt(key, Required(key)), min);
    /// <summary>An integer option with a default, at least <paramref name="min"/> when given.</summary>
    public int Int(string key, int fallback, string? doc = null, int? min = null) =>
        Record(key, "integer", fallback.ToString(CultureInfo.InvariantCulture), Range(min), doc) ? fallback
            : TryRaw(key, out var raw) ? CheckMin(key, ParseInt(key, raw), min) : fallback;
    /// <summary>An integer option that defaults to the layer's input width (<see cref="InputSize"/>).</summary>
    public int IntOrInputWidth(string key, string? doc = null) =>
        Record(key, "integer", "input width", "[1, 1048576]", doc) ? InputSize
            : TryRaw(key, out var raw) ? CheckMax(key, CheckMin(key, ParseInt(key, raw), 1), MaxWidth) : InputSize;

    // The widest state or output a layer takes: wider ones cannot fit one activation of a useful batch in an array.
    private const int MaxWidth = 1 << 20;

    private int CheckMax(string key, int value, int max) =>
        value > max ? throw Error(key, $"must be at most {max} (got {value})") : value;
    /// <summary>A required real option.</summary>
    public double Double(string key, string? doc = null) => Record(key, "real", null, "", doc) ? 1.0 : ParseDouble(key, Required(key));
    /// <summary>A real option with a default.</summary>
    public double Double(string key, double fallback, string? doc = null) =>
        Record(key, "real", FormatReal(fallback), "", doc) ? fallback : TryRaw(key, out var raw) ? ParseDouble(key, raw) : fallback;
    /// <summary>A real option that may be absent.</summary>
    public double? OptionalDouble(string key, string? doc = null) =>
        Record(key, "real", "", "", doc) ? null : TryRaw(key, out var raw) ? ParseDouble(key, raw) : null;
    /// <summary>A boolean option (<c>true</c>/<c>false</c>) with a default.</summary>
    public bool Bool(string key, bool fallback, string? doc = null)
    {
        if (Record(key, "boolean", fallback ? "true" : "false", "", doc)) return fallback;
        if (!TryRaw(key, out var raw)) return fallback;
        return raw.Trim().ToLowerInvariant() switch
        {
            "true" or "yes" or "1" => true,
            "false" or "no" or "0" => false,
            _ => throw Error(key, $"'{raw}' is not a boolean (true or false)"),
        };
    }
    /// <summary>A text option with a default.</summary>
    public string String(string key, string fallback, string? doc = null) =>
        Record(key, "string", fallback, "", doc) ? fallback : TryRaw(key, out var raw) ? raw : fallback;

    /// <summary>An enum option with a default; case, '_' and '-' are ignored (<c>hard_tanh</c> = <c>HardTanh</c>).</summary>
    public TEnum Enum<TEnum>(string key, TEnum fallback, string? doc = null) where TEnum : struct, Enum
    {
        if (Record(key, "name", EnumName(fallback.ToString()), string.Join(" | ", System.Enum.GetNames<TEnum>().Select(EnumName)), doc)) return fallback;
        if (!TryRaw(key, out var raw)) return fallback;
        string wanted = Normalise(raw);
        foreach (var value in System.Enum.GetValues<TEnum>())
            if (Normalise(value.ToString()) == wanted) return value;
        throw Error(key, $"'{raw}' is not one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}");
    }

    /// <summary>An eigenvalue parametrisation registered in the factory, named by option <paramref name="key"/> (default
    /// <paramref name="fallback"/>); a name it does not know is an error listing the known ones.</summary>
    public IEigenvalueMap<T> EigenvalueMap<T>(string key, string fallback, string? doc = null) where T : IFloatingPointIeee754<T>
    {
        string name = Record(key, "name", fallback, string.Join(" | ", _factory.Parametrisations), doc) ? fallback
            : TryRaw(key, out var raw) ? raw : fallback;
        if (_factory.TryGetParametrisation<T>(name, out var map)) return map;
        throw Error(key, $"'{name}' is not one of {string.Join(", ", _factory.Parametrisations)}");
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
        if (Recorder is not null) return;
        var unknown = Description.Options.Keys.Where(k => !_read.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0)
            throw Error(unknown[0], $"unknown option for '{Description.Kind}'; it reads: {string.Join(", ", _read.Where(k => k != NameOption).Order(StringComparer.Ordinal))}"
                + (_childrenBuilt.Count > 0 ? ", and its child under layer: (layers: for several)" : ""));
        if (_childrenBuilt.Count < ChildCount)
            throw new ModelDescriptionException(Path, null, $"'{Description.Kind}' does not use child descriptions, got {ChildCount}");
    }

    // While documenting: records the option and returns true (the reader then returns its default or a placeholder).
    private bool Record(string key, string type, string? defaultText, string range, string? doc)
    {
        if (Recorder is null) return false;
        if (_read.Add(key)) Recorder.Add(new ModelOptionInfo(key, type, defaultText, range, doc ?? ""));
        return true;
    }

    private static string Range(int? min) => min is { } m ? "≥ " + m.ToString(CultureInfo.InvariantCulture) : "";

    private int CheckMin(string key, int value, int? min) =>
        min is { } m && value < m ? throw Error(key, $"must be at least {m} (got {value})") : value;

    private static string FormatReal(double x) => x switch
    {
        Math.PI => "π",
        2 * Math.PI => "2π",
        _ => x.ToString("R", CultureInfo.InvariantCulture),
    };

    // Lru23 → lru23, TeacherStudent → teacher_student, HardTanh → hard_tanh.
    private static string EnumName(string name)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && char.IsLower(name[i - 1])) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }

    private bool TryRaw(string key, out string raw)
    {
        _read.Add(key);
        return Description.Options.TryGetValue(key, out raw!);
    }

    private string Required(string key) => TryRaw(key, out var raw) ? raw : throw Error(key, $"required by '{Description.Kind}'");

    private int ParseInt(string key, string raw) =>
        int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw Error(key, $"'{raw}' is not an integer");

    private double ParseDouble(string key, string raw) =>
        double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw Error(key, $"'{raw}' is not a number");

    private static string Normalise(string s) => s.Replace("_", "").Replace("-", "").Trim().ToLowerInvariant();
}
