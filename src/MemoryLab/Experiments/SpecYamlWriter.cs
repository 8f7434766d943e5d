using System.Text;
using System.Text.RegularExpressions;

namespace MemoryLab.Experiments;

/// <summary>Writes a <see cref="SpecNode"/> tree back as block-style YAML (keys in file order, lists of scalars
/// in flow style). Reading the output with <see cref="SpecParser"/> gives the same canonical JSON, so a run's
/// <c>spec.yaml</c> reproduces the run exactly.</summary>
internal static class SpecYamlWriter
{
    private static readonly Regex SafePlain = new(@"^[A-Za-z_/][A-Za-z0-9_./+\-]*( [A-Za-z0-9_./+\-]+)*$", RegexOptions.CultureInvariant);

    /// <summary>The YAML text of <paramref name="node"/> (a mapping becomes a whole document).</summary>
    public static string ToYaml(SpecNode node)
    {
        var sb = new StringBuilder();
        switch (node.Kind)
        {
            case SpecNodeKind.Mapping when node.Count > 0: WriteMapping(sb, node, 0); break;
            case SpecNodeKind.Sequence when !IsFlowable(node): WriteSequence(sb, node, 0); break;
            default: sb.Append(Flow(node)).Append('\n'); break;
        }
        return sb.ToString();
    }

    /// <summary>A scalar as YAML text: non-strings as written, strings plain when that reads back as the same
    /// string, else double-quoted with JSON-style escapes.</summary>
    public static string FormatScalar(SpecNode scalar)
    {
        var type = scalar.ScalarType;
        if (type == SpecScalarType.Null) return "null";
        if (type != SpecScalarType.String) return scalar.Text;
        return FormatString(scalar.Text);
    }

    /// <summary>A string as a YAML scalar that reads back as that string.</summary>
    public static string FormatString(string s)
    {
        if (SafePlain.IsMatch(s) && SpecNode.ClassifyScalar(s, false) == SpecScalarType.String) return s;
        var sb = new StringBuilder();
        SpecNode.AppendJsonString(sb, s);
        return sb.ToString();
    }

    private static bool IsFlowable(SpecNode node) =>
        node.Kind == SpecNodeKind.Scalar
        || (node.Kind == SpecNodeKind.Mapping && node.Count == 0)
        || (node.Kind == SpecNodeKind.Sequence && node.Items.All(i => i.Kind == SpecNodeKind.Scalar || (i.Kind == SpecNodeKind.Sequence && IsFlowable(i))));

    private static string Flow(SpecNode node) => node.Kind switch
    {
        SpecNodeKind.Scalar => FormatScalar(node),
        SpecNodeKind.Sequence => "[" + string.Join(", ", node.Items.Select(Flow)) + "]",
        _ => "{" + string.Join(", ", node.Keys.Select(k => FormatString(k) + ": " + Flow(node.Peek(k)!))) + "}",
    };

    private static void WriteMapping(StringBuilder sb, SpecNode map, int indent)
    {
        foreach (string key in map.Keys)
        {
            var value = map.Peek(key)!;
            sb.Append(' ', indent).Append(FormatString(key)).Append(':');
            if (IsFlowable(value)) sb.Append(' ').Append(Flow(value)).Append('\n');
            else if (value.Kind == SpecNodeKind.Mapping) { sb.Append('\n'); WriteMapping(sb, value, indent + 2); }
            else { sb.Append('\n'); WriteSequence(sb, value, indent + 2); }
        }
    }

    private static void WriteSequence(StringBuilder sb, SpecNode seq, int indent)
    {
        foreach (var item in seq.Items)
        {
            sb.Append(' ', indent).Append("- ");
            if (IsFlowable(item)) { sb.Append(Flow(item)).Append('\n'); continue; }
            var inner = new StringBuilder();
            if (item.Kind == SpecNodeKind.Mapping) WriteMapping(inner, item, indent + 2);
            else WriteSequence(inner, item, indent + 2);
            sb.Append(inner.ToString(indent + 2, inner.Length - indent - 2)); // the first line continues after "- "
        }
    }
}
