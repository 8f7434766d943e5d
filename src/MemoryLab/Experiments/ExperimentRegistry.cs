using MemoryLab.Models;

namespace MemoryLab.Experiments;

/// <summary>
/// The experiment kinds <c>memlab</c> knows, by name. A spec's <c>kind:</c> key picks one; its <c>seed:</c> key
/// (default 0) seeds the run. <see cref="CreateDefault"/> holds the library's own kinds; a user registers more
/// with <see cref="Register"/>.
/// </summary>
public sealed class ExperimentRegistry
{
    /// <summary>The spec key that selects the experiment kind.</summary>
    public const string KindKey = "kind";

    /// <summary>The spec key holding the run's seed (a non-negative integer, default 0).</summary>
    public const string SeedKey = "seed";

    private readonly Dictionary<string, IExperimentKind> _kinds = new(StringComparer.Ordinal);

    /// <summary>The registered kinds, by name.</summary>
    public IReadOnlyDictionary<string, IExperimentKind> Kinds => _kinds;

    /// <summary>A registry with every experiment kind the library ships; its <c>train</c> kind builds models from
    /// <paramref name="models"/> and data from <paramref name="data"/> (default: the built-in kinds of each).</summary>
    public static ExperimentRegistry CreateDefault(ModelFactory? models = null, SpecKinds<DataSpec>? data = null)
    {
        var registry = new ExperimentRegistry();
        registry.Register(new LeastSquaresDemoExperiment());
        registry.Register(new TrainExperiment(models, data));
        return registry;
    }

    /// <summary>Adds <paramref name="kind"/>; throws <see cref="ArgumentException"/> when its name is taken or empty.</summary>
    public ExperimentRegistry Register(IExperimentKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentException.ThrowIfNullOrWhiteSpace(kind.Name);
        if (!_kinds.TryAdd(kind.Name, kind)) throw new ArgumentException($"an experiment kind named '{kind.Name}' is already registered", nameof(kind));
        return this;
    }

    /// <summary>Whether a kind named <paramref name="name"/> is registered.</summary>
    public bool Has(string name) => _kinds.ContainsKey(name);

    /// <summary>The kind named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> listing the known names.</summary>
    public IExperimentKind Get(string name) => _kinds.TryGetValue(name, out var k) ? k
        : throw new KeyNotFoundException($"unknown experiment kind '{name}' (known: {string.Join(", ", _kinds.Keys.Order(StringComparer.Ordinal))})");

    /// <summary>Reads <c>kind</c> and <c>seed</c> from a resolved spec (marking them read) and returns the kind;
    /// throws a <see cref="SpecException"/> at the <c>kind:</c> line for an unknown kind.</summary>
    public IExperimentKind Resolve(SpecNode spec, out ulong seed)
    {
        string name = spec.GetString(KindKey);
        seed = (ulong)spec.GetLong(SeedKey, 0, min: 0);
        if (_kinds.TryGetValue(name, out var kind)) return kind;
        throw spec.Error(KindKey, $"unknown experiment kind '{name}' (known: {string.Join(", ", _kinds.Keys.Order(StringComparer.Ordinal))})");
    }
}
