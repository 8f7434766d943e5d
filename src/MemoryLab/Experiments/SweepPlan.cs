namespace MemoryLab.Experiments;

/// <summary>One run of a sweep: its position in the expansion, stable id, kind, seed, resolved spec and the
/// values its grid axes took.</summary>
/// <param name="Index">Position in the expanded run list (shard K/N takes the runs with Index % N == K).</param>
/// <param name="Id">Stable id: first 12 hex digits of SHA-256 of the spec's canonical JSON (<see cref="ResultsStore.ComputeRunId"/>).</param>
/// <param name="Kind">The experiment kind's name.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Spec">The resolved spec (no grid, no select). Shared: use <see cref="CreateSpec"/> for a private copy.</param>
/// <param name="GridPoint">Axis path → canonical JSON value, in axis order (seed included when it is an axis).</param>
public sealed record PlannedRun(int Index, string Id, string Kind, ulong Seed, SpecNode Spec, IReadOnlyList<KeyValuePair<string, string>> GridPoint)
{
    /// <summary>A fresh copy of <see cref="Spec"/> with its own read-tracking (a reader marks keys as it goes).</summary>
    public SpecNode CreateSpec() => Spec.Clone();

    /// <summary>The grid point as <c>axis=value</c> words (for logs).</summary>
    public string Describe() => string.Join(" ", GridPoint.Select(p => $"{p.Key}={ResultsTable.DisplayValue(p.Value)}"));
}

/// <summary>
/// How <c>memlab results</c> picks the best setting: per group of runs that agree on <see cref="Per"/> (and on
/// every other axis not in <see cref="Over"/>), the grid point whose mean <see cref="Metric"/> over seeds is lowest
/// (or highest) — e.g. "per (model, ν₀) take the best lr" (Zucchet24 §5, Fig. 3 left). Grid points where every run
/// completed are preferred to those with diverged or failed seeds.
/// </summary>
/// <param name="Metric">Final metric to compare (e.g. <c>final_loss</c>).</param>
/// <param name="Minimize">True to take the lowest mean, false the highest.</param>
/// <param name="Over">Axes chosen over (e.g. <c>optimizer.lr</c>).</param>
/// <param name="Per">Axes that define the groups (e.g. <c>model.kind</c>, <c>model.nu0</c>).</param>
public sealed record SelectionRule(string Metric, bool Minimize, IReadOnlyList<string> Over, IReadOnlyList<string> Per)
{
    /// <summary>Reads a <c>select:</c> mapping: <c>{metric: NAME, minimize: true, over: [...], per: [...]}</c>.</summary>
    public static SelectionRule Read(SpecNode node)
    {
        var rule = new SelectionRule(
            node.GetString("metric"),
            node.GetBool("minimize", true),
            node.GetStringList("over", Array.Empty<string>()),
            node.GetStringList("per", Array.Empty<string>()));
        node.EnsureAllKeysUsed();
        if (rule.Metric.Length == 0) throw node.Error("metric", "must name a metric");
        return rule;
    }

    /// <summary>The rule as a spec mapping (for <c>sweep.yaml</c>).</summary>
    public string ToYaml() =>
        $"metric: {SpecYamlWriter.FormatString(Metric)}\nminimize: {(Minimize ? "true" : "false")}\n" +
        $"over: [{string.Join(", ", Over.Select(SpecYamlWriter.FormatString))}]\nper: [{string.Join(", ", Per.Select(SpecYamlWriter.FormatString))}]\n";
}

/// <summary>
/// A sweep, expanded: the spec after includes and overrides, the runs its grid produces, and its selection rule.
/// <para><c>grid:</c> is a mapping of axis → list of values (a dotted axis such as <c>model.nu0</c> sets that nested
/// key; a value may be any YAML node), expanded as a cartesian product with the first axis outermost; or a list
/// of such mappings, whose products are concatenated — so different models can sweep different learning-rate
/// lists, as Zucchet24 §5, Fig. 3 left needs. Runs with identical resolved specs are kept once.</para>
/// <para>Every run is validated by its kind before anything is written, so bad input fails fast with the file,
/// line and key. A <c>reproduction:</c> section (a reproduction's name, scale and claims) belongs to no run.</para>
/// </summary>
public sealed class SweepPlan
{
    /// <summary>The spec key holding the grid.</summary>
    public const string GridKey = "grid";

    /// <summary>The spec key selecting the selection rule.</summary>
    public const string SelectKey = "select";

    /// <summary>The spec key of a reproduction's own section (its name, scale and claims): not part of any run, so it changes
    /// no run's identity; it stays in <c>sweep.yaml</c>, where the report step reads it.</summary>
    public const string ReproductionKey = "reproduction";

    private SweepPlan(string name, SpecNode spec, List<PlannedRun> runs, SelectionRule? selection, List<string> axes, SpecNode? reproduction)
    {
        Name = name;
        Spec = spec;
        Runs = runs;
        Selection = selection;
        Axes = axes;
        Reproduction = reproduction;
    }

    /// <summary>Short name (the spec file's name without extension), for job names and default folders.</summary>
    public string Name { get; }

    /// <summary>The whole sweep spec after includes and overrides, grid and select included (written as <c>sweep.yaml</c>).</summary>
    public SpecNode Spec { get; }

    /// <summary>The runs, in expansion order.</summary>
    public IReadOnlyList<PlannedRun> Runs { get; }

    /// <summary>The selection rule, or null.</summary>
    public SelectionRule? Selection { get; }

    /// <summary>The spec's <c>reproduction:</c> section (a copy, unread), or null; the reproductions room binds it.</summary>
    public SpecNode? Reproduction { get; }

    /// <summary>The grid's axes in order of first appearance (over all sub-grids).</summary>
    public IReadOnlyList<string> Axes { get; }

    /// <summary>Reads <paramref name="specPath"/>, applies <paramref name="overrides"/>, expands and validates.</summary>
    /// <param name="specPath">The spec file.</param>
    /// <param name="overrides"><c>key=value</c> overrides (<see cref="SpecOverrides.Apply"/>).</param>
    /// <param name="registry">The experiment kinds.</param>
    /// <param name="ignoreSelection">Drop <c>select:</c> (for <c>memlab run</c>, which picks nothing).</param>
    /// <param name="threadsPerRun">Threads each run will compute on: choices a run makes by its thread count (the algorithm
    /// <c>auto</c> picks) are made here and written into its spec (<see cref="IExperimentKind.ResolveChoices"/>).</param>
    public static SweepPlan Load(string specPath, IReadOnlyList<string> overrides, ExperimentRegistry registry, bool ignoreSelection = false, int threadsPerRun = 1)
    {
        var root = SpecParser.ParseFile(specPath);
        SpecOverrides.Apply(root, overrides);
        if (ignoreSelection) root.Remove(SelectKey);
        return FromSpec(root, Path.GetFileNameWithoutExtension(specPath), registry, threadsPerRun);
    }

    /// <summary>Expands and validates an already-parsed spec (overrides applied); each run's choices are made for
    /// <paramref name="threadsPerRun"/> threads (see <see cref="Load"/>).</summary>
    public static SweepPlan FromSpec(SpecNode root, string name, ExperimentRegistry registry, int threadsPerRun = 1)
    {
        if (root.Kind != SpecNodeKind.Mapping) throw root.Error("a spec must be a mapping");
        var template = root.Clone();
        var grid = template.Peek(GridKey);
        var selectNode = template.Peek(SelectKey);
        var reproduction = template.Peek(ReproductionKey)?.Clone();
        template.Remove(GridKey);
        template.Remove(SelectKey);
        template.Remove(ReproductionKey);

        // Sub-grids: one mapping, or a list of them.
        var subgrids = new List<SpecNode>();
        if (grid is not null && !(grid.Kind == SpecNodeKind.Scalar && grid.ScalarType == SpecScalarType.Null))
        {
            if (grid.Kind == SpecNodeKind.Mapping) subgrids.Add(grid);
            else if (grid.Kind == SpecNodeKind.Sequence)
            {
                foreach (var g in grid.Items)
                    subgrids.Add(g.Kind == SpecNodeKind.Mapping ? g : throw g.Error($"each sub-grid must be a mapping of axis: [values] (got {g.Describe()})"));
            }
            else throw grid.Error($"must be a mapping of axis: [values], or a list of such mappings (got {grid.Describe()})");
        }
        if (subgrids.Count == 0) subgrids.Add(SpecNode.Mapping(root.Position, GridKey));

        var axes = new List<string>();
        var runs = new List<PlannedRun>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in subgrids)
        {
            var axisKeys = g.Keys.ToList();
            var axisValues = new List<IReadOnlyList<SpecNode>>();
            foreach (var key in axisKeys)
            {
                var values = g.Peek(key)!;
                if (values.Kind != SpecNodeKind.Sequence || values.Count == 0)
                    throw values.Error($"a grid axis must be a non-empty list of values (got {values.Describe()})");
                axisValues.Add(values.Items);
                if (!axes.Contains(key)) axes.Add(key);
            }
            // Odometer over the axes, last axis fastest.
            var digits = new int[axisKeys.Count];
            while (true)
            {
                var spec = template.Clone();
                var point = new List<KeyValuePair<string, string>>(axisKeys.Count);
                for (int a = 0; a < axisKeys.Count; a++)
                {
                    var value = axisValues[a][digits[a]];
                    SpecOverrides.Set(spec, axisKeys[a], value, create: true);
                    point.Add(new(axisKeys[a], value.ToCanonicalJson()));
                }
                // The run's own choices (auto's algorithm) are part of its identity: resolved before the id is hashed.
                var choosing = spec.Clone();
                if (choosing.Peek(ExperimentRegistry.KindKey) is { Kind: SpecNodeKind.Scalar } kindName && registry.Has(kindName.Text))
                    registry.Get(kindName.Text).ResolveChoices(spec, threadsPerRun);
                string id = ResultsStore.ComputeRunId(spec);
                if (seen.Add(id))
                {
                    var probe = spec.Clone();
                    var kind = registry.Resolve(probe, out ulong seed);
                    kind.Validate(probe);
                    runs.Add(new PlannedRun(runs.Count, id, kind.Name, seed, spec, point));
                }
                int d = axisKeys.Count - 1;
                while (d >= 0 && ++digits[d] == axisValues[d].Count) digits[d--] = 0;
                if (d < 0) break;
            }
        }

        SelectionRule? selection = null;
        if (selectNode is not null)
        {
            if (selectNode.Kind != SpecNodeKind.Mapping) throw selectNode.Error($"must be a mapping {{metric: …, minimize: …, over: […], per: […]}} (got {selectNode.Describe()})");
            var sel = selectNode.Clone();
            selection = SelectionRule.Read(sel);
            var overNode = sel.Peek("over");
            for (int i = 0; i < selection.Over.Count; i++)
                if (!axes.Contains(selection.Over[i]))
                    throw new SpecException(overNode!.Items[i].Position, $"{SelectKey}.over[{i}]",
                        $"'{selection.Over[i]}' is not a grid axis (axes: {(axes.Count == 0 ? "none" : string.Join(", ", axes))})");
            foreach (var kindName in runs.Select(r => r.Kind).Distinct())
            {
                var known = registry.Get(kindName).MetricNames;
                if (!known.Contains(selection.Metric))
                    throw sel.Error("metric", $"kind '{kindName}' reports no metric '{selection.Metric}' (it reports: {string.Join(", ", known)})");
            }
        }
        return new SweepPlan(name, root, runs, selection, axes, reproduction);
    }
}

/// <summary>
/// Shard K of N: the runs whose index i has i % N == K, so N shards cover every run exactly once and each
/// gets an even mix of the grid. From <c>--shard K/N</c>, or from the environment: a Slurm job array
/// (<c>SLURM_ARRAY_TASK_ID</c> − <c>SLURM_ARRAY_TASK_MIN</c> of <c>SLURM_ARRAY_TASK_COUNT</c>) or a Kubernetes
/// indexed Job (<c>JOB_COMPLETION_INDEX</c> of <c>MEMLAB_SHARD_COUNT</c>, which the emitted manifest sets).
/// </summary>
/// <param name="Index">K, 0 ≤ K &lt; N.</param>
/// <param name="Count">N ≥ 1.</param>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>The environment variable that gives the shard count next to <c>JOB_COMPLETION_INDEX</c>.</summary>
    public const string ShardCountVariable = "MEMLAB_SHARD_COUNT";

    /// <summary>All runs.</summary>
    public static ShardSpec All => new(0, 1);

    /// <summary>Parses <c>K/N</c>; throws a <see cref="SpecException"/> at <c>&lt;command line&gt;</c> otherwise.</summary>
    public static ShardSpec Parse(string text, string source = "--shard")
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int k) && int.TryParse(parts[1], out int n) && n >= 1 && k >= 0 && k < n)
            return new ShardSpec(k, n);
        throw new SpecException(SourcePosition.CommandLine, null, $"{source} must be K/N with 0 <= K < N (got '{text}')");
    }

    /// <summary>The shard the environment asks for (Slurm array or Kubernetes indexed Job), or null when neither is set.</summary>
    public static ShardSpec? FromEnvironment(Func<string, string?> getVariable)
    {
        string? slurmId = getVariable("SLURM_ARRAY_TASK_ID");
        if (!string.IsNullOrEmpty(slurmId))
        {
            string? count = getVariable("SLURM_ARRAY_TASK_COUNT");
            string? min = getVariable("SLURM_ARRAY_TASK_MIN");
            if (!int.TryParse(slurmId, out int id) || !int.TryParse(count, out int n))
                throw new SpecException(SourcePosition.CommandLine, null, $"SLURM_ARRAY_TASK_ID={slurmId} needs SLURM_ARRAY_TASK_COUNT (got '{count}'); pass --shard K/N");
            int k = id - (int.TryParse(min, out int m) ? m : 0);
            return Parse($"{k}/{n}", "the Slurm array task");
        }
        string? jobIndex = getVariable("JOB_COMPLETION_INDEX");
        if (!string.IsNullOrEmpty(jobIndex))
        {
            string? count = getVariable(ShardCountVariable);
            if (string.IsNullOrEmpty(count))
                throw new SpecException(SourcePosition.CommandLine, null, $"JOB_COMPLETION_INDEX={jobIndex} needs {ShardCountVariable} (the Job's completions); pass --shard K/N");
            return Parse($"{jobIndex}/{count}", "JOB_COMPLETION_INDEX/" + ShardCountVariable);
        }
        return null;
    }

    /// <summary>The items of this shard: those at positions i with i % N == K.</summary>
    public IReadOnlyList<T> Select<T>(IReadOnlyList<T> items)
    {
        var result = new List<T>();
        for (int i = Index; i < items.Count; i += Count) result.Add(items[i]);
        return result;
    }

    /// <summary><c>K/N</c>.</summary>
    public override string ToString() => $"{Index}/{Count}";
}
