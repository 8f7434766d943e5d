using System.Globalization;
using System.Text;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;

namespace MemoryLab.Reproductions;

/// <summary>How much compute a reproduction spends.</summary>
public enum ReproductionScale
{
    /// <summary>Minutes on a laptop; every qualitative effect still shows.</summary>
    Quick,
    /// <summary>The papers' own settings (hours).</summary>
    Paper,
}

/// <summary>What a paper experiment's run may use.</summary>
/// <param name="Scale">Quick or paper scale.</param>
/// <param name="Settings">The experiment's settings at <paramref name="Scale"/>: the <c>quick:</c> or <c>paper:</c> section of its spec
/// (<c>experiments/reproduce/&lt;name&gt;.yaml</c>) after command-line overrides, already validated by <see cref="IPaperExperiment.Validate"/>.</param>
/// <param name="Directory">Folder the run writes its data into (it exists and is empty).</param>
/// <param name="Pool">Threads for the run.</param>
/// <param name="Cancellation">Stops the run.</param>
/// <param name="Progress">Receives (fraction done ∈ [0, 1], what is happening).</param>
public sealed record ReproductionContext(ReproductionScale Scale, SpecNode Settings, string Directory, WorkerPool Pool, CancellationToken Cancellation,
    Action<double, string>? Progress = null)
{
    /// <summary>Reports progress (no-op without a listener).</summary>
    public void Report(double fraction, string what) => Progress?.Invoke(Math.Clamp(fraction, 0, 1), what);

    /// <summary>The path of a data file of this run.</summary>
    public string File(string name) => Path.Combine(Directory, name);
}

/// <summary>
/// One registered reproduction: a paper figure (or a user's own experiment) that runs, writes its data as
/// plain files (CSV/JSON), and turns that data into figures and claim checks. Running and reporting are
/// separate so a report can be rebuilt, or merged from shards, without re-running. Every setting lives in the
/// experiment's spec (<c>experiments/reproduce/&lt;name&gt;.yaml</c>, a <c>quick:</c> and a <c>paper:</c> section), never in code;
/// most experiments derive from <see cref="PaperExperiment{TSettings}"/>, which builds <see cref="Validate"/> and
/// <see cref="Run"/> from one <c>Bind</c> method.
/// </summary>
public interface IPaperExperiment
{
    /// <summary>Registry name, e.g. <c>zucchet24-signal-propagation</c>; also the spec's file name (<c>NAME.yaml</c>).</summary>
    string Name { get; }

    /// <summary>One line: what is reproduced and from where (e.g. "Zucchet24 Figs. 1 left, 2").</summary>
    string Title { get; }

    /// <summary>A paragraph for the report: setting, constants chosen and why (the numbers themselves are in the spec).</summary>
    string Description { get; }

    /// <summary>Reads and checks every setting of <paramref name="settings"/> (one scale's section of the spec) without running;
    /// throws a <see cref="SpecException"/> naming the file, line and key for a missing, unknown or out-of-range setting.</summary>
    void Validate(SpecNode settings);

    /// <summary>Runs the experiment with <see cref="ReproductionContext.Settings"/>, writing its data into <see cref="ReproductionContext.Directory"/>.</summary>
    void Run(ReproductionContext context);

    /// <summary>Adds this experiment's figures and claim checks, computed from the data in <paramref name="directory"/>, to <paramref name="section"/>.</summary>
    void Report(string directory, ReportSection section);
}

/// <summary>
/// The usual way to write a reproduction (mirrors <see cref="ExperimentKind{TConfig}"/>): <see cref="Bind"/> reads one scale's
/// settings into a typed record with the <see cref="SpecNode"/> reader (types and ranges checked), and
/// <see cref="Run(ReproductionContext, TSettings)"/> runs from it. Validation is <see cref="Bind"/> followed by
/// <see cref="SpecNode.EnsureAllKeysUsed"/>, so an unknown key (a typo) is an error without extra code.
/// </summary>
/// <typeparam name="TSettings">The experiment's typed settings.</typeparam>
public abstract class PaperExperiment<TSettings> : IPaperExperiment
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract string Title { get; }

    /// <inheritdoc />
    public abstract string Description { get; }

    /// <summary>Reads the settings from one scale's section of the spec (<c>quick:</c> or <c>paper:</c>).</summary>
    public abstract TSettings Bind(SpecNode settings);

    /// <summary>Runs the experiment with bound <paramref name="settings"/>.</summary>
    public abstract void Run(ReproductionContext ctx, TSettings settings);

    /// <inheritdoc />
    public abstract void Report(string directory, ReportSection section);

    /// <summary>Binds a fresh copy of <paramref name="settings"/> (so read-tracking starts clean) and rejects keys nobody read.</summary>
    public TSettings BindStrict(SpecNode settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var copy = settings.Clone();
        if (copy.Kind != SpecNodeKind.Mapping) throw copy.Error($"must be a mapping of settings (got a {copy.KindWord})");
        var bound = Bind(copy);
        copy.EnsureAllKeysUsed();
        return bound;
    }

    /// <inheritdoc />
    public void Validate(SpecNode settings) => BindStrict(settings);

    /// <summary>The settings a finished run in <paramref name="directory"/> used, for its report: its <c>spec.yaml</c>, or, in a
    /// folder written before runs kept one, the embedded spec at the scale its <c>done.json</c> names.</summary>
    public TSettings SettingsUsed(string directory)
    {
        string path = Path.Combine(directory, Reproducer.SpecFileName);
        if (File.Exists(path)) return BindStrict(SpecParser.ParseFile(path).Child("settings"));
        return BindStrict(ReproductionSpec.Load(this).Section(Reproducer.ReadScale(directory) ?? ReproductionScale.Quick));
    }

    /// <inheritdoc />
    public void Run(ReproductionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Run(context, BindStrict(context.Settings));
    }
}

/// <summary>The registered reproductions, in report order. Users add their own with <see cref="Register"/>.</summary>
public sealed class PaperExperimentRegistry
{
    private readonly List<IPaperExperiment> _all = new();

    /// <summary>A registry of the library's own reproductions.</summary>
    public static PaperExperimentRegistry CreateDefault()
    {
        var r = new PaperExperimentRegistry();
        BuiltInReproductions.RegisterAll(r);
        return r;
    }

    /// <summary>Every registered experiment, in registration order.</summary>
    public IReadOnlyList<IPaperExperiment> All => _all;

    /// <summary>Adds an experiment; names must be unique.</summary>
    public PaperExperimentRegistry Register(IPaperExperiment experiment)
    {
        if (_all.Any(e => e.Name == experiment.Name)) throw new ArgumentException($"experiment '{experiment.Name}' is already registered");
        _all.Add(experiment);
        return this;
    }

    /// <summary>The experiment named <paramref name="name"/>, or null.</summary>
    public IPaperExperiment? Find(string name) => _all.FirstOrDefault(e => e.Name == name);

    /// <summary>The experiments named in <paramref name="names"/> (all when empty); unknown names are an error listing the known ones.</summary>
    public IReadOnlyList<IPaperExperiment> Select(IReadOnlyCollection<string> names)
    {
        if (names.Count == 0) return _all;
        var unknown = names.Where(n => Find(n) is null).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException($"unknown experiment '{unknown[0]}'; known: {string.Join(", ", _all.Select(e => e.Name))}");
        return _all.Where(e => names.Contains(e.Name)).ToArray();
    }
}

/// <summary>A small numeric table written as CSV (invariant culture, round-trip precision), for experiment data.</summary>
public sealed class DataTable
{
    private readonly List<double[]> _rows = new();

    /// <summary>A table with these columns.</summary>
    public DataTable(params string[] columns)
    {
        if (columns.Length == 0) throw new ArgumentException("a table needs at least one column");
        Columns = columns;
    }

    /// <summary>Column names.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Rows, each with one value per column.</summary>
    public IReadOnlyList<double[]> Rows => _rows;

    /// <summary>Appends a row.</summary>
    public DataTable Add(params double[] row)
    {
        if (row.Length != Columns.Count) throw new ArgumentException($"row has {row.Length} values, the table {Columns.Count} columns");
        _rows.Add(row);
        return this;
    }

    /// <summary>The values of one column.</summary>
    public double[] Column(string name)
    {
        int i = Columns.ToList().IndexOf(name);
        if (i < 0) throw new KeyNotFoundException($"no column '{name}'; columns: {string.Join(", ", Columns)}");
        return _rows.Select(r => r[i]).ToArray();
    }

    /// <summary>Rows where column <paramref name="name"/> equals <paramref name="value"/>.</summary>
    public DataTable Where(string name, double value)
    {
        int i = Columns.ToList().IndexOf(name);
        var t = new DataTable([.. Columns]);
        foreach (var r in _rows) if (r[i] == value || (double.IsNaN(value) && double.IsNaN(r[i]))) t.Add(r);
        return t;
    }

    /// <summary>Writes the table atomically as CSV.</summary>
    public void Save(string path)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", Columns));
        foreach (var r in _rows) sb.AppendLine(string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>Reads a table written by <see cref="Save"/>.</summary>
    public static DataTable Load(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) throw new InvalidDataException($"{path}: empty table");
        var t = new DataTable(lines[0].Split(','));
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var cells = lines[i].Split(',');
            if (cells.Length != t.Columns.Count) throw new InvalidDataException($"{path}:{i + 1}: expected {t.Columns.Count} values, found {cells.Length}");
            t.Add(cells.Select(c => double.Parse(c, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray());
        }
        return t;
    }
}
