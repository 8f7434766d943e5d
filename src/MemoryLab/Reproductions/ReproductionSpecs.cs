using System.Reflection;
using MemoryLab.Experiments;

namespace MemoryLab.Reproductions;

/// <summary>
/// The <c>reproduction:</c> section of a reproduction's spec: <c>name</c> (the reproduction that reports the runs),
/// <c>scale</c> (<c>quick</c> or <c>paper</c>), <c>claims</c> (<see cref="ClaimSpec"/>; usually in the <c>common.yaml</c>
/// both scales include) and, optionally, <c>analysis</c>: the settings of a closed-form computation the report step makes
/// itself beside the runs (e.g. a theory panel next to trained students), which the reproduction binds strictly.
/// It belongs to no run, so it changes no run's identity.
/// </summary>
/// <param name="Name">The reproduction's name.</param>
/// <param name="Scale">The scale this spec file is.</param>
/// <param name="Claims">The claims the report checks.</param>
public sealed record ReproductionSection(string Name, ReproductionScale Scale, IReadOnlyList<ClaimSpec> Claims)
{
    /// <summary>The <c>analysis:</c> mapping, or null when the spec has none.</summary>
    public SpecNode? Analysis { get; init; }

    /// <summary>The paper reproduced (<c>paper:</c>; empty when the spec does not say).</summary>
    public string Paper { get; init; } = "";

    /// <summary>The figure, table or theorem reproduced (<c>figure:</c>).</summary>
    public string Figure { get; init; } = "";

    /// <summary>How long the scale takes, with the date and command that measured it (<c>run_time:</c>; empty when unmeasured).</summary>
    public string RunTime { get; init; } = "";

    /// <summary>Reads the section strictly (an unknown key is an error at its line).</summary>
    public static ReproductionSection Bind(SpecNode section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var s = section.Clone();
        if (s.Kind != SpecNodeKind.Mapping) throw s.Error($"must be a mapping of name, scale, claims and optionally paper, figure, run_time and analysis (got a {s.KindWord})");
        var analysis = s.GetNode("analysis");
        if (analysis is not null && analysis.Kind != SpecNodeKind.Mapping) throw analysis.Error($"must be a mapping of settings (got {analysis.Describe()})");
        var bound = new ReproductionSection(s.GetString("name"), s.GetEnum<ReproductionScale>("scale"), ClaimSpec.BindAll(s, "claims"))
        {
            Analysis = analysis?.Clone(),
            Paper = s.GetString("paper", "", doc: "the paper reproduced (authors, venue, year)"),
            Figure = s.GetString("figure", "", doc: "the figure, table or theorem reproduced"),
            RunTime = s.GetString("run_time", "", doc: "how long this scale takes, with the date and command that measured it"),
        };
        s.EnsureAllKeysUsed();
        return bound;
    }

    /// <summary>The section of <paramref name="plan"/>: a <see cref="SpecException"/> when it is missing.</summary>
    public static ReproductionSection Of(SweepPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Reproduction is null)
            throw plan.Spec.Error($"a reproduction's spec needs a '{SweepPlan.ReproductionKey}:' section (name, scale, claims)");
        return Bind(plan.Reproduction);
    }
}

/// <summary>
/// Where reproductions' specs come from: <c>NAME/quick.yaml</c> and <c>NAME/paper.yaml</c> (which usually include
/// <c>NAME/common.yaml</c>) in a folder the user names (<c>memlab reproduce --specs DIR</c>), or, by default, the copies embedded
/// in the assembly that defines the reproduction (the library embeds <c>experiments/reproduce/**</c>; a plugin embeds its own
/// the same way), so the installed tool works from any folder.
/// </summary>
public static class ReproductionSpecs
{
    /// <summary>The prefix of an embedded spec's source name (<c>embedded:NAME/quick.yaml</c>).</summary>
    public const string EmbeddedPrefix = "embedded:";

    /// <summary>The spec file of a scale: <c>quick.yaml</c> or <c>paper.yaml</c>.</summary>
    public static string FileName(ReproductionScale scale) => scale == ReproductionScale.Quick ? "quick.yaml" : "paper.yaml";

    /// <summary>
    /// Reads the spec of <paramref name="reproduction"/> at <paramref name="scale"/> (includes resolved): <c>DIR/NAME/FILE</c> when
    /// <paramref name="specsDirectory"/> has that file, else the embedded copy. Missing everywhere: a <see cref="SpecException"/>
    /// saying where it looked. <paramref name="source"/> is the file path or <c>embedded:NAME/FILE</c>.
    /// </summary>
    public static SpecNode Load(IReproduction reproduction, ReproductionScale scale, string? specsDirectory, out string source)
    {
        ArgumentNullException.ThrowIfNull(reproduction);
        string file = FileName(scale);
        if (specsDirectory != null)
        {
            string path = Path.Combine(specsDirectory, reproduction.Name, file);
            if (File.Exists(path))
            {
                source = path;
                return SpecParser.ParseFile(path);
            }
        }
        var assembly = reproduction.GetType().Assembly;
        source = $"{EmbeddedPrefix}{reproduction.Name}/{file}";
        if (FindResource(assembly, $"{reproduction.Name}/{file}") is null)
            throw new SpecException(SourcePosition.CommandLine, null,
                $"no {file} for reproduction '{reproduction.Name}': looked for {(specsDirectory != null ? $"'{Path.Combine(specsDirectory, reproduction.Name, file)}' and " : "")}"
                + $"a resource '{reproduction.Name}/{file}' embedded in {assembly.GetName().Name}; write one (see docs/extending.md) and pass --specs DIR");
        return SpecParser.ParseFile(source, path => ReadEmbedded(assembly, path));
    }

    /// <summary>The name of the resource holding <paramref name="relativePath"/> (<c>NAME/FILE</c>): one whose name, with
    /// <c>\</c> read as <c>/</c>, is it or ends in <c>/NAME/FILE</c>, or ends in <c>.NAME.FILE</c> as MSBuild names an
    /// <c>EmbeddedResource</c> by default (folder names with <c>-</c> written <c>_</c>).</summary>
    public static string? FindResource(Assembly assembly, string relativePath)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        string slash = relativePath.Replace('\\', '/');
        var parts = slash.Split('/');
        string dotted = "." + string.Join('.', parts);
        string msbuild = "." + string.Join('.', parts[..^1].Select(p => p.Replace('-', '_')).Append(parts[^1]));
        return assembly.GetManifestResourceNames().FirstOrDefault(r =>
        {
            string n = r.Replace('\\', '/');
            return n == slash || n.EndsWith("/" + slash, StringComparison.Ordinal) || n.EndsWith(dotted, StringComparison.Ordinal)
                || n.EndsWith(msbuild, StringComparison.Ordinal);
        });
    }

    private static string ReadEmbedded(Assembly assembly, string path)
    {
        if (!path.StartsWith(EmbeddedPrefix, StringComparison.Ordinal)) throw new FileNotFoundException($"not an embedded spec: {path}", path);
        // Normalise "a/./b" and "a/../b" so an include may climb to a sibling reproduction's folder.
        var parts = new List<string>();
        foreach (string part in path[EmbeddedPrefix.Length..].Replace('\\', '/').Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        string? resource = FindResource(assembly, string.Join('/', parts)) ?? throw new FileNotFoundException($"no embedded spec {path}", path);
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>
/// One reproduction ready to run at one scale: its spec (after <c>--set</c> overrides) expanded into runs and validated, and
/// its <c>reproduction:</c> section bound.
/// </summary>
/// <param name="Reproduction">The reproduction.</param>
/// <param name="Scale">The scale it runs at.</param>
/// <param name="Source">Where its spec was read (file path or <c>embedded:NAME/FILE</c>).</param>
/// <param name="Sweep">The expanded spec: its runs, selection rule and the spec itself (written as <c>sweep.yaml</c>).</param>
/// <param name="Section">Name, scale and claims.</param>
/// <param name="Overrides">The overrides applied (without the reproduction's name).</param>
public sealed record ReproductionPlan(IReproduction Reproduction, ReproductionScale Scale, string Source, SweepPlan Sweep, ReproductionSection Section,
    IReadOnlyList<string> Overrides)
{
    /// <summary>
    /// Loads, overrides and validates the specs of <paramref name="reproductions"/> before anything runs. Both scales of every
    /// selected reproduction are expanded and validated (so a typo in <c>paper.yaml</c> is caught by a quick run); then
    /// <paramref name="overrides"/>, <c>NAME.key=value</c> (<see cref="SpecOverrides"/> syntax after the name; <c>NAME.+key=value</c>
    /// adds a key), are applied to the chosen scale's spec. Any problem is a one-line <see cref="SpecException"/> naming the file,
    /// line and key (<c>NAME.key</c> for an override).
    /// </summary>
    public static IReadOnlyList<ReproductionPlan> Create(IReadOnlyList<IReproduction> reproductions, ReproductionScale scale, ExperimentRegistry kinds,
        string? specsDirectory = null, IReadOnlyList<string>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(reproductions);
        ArgumentNullException.ThrowIfNull(kinds);
        if (specsDirectory != null && !Directory.Exists(specsDirectory))
            throw new SpecException(SourcePosition.CommandLine, "--specs", $"no folder '{specsDirectory}'");
        var byName = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string raw in overrides ?? [])
        {
            int dot = raw.IndexOf('.'), eq = raw.IndexOf('=');
            if (dot <= 0 || eq < 0 || eq < dot)
                throw new SpecException(SourcePosition.CommandLine, "--set", $"'{raw}' must be REPRODUCTION.key=value (e.g. li21-plateaus.runs=5)");
            string name = raw[..dot];
            if (!reproductions.Any(r => r.Name == name))
                throw new SpecException(SourcePosition.CommandLine, "--set",
                    $"'{raw}' names reproduction '{name}', which is not selected; selected: {string.Join(", ", reproductions.Select(r => r.Name))}");
            if (!byName.TryGetValue(name, out var list)) byName[name] = list = new List<string>();
            list.Add(raw[(dot + 1)..]);
        }
        var plans = new List<ReproductionPlan>();
        foreach (var r in reproductions)
        {
            ReproductionPlan? chosen = null;
            foreach (var s in new[] { ReproductionScale.Quick, ReproductionScale.Paper })
            {
                var root = ReproductionSpecs.Load(r, s, specsDirectory, out string source);
                var mine = s == scale && byName.TryGetValue(r.Name, out var o) ? o : new List<string>();
                try
                {
                    SpecOverrides.Apply(root, mine);
                    var sweep = SweepPlan.FromSpec(root, r.Name, kinds);
                    var section = ReproductionSection.Of(sweep);
                    if (section.Name != r.Name)
                        throw new SpecException(sweep.Reproduction!.KeyPosition("name"), $"{SweepPlan.ReproductionKey}.name", $"names '{section.Name}', but this is the spec of '{r.Name}'");
                    if (section.Scale != s)
                        throw new SpecException(sweep.Reproduction!.KeyPosition("scale"), $"{SweepPlan.ReproductionKey}.scale",
                            $"says {section.Scale.ToString().ToLowerInvariant()}, but this is {ReproductionSpecs.FileName(s)}");
                    if (s == scale) chosen = new ReproductionPlan(r, s, source, sweep, section, mine);
                }
                catch (SpecException x) when (x.Position.Equals(SourcePosition.CommandLine) && mine.Count > 0)
                {
                    // An override's error names the key as the user wrote it: NAME.key.
                    throw new SpecException(x.Position, x.Key is null ? r.Name : $"{r.Name}.{x.Key}", x.Reason);
                }
            }
            plans.Add(chosen!);
        }
        return plans;
    }
}

/// <summary>The registered reproductions, in report order. Users add their own with <see cref="Register"/>.</summary>
public sealed class ReproductionRegistry
{
    private readonly List<IReproduction> _all = new();

    /// <summary>The library's reproductions; those that are experiment kinds of their own (<see cref="ReproductionKind{TSettings}"/>)
    /// are registered in <paramref name="kinds"/> too, so <c>memlab run</c>/<c>sweep</c> run their specs.</summary>
    public static ReproductionRegistry CreateDefault(ExperimentRegistry kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        var registry = new ReproductionRegistry();
        foreach (var r in BuiltInReproductions.All())
        {
            registry.Register(r);
            if (r is IExperimentKind kind) kinds.Register(kind);
        }
        return registry;
    }

    /// <summary>Every registered reproduction, in registration order.</summary>
    public IReadOnlyList<IReproduction> All => _all;

    /// <summary>Adds a reproduction; names must be unique.</summary>
    public ReproductionRegistry Register(IReproduction reproduction)
    {
        ArgumentNullException.ThrowIfNull(reproduction);
        if (_all.Any(e => e.Name == reproduction.Name)) throw new ArgumentException($"reproduction '{reproduction.Name}' is already registered");
        _all.Add(reproduction);
        return this;
    }

    /// <summary>The reproduction named <paramref name="name"/>, or null.</summary>
    public IReproduction? Find(string name) => _all.FirstOrDefault(e => e.Name == name);

    /// <summary>The reproductions named in <paramref name="names"/> (all when empty), in registration order; an unknown name is an
    /// <see cref="ArgumentException"/> listing the known ones.</summary>
    public IReadOnlyList<IReproduction> Select(IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        // --only a,b and --only a b name the same reproductions.
        names = names.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        if (names.Count == 0) return _all;
        var unknown = names.Where(n => Find(n) is null).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException($"unknown reproduction '{unknown[0]}'; known: {string.Join(", ", _all.Select(e => e.Name))}");
        return _all.Where(e => names.Contains(e.Name)).ToArray();
    }
}
