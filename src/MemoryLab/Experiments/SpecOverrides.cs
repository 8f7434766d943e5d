using System.Globalization;

namespace MemoryLab.Experiments;

/// <summary>
/// Dotted paths into a spec tree and Hydra-style <c>key=value</c> command-line overrides.
/// A dotted path walks mappings by key (a key may itself contain dots, as grid axes do:
/// <c>grid.model.nu0</c> finds the key <c>model.nu0</c> under <c>grid</c>; the longest matching key wins)
/// and sequences by index (<c>optimizer.betas.1</c>).
/// </summary>
public static class SpecOverrides
{
    /// <summary>The node at dotted <paramref name="path"/> under <paramref name="root"/>, or null.</summary>
    public static SpecNode? Find(SpecNode root, string path)
    {
        var (parent, key) = Walk(root, path, create: false, SourcePosition.CommandLine);
        if (parent is null) return null;
        return parent.Kind == SpecNodeKind.Sequence ? parent.Items[int.Parse(key, CultureInfo.InvariantCulture)] : parent.Peek(key);
    }

    /// <summary>Sets the node at dotted <paramref name="path"/> to a copy of <paramref name="value"/>. With
    /// <paramref name="create"/>, missing mappings on the way are made; without, a missing key is an error.</summary>
    public static void Set(SpecNode root, string path, SpecNode value, bool create)
    {
        var (parent, key) = Walk(root, path, create, value.Position);
        if (parent is null)
            throw new SpecException(value.Position, path, $"no such key in the spec (write +{path}=… to add it)");
        if (parent.Kind == SpecNodeKind.Sequence)
        {
            int i = int.Parse(key, CultureInfo.InvariantCulture);
            parent.SetItem(i, value.Clone($"{parent.Path}[{i}]"));
        }
        else parent.Set(key, value.Position, value.Clone(parent.ChildPath(key)));
    }

    /// <summary>
    /// Applies <c>key=value</c> overrides in order. The value is read as YAML (<c>0.5</c>, <c>lru</c>,
    /// <c>[0.1, 0.2]</c>, <c>{a: 1}</c>). <c>key</c> must already exist in the spec, except with a leading
    /// <c>+</c> (<c>+optimizer.beta2=0.99</c>), which adds it. A key that is a grid axis fixes that axis:
    /// the axis is dropped from the grid and the value set, so <c>model.nu0=0.99</c> runs one slice of a sweep.
    /// Errors are <see cref="SpecException"/>s positioned at <c>&lt;command line&gt;</c>.
    /// </summary>
    public static void Apply(SpecNode root, IEnumerable<string> overrides)
    {
        foreach (string raw in overrides)
        {
            int eq = raw.IndexOf('=');
            if (eq < 0) throw new SpecException(SourcePosition.CommandLine, null, $"override '{raw}' is not of the form key=value");
            string key = raw[..eq].Trim();
            bool add = key.StartsWith('+');
            if (add) key = key[1..];
            if (key.Length == 0 || key.StartsWith('.') || key.EndsWith('.') || key.Contains(".."))
                throw new SpecException(SourcePosition.CommandLine, null, $"override '{raw}' has no valid key before '='");
            var value = SpecParser.ParseValue(raw[(eq + 1)..], key);
            bool wasAxis = RemoveGridAxis(root, key);
            if (wasAxis || add || Find(root, key) != null)
            {
                Set(root, key, value, create: true);
                continue;
            }
            string? near = ClosestPath(root, key);
            throw new SpecException(SourcePosition.CommandLine, key,
                "no such key in the spec" + (near != null ? $" (did you mean '{near}'?)" : "") + $"; write +{key}=… to add a new key");
        }
    }

    /// <summary>Drops axis <paramref name="key"/> from every sub-grid of <c>grid:</c>; returns whether one was found.</summary>
    private static bool RemoveGridAxis(SpecNode root, string key)
    {
        var grid = root.Peek(SweepPlan.GridKey);
        if (grid is null) return false;
        bool found = false;
        IEnumerable<SpecNode> subgrids = grid.Kind == SpecNodeKind.Sequence ? grid.Items : new[] { grid };
        foreach (var g in subgrids)
            if (g.Kind == SpecNodeKind.Mapping && g.Has(key))
            {
                g.Remove(key);
                found = true;
            }
        return found;
    }

    private static string? ClosestPath(SpecNode root, string key)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var (path, _) in root.Flatten())
        {
            int d = SpecNode.EditDistance(path, key);
            if (d < bestDistance) { bestDistance = d; best = path; }
        }
        return bestDistance <= Math.Max(2, key.Length / 4) ? best : null;
    }

    /// <summary>Finds the container that holds the last step of <paramref name="path"/> and that step's key (or index).
    /// Returns (null, "") when the path does not exist and <paramref name="create"/> is false.</summary>
    private static (SpecNode? Parent, string Key) Walk(SpecNode root, string path, bool create, SourcePosition position)
    {
        var current = root;
        string rest = path;
        while (true)
        {
            if (current.Kind == SpecNodeKind.Mapping)
            {
                if (current.Has(rest)) return (current, rest);
                // The longest key that is a dotted prefix of what is left.
                string? prefix = null;
                for (int i = rest.LastIndexOf('.'); i > 0; i = i > 1 ? rest.LastIndexOf('.', i - 1) : -1)
                    if (current.Has(rest[..i])) { prefix = rest[..i]; break; }
                if (prefix != null)
                {
                    current = current.Peek(prefix)!;
                    rest = rest[(prefix.Length + 1)..];
                    continue;
                }
                if (!create) return (null, "");
                int dot = rest.IndexOf('.');
                if (dot < 0) return (current, rest);
                string head = rest[..dot];
                var made = SpecNode.Mapping(position, current.ChildPath(head));
                current.Set(head, position, made);
                current = made;
                rest = rest[(dot + 1)..];
            }
            else if (current.Kind == SpecNodeKind.Sequence)
            {
                int dot = rest.IndexOf('.');
                string head = dot < 0 ? rest : rest[..dot];
                if (!int.TryParse(head, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= current.Count)
                {
                    if (!create) return (null, "");
                    throw new SpecException(position, path, $"'{current.Path}' is a sequence of {current.Count} items; '{head}' is not an index into it");
                }
                if (dot < 0) return (current, head);
                current = current.Items[index];
                rest = rest[(dot + 1)..];
            }
            else
            {
                if (!create) return (null, "");
                throw new SpecException(position, path, $"'{current.Path}' is a scalar, so it has no key '{rest}'");
            }
        }
    }
}
