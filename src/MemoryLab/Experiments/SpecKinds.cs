namespace MemoryLab.Experiments;

/// <summary>
/// A family of kinds read from a spec section <c>{kind: NAME, …}</c> (data sources, optimisers, schedules): each kind's
/// name is written once, beside the binder that reads its keys. <see cref="Bind"/> picks the binder by <c>kind</c>
/// (the family's default when the key is absent) and rejects any other name with the list of valid ones; the binder
/// reads only its own keys, so a key another kind would read (<c>momentum</c> under <c>adam</c>) stays unread and the
/// spec's <see cref="SpecNode.EnsureAllKeysUsed"/> reports it.
/// </summary>
/// <typeparam name="TKind">The family's base type (a sealed record per kind derives from it).</typeparam>
public sealed class SpecKinds<TKind> where TKind : class
{
    private readonly List<(string Name, string Description, Func<SpecNode, TKind> Bind)> _kinds;

    /// <summary>A family whose section defaults to <paramref name="defaultKind"/>.</summary>
    /// <param name="defaultKind">The kind used when the section has no <c>kind</c> key; must be one of <paramref name="kinds"/>.</param>
    /// <param name="kinds">Each kind's name, one line on what it is, and binder (which reads the section's other keys).</param>
    public SpecKinds(string defaultKind, params (string Name, string Description, Func<SpecNode, TKind> Bind)[] kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        if (kinds.Length == 0 || kinds.Select(k => k.Name).Distinct(StringComparer.Ordinal).Count() != kinds.Length)
            throw new ArgumentException("a kind family needs at least one kind, each named once", nameof(kinds));
        if (!kinds.Any(k => k.Name == defaultKind)) throw new ArgumentException($"default kind '{defaultKind}' is not in the family", nameof(defaultKind));
        _kinds = [.. kinds];
        DefaultKind = defaultKind;
    }

    /// <summary>The kind a section without <c>kind</c> gets.</summary>
    public string DefaultKind { get; }

    /// <summary>The kinds' names, in declaration order.</summary>
    public IReadOnlyList<string> Names => _kinds.Select(k => k.Name).ToArray();

    /// <summary>Adds a kind; throws <see cref="ArgumentException"/> when its name is taken or empty.</summary>
    public void Register(string name, Func<SpecNode, TKind> bind, string description = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(bind);
        if (_kinds.Any(k => k.Name == name)) throw new ArgumentException($"a kind named '{name}' is already registered", nameof(name));
        _kinds.Add((name, description, bind));
    }

    /// <summary>Reads <c>kind</c> from <paramref name="section"/> and binds the rest with that kind's binder.</summary>
    public TKind Bind(SpecNode section)
    {
        ArgumentNullException.ThrowIfNull(section);
        string name = section.GetString(ExperimentRegistry.KindKey, DefaultKind, allowed: Names, doc: "which kind (each is listed below with its keys)");
        return _kinds.First(k => k.Name == name).Bind(section);
    }

    /// <summary>Each kind's name, description and the keys its binder reads (with type, default, range and meaning), from the
    /// binders themselves (<see cref="SpecNode.Describing"/>).</summary>
    public IReadOnlyList<(string Name, string Description, IReadOnlyList<SpecKeyInfo> Keys)> Describe() =>
        _kinds.Select(k => (k.Name, k.Description, SpecKeyRecorder.Describe(node => k.Bind(node)))).ToArray();
}
