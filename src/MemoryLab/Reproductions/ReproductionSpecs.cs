using System.Reflection;
using MemoryLab.Experiments;

namespace MemoryLab.Reproductions;

/// <summary>
/// One reproduction's spec: <c>experiments/reproduce/&lt;name&gt;.yaml</c>, holding <c>experiment: NAME</c> and the settings at
/// both scales, <c>quick:</c> and <c>paper:</c>. Read from a folder the user names (<c>memlab reproduce --specs DIR</c>) or, by
/// default, from the copy embedded in the assembly that defines the experiment (the library embeds its own, so the installed
/// tool works from any folder; a plugin may embed its own the same way).
/// </summary>
/// <param name="Experiment">The experiment the spec belongs to.</param>
/// <param name="Source">Where it was read from: a file path, or <c>embedded:NAME.yaml</c>.</param>
/// <param name="Quick">The <c>quick:</c> section.</param>
/// <param name="Paper">The <c>paper:</c> section.</param>
public sealed record ReproductionSpec(IPaperExperiment Experiment, string Source, SpecNode Quick, SpecNode Paper)
{
    /// <summary>The key naming the experiment in a spec file.</summary>
    public const string ExperimentKey = "experiment";

    /// <summary>The section of <paramref name="scale"/> (a fresh copy, so overrides do not touch this spec).</summary>
    public SpecNode Section(ReproductionScale scale) => (scale == ReproductionScale.Quick ? Quick : Paper).Clone();

    /// <summary>The section key of a scale: <c>quick</c> or <c>paper</c>.</summary>
    public static string ScaleKey(ReproductionScale scale) => scale == ReproductionScale.Quick ? "quick" : "paper";

    /// <summary>Parses spec text (from <paramref name="source"/>, which names it in errors) for <paramref name="experiment"/>:
    /// the root must hold exactly <c>experiment</c> (equal to the experiment's name), <c>quick</c> and <c>paper</c>.</summary>
    public static ReproductionSpec Parse(IPaperExperiment experiment, string text, string source)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var root = SpecParser.ParseText(text, source);
        if (root.Kind != SpecNodeKind.Mapping) throw root.Error("a reproduction spec must be a mapping with experiment, quick and paper");
        string name = root.GetString(ExperimentKey);
        if (name != experiment.Name)
            throw new SpecException(root.Peek(ExperimentKey)!.Position, ExperimentKey, $"names '{name}', but this is the spec of '{experiment.Name}'");
        var quick = root.Child("quick");
        var paper = root.Child("paper");
        quick.MarkAllUsed();
        paper.MarkAllUsed();
        root.EnsureAllKeysUsed();
        return new ReproductionSpec(experiment, source, quick.Clone(), paper.Clone());
    }

    /// <summary>The resource name a spec is embedded under: any resource whose name ends in <c>.NAME.yaml</c> (or is <c>NAME.yaml</c>).</summary>
    public static string? FindResource(Assembly assembly, string name)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        string file = name + ".yaml";
        return assembly.GetManifestResourceNames().FirstOrDefault(r => r == file || r.EndsWith("." + file, StringComparison.Ordinal));
    }

    /// <summary>
    /// Loads the spec of <paramref name="experiment"/>: <c>DIR/NAME.yaml</c> when <paramref name="specsDirectory"/> is given and
    /// that file exists, else the resource embedded in the experiment's assembly. Missing everywhere: a <see cref="SpecException"/>
    /// that says where it looked.
    /// </summary>
    public static ReproductionSpec Load(IPaperExperiment experiment, string? specsDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        string file = experiment.Name + ".yaml";
        if (specsDirectory != null)
        {
            string path = Path.Combine(specsDirectory, file);
            if (File.Exists(path)) return Parse(experiment, File.ReadAllText(path), path);
        }
        var assembly = experiment.GetType().Assembly;
        string? resource = FindResource(assembly, experiment.Name);
        if (resource is null)
            throw new SpecException(SourcePosition.CommandLine, null,
                $"no spec for experiment '{experiment.Name}': looked for {(specsDirectory != null ? $"'{Path.Combine(specsDirectory, file)}' and " : "")}"
                + $"a resource '{file}' embedded in {assembly.GetName().Name}; write one (see docs/extending.md) and pass --specs DIR");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return Parse(experiment, reader.ReadToEnd(), "embedded:" + file);
    }
}

/// <summary>One experiment ready to run: its validated settings at the chosen scale (after overrides) and where they came from.</summary>
/// <param name="Experiment">The experiment.</param>
/// <param name="Scale">The scale it runs at.</param>
/// <param name="Settings">The settings (the scale's section of the spec, overrides applied); validated.</param>
/// <param name="Source">The spec's source (file path or <c>embedded:NAME.yaml</c>).</param>
/// <param name="Overrides">The <c>key=value</c> overrides applied, in order (keys without the experiment prefix).</param>
public sealed record ReproductionJob(IPaperExperiment Experiment, ReproductionScale Scale, SpecNode Settings, string Source, IReadOnlyList<string> Overrides)
{
    /// <summary>The settings as canonical JSON: what <c>done.json</c> records and what decides whether a finished run is reused.</summary>
    public string SettingsJson => Settings.ToCanonicalJson();

    /// <summary>The <c>spec.yaml</c> written beside the data: experiment, scale, source, overrides and the settings used.</summary>
    public string SpecYaml()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("# The settings this experiment ran with, from ").Append(Source)
          .Append(Overrides.Count > 0 ? " with overrides " + string.Join(" ", Overrides) : "").Append('\n');
        sb.Append("experiment: ").Append(SpecYamlWriter.FormatString(Experiment.Name)).Append('\n');
        sb.Append("scale: ").Append(ReproductionSpec.ScaleKey(Scale)).Append('\n');
        var wrapper = SpecNode.Mapping(Settings.Position);
        wrapper.Add("settings", Settings.Position, Settings.Clone("settings"));
        sb.Append(SpecYamlWriter.ToYaml(wrapper));
        return sb.ToString();
    }

    /// <summary>
    /// Loads, overrides and validates the specs of <paramref name="experiments"/> before anything runs. Both scales of every
    /// selected experiment are bound strictly (so a typo in the paper section is caught by a quick run), then the overrides
    /// are applied to the <paramref name="scale"/> section and it is bound again. <paramref name="overrides"/> are
    /// <c>NAME.key=value</c> (<see cref="SpecOverrides"/> syntax after the experiment name; <c>NAME.+key=value</c> adds a key).
    /// Any problem is a one-line <see cref="SpecException"/> naming the file, line and key.
    /// </summary>
    public static IReadOnlyList<ReproductionJob> Plan(IReadOnlyList<IPaperExperiment> experiments, ReproductionScale scale,
        string? specsDirectory = null, IReadOnlyList<string>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(experiments);
        if (specsDirectory != null && !Directory.Exists(specsDirectory))
            throw new SpecException(SourcePosition.CommandLine, "--specs", $"no folder '{specsDirectory}'");
        var byName = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string raw in overrides ?? [])
        {
            int dot = raw.IndexOf('.'), eq = raw.IndexOf('=');
            if (dot <= 0 || (eq >= 0 && eq < dot))
                throw new SpecException(SourcePosition.CommandLine, "--set", $"'{raw}' must be EXPERIMENT.key=value (e.g. li21-plateaus.runs=5)");
            string name = raw[..dot];
            if (!experiments.Any(e => e.Name == name))
                throw new SpecException(SourcePosition.CommandLine, "--set",
                    $"'{raw}' names experiment '{name}', which is not selected; selected: {string.Join(", ", experiments.Select(e => e.Name))}");
            if (!byName.TryGetValue(name, out var list)) byName[name] = list = new List<string>();
            list.Add(raw[(dot + 1)..]);
        }
        var jobs = new List<ReproductionJob>();
        foreach (var e in experiments)
        {
            var spec = ReproductionSpec.Load(e, specsDirectory);
            e.Validate(spec.Quick);
            e.Validate(spec.Paper);
            var settings = spec.Section(scale);
            var mine = byName.TryGetValue(e.Name, out var o) ? o : new List<string>();
            foreach (string raw in mine) CheckOverrideKey(e.Name, settings, raw);
            try
            {
                SpecOverrides.Apply(settings, mine);
            }
            catch (SpecException x)
            {
                throw new SpecException(x.Position, x.Key is null ? e.Name : $"{e.Name}.{x.Key}", x.Reason);
            }
            e.Validate(settings);
            jobs.Add(new ReproductionJob(e, scale, settings, spec.Source, mine));
        }
        return jobs;
    }

    /// <summary>An override of a key the settings lack (without a leading <c>+</c>) is an error that suggests the nearest key,
    /// written as the user writes it (<c>NAME.key</c>).</summary>
    private static void CheckOverrideKey(string experiment, SpecNode settings, string raw)
    {
        int eq = raw.IndexOf('=');
        if (eq <= 0) throw new SpecException(SourcePosition.CommandLine, "--set", $"'{experiment}.{raw}' must be EXPERIMENT.key=value");
        string key = raw[..eq].Trim();
        if (key.StartsWith('+') || SpecOverrides.Find(settings, key) != null) return;
        string prefix = settings.Path.Length == 0 ? "" : settings.Path + ".";
        string? near = settings.Flatten().Select(p => p.Key.StartsWith(prefix, StringComparison.Ordinal) ? p.Key[prefix.Length..] : p.Key)
            .Select(k => (Key: k, Distance: SpecNode.EditDistance(k, key))).OrderBy(k => k.Distance).FirstOrDefault(k => k.Distance <= Math.Max(2, key.Length / 4)).Key;
        throw new SpecException(SourcePosition.CommandLine, $"{experiment}.{key}",
            "no such key in the spec" + (near != null ? $" (did you mean '{near}'?)" : "") + $"; write {experiment}.+{key}=… to add a new key");
    }
}
