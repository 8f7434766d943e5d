using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MemoryLab.Experiments;

/// <summary>The three shapes a spec node can have (YAML's mapping, sequence and scalar).</summary>
public enum SpecNodeKind
{
    /// <summary>A single value (number, boolean, string or null).</summary>
    Scalar,
    /// <summary>An ordered list of nodes.</summary>
    Sequence,
    /// <summary>Ordered key → node pairs with unique string keys.</summary>
    Mapping,
}

/// <summary>What a scalar means under the YAML 1.2 core schema: a quoted scalar is always a string,
/// a plain one is null (<c>~</c>, <c>null</c>, empty), a boolean (<c>true</c>/<c>false</c>), an integer,
/// a float (<c>1e-3</c>, <c>.inf</c>, <c>.nan</c>) or else a string.</summary>
public enum SpecScalarType
{
    /// <summary><c>~</c>, <c>null</c> or nothing.</summary>
    Null,
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Bool,
    /// <summary>A decimal (or 0x/0o) integer.</summary>
    Integer,
    /// <summary>A floating-point number.</summary>
    Float,
    /// <summary>Anything else, and every quoted scalar.</summary>
    String,
}

/// <summary>
/// One node of an experiment spec, with the file, line and column it came from and its dotted path
/// (<c>model.nu0</c>, <c>grid.seed[2]</c>). Mapping nodes offer the typed reader every experiment's
/// binding code uses — <see cref="GetDouble"/>, <see cref="GetInt"/>, <see cref="GetEnum{T}"/>,
/// <see cref="Child"/>… — which checks types and ranges and throws a one-line <see cref="SpecException"/>
/// naming the file, line and key. Every key a reader asks for is remembered, so
/// <see cref="EnsureAllKeysUsed"/> can reject keys nobody read (typos) and suggest the intended one.
/// </summary>
public sealed class SpecNode
{
    private sealed class Entry(string key, SourcePosition keyPosition, SpecNode value)
    {
        public string Key { get; } = key;
        public SourcePosition KeyPosition { get; } = keyPosition;
        public SpecNode Value { get; set; } = value;
    }

    private readonly string? _text;
    private readonly bool _quoted;
    private readonly List<SpecNode>? _items;
    private readonly List<Entry>? _entries;
    private readonly HashSet<string>? _asked;
    private bool _allUsed;
    private SpecKeyRecorder? _recorder;

    private SpecNode(SpecNodeKind kind, SourcePosition position, string path, string? text, bool quoted)
    {
        Kind = kind;
        Position = position;
        Path = path;
        _text = text;
        _quoted = quoted;
        if (kind == SpecNodeKind.Sequence) _items = new List<SpecNode>();
        if (kind == SpecNodeKind.Mapping)
        {
            _entries = new List<Entry>();
            _asked = new HashSet<string>(StringComparer.Ordinal);
        }
    }

    /// <summary>A scalar node. <paramref name="quoted"/> marks a quoted YAML scalar (always a string).</summary>
    public static SpecNode Scalar(string text, bool quoted, SourcePosition position, string path = "") =>
        new(SpecNodeKind.Scalar, position, path, text ?? throw new ArgumentNullException(nameof(text)), quoted);

    /// <summary>An empty sequence node; add items with <see cref="AddItem"/>.</summary>
    public static SpecNode Sequence(SourcePosition position, string path = "") => new(SpecNodeKind.Sequence, position, path, null, false);

    /// <summary>An empty mapping node; add entries with <see cref="Add"/>.</summary>
    public static SpecNode Mapping(SourcePosition position, string path = "") => new(SpecNodeKind.Mapping, position, path, null, false);

    /// <summary>
    /// An empty mapping that documents a binder instead of checking a spec: every typed read records its key, type,
    /// default, range and description in <paramref name="recorder"/> and returns the default (or, for a required key, a
    /// placeholder inside its range), and <see cref="Child"/>/<see cref="OptionalChild"/> return describing sections. Binding
    /// code run on it is what <c>memlab kinds</c> and the spec reference print, so the reference cannot drift from validation.
    /// </summary>
    public static SpecNode Describing(SpecKeyRecorder recorder, string path = "")
    {
        ArgumentNullException.ThrowIfNull(recorder);
        var node = Mapping(new SourcePosition("(reference)", 0, 0), path);
        node._recorder = recorder;
        return node;
    }

    /// <summary>Whether this node documents binders (see <see cref="Describing"/>) rather than holding a spec.</summary>
    public bool IsDescribing => _recorder is not null;

    /// <summary>Mapping, sequence or scalar.</summary>
    public SpecNodeKind Kind { get; }

    /// <summary>Where the node starts in its file.</summary>
    public SourcePosition Position { get; }

    /// <summary>Dotted path from the spec's root (empty for the root): <c>model.nu0</c>, <c>layers[1].width</c>.</summary>
    public string Path { get; }

    /// <summary>The scalar's text as written (without quotes); throws for non-scalars.</summary>
    public string Text => Kind == SpecNodeKind.Scalar ? _text! : throw new InvalidOperationException($"'{Path}' is a {KindWord}, not a scalar");

    /// <summary>Whether the scalar was quoted in YAML (then it is a string whatever it looks like).</summary>
    public bool IsQuoted => _quoted;

    /// <summary>The scalar's type under the YAML 1.2 core schema (see <see cref="SpecScalarType"/>).</summary>
    public SpecScalarType ScalarType => Kind != SpecNodeKind.Scalar
        ? throw new InvalidOperationException($"'{Path}' is a {KindWord}, not a scalar")
        : ClassifyScalar(_text!, _quoted);

    /// <summary>Items of a sequence node (empty for other kinds).</summary>
    public IReadOnlyList<SpecNode> Items => (IReadOnlyList<SpecNode>?)_items ?? Array.Empty<SpecNode>();

    /// <summary>Keys of a mapping node in file order (empty for other kinds).</summary>
    public IEnumerable<string> Keys => _entries?.Select(e => e.Key) ?? Enumerable.Empty<string>();

    /// <summary>Number of entries (mapping) or items (sequence); 0 for a scalar.</summary>
    public int Count => _entries?.Count ?? _items?.Count ?? 0;

    internal string KindWord => Kind switch
    {
        SpecNodeKind.Mapping => "mapping",
        SpecNodeKind.Sequence => "sequence",
        _ => "scalar",
    };

    // ───────────────────────────── building ─────────────────────────────

    /// <summary>Appends <paramref name="key"/> → <paramref name="value"/> to a mapping; throws a <see cref="SpecException"/> on a duplicate key.</summary>
    public void Add(string key, SourcePosition keyPosition, SpecNode value)
    {
        RequireMapping();
        if (FindEntry(key) != null) throw new SpecException(keyPosition, ChildPath(key), "duplicate key");
        _entries!.Add(new Entry(key, keyPosition, value));
    }

    /// <summary>Appends an item to a sequence.</summary>
    public void AddItem(SpecNode item)
    {
        if (_items is null) throw new InvalidOperationException($"'{Path}' is a {KindWord}, not a sequence");
        _items.Add(item);
    }

    /// <summary>Sets (replacing or appending) a mapping entry.</summary>
    internal void Set(string key, SourcePosition keyPosition, SpecNode value)
    {
        RequireMapping();
        var e = FindEntry(key);
        if (e is null) _entries!.Add(new Entry(key, keyPosition, value));
        else e.Value = value;
    }

    /// <summary>Replaces item <paramref name="index"/> of a sequence.</summary>
    internal void SetItem(int index, SpecNode item)
    {
        if (_items is null) throw new InvalidOperationException($"'{Path}' is a {KindWord}, not a sequence");
        _items[index] = item;
    }

    /// <summary>Removes a mapping entry; returns whether it existed.</summary>
    internal bool Remove(string key)
    {
        RequireMapping();
        return _entries!.RemoveAll(e => e.Key == key) > 0;
    }

    /// <summary>The value under <paramref name="key"/> without marking it read, or null.</summary>
    public SpecNode? Peek(string key) => FindEntry(key)?.Value;

    /// <summary>Where <paramref name="key"/> is written (the key itself), or the mapping's position if absent.</summary>
    public SourcePosition KeyPosition(string key) => FindEntry(key)?.KeyPosition ?? Position;

    /// <summary>The path a child under <paramref name="key"/> has.</summary>
    public string ChildPath(string key) => Path.Length == 0 ? key : Path + "." + key;

    /// <summary>A deep copy with fresh read-tracking, re-rooted at <paramref name="path"/> (default: this node's path).</summary>
    public SpecNode Clone(string? path = null)
    {
        path ??= Path;
        switch (Kind)
        {
            case SpecNodeKind.Scalar:
                return new SpecNode(SpecNodeKind.Scalar, Position, path, _text, _quoted);
            case SpecNodeKind.Sequence:
            {
                var s = Sequence(Position, path);
                for (int i = 0; i < _items!.Count; i++) s._items!.Add(_items[i].Clone($"{path}[{i}]"));
                return s;
            }
            default:
            {
                var m = Mapping(Position, path);
                foreach (var e in _entries!)
                    m._entries!.Add(new Entry(e.Key, e.KeyPosition, e.Value.Clone(path.Length == 0 ? e.Key : path + "." + e.Key)));
                return m;
            }
        }
    }

    // ───────────────────────────── typed reader ─────────────────────────────

    /// <summary>Whether the mapping has <paramref name="key"/> (does not count as reading it).</summary>
    public bool Has(string key) => FindEntry(key) != null;

    /// <summary>Reads a real number. Absent or null: <paramref name="defaultValue"/>, or an error when that is null.
    /// Bounds: <paramref name="min"/> ≤ x ≤ <paramref name="max"/>, <paramref name="above"/> &lt; x &lt; <paramref name="below"/>.
    /// Every reader takes <c>doc</c>: one line on what the key means, printed by <c>memlab kinds</c> and the spec reference.</summary>
    public double GetDouble(string key, double? defaultValue = null, double? min = null, double? max = null, double? above = null, double? below = null, string? doc = null)
    {
        Record(key, "real", defaultValue is { } dv ? FormatNumber(dv).Trim('"') : null, SpecKeyRecorder.Range(min, max, above, below), doc);
        var node = Lookup(key);
        if (node is null) return defaultValue ?? (IsDescribing ? SpecKeyRecorder.Inside(min, max, above, below) : throw Missing(key));
        double x = node.AsDouble();
        CheckBounds(node, x, min, max, above, below);
        return x;
    }

    /// <summary>Reads a 32-bit integer (an integral float such as <c>1e3</c> is accepted), with optional inclusive bounds.</summary>
    public int GetInt(string key, int? defaultValue = null, int? min = null, int? max = null, string? doc = null)
    {
        Record(key, "integer", defaultValue?.ToString(CultureInfo.InvariantCulture), SpecKeyRecorder.Range(min, max, null, null), doc);
        var node = Lookup(key);
        if (node is null) return defaultValue ?? (IsDescribing ? (int)SpecKeyRecorder.Inside(min, max, null, null) : throw Missing(key));
        long x = node.AsInteger();
        if (x < int.MinValue || x > int.MaxValue) throw node.Error($"must fit in a 32-bit integer (got {node._text})");
        CheckBounds(node, x, min, max, null, null);
        return (int)x;
    }

    /// <summary>Reads a 64-bit integer with optional inclusive bounds.</summary>
    public long GetLong(string key, long? defaultValue = null, long? min = null, long? max = null, string? doc = null)
    {
        Record(key, "integer", defaultValue?.ToString(CultureInfo.InvariantCulture), SpecKeyRecorder.Range(min, max, null, null), doc);
        var node = Lookup(key);
        if (node is null) return defaultValue ?? (IsDescribing ? (long)SpecKeyRecorder.Inside(min, max, null, null) : throw Missing(key));
        long x = node.AsInteger();
        if (min is { } lo && x < lo) throw node.Error($"must be >= {lo} (got {node._text})");
        if (max is { } hi && x > hi) throw node.Error($"must be <= {hi} (got {node._text})");
        return x;
    }

    /// <summary>Reads <c>true</c> or <c>false</c>.</summary>
    public bool GetBool(string key, bool? defaultValue = null, string? doc = null)
    {
        Record(key, "boolean", defaultValue is { } b ? (b ? "true" : "false") : null, "", doc);
        var node = Lookup(key);
        if (node is null) return defaultValue ?? (IsDescribing ? false : throw Missing(key));
        node.RequireScalar("a boolean (true or false)");
        if (node.ScalarType != SpecScalarType.Bool) throw node.Error($"must be true or false (got {node.Describe()})");
        return node._text!.Equals("true", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads a scalar as text; <paramref name="allowed"/> restricts it to a set of values.</summary>
    public string GetString(string key, string? defaultValue = null, IReadOnlyCollection<string>? allowed = null, string? doc = null)
    {
        Record(key, allowed is null ? "string" : "name", defaultValue, allowed is null ? "" : string.Join(" | ", allowed), doc);
        var node = Lookup(key);
        if (node is null) return defaultValue ?? (IsDescribing ? allowed?.FirstOrDefault() ?? "" : throw Missing(key));
        node.RequireScalar("a string");
        string s = node._text!;
        if (allowed != null && !allowed.Contains(s))
            throw node.Error($"must be one of {string.Join(", ", allowed)} (got {node.Describe()})");
        return s;
    }

    /// <summary>Reads an enum value by name. Case, '-' and '_' are ignored, so <c>power-law</c>, <c>power_law</c> and
    /// <c>PowerLaw</c> all name <c>PowerLaw</c>; the error lists the kebab-case names.</summary>
    public T GetEnum<T>(string key, T? defaultValue = null, string? doc = null) where T : struct, Enum
    {
        Record(key, "name", defaultValue is { } dv ? KebabCase(dv.ToString()) : null, string.Join(" | ", Enum.GetNames<T>().Select(KebabCase)), doc);
        var node = Lookup(key);
        if (node is null) return defaultValue ?? (IsDescribing ? Enum.GetValues<T>()[0] : throw Missing(key));
        node.RequireScalar("a name");
        string wanted = NormaliseName(node._text!);
        foreach (T v in Enum.GetValues<T>())
            if (NormaliseName(v.ToString()) == wanted) return v;
        throw node.Error($"must be one of {string.Join(", ", Enum.GetNames<T>().Select(KebabCase))} (got {node.Describe()})");
    }

    /// <summary>Reads a sequence of real numbers, each within the bounds, with at least <paramref name="minCount"/> items.</summary>
    public double[] GetDoubleList(string key, double[]? defaultValue = null, double? min = null, double? max = null,
        double? above = null, double? below = null, int minCount = 0, string? doc = null)
    {
        Record(key, "list of reals", defaultValue is null ? null : "[" + string.Join(", ", defaultValue.Select(v => FormatNumber(v).Trim('"'))) + "]",
            SpecKeyRecorder.Range(min, max, above, below), doc);
        var node = Lookup(key);
        if (node is null)
            return defaultValue is not null ? (double[])defaultValue.Clone()
                : IsDescribing ? Enumerable.Repeat(SpecKeyRecorder.Inside(min, max, above, below), minCount).ToArray() : throw Missing(key);
        var items = node.RequireSequence(minCount);
        var result = new double[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            result[i] = items[i].AsDouble();
            CheckBounds(items[i], result[i], min, max, above, below);
        }
        return result;
    }

    /// <summary>Reads a sequence of 32-bit integers with optional inclusive bounds.</summary>
    public int[] GetIntList(string key, int[]? defaultValue = null, int? min = null, int? max = null, int minCount = 0, string? doc = null)
    {
        Record(key, "list of integers", defaultValue is null ? null : "[" + string.Join(", ", defaultValue) + "]", SpecKeyRecorder.Range(min, max, null, null), doc);
        var node = Lookup(key);
        if (node is null)
            return defaultValue is not null ? (int[])defaultValue.Clone()
                : IsDescribing ? Enumerable.Repeat((int)SpecKeyRecorder.Inside(min, max, null, null), minCount).ToArray() : throw Missing(key);
        var items = node.RequireSequence(minCount);
        var result = new int[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            long x = items[i].AsInteger();
            if (x < int.MinValue || x > int.MaxValue) throw items[i].Error($"must fit in a 32-bit integer (got {items[i]._text})");
            CheckBounds(items[i], x, min, max, null, null);
            result[i] = (int)x;
        }
        return result;
    }

    /// <summary>Reads a sequence of scalars as strings.</summary>
    public string[] GetStringList(string key, string[]? defaultValue = null, int minCount = 0, string? doc = null)
    {
        Record(key, "list of strings", defaultValue is null ? null : "[" + string.Join(", ", defaultValue) + "]", "", doc);
        var node = Lookup(key);
        if (node is null)
            return defaultValue is not null ? (string[])defaultValue.Clone() : IsDescribing ? Enumerable.Repeat("", minCount).ToArray() : throw Missing(key);
        var items = node.RequireSequence(minCount);
        var result = new string[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            items[i].RequireScalar("a string");
            result[i] = items[i]._text!;
        }
        return result;
    }

    /// <summary>The required mapping under <paramref name="key"/> (a section such as <c>model</c>); its own keys are
    /// checked by <see cref="EnsureAllKeysUsed"/> too.</summary>
    public SpecNode Child(string key, string? doc = null)
    {
        Record(key, "section", null, "", doc);
        var node = Lookup(key) ?? (IsDescribing ? DescribingChild(key) : throw Missing(key));
        if (node.Kind != SpecNodeKind.Mapping) throw node.Error($"must be a mapping (got {node.Describe()})");
        return node;
    }

    /// <summary>The mapping under <paramref name="key"/>, or null when the key is absent (or null).</summary>
    public SpecNode? OptionalChild(string key, string? doc = null)
    {
        Record(key, "section", "", "", doc);
        var node = Lookup(key);
        if (node is null) return IsDescribing ? DescribingChild(key) : null;
        if (node.Kind != SpecNodeKind.Mapping) throw node.Error($"must be a mapping (got {node.Describe()})");
        return node;
    }

    /// <summary>The items of the sequence under <paramref name="key"/> (for lists of sections); mapping items must have
    /// their keys read like any section.</summary>
    public IReadOnlyList<SpecNode> GetItems(string key, int minCount = 0, string? doc = null)
    {
        Record(key, "list of sections", null, "", doc);
        var node = Lookup(key);
        if (node is null && IsDescribing) return Array.Empty<SpecNode>();
        if (node is null) throw Missing(key);
        return node.RequireSequence(minCount);
    }

    /// <summary>The raw node under <paramref name="key"/> (or null), marked as wholly read: the caller takes
    /// responsibility for its contents.</summary>
    public SpecNode? GetNode(string key)
    {
        var node = Lookup(key);
        node?.MarkAllUsed();
        return node;
    }

    /// <summary>Marks this node and everything under it as read.</summary>
    public void MarkAllUsed() => _allUsed = true;

    /// <summary>Throws a <see cref="SpecException"/> at the first key (in file order, depth first) under this node that
    /// no reader asked for — a typo or a setting the experiment does not have — with a suggestion when a read key is close.</summary>
    public void EnsureAllKeysUsed()
    {
        if (_allUsed) return;
        if (_entries != null)
        {
            foreach (var e in _entries)
            {
                if (!_asked!.Contains(e.Key))
                {
                    string? near = _asked.Where(k => !Has(k)).OrderBy(k => EditDistance(k, e.Key)).FirstOrDefault();
                    string hint = near != null && EditDistance(near, e.Key) <= Math.Max(2, e.Key.Length / 3)
                        ? $" (did you mean '{near}'?)"
                        : _asked.Count > 0 ? $" (known here: {string.Join(", ", _asked.Order(StringComparer.Ordinal))})" : "";
                    throw new SpecException(e.KeyPosition, ChildPath(e.Key), "unknown key" + hint);
                }
                e.Value.EnsureAllKeysUsed();
            }
        }
        else if (_items != null)
        {
            foreach (var item in _items) item.EnsureAllKeysUsed();
        }
    }

    /// <summary>A <see cref="SpecException"/> about this node (its position and path), for binders' own checks.</summary>
    public SpecException Error(string reason) => new(Position, Path.Length == 0 ? null : Path, reason);

    /// <summary>A <see cref="SpecException"/> about <paramref name="key"/> of this mapping (at its value if present).</summary>
    public SpecException Error(string key, string reason) =>
        new(FindEntry(key)?.Value.Position ?? Position, ChildPath(key), reason);

    // ───────────────────────────── scalars ─────────────────────────────

    /// <summary>This scalar as a real number (integer or float); throws a <see cref="SpecException"/> otherwise.</summary>
    public double AsDouble()
    {
        RequireScalar("a number");
        if (TryParseNumber(out double x)) return x;
        throw Error($"must be a number (got {Describe()})");
    }

    /// <summary>This scalar as an integer (an integral float is accepted); throws a <see cref="SpecException"/> otherwise.</summary>
    public long AsInteger()
    {
        RequireScalar("an integer");
        var type = ScalarType;
        if (type == SpecScalarType.Integer && TryParseInteger(_text!, out long n)) return n;
        if (type == SpecScalarType.Float && TryParseNumber(out double x) && double.IsInteger(x) && Math.Abs(x) < 9.2e18) return (long)x;
        throw Error($"must be an integer (got {Describe()})");
    }

    private bool TryParseNumber(out double x)
    {
        x = 0;
        switch (ScalarType)
        {
            case SpecScalarType.Integer:
                if (TryParseInteger(_text!, out long n)) { x = n; return true; }
                return double.TryParse(_text, NumberStyles.Float, CultureInfo.InvariantCulture, out x);
            case SpecScalarType.Float:
                string t = _text!.TrimStart('+');
                if (t.EndsWith("inf", StringComparison.OrdinalIgnoreCase)) { x = t.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity; return true; }
                if (t.EndsWith("nan", StringComparison.OrdinalIgnoreCase)) { x = double.NaN; return true; }
                return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out x);
            default:
                return false;
        }
    }

    private static bool TryParseInteger(string text, out long value)
    {
        string t = text;
        bool negative = t.StartsWith('-');
        if (t.StartsWith('-') || t.StartsWith('+')) t = t[1..];
        bool ok;
        if (t.StartsWith("0x", StringComparison.Ordinal)) ok = long.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        else if (t.StartsWith("0o", StringComparison.Ordinal))
        {
            value = 0; ok = t.Length > 2;
            foreach (char c in t.AsSpan(2)) { if (c is < '0' or > '7' || value > long.MaxValue / 8) { ok = false; break; } value = value * 8 + (c - '0'); }
        }
        else ok = long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (negative) value = -value;
        return ok;
    }

    private static readonly Regex IntegerPattern = new(@"^[-+]?([0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$", RegexOptions.CultureInvariant);
    private static readonly Regex FloatPattern = new(@"^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$", RegexOptions.CultureInvariant);

    /// <summary>The YAML 1.2 core-schema type of a scalar's text.</summary>
    public static SpecScalarType ClassifyScalar(string text, bool quoted)
    {
        if (quoted) return SpecScalarType.String;
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL": return SpecScalarType.Null;
            case "true" or "True" or "TRUE" or "false" or "False" or "FALSE": return SpecScalarType.Bool;
        }
        if (IntegerPattern.IsMatch(text)) return SpecScalarType.Integer;
        if (FloatPattern.IsMatch(text)) return SpecScalarType.Float;
        return SpecScalarType.String;
    }

    /// <summary>How the node is shown in an error: the scalar's text, or "a mapping"/"a sequence".</summary>
    internal string Describe() => Kind switch
    {
        SpecNodeKind.Scalar when _quoted => "\"" + _text + "\"",
        SpecNodeKind.Scalar when ScalarType == SpecScalarType.Null => "null",
        SpecNodeKind.Scalar => _text!,
        _ => "a " + KindWord,
    };

    // ───────────────────────────── canonical forms ─────────────────────────────

    /// <summary>
    /// The canonical JSON rendering: mapping keys sorted (ordinal), numbers in shortest round-trip form
    /// (an integral number as an integer, so <c>0.10</c>, <c>0.1</c> and <c>1e-1</c> agree and <c>1.0</c> reads as <c>1</c>),
    /// YAML types resolved. Two specs that mean the same render the same; the run id hashes this.
    /// </summary>
    public string ToCanonicalJson()
    {
        var sb = new StringBuilder();
        WriteCanonical(sb);
        return sb.ToString();
    }

    private void WriteCanonical(StringBuilder sb)
    {
        switch (Kind)
        {
            case SpecNodeKind.Mapping:
                sb.Append('{');
                bool first = true;
                foreach (var e in _entries!.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(',');
                    first = false;
                    AppendJsonString(sb, e.Key);
                    sb.Append(':');
                    e.Value.WriteCanonical(sb);
                }
                sb.Append('}');
                break;
            case SpecNodeKind.Sequence:
                sb.Append('[');
                for (int i = 0; i < _items!.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    _items[i].WriteCanonical(sb);
                }
                sb.Append(']');
                break;
            default:
                sb.Append(CanonicalScalar());
                break;
        }
    }

    /// <summary>The canonical JSON text of a scalar (see <see cref="ToCanonicalJson"/>); non-finite numbers as
    /// the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>.</summary>
    public string CanonicalScalar()
    {
        switch (ScalarType)
        {
            case SpecScalarType.Null: return "null";
            case SpecScalarType.Bool: return _text!.Equals("true", StringComparison.OrdinalIgnoreCase) ? "true" : "false";
            case SpecScalarType.Integer when TryParseInteger(_text!, out long n): return n.ToString(CultureInfo.InvariantCulture);
            case SpecScalarType.Integer or SpecScalarType.Float:
                TryParseNumber(out double x);
                return FormatNumber(x);
            default:
                var sb = new StringBuilder();
                AppendJsonString(sb, _text!);
                return sb.ToString();
        }
    }

    /// <summary>A number in canonical JSON form: integral values below 2^53 as integers, others in shortest round-trip
    /// form; NaN and ±∞ as the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>.</summary>
    public static string FormatNumber(double x)
    {
        if (double.IsNaN(x)) return "\"NaN\"";
        if (double.IsPositiveInfinity(x)) return "\"Infinity\"";
        if (double.IsNegativeInfinity(x)) return "\"-Infinity\"";
        if (double.IsInteger(x) && Math.Abs(x) < 9007199254740992.0) return ((long)x).ToString(CultureInfo.InvariantCulture);
        return x.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>Appends <paramref name="s"/> as a JSON string literal.</summary>
    internal static void AppendJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>The leaves of the tree as (dotted path, canonical JSON) pairs in file order: scalars, whole sequences
    /// and empty mappings. Used to tell which settings differ between runs.</summary>
    public IEnumerable<KeyValuePair<string, string>> Flatten()
    {
        if (Kind == SpecNodeKind.Mapping && _entries!.Count > 0)
        {
            foreach (var e in _entries)
                foreach (var leaf in e.Value.Flatten()) yield return leaf;
        }
        else yield return new KeyValuePair<string, string>(Path, ToCanonicalJson());
    }

    /// <summary>The canonical JSON rendering (<see cref="ToCanonicalJson"/>).</summary>
    public override string ToString() => ToCanonicalJson();

    // ───────────────────────────── helpers ─────────────────────────────

    private void Record(string key, string type, string? defaultText, string range, string? doc) =>
        _recorder?.Add(new SpecKeyInfo(ChildPath(key), type, defaultText, range, doc ?? ""));

    private SpecNode DescribingChild(string key)
    {
        var child = Describing(_recorder!, ChildPath(key));
        return child;
    }

    private Entry? FindEntry(string key)
    {
        if (_entries is null) return null;
        foreach (var e in _entries) if (e.Key == key) return e;
        return null;
    }

    private SpecNode? Lookup(string key)
    {
        RequireMapping();
        _asked!.Add(key);
        var node = FindEntry(key)?.Value;
        // An explicit null (`key:` or `key: ~`) means "not set": the default applies.
        if (node is { Kind: SpecNodeKind.Scalar } && node.ScalarType == SpecScalarType.Null) return null;
        return node;
    }

    private SpecException Missing(string key) => new(Position, ChildPath(key), "required, but missing");

    private void RequireMapping()
    {
        if (_entries is null) throw Error($"must be a mapping (got {Describe()})");
    }

    private void RequireScalar(string what)
    {
        if (Kind != SpecNodeKind.Scalar) throw Error($"must be {what} (got a {KindWord})");
    }

    private IReadOnlyList<SpecNode> RequireSequence(int minCount)
    {
        if (_items is null) throw Error($"must be a sequence such as [1, 2] (got {Describe()})");
        if (_items.Count < minCount) throw Error($"must have at least {minCount} item{(minCount == 1 ? "" : "s")} (got {_items.Count})");
        return _items;
    }

    private static void CheckBounds(SpecNode node, double x, double? min, double? max, double? above, double? below)
    {
        // Every real setting is finite: NaN and ±∞ are rejected alike, bounded or not.
        if (double.IsNaN(x)) throw node.Error("must be a number, not NaN");
        if (double.IsInfinity(x)) throw node.Error($"must be a finite number (got {node._text})");
        if (min is { } a && !(x >= a)) throw node.Error($"must be >= {FormatBound(a)} (got {node._text})");
        if (max is { } b && !(x <= b)) throw node.Error($"must be <= {FormatBound(b)} (got {node._text})");
        if (above is { } c && !(x > c)) throw node.Error($"must be > {FormatBound(c)} (got {node._text})");
        if (below is { } d && !(x < d)) throw node.Error($"must be < {FormatBound(d)} (got {node._text})");
    }

    private static string FormatBound(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    private static string NormaliseName(string s) => s.Replace("-", "").Replace("_", "").ToLowerInvariant();

    /// <summary><c>PowerLaw</c> → <c>power-law</c>.</summary>
    public static string KebabCase(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1])))) sb.Append('-');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>Levenshtein distance, for "did you mean" suggestions (here and in <see cref="SpecOverrides"/>).</summary>
    internal static int EditDistance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
