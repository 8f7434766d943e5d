using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace MemoryLab.Experiments;

/// <summary>
/// Reads YAML experiment specs into <see cref="SpecNode"/> trees from YamlDotNet's parser events, so every
/// node keeps its file, line and column. Supports anchors and aliases (copied), merge keys (<c>&lt;&lt;</c>)
/// and <c>include:</c> — in any mapping, <c>include: base.yaml</c> or <c>include: [a.yaml, b.yaml]</c>
/// (paths relative to the including file) merges those files in order as defaults that the including
/// mapping's own keys then override (mappings merge key by key; other values replace).
/// </summary>
public static class SpecParser
{
    /// <summary>The key that includes other files.</summary>
    public const string IncludeKey = "include";

    private const string KindKey = "kind";

    /// <summary>Reads the spec file at <paramref name="path"/> (a mapping at the root), resolving includes.</summary>
    /// <param name="path">The spec file; it names the spec in errors and anchors relative includes.</param>
    /// <param name="readText">Reads a file's text by path (default: the file system); a caller serving specs from elsewhere
    /// (an assembly's embedded resources) passes its own, and includes are read through it too. It throws
    /// <see cref="FileNotFoundException"/> for a path it does not have.</param>
    public static SpecNode ParseFile(string path, Func<string, string>? readText = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return ParseFileAt(path, "", new List<string>(), SourcePosition.CommandLine, null, readText ?? File.ReadAllText);
    }

    /// <summary>Reads spec text; <paramref name="fileName"/> names it in errors and anchors relative includes.</summary>
    public static SpecNode ParseText(string text, string fileName)
    {
        var root = ReadDocument(text, fileName, "", null);
        return ResolveIncludes(root, Path.GetDirectoryName(fileName) ?? "", new List<string> { Path.GetFullPath(fileName) }, File.ReadAllText);
    }

    /// <summary>Reads one value written on the command line (a YAML scalar, or a flow sequence/mapping such as
    /// <c>[0.1, 0.2]</c>); every node of it is positioned at <see cref="SourcePosition.CommandLine"/>.</summary>
    public static SpecNode ParseValue(string text, string path)
    {
        // An empty value is an empty string, not YAML's null: `name=` sets the name to "".
        if (text.Length == 0) return SpecNode.Scalar("", true, SourcePosition.CommandLine, path);
        try
        {
            return ReadDocument(text, SourcePosition.CommandLineName, path, SourcePosition.CommandLine);
        }
        catch (SpecException e)
        {
            throw new SpecException(SourcePosition.CommandLine, path, $"cannot read value '{text}': {e.Reason}");
        }
    }

    private static SpecNode ParseFileAt(string path, string basePath, List<string> chain, SourcePosition includedFrom, string? includeKey,
        Func<string, string> readText)
    {
        string full = Path.GetFullPath(path);
        if (chain.Contains(full))
            throw new SpecException(includedFrom, includeKey, $"include cycle: {string.Join(" -> ", chain.Append(full).Select(Path.GetFileName))}");
        string text;
        try
        {
            text = readText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "not found" : e.Message;
            throw new SpecException(includedFrom, includeKey, $"cannot read spec file '{path}' ({why})");
        }
        var root = ReadDocument(text, path, basePath, null);
        if (root.Kind != SpecNodeKind.Mapping)
            throw new SpecException(root.Position, null, $"a spec file must hold a mapping (key: value lines), not a {root.KindWord}");
        chain.Add(full);
        var resolved = ResolveIncludes(root, Path.GetDirectoryName(path) ?? "", chain, readText);
        chain.RemoveAt(chain.Count - 1);
        return resolved;
    }

    private static readonly Regex YamlMessagePrefix = new(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", RegexOptions.CultureInvariant);

    private static SpecNode ReadDocument(string text, string file, string basePath, SourcePosition? fixedPosition)
    {
        var reader = new EventReader(file, fixedPosition);
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _)) return SpecNode.Mapping(new SourcePosition(file, 1, 1), basePath);
            parser.Consume<DocumentStart>();
            SpecNode root;
            if (parser.Accept<DocumentEnd>(out _)) root = SpecNode.Mapping(new SourcePosition(file, 1, 1), basePath);
            else root = reader.ReadNode(parser, basePath);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
                throw new SpecException(reader.Pos(second.Start), null, "a spec holds one YAML document; found a second one (---)");
            parser.Consume<StreamEnd>();
            return root;
        }
        catch (YamlException e)
        {
            string message = YamlMessagePrefix.Replace(e.Message, "");
            throw new SpecException(reader.Pos(e.Start), null, "YAML syntax error: " + message, e);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet reports some truncated documents (an unclosed [ or {) by running off the end of the stream.
            throw new SpecException(reader.LastPosition, null, "YAML syntax error: the document ends inside an unclosed value (a missing ] or }?)", e);
        }
    }

    private sealed class EventReader(string file, SourcePosition? fixedPosition)
    {
        private readonly Dictionary<string, SpecNode> _anchors = new(StringComparer.Ordinal);
        private long _nodes;

        /// <summary>Most values a spec may expand to: aliases copy their anchor, so a kilobyte of nested aliases could otherwise
        /// expand to billions of nodes (the "billion laughs").</summary>
        public const long MaxNodes = 100_000;

        private void Count(long added, Mark at, string path)
        {
            _nodes += added;
            if (_nodes > MaxNodes)
                throw new SpecException(Pos(at), path.Length == 0 ? null : path, $"the spec expands to more than {MaxNodes} values (aliases of aliases?)");
        }

        private static long Size(SpecNode node, long limit)
        {
            long n = 1;
            foreach (var item in node.Items) { n += Size(item, limit - n); if (n > limit) return n; }
            foreach (var key in node.Keys) { n += Size(node.Peek(key)!, limit - n); if (n > limit) return n; }
            return n;
        }

        public SourcePosition LastPosition { get; private set; } = fixedPosition ?? new SourcePosition(file, 1, 1);

        public SourcePosition Pos(Mark m) => LastPosition = fixedPosition ?? new SourcePosition(file, (int)m.Line, (int)m.Column);

        public SpecNode ReadNode(IParser parser, string path)
        {
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (!_anchors.TryGetValue(alias.Value.Value, out var target))
                    throw new SpecException(Pos(alias.Start), path.Length == 0 ? null : path, $"unknown alias *{alias.Value.Value}");
                Count(Size(target, MaxNodes - _nodes + 1), alias.Start, path);
                return target.Clone(path);
            }
            SpecNode node;
            AnchorName anchor;
            if (parser.Current is { } current) Count(1, current.Start, path);
            if (parser.TryConsume<Scalar>(out var scalar))
            {
                bool quoted = scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded
                              || (!scalar.Tag.IsEmpty && scalar.Tag.Value == "tag:yaml.org,2002:str");
                node = SpecNode.Scalar(scalar.Value, quoted, Pos(scalar.Start), path);
                anchor = scalar.Anchor;
            }
            else if (parser.TryConsume<SequenceStart>(out var seqStart))
            {
                node = SpecNode.Sequence(Pos(seqStart.Start), path);
                int i = 0;
                while (!parser.TryConsume<SequenceEnd>(out _)) node.AddItem(ReadNode(parser, $"{path}[{i++}]"));
                anchor = seqStart.Anchor;
            }
            else if (parser.TryConsume<MappingStart>(out var mapStart))
            {
                node = SpecNode.Mapping(Pos(mapStart.Start), path);
                var merges = new List<SpecNode>();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    if (!parser.TryConsume<Scalar>(out var key))
                    {
                        var where = parser.Current?.Start ?? mapStart.Start;
                        throw new SpecException(Pos(where), path.Length == 0 ? null : path, "mapping keys must be plain scalars");
                    }
                    if (key.Value == "<<" && key.Style == ScalarStyle.Plain)
                    {
                        var source = ReadNode(parser, path);
                        if (source.Kind == SpecNodeKind.Mapping) merges.Add(source);
                        else if (source.Kind == SpecNodeKind.Sequence && source.Items.All(s => s.Kind == SpecNodeKind.Mapping)) merges.AddRange(source.Items);
                        else throw new SpecException(source.Position, path.Length == 0 ? null : path, "a merge key (<<) needs a mapping or a list of mappings");
                        continue;
                    }
                    string childPath = path.Length == 0 ? key.Value : path + "." + key.Value;
                    node.Add(key.Value, Pos(key.Start), ReadNode(parser, childPath));
                }
                // Merge keys: earlier sources win, explicit keys win over all (YAML merge-key semantics).
                foreach (var source in merges)
                    foreach (var k in source.Keys)
                        if (!node.Has(k))
                        {
                            Count(Size(source.Peek(k)!, MaxNodes - _nodes + 1), mapStart.Start, path);
                            node.Add(k, source.KeyPosition(k), source.Peek(k)!.Clone(node.ChildPath(k)));
                        }
                anchor = mapStart.Anchor;
            }
            else
            {
                var ev = parser.Current!;
                throw new SpecException(Pos(ev.Start), null, $"unexpected YAML event {ev.GetType().Name}");
            }
            if (!anchor.IsEmpty) _anchors[anchor.Value] = node;
            return node;
        }
    }

    private static SpecNode ResolveIncludes(SpecNode node, string directory, List<string> chain, Func<string, string> readText)
    {
        switch (node.Kind)
        {
            case SpecNodeKind.Sequence:
            {
                var seq = SpecNode.Sequence(node.Position, node.Path);
                foreach (var item in node.Items) seq.AddItem(ResolveIncludes(item, directory, chain, readText));
                return seq;
            }
            case SpecNodeKind.Mapping:
            {
                var own = SpecNode.Mapping(node.Position, node.Path);
                foreach (var key in node.Keys)
                    if (key != IncludeKey) own.Add(key, node.KeyPosition(key), ResolveIncludes(node.Peek(key)!, directory, chain, readText));
                var include = node.Peek(IncludeKey);
                if (include is null) return own;
                string includePath = node.ChildPath(IncludeKey);
                IEnumerable<SpecNode> files = include.Kind switch
                {
                    SpecNodeKind.Scalar => new[] { include },
                    SpecNodeKind.Sequence => include.Items,
                    _ => throw new SpecException(include.Position, includePath, "must be a file name or a list of file names"),
                };
                SpecNode? merged = null;
                foreach (var f in files)
                {
                    if (f.Kind != SpecNodeKind.Scalar || f.ScalarType == SpecScalarType.Null || f.Text.Length == 0)
                        throw new SpecException(f.Position, includePath, $"must be a file name (got {f.Describe()})");
                    string target = Path.IsPathRooted(f.Text) ? f.Text : Path.Combine(directory, f.Text);
                    var included = ParseFileAt(target, node.Path, chain, f.Position, includePath, readText);
                    merged = merged is null ? included : Merge(merged, included);
                }
                return merged is null ? own : Merge(merged, own);
            }
            default:
                return node;
        }
    }

    /// <summary>Deep merge: mappings merge key by key (entries of <paramref name="over"/> win, keeping
    /// <paramref name="under"/>'s key order first); any other pair gives <paramref name="over"/>. Two mappings whose
    /// <c>kind</c> differs give <paramref name="over"/> too: the included kind's options mean nothing to another kind
    /// (a <c>deep_stack</c> model over an included <c>lru</c> model replaces it).</summary>
    public static SpecNode Merge(SpecNode under, SpecNode over)
    {
        if (under.Kind != SpecNodeKind.Mapping || over.Kind != SpecNodeKind.Mapping) return over.Clone();
        if (under.Peek(KindKey) is { Kind: SpecNodeKind.Scalar } uk && over.Peek(KindKey) is { Kind: SpecNodeKind.Scalar } ok && uk.Text != ok.Text)
            return over.Clone();
        var result = SpecNode.Mapping(over.Position, over.Path);
        foreach (var key in under.Keys)
        {
            var u = under.Peek(key)!;
            var o = over.Peek(key);
            if (o is null) result.Add(key, under.KeyPosition(key), u.Clone(result.ChildPath(key)));
            else result.Add(key, over.KeyPosition(key), Merge(u.Clone(result.ChildPath(key)), o.Clone(result.ChildPath(key))));
        }
        foreach (var key in over.Keys)
            if (!under.Has(key)) result.Add(key, over.KeyPosition(key), over.Peek(key)!.Clone(result.ChildPath(key)));
        return result;
    }
}
