using System.Text;
using MemoryLab.Models;

namespace MemoryLab.Experiments;

/// <summary>One kind in the spec reference: its family, name, one line on what it is, and the keys its binder reads.</summary>
/// <param name="Family">experiment, data, optimizer, schedule or model.</param>
/// <param name="Name">The kind's name (what <c>kind:</c> takes).</param>
/// <param name="Description">One line on what it is.</param>
/// <param name="Keys">Its keys, in the order the binder reads them.</param>
public sealed record KindReference(string Family, string Name, string Description, IReadOnlyList<SpecKeyInfo> Keys);

/// <summary>
/// The spec reference (<c>memlab kinds</c>, <c>docs/spec-reference.md</c>): every experiment, data, optimiser, schedule and
/// model kind with each key's type, default, range and meaning, recorded by running each kind's own binder on a describing
/// spec (<see cref="SpecNode.Describing"/>, <see cref="ModelFactory.DescribeOptions"/>), so the reference and validation are one
/// piece of code.
/// </summary>
public static class SpecReference
{
    /// <summary>The kind families, in reference order, with the spec section each one fills.</summary>
    public static IReadOnlyList<(string Family, string Where)> Families { get; } =
    [
        ("experiment", "the spec's top level (`kind:` picks one)"),
        ("data", "the `data:` section of a `train` spec"),
        ("optimizer", "the `optimizer:` section of a `train` spec"),
        ("schedule", "the `schedule:` section of a `train` spec"),
        ("model", "the `model:` section of a `train` spec, and each child under `layer:` / `layers:`"),
    ];

    /// <summary>Every kind of every family: the model kinds of <paramref name="models"/> and the data kinds of
    /// <paramref name="data"/> (default: the built-in ones), so a catalog extended by plugins is described whole.</summary>
    public static IReadOnlyList<KindReference> All(ExperimentRegistry experiments, ModelFactory models, SpecKinds<DataSpec>? data = null)
    {
        ArgumentNullException.ThrowIfNull(experiments);
        ArgumentNullException.ThrowIfNull(models);
        var all = new List<KindReference>();
        foreach (var kind in experiments.Kinds.Values.OrderBy(k => k.Name == "train" ? 0 : 1).ThenBy(k => k.Name, StringComparer.Ordinal))
            all.Add(new("experiment", kind.Name, kind.Description, TopLevel(SpecKeyRecorder.Describe(kind.Validate))));
        foreach (var (family, kinds) in new (string, IReadOnlyList<(string Name, string Description, IReadOnlyList<SpecKeyInfo> Keys)>)[]
                 { ("data", (data ?? DataSpec.Kinds).Describe()), ("optimizer", OptimizerSpec.Kinds.Describe()), ("schedule", ScheduleSpec.Kinds.Describe()) })
            foreach (var k in kinds) all.Add(new(family, k.Name, k.Description, k.Keys));
        foreach (var name in models.Kinds)
            all.Add(new("model", name, models.Summary(name),
                models.DescribeOptions(name).Select(o => new SpecKeyInfo(o.Key, o.Type, o.Default, o.Range, o.Doc)).ToArray()));
        return all;
    }

    // Keys inside a section that is itself a kind family (data:, optimizer:, schedule:) are listed under that family:
    // here only the section's kind: row stays.
    private static IReadOnlyList<SpecKeyInfo> TopLevel(IReadOnlyList<SpecKeyInfo> keys)
    {
        var families = keys.Where(k => k.Path.EndsWith(".kind", StringComparison.Ordinal)).Select(k => k.Path[..^".kind".Length] + ".").ToArray();
        return keys.Where(k => !families.Any(f => k.Path.StartsWith(f, StringComparison.Ordinal) && k.Path != f + "kind")).ToArray();
    }

    /// <summary>The kinds whose name or family is <paramref name="name"/> (all kinds when null).</summary>
    public static IReadOnlyList<KindReference> Find(IReadOnlyList<KindReference> all, string? name) =>
        name is null ? all : all.Where(k => k.Name == name || k.Family == name || k.Family + "s" == name).ToArray();

    /// <summary>Plain text for a terminal: each kind, then one line per key.</summary>
    public static string Text(IReadOnlyList<KindReference> kinds)
    {
        var sb = new StringBuilder();
        foreach (var k in kinds)
        {
            sb.Append(k.Family).Append(' ').Append(k.Name).Append(": ").AppendLine(k.Description);
            if (k.Keys.Count == 0) sb.AppendLine("  (no keys)");
            int width = k.Keys.Count == 0 ? 0 : k.Keys.Max(x => x.Path.Length);
            foreach (var key in k.Keys)
            {
                sb.Append("  ").Append(key.Path.PadRight(width)).Append("  ").Append(key.Type);
                sb.Append(", default ").Append(key.DefaultText);
                if (key.Range.Length > 0) sb.Append(", ").Append(key.Range);
                if (key.Doc.Length > 0) sb.Append(": ").Append(key.Doc);
                sb.AppendLine();
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary><c>docs/spec-reference.md</c>: how a spec is put together (includes, overrides, grids), then every kind's keys.</summary>
    public static string Markdown(IReadOnlyList<KindReference> kinds)
    {
        var sb = new StringBuilder();
        sb.Append(Preamble);
        foreach (var (family, where) in Families)
        {
            var members = kinds.Where(k => k.Family == family).ToArray();
            if (members.Length == 0) continue;
            sb.Append("\n## ").Append(char.ToUpperInvariant(family[0])).Append(family[1..]).Append(" kinds\n\n");
            sb.Append("In ").Append(where).Append(": ").Append(string.Join(", ", members.Select(m => "`" + m.Name + "`"))).Append(".\n");
            if (family == "experiment")
                sb.Append("\nA reproduction's own kind (named after it) has no defaults: the values of its two scales, each with where it comes from\n"
                    + "(the paper, the authors' code, or chosen and why), are in its spec files, `experiments/reproduce/NAME/`.\n");
            foreach (var k in members)
            {
                sb.Append("\n### ").Append(family).Append(" `").Append(k.Name).Append("`\n\n").Append(Escape(k.Description)).Append("\n\n");
                if (k.Keys.Count == 0) { sb.Append("No keys.\n"); continue; }
                sb.Append("| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
                foreach (var key in k.Keys)
                    sb.Append("| `").Append(key.Path).Append("` | ").Append(key.Type).Append(" | ").Append(Escape(key.DefaultText))
                      .Append(" | ").Append(Escape(key.Range)).Append(" | ").Append(Escape(key.Doc)).Append(" |\n");
            }
        }
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);

    private const string Preamble = """
        # Spec reference

        <!-- Generated by `memlab kinds --markdown > docs/spec-reference.md` from the binders that validate specs; a test keeps it equal. Do not edit by hand. -->

        A spec is a YAML file read by `memlab run`/`train`, `memlab sweep` and `memlab reproduce`. Its top level holds:

        | key | meaning |
        |---|---|
        | `kind` | the experiment kind (below; `memlab kinds` lists them, with plugins') |
        | `seed` | the run's seed, an integer ≥ 0 (default 0); the same seed gives the same bits |
        | `include` | a file, or a list of files, merged under this mapping (below) |
        | `grid` | sweep axes: `{AXIS: [values]}` or a list of such mappings (`memlab sweep`) |
        | `select` | how `memlab results` picks the best grid point: `{metric, minimize, over, per}` |
        | `reproduction` | a reproduction's name, scale and claims (reproduction specs only; part of no run) |

        and the keys of its kind. Every key is checked: an unknown key, a wrong type or an out-of-range value stops the
        command with exit code 2 and one line naming the file, line and key, before anything is written.

        **`include:`** (in any mapping, not only the top level): `include: base.yaml` or `include: [a.yaml, b.yaml]`, paths
        relative to the including file. The included files are merged in order, then the including mapping's own keys
        override them. Mappings merge key by key, so `model: {hidden: 64}` over an included model changes only its width;
        a mapping whose `kind` differs from the included one's replaces it whole (the other kind's options do not apply),
        so `model: {kind: deep_stack, d_model: 32, layer: {kind: lru}}` over `include: teacher-student.yaml` swaps the
        model. Lists and scalars replace.

        **Overrides** on the command line (`memlab train SPEC key=value …`, `--set NAME.key=value` for reproductions) use
        dotted paths (`optimizer.lr=1e-3`, `model.layer.hidden=64`); `+key=value` adds a key the spec does not have yet.
        A value is read as YAML (`grid.seed=[0,1,2]` is a list).

        **Models** are trees: `kind` names a model kind, the other scalar keys are its options, a child goes under
        `layer:` (one) or `layers:` (a list). Any model may carry `name:` (the prefix of its parameters' names inside a
        `stack`). The layer's input width comes from the data; a recurrent layer outputs its state, so a model whose
        output width must match the data ends in a readout (`{kind: stack, layers: [{kind: continuous_time, hidden: 16},
        {kind: dense, out: 1}]}`), or uses a kind with an `out` option. The linear time-invariant kinds (`linear_rnn`,
        `complex_diagonal`, `lru`) compute by `algorithm: auto` (the default: a cost model picks per shape, and the pick
        is written into the run's spec.yaml), `scan` (the recurrence) or `convolution` (the kernel K_s and
        a causal convolution), e.g. `model: {kind: lru, hidden: 64, algorithm: scan}`; both paths give the same numbers up
        to rounding. A sweep over widths under `auto` may get both, and `memlab results` then keeps them apart as an axis.

        Each table below lists a key's type, its default (`required` when it has none, `—` when it is optional and unset
        means off), its range, and what it means. `memlab kinds NAME` prints the same for one kind or family.

        """;
}
