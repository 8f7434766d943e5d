using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Reporting;

namespace MemoryLab.Reproductions;

/// <summary>Who published the results, and with what: written into <c>manifest.json</c>.</summary>
public sealed record PublishOptions
{
    /// <summary>The commit the runs ran on (the results do not record it); null: "not recorded".</summary>
    public string? Commit { get; init; }

    /// <summary>The machine the runs ran on (a line: CPU, cores, memory); null: the runs' host names only.</summary>
    public string? Machine { get; init; }

    /// <summary>The exact commands that produced the results; empty: one <c>memlab reproduce --scale S --only NAME</c> per reproduction, marked derived.</summary>
    public IReadOnlyList<string> Commands { get; init; } = [];

    /// <summary>The largest published folder allowed, in bytes (report.html, which <c>memlab report</c> rewrites, not counted).</summary>
    public long MaxBytes { get; init; } = 5_000_000;
}

/// <summary>One reproduction as published: how far its runs got and how long they took (from the runs' <c>summary.json</c>).</summary>
/// <param name="Name">The reproduction.</param>
/// <param name="Status"><c>complete</c>, <c>partial</c> (some runs not finished: no claims) or <c>not-run</c> (no results folder).</param>
/// <param name="Scale"><c>quick</c> or <c>paper</c> (empty when not run).</param>
/// <param name="Runs">Runs in its plan.</param>
/// <param name="Finished">Runs finished (completed, diverged or failed).</param>
/// <param name="Failed">Runs that failed.</param>
/// <param name="Diverged">Runs that diverged.</param>
/// <param name="StartedUtc">The earliest run start, or null.</param>
/// <param name="FinishedUtc">The latest run end, or null.</param>
/// <param name="ElapsedSeconds">From the first start to the last end (wall time of the reproduction; gaps between sittings included).</param>
/// <param name="ComputeSeconds">The runs' wall times summed (what one worker would have taken).</param>
/// <param name="Hosts">Host names the runs ran on.</param>
/// <param name="Versions">memlab versions the runs recorded.</param>
/// <param name="Files">The published files of this reproduction, relative to the published folder.</param>
/// <param name="Notes">What was left out or thinned, one line each.</param>
public sealed record PublishedReproduction(string Name, string Status, string Scale, int Runs, int Finished, int Failed, int Diverged,
    DateTimeOffset? StartedUtc, DateTimeOffset? FinishedUtc, double ElapsedSeconds, double ComputeSeconds,
    IReadOnlyList<string> Hosts, IReadOnlyList<string> Versions, IReadOnlyList<string> Files, IReadOnlyList<string> Notes);

/// <summary>What <see cref="Publication.Publish"/> wrote.</summary>
/// <param name="Directory">The published folder.</param>
/// <param name="Bytes">Its size (report.html not counted).</param>
/// <param name="Reproductions">Each reproduction's entry in the manifest.</param>
/// <param name="Report">The report rendered from the published files (its claims equal those rendered from the full results).</param>
/// <param name="ChangedFigures">Figures that differ from those drawn from the full results (drawn from thinned files).</param>
/// <param name="Warnings">Differences from the results folder's own claims.json (written by another build), one line each.</param>
public sealed record PublishResult(string Directory, long Bytes, IReadOnlyList<PublishedReproduction> Reproductions, ReportDocument Report,
    IReadOnlyList<string> ChangedFigures, IReadOnlyList<string> Warnings);

/// <summary>Publishing failed after the input was read: the published files would not give the same claims, or the folder is too large.</summary>
public sealed class PublishException(string message) : Exception(message);

/// <summary>
/// A results folder of <c>memlab reproduce</c> as a small folder that can live in a repository (<c>memlab publish</c>), and the report
/// rendered again from it (<c>memlab report PUBLISHED</c>). Per reproduction <c>NAME/</c>: <c>sweep.yaml</c> (the sweep as it ran),
/// <c>runs.csv</c> (one row per planned run: id, seed, status, grid values, final metrics, steps, wall time, start and end, host),
/// <c>table.csv</c> for a grid (the merged table of <c>memlab results</c>: mean, SEM, min, max over seeds per grid point, the selection),
/// and <c>NAME/RUN_ID/</c> with the data files the report reads (<see cref="IReproduction.Published"/>: thinned where they are only drawn).
/// Beside them <c>manifest.json</c> and <c>manifest.md</c> (commands, commit, machine, scale and wall time per reproduction, what was left
/// out), <c>claims.md</c>, <c>claims.json</c> and one SVG per figure. Per-step files (<c>metrics.jsonl</c>, TensorBoard events,
/// checkpoints) are not published. Publishing renders the report from the full results and from the published files and refuses to
/// publish unless their claims.json are identical; the folder is written beside the target and renamed into place.
/// </summary>
public static class Publication
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestFileName = "manifest.json";
    /// <summary>The manifest as a page.</summary>
    public const string ManifestMarkdownFileName = "manifest.md";
    /// <summary>A reproduction's per-run table.</summary>
    public const string RunsFileName = "runs.csv";
    /// <summary>A reproduction's merged table (a sweep with a grid).</summary>
    public const string TableFileName = "table.csv";
    /// <summary>The manifest's format tag.</summary>
    public const string Format = "memlab-published-results/1";
    /// <summary>The status of a planned run that has not finished, in <c>runs.csv</c>.</summary>
    public const string NotRun = "not-run";
    private const string MetricPrefix = "metric.";

    private static readonly string[] FixedColumns = ["id", "seed", "status", "steps", "wall_time_s", "algorithm", "started_utc", "finished_utc", "host", "memlab_version", "message"];

    /// <summary>Whether <paramref name="directory"/> is a published folder (holds <c>manifest.json</c>).</summary>
    public static bool IsPublished(string directory) => File.Exists(Path.Combine(directory, ManifestFileName));

    /// <summary>
    /// Publishes the results of <paramref name="reproductions"/> found in <paramref name="resultsDirectory"/> into
    /// <paramref name="outDirectory"/> (replaced as a whole; files there that an earlier publication did not write, such as a README.md,
    /// are kept). Throws <see cref="InvalidDataException"/> (naming the folder) for a folder that holds no reproduction's results, and
    /// <see cref="PublishException"/> when the published files do not give the same claims or exceed <see cref="PublishOptions.MaxBytes"/>;
    /// nothing is written then.
    /// </summary>
    public static PublishResult Publish(IReadOnlyList<IReproduction> reproductions, ExperimentRegistry kinds, string resultsDirectory, string outDirectory,
        PublishOptions options)
    {
        ArgumentNullException.ThrowIfNull(reproductions);
        ArgumentNullException.ThrowIfNull(kinds);
        ArgumentNullException.ThrowIfNull(options);
        string results = Path.GetFullPath(resultsDirectory);
        string target = Path.GetFullPath(outDirectory);
        if (!Directory.Exists(results)) throw new DirectoryNotFoundException($"{results}: no such results folder");
        if (IsPublished(results)) throw new InvalidDataException($"{results}: is a published folder, not a results folder of memlab reproduce (render it with memlab report)");
        if (Reproducer.FindStores([results]).Count == 0)
            throw new InvalidDataException($"{results}: not a results folder of memlab reproduce (no sweep.yaml with a reproduction: section in it or its sub-folders)");
        if (target == results || target.StartsWith(results + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidDataException($"{target}: the published folder must lie outside the results folder {results}");
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any() && !IsPublished(target))
            throw new InvalidDataException($"{target}: exists and is not a published folder (no {ManifestFileName}); publish into a new or empty folder");

        var found = Reproducer.ReadRuns(reproductions, kinds, [results]);
        DateTimeOffset generatedAt = OriginalDate(results) ?? DateTimeOffset.UtcNow;

        string parent = Path.GetDirectoryName(target) ?? throw new InvalidDataException($"{target}: has no parent folder");
        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $".{Path.GetFileName(target)}.publish-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        string reference = staging + ".reference";
        try
        {
            Directory.CreateDirectory(staging);
            var referenceDoc = Reproducer.WriteReport(reproductions, found, reference, generatedAt);
            var entries = new List<PublishedReproduction>();
            foreach (var r in reproductions)
            {
                var mine = found.FirstOrDefault(f => f.Reproduction.Name == r.Name);
                entries.Add(mine is null
                    ? new PublishedReproduction(r.Name, NotRun, "", 0, 0, 0, 0, null, null, 0, 0, [], [], [], [])
                    : PublishOne(mine, staging));
            }
            WriteManifest(staging, entries, options, generatedAt);

            var doc = Render(reproductions, kinds, staging, staging);
            File.Delete(Path.Combine(staging, "report.html"));
            string want = File.ReadAllText(Path.Combine(reference, "claims.json")), got = File.ReadAllText(Path.Combine(staging, "claims.json"));
            if (want != got) throw new PublishException($"the published files give other claims than the full results: {FirstDifference(want, got)}");
            var changed = Directory.EnumerateFiles(reference, "*.svg").Select(Path.GetFileName)
                .Where(f => !File.Exists(Path.Combine(staging, f!)) || File.ReadAllText(Path.Combine(reference, f!)) != File.ReadAllText(Path.Combine(staging, f!)))
                .Order(StringComparer.Ordinal).Select(f => f!).ToArray();

            long bytes = Size(staging);
            if (bytes > options.MaxBytes)
            {
                var largest = Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).OrderByDescending(f => f.Length).Take(5)
                    .Select(f => $"{Path.GetRelativePath(staging, f.FullName)} {f.Length / 1e6:0.##} MB");
                throw new PublishException($"the published folder would be {bytes / 1e6:0.##} MB, over the limit of {options.MaxBytes / 1e6:0.##} MB; largest files: "
                    + string.Join(", ", largest) + " (declare a Thinning for a file that is only drawn, or raise the limit)");
            }
            var warnings = CompareWithOriginal(results, want, reproductions.Select(r => r.Name).ToHashSet(StringComparer.Ordinal));
            Replace(staging, target);
            return new PublishResult(target, bytes, entries, doc, changed, warnings);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            if (Directory.Exists(reference)) Directory.Delete(reference, recursive: true);
        }
    }

    /// <summary>
    /// Renders the report of the published folder <paramref name="publishedDirectory"/> from its files alone into
    /// <paramref name="outDirectory"/> (claims.md, claims.json, one SVG per figure, report.html), dated as the publication, so that an
    /// unchanged report step gives an identical claims.json. The reproductions are those of the manifest that <paramref name="registry"/>
    /// knows. Throws <see cref="InvalidDataException"/> naming the file for a folder that is not published or lacks a table.
    /// </summary>
    public static ReportDocument Render(IReadOnlyList<IReproduction> registry, ExperimentRegistry kinds, string publishedDirectory, string outDirectory)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var manifest = ReadManifest(publishedDirectory);
        var names = manifest.Names.ToHashSet(StringComparer.Ordinal);
        foreach (string name in names)
            if (registry.All(r => r.Name != name))
                throw new InvalidDataException($"{Path.Combine(publishedDirectory, ManifestFileName)}: reproduction '{name}' is not registered (a plugin's?)");
        var reproductions = registry.Where(r => names.Contains(r.Name)).ToArray();
        var found = ReadRuns(reproductions, kinds, publishedDirectory);
        return Reproducer.WriteReport(reproductions, found, outDirectory, manifest.GeneratedAt);
    }

    /// <summary>The runs of each of <paramref name="reproductions"/> published in <paramref name="publishedDirectory"/> (those the manifest
    /// lists with a folder): the plan from <c>NAME/sweep.yaml</c>, each finished run rebuilt from its row of <c>NAME/runs.csv</c> (its spec
    /// is the plan's; its folder <c>NAME/RUN_ID</c> holds its published data files).</summary>
    public static IReadOnlyList<ReproductionRuns> ReadRuns(IReadOnlyList<IReproduction> reproductions, ExperimentRegistry kinds, string publishedDirectory)
    {
        ArgumentNullException.ThrowIfNull(reproductions);
        ArgumentNullException.ThrowIfNull(kinds);
        var manifest = ReadManifest(publishedDirectory);
        var found = new List<ReproductionRuns>();
        foreach (var r in reproductions)
        {
            if (!manifest.Published.TryGetValue(r.Name, out var files)) continue;
            foreach (string f in files)
            {
                string path = Path.Combine(publishedDirectory, f);
                if (!File.Exists(path)) throw new InvalidDataException($"{path}: missing (listed in {ManifestFileName})");
            }
            string folder = Path.Combine(publishedDirectory, r.Name);
            string sweepPath = Path.Combine(folder, ResultsStore.SweepSpecFileName);
            if (!File.Exists(sweepPath)) throw new InvalidDataException($"{sweepPath}: missing (the sweep a published reproduction ran)");
            var plan = SweepPlan.FromSpec(SpecParser.ParseFile(sweepPath), r.Name, kinds);
            string runsPath = Path.Combine(folder, RunsFileName);
            if (!File.Exists(runsPath)) throw new InvalidDataException($"{runsPath}: missing (a published reproduction's per-run table)");
            var rows = ReadRunsTable(runsPath);
            var finished = new List<RunRecord>();
            foreach (var run in plan.Runs)
            {
                if (!rows.Remove(run.Id, out var row)) throw new InvalidDataException($"{runsPath}: no row for run {run.Id} of {ResultsStore.SweepSpecFileName}");
                if (row.Summary is null) continue;
                finished.Add(new RunRecord(run.Id, Path.Combine(folder, run.Id), run.Kind, run.Seed, row.Summary, run.Spec));
            }
            if (rows.Count > 0)
                throw new InvalidDataException($"{runsPath}:{rows.Values.Min(v => v.Line)}: run {rows.MinBy(p => p.Value.Line).Key} is not a run of {ResultsStore.SweepSpecFileName}");
            found.Add(new ReproductionRuns(r, plan, finished, sweepPath));
        }
        return found;
    }

    // ---- publishing one reproduction ----

    private static readonly HashSet<string> StoreFiles = new(StringComparer.Ordinal)
    {
        ResultsStore.SpecFileName, ResultsStore.SummaryFileName, ResultsStore.MetricsCsvFileName, ResultsStore.MetricsJsonLinesFileName,
        ResultsStore.CheckpointFileName, ".owner",
    };

    private static PublishedReproduction PublishOne(ReproductionRuns runs, string staging)
    {
        var r = runs.Reproduction;
        var plan = runs.Plan;
        string folder = Path.Combine(staging, r.Name);
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        string Rel(string path) => Path.GetRelativePath(staging, path).Replace('\\', '/');

        File.Copy(runs.SweepSpecPath, Path.Combine(folder, ResultsStore.SweepSpecFileName));
        files.Add(Rel(Path.Combine(folder, ResultsStore.SweepSpecFileName)));

        var byId = runs.Finished.ToDictionary(x => x.Id, StringComparer.Ordinal);
        foreach (var record in runs.Finished)
        {
            var planned = plan.Runs.First(p => p.Id == record.Id);
            string? difference = FirstDifference(planned.Spec, record.Spec);
            if (difference is not null)
                throw new InvalidDataException($"{Path.Combine(record.Directory, ResultsStore.SpecFileName)}: differs from its sweep's plan at '{difference}' "
                    + $"({Path.GetFileName(runs.SweepSpecPath)} is not the sweep this run ran)");
        }
        var timing = runs.Finished.ToDictionary(x => x.Id, x => RawSummary.Read(x.Directory), StringComparer.Ordinal);

        string runsPath = Path.Combine(folder, RunsFileName);
        AtomicFile.WriteAllText(runsPath, RunsCsv(plan, byId, timing));
        files.Add(Rel(runsPath));
        if (plan.Runs.Count > 1)
        {
            string tablePath = Path.Combine(folder, TableFileName);
            AtomicFile.WriteAllText(tablePath, ResultsTable.Build(runs.Finished, plan.Selection, plan.Axes).ToCsv());
            files.Add(Rel(tablePath));
        }

        // Data files the report reads; the store's own per-step files are left out (counted in the notes).
        var published = r.Published;
        var dropped = new SortedDictionary<string, (int Count, long Bytes)>(StringComparer.Ordinal);
        var notes = new List<string>();
        HashSet<string>? curveRuns = null;
        if (published.Curves.Count > 0)
        {
            var table = ResultsTable.Build(runs.Finished, plan.Selection, plan.Axes);
            curveRuns = table.Rows.Where(row => plan.Selection is null || row.Selected).SelectMany(row => row.Runs).Select(x => x.Id).ToHashSet(StringComparer.Ordinal);
        }
        foreach (var record in runs.Finished)
        {
            string runFolder = Path.Combine(folder, record.Id);
            foreach (string file in Directory.EnumerateFiles(record.Directory).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(file);
                long length = new FileInfo(file).Length;
                if (name == ResultsStore.MetricsCsvFileName && curveRuns is not null && curveRuns.Contains(record.Id))
                {
                    string curve = Path.Combine(runFolder, name);
                    AtomicFile.WriteAllText(curve, Curves(file, published.Curves));
                    files.Add(Rel(curve));
                    continue;
                }
                if (StoreFiles.Contains(name) || name.StartsWith("events.out.tfevents", StringComparison.Ordinal) || name.Contains(AtomicFile.TempMarker, StringComparison.Ordinal))
                {
                    if (name is ResultsStore.SpecFileName or ResultsStore.SummaryFileName) continue;   // in sweep.yaml and runs.csv
                    string kind = name.StartsWith("events.out.tfevents", StringComparison.Ordinal) ? "events.out.tfevents.*" : name;
                    dropped[kind] = (dropped.GetValueOrDefault(kind).Count + 1, dropped.GetValueOrDefault(kind).Bytes + length);
                    continue;
                }
                string to = Path.Combine(runFolder, name);
                Directory.CreateDirectory(runFolder);
                if (published.Thinned.FirstOrDefault(t => t.File == name) is { } thinning)
                {
                    var full = DataTable.Load(file);
                    var thin = thinning.Apply(full);
                    thin.Save(to);
                    notes.Add($"{record.Id}/{name}: thinned (drawn only) from {full.Rows.Count} to {thin.Rows.Count} rows, at most {thinning.MaxPoints} points "
                        + $"along {string.Join(", ", thinning.Along)} per {(thinning.GroupBy.Count > 0 ? string.Join(", ", thinning.GroupBy) : "file")}");
                }
                else File.Copy(file, to);
                files.Add(Rel(to));
            }
            foreach (string dir in Directory.EnumerateDirectories(record.Directory))
                dropped[Path.GetFileName(dir) + "/"] = (dropped.GetValueOrDefault(Path.GetFileName(dir) + "/").Count + 1,
                    dropped.GetValueOrDefault(Path.GetFileName(dir) + "/").Bytes + Size(dir));
        }
        if (curveRuns is not null)
            notes.Add($"metrics.csv: only step and {string.Join(", ", published.Curves)}, for the {curveRuns.Count} runs of the selected grid points");
        foreach (var (name, (count, bytes)) in dropped)
            notes.Add($"{name}: left out of {count} run{(count == 1 ? "" : "s")} ({bytes / 1e6:0.###} MB)");

        var starts = timing.Values.Select(t => t.Started).Where(t => t is not null).Select(t => t!.Value).ToArray();
        var ends = timing.Values.Select(t => t.Finished).Where(t => t is not null).Select(t => t!.Value).ToArray();
        DateTimeOffset? first = starts.Length > 0 ? starts.Min() : null, last = ends.Length > 0 ? ends.Max() : null;
        string status = runs.Finished.Count == plan.Runs.Count ? "complete" : "partial";
        return new PublishedReproduction(r.Name, status, ReproductionSection.Of(plan).Scale.ToString().ToLowerInvariant(), plan.Runs.Count, runs.Finished.Count,
            runs.Finished.Count(x => x.Summary.Status == RunStatus.Failed), runs.Finished.Count(x => x.Summary.Status == RunStatus.Diverged),
            first, last, first is not null && last is not null ? Math.Round((last.Value - first.Value).TotalSeconds, 3) : 0,
            Math.Round(runs.Finished.Sum(x => x.Summary.WallTime.TotalSeconds), 3),
            timing.Values.Select(t => t.Host).Where(h => h is not null).Select(h => h!).Distinct().Order(StringComparer.Ordinal).ToArray(),
            timing.Values.Select(t => t.Version).Where(h => h is not null).Select(h => h!).Distinct().Order(StringComparer.Ordinal).ToArray(),
            files, notes);
    }

    /// <summary>The flattened key at which two specs first differ, or null.</summary>
    private static string? FirstDifference(SpecNode a, SpecNode b)
    {
        var x = a.Flatten().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var y = b.Flatten().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var key in x.Keys.Union(y.Keys).Order(StringComparer.Ordinal))
            if (x.GetValueOrDefault(key) != y.GetValueOrDefault(key)) return key;
        return null;
    }

    /// <summary>The fields of a run's <c>summary.json</c> that <see cref="RunSummary"/> does not keep: timing, host, version.</summary>
    private sealed record RawSummary(string? WallTime, DateTimeOffset? Started, DateTimeOffset? Finished, string? Host, string? Version)
    {
        public static RawSummary Read(string runDirectory)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDirectory, ResultsStore.SummaryFileName)));
            var root = doc.RootElement;
            string? Text(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            DateTimeOffset? Time(string key) => Text(key) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;
            string? wall = root.TryGetProperty("wall_time_s", out var w) && w.ValueKind == JsonValueKind.Number ? w.GetRawText() : null;
            return new RawSummary(wall, Time("started_utc"), Time("finished_utc"), Text("host"), Text("memlab_version"));
        }
    }

    private static string RunsCsv(SweepPlan plan, IReadOnlyDictionary<string, RunRecord> finished, IReadOnlyDictionary<string, RawSummary> timing)
    {
        var axes = plan.Runs.SelectMany(p => p.GridPoint.Select(g => g.Key)).Distinct()
            .Where(a => a != ExperimentRegistry.SeedKey && !FixedColumns.Contains(a) && !a.StartsWith(MetricPrefix, StringComparison.Ordinal)).ToArray();
        var metrics = finished.Values.SelectMany(x => x.Summary.Metrics.Keys).Distinct().Order(StringComparer.Ordinal).ToArray();
        var sb = new StringBuilder();
        var header = new List<string> { "id", "seed", "status" };
        header.AddRange(axes);
        header.AddRange(metrics.Select(m => MetricPrefix + m));
        header.AddRange(["steps", "wall_time_s", "algorithm", "started_utc", "finished_utc", "host", "memlab_version", "message"]);
        sb.AppendJoin(',', header.Select(Cell)).Append('\n');
        foreach (var run in plan.Runs)
        {
            var cells = new List<string> { run.Id, run.Seed.ToString(CultureInfo.InvariantCulture) };
            var grid = run.GridPoint.ToDictionary(g => g.Key, g => g.Value, StringComparer.Ordinal);
            if (!finished.TryGetValue(run.Id, out var record))
            {
                cells.Add(NotRun);
                cells.AddRange(axes.Select(a => grid.TryGetValue(a, out var v) ? ResultsTable.DisplayValue(v) : ""));
                cells.AddRange(metrics.Select(_ => ""));
                cells.AddRange(Enumerable.Repeat("", 8));
            }
            else
            {
                var s = record.Summary;
                var t = timing[run.Id];
                cells.Add(s.Status.ToString().ToLowerInvariant());
                cells.AddRange(axes.Select(a => grid.TryGetValue(a, out var v) ? ResultsTable.DisplayValue(v) : ""));
                cells.AddRange(metrics.Select(m => s.Metrics.TryGetValue(m, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : ""));
                cells.Add(s.Steps.ToString(CultureInfo.InvariantCulture));
                cells.Add(t.WallTime ?? s.WallTime.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
                cells.Add(s.Algorithm ?? "");
                cells.Add(t.Started?.ToString("O", CultureInfo.InvariantCulture) ?? "");
                cells.Add(t.Finished?.ToString("O", CultureInfo.InvariantCulture) ?? "");
                cells.Add(t.Host ?? "");
                cells.Add(t.Version ?? "");
                cells.Add(s.Message ?? "");
            }
            sb.AppendJoin(',', cells.Select(Cell)).Append('\n');
        }
        return sb.ToString();
    }

    private sealed record RunRow(int Line, RunSummary? Summary);

    /// <summary>Rows of a published <c>runs.csv</c> by run id: the summary, or null for a run that did not finish.</summary>
    private static Dictionary<string, RunRow> ReadRunsTable(string path)
    {
        var records = Csv.Parse(File.ReadAllText(path), path);
        if (records.Count == 0) throw new InvalidDataException($"{path}: empty (no header)");
        var header = records[0].Cells;
        int Col(string name)
        {
            int i = header.IndexOf(name);
            return i >= 0 ? i : throw new InvalidDataException($"{path}:1: no column '{name}'");
        }
        int id = Col("id"), status = Col("status"), steps = Col("steps"), wall = Col("wall_time_s"), message = Col("message"), algorithm = Col("algorithm");
        var metricCols = header.Select((h, i) => (h, i)).Where(p => p.h.StartsWith(MetricPrefix, StringComparison.Ordinal)).ToArray();
        var rows = new Dictionary<string, RunRow>(StringComparer.Ordinal);
        foreach (var (line, cells) in records.Skip(1))
        {
            if (cells.Count != header.Count) throw new InvalidDataException($"{path}:{line}: {cells.Count} cells, the header has {header.Count}");
            string runId = cells[id];
            RunStatus? st = cells[status] switch { "completed" => RunStatus.Completed, "diverged" => RunStatus.Diverged, "failed" => RunStatus.Failed, NotRun => null,
                _ => throw new InvalidDataException($"{path}:{line}: status '{cells[status]}' (completed, diverged, failed or {NotRun})") };
            RunSummary? summary = null;
            if (st is { } s)
            {
                var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var (name, i) in metricCols)
                    if (cells[i].Length > 0) metrics[name[MetricPrefix.Length..]] = Number(cells[i], path, line, name);
                summary = new RunSummary(s, metrics, TimeSpan.FromSeconds(Number(cells[wall], path, line, "wall_time_s")),
                    (long)Number(cells[steps], path, line, "steps"), cells[message].Length > 0 ? cells[message] : null)
                { Algorithm = cells[algorithm].Length > 0 ? cells[algorithm] : null };
            }
            if (!rows.TryAdd(runId, new RunRow(line, summary))) throw new InvalidDataException($"{path}:{line}: run {runId} appears twice");
        }
        return rows;
    }

    private static double Number(string cell, string path, int line, string column) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new InvalidDataException($"{path}:{line}: {column} '{cell}' is not a number");

    /// <summary>The <c>step</c> column and <paramref name="columns"/> of a run's metrics.csv, rows where any of them has a value.</summary>
    private static string Curves(string metricsCsv, IReadOnlyList<string> columns)
    {
        var lines = File.ReadAllLines(metricsCsv);
        var sb = new StringBuilder();
        sb.Append("step,").AppendJoin(',', columns).Append('\n');
        if (lines.Length == 0) return sb.ToString();
        var header = lines[0].Split(',');
        int step = Array.IndexOf(header, "step");
        var idx = columns.Select(c => Array.IndexOf(header, c)).ToArray();
        if (step < 0) return sb.ToString();
        foreach (string line in lines.Skip(1))
        {
            var cells = line.Split(',');
            var values = idx.Select(i => i >= 0 && i < cells.Length ? cells[i] : "").ToArray();
            if (values.All(v => v.Length == 0) || step >= cells.Length) continue;
            sb.Append(cells[step]).Append(',').AppendJoin(',', values).Append('\n');
        }
        return sb.ToString();
    }

    // ---- the manifest ----

    private sealed record Manifest(DateTimeOffset GeneratedAt, IReadOnlyList<string> Names, IReadOnlyDictionary<string, IReadOnlyList<string>> Published);

    private static Manifest ReadManifest(string directory)
    {
        string path = Path.Combine(directory, ManifestFileName);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such folder");
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: missing (not a folder written by memlab publish)");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (!root.TryGetProperty("format", out var f) || f.GetString() != Format) throw new InvalidDataException($"{path}: format is not {Format}");
            if (!root.TryGetProperty("generatedAt", out var g) || !DateTimeOffset.TryParse(g.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at))
                throw new InvalidDataException($"{path}: no valid generatedAt");
            if (!root.TryGetProperty("reproductions", out var list) || list.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{path}: no reproductions list");
            var names = new List<string>();
            var published = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var e in list.EnumerateArray())
            {
                string name = e.GetProperty("name").GetString() ?? throw new InvalidDataException($"{path}: a reproduction without a name");
                names.Add(name);
                if (e.GetProperty("status").GetString() == NotRun) continue;
                published[name] = e.GetProperty("files").EnumerateArray().Select(x => x.GetString() ?? "").ToArray();
            }
            return new Manifest(at, names, published);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: not a valid manifest ({e.Message.ReplaceLineEndings(" ")})");
        }
    }

    private static void WriteManifest(string staging, IReadOnlyList<PublishedReproduction> entries, PublishOptions options, DateTimeOffset generatedAt)
    {
        var done = entries.Where(e => e.Status != NotRun).ToArray();
        var scales = done.Select(e => e.Scale).Distinct().ToArray();
        bool derived = options.Commands.Count == 0;
        var commands = derived ? done.Select(e => $"memlab reproduce --scale {e.Scale} --only {e.Name}").ToArray() : options.Commands.ToArray();
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("generatedAt", generatedAt.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("scale", scales.Length == 1 ? scales[0] : string.Join("+", scales));
            w.WriteString("commit", options.Commit ?? "not recorded");
            w.WriteString("machine", options.Machine ?? "not recorded");
            WriteStrings(w, "commands", commands);
            w.WriteBoolean("commandsDerived", derived);
            w.WriteString("publishedWith", "memlab " + (typeof(Publication).Assembly.GetName().Version?.ToString() ?? "0"));
            w.WriteStartArray("reproductions");
            foreach (var e in entries)
            {
                w.WriteStartObject();
                w.WriteString("name", e.Name);
                w.WriteString("status", e.Status);
                w.WriteString("scale", e.Scale);
                w.WriteNumber("runs", e.Runs);
                w.WriteNumber("finished", e.Finished);
                w.WriteNumber("failed", e.Failed);
                w.WriteNumber("diverged", e.Diverged);
                if (e.StartedUtc is { } s) w.WriteString("startedUtc", s.ToString("O", CultureInfo.InvariantCulture)); else w.WriteNull("startedUtc");
                if (e.FinishedUtc is { } f) w.WriteString("finishedUtc", f.ToString("O", CultureInfo.InvariantCulture)); else w.WriteNull("finishedUtc");
                w.WriteNumber("elapsedSeconds", e.ElapsedSeconds);
                w.WriteNumber("computeSeconds", e.ComputeSeconds);
                WriteStrings(w, "hosts", e.Hosts);
                WriteStrings(w, "memlabVersions", e.Versions);
                WriteStrings(w, "files", e.Files);
                WriteStrings(w, "notes", e.Notes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(Path.Combine(staging, ManifestFileName), Encoding.UTF8.GetString(ms.ToArray()) + "\n");

        var md = new StringBuilder();
        md.Append("# Published results (").Append(scales.Length == 1 ? scales[0] : string.Join(" + ", scales)).Append(" scale)\n\n");
        md.Append("Written by `memlab publish` from a results folder of `memlab reproduce`; `memlab report <this folder>` renders claims.md, claims.json, ")
          .Append("the figures and report.html again from the tables here alone. Claims dated ").Append(generatedAt.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture)).Append(".\n\n");
        md.Append("- Commit: ").Append(options.Commit ?? "not recorded").Append('\n');
        md.Append("- Machine: ").Append(options.Machine ?? "not recorded").Append('\n');
        md.Append("- Commands").Append(derived ? " (derived from the results; the exact command lines were not given)" : "").Append(":\n\n```\n");
        foreach (string c in commands) md.Append(c).Append('\n');
        md.Append("```\n\n");
        md.Append("| Reproduction | Scale | Status | Runs finished | Failed | Diverged | Wall time | Compute (runs summed) | Started (UTC) | Hosts |\n|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var e in entries)
            md.Append("| ").Append(e.Name).Append(" | ").Append(e.Scale).Append(" | ")
              .Append(e.Status == "partial" ? "**partial: no claims**" : e.Status == NotRun ? "**not run**" : "complete").Append(" | ")
              .Append(e.Status == NotRun ? "—" : $"{e.Finished} of {e.Runs}").Append(" | ").Append(e.Failed).Append(" | ").Append(e.Diverged).Append(" | ")
              .Append(e.Status == NotRun ? "—" : Duration(e.ElapsedSeconds)).Append(" | ").Append(e.Status == NotRun ? "—" : Duration(e.ComputeSeconds)).Append(" | ")
              .Append(e.StartedUtc?.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "—").Append(" | ").Append(string.Join(", ", e.Hosts)).Append(" |\n");
        md.Append("\nWall time: from the first run's start to the last run's end (`started_utc`, `finished_utc` of the runs' summary.json; pauses between sittings included). ")
          .Append("Compute: the runs' `wall_time_s` summed.\n\n## What each folder holds\n\n")
          .Append("`NAME/sweep.yaml`: the sweep as it ran. `NAME/runs.csv`: one row per planned run (id, seed, status, grid values, final metrics as `metric.*`, steps, ")
          .Append("wall time, start, end, host; status `not-run` for a run that did not finish). `NAME/table.csv`: the merged table per grid point (mean, SEM, min, max over seeds, ")
          .Append("the selection rule), as `memlab results` writes it. `NAME/RUN_ID/`: the data files the report reads.\n\n");
        foreach (var e in entries.Where(e => e.Notes.Count > 0))
        {
            md.Append("- **").Append(e.Name).Append("**: ").Append(string.Join("; ", e.Notes)).Append('\n');
        }
        AtomicFile.WriteAllText(Path.Combine(staging, ManifestMarkdownFileName), md.ToString());
    }

    static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (string v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes} min" : t.TotalMinutes >= 1 ? $"{t.Minutes} min {t.Seconds} s" : $"{seconds:0.#} s";
    }

    // ---- helpers ----

    /// <summary>The date of the results folder's own claims.json (so a publication of unchanged code reproduces it byte for byte), or null.</summary>
    private static DateTimeOffset? OriginalDate(string results)
    {
        string path = Path.Combine(results, "claims.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.TryGetProperty("generatedAt", out var g) && g.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(g.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>Claims of <paramref name="names"/> in the results folder's claims.json that differ from <paramref name="rendered"/>'s (the folder's
    /// report was written by another build, or covers other reproductions), one line each.</summary>
    private static IReadOnlyList<string> CompareWithOriginal(string results, string rendered, IReadOnlySet<string> names)
    {
        string path = Path.Combine(results, "claims.json");
        if (!File.Exists(path)) return [$"{path}: missing; the claims could not be compared with those written when the results were made"];
        try
        {
            static Dictionary<string, string> Claims(string json, IReadOnlySet<string> names)
            {
                using var doc = JsonDocument.Parse(json);
                var d = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var c in doc.RootElement.GetProperty("claims").EnumerateArray())
                {
                    string experiment = c.GetProperty("experiment").GetString() ?? "";
                    if (!names.Contains(experiment)) continue;
                    string key = experiment + " " + (c.GetProperty("id").GetString() ?? c.GetProperty("claim").GetString());
                    d[key] = c.GetRawText();
                }
                return d;
            }
            var before = Claims(File.ReadAllText(path), names);
            var now = Claims(rendered, names);
            var lines = new List<string>();
            foreach (var key in before.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
            {
                if (!before.TryGetValue(key, out var b)) lines.Add($"{key}: not in {path}");
                else if (!now.TryGetValue(key, out var n)) lines.Add($"{key}: in {path} but not rendered now");
                else if (b != n) lines.Add($"{key}: differs from {path} (the report step changed since the results were made)");
            }
            return lines;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return [$"{path}: cannot be read ({e.Message.ReplaceLineEndings(" ")})"];
        }
    }

    private static string FirstDifference(string want, string got)
    {
        var a = want.Split('\n');
        var b = got.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            string x = i < a.Length ? a[i] : "(end)", y = i < b.Length ? b[i] : "(end)";
            if (x != y) return $"claims.json line {i + 1}: full results give {x.Trim()}, published files give {y.Trim()}";
        }
        return "no difference";
    }

    private static long Size(string directory) => Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    /// <summary>Puts <paramref name="staging"/> in place of <paramref name="target"/>, keeping files of the old folder that no publication wrote
    /// (e.g. a README.md beside the tables).</summary>
    private static void Replace(string staging, string target)
    {
        if (Directory.Exists(target))
        {
            var owned = OwnedFiles(target);
            foreach (string file in Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(target, file).Replace('\\', '/');
                if (owned.Contains(rel) || File.Exists(Path.Combine(staging, rel))) continue;
                string to = Path.Combine(staging, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(file, to);
            }
            string old = staging + ".old";
            Directory.Move(target, old);
            Directory.Move(staging, target);
            Directory.Delete(old, recursive: true);
        }
        else Directory.Move(staging, target);
    }

    /// <summary>Files of a published folder that publishing or rendering wrote: the manifest's files, the manifest, the claims, the figures, report.html.</summary>
    private static HashSet<string> OwnedFiles(string directory)
    {
        var owned = new HashSet<string>(StringComparer.Ordinal) { ManifestFileName, ManifestMarkdownFileName, "claims.md", "claims.json", "report.html" };
        foreach (string svg in Directory.EnumerateFiles(directory, "*.svg")) owned.Add(Path.GetFileName(svg));
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, ManifestFileName)));
            foreach (var e in doc.RootElement.GetProperty("reproductions").EnumerateArray())
                foreach (var f in e.GetProperty("files").EnumerateArray()) owned.Add(f.GetString() ?? "");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException) { }
        // Everything under a reproduction's folder is publication's own.
        foreach (string dir in Directory.EnumerateDirectories(directory))
            if (File.Exists(Path.Combine(dir, RunsFileName)))
                foreach (string f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)) owned.Add(Path.GetRelativePath(directory, f).Replace('\\', '/'));
        return owned;
    }

    private static string Cell(string s) =>
        s.Contains(',') || s.Contains('"') || s.Contains('\n') || s.Contains('\r') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>A small RFC 4180 reader: quoted cells may hold commas, quotes (doubled) and line breaks.</summary>
    private static class Csv
    {
        public static List<(int Line, List<string> Cells)> Parse(string text, string path)
        {
            var records = new List<(int, List<string>)>();
            var cells = new List<string>();
            var cell = new StringBuilder();
            int line = 1, start = 1;
            bool quoted = false, any = false;
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                    else if (c == '"') quoted = false;
                    else { if (c == '\n') line++; cell.Append(c); }
                    continue;
                }
                switch (c)
                {
                    case '"': quoted = true; any = true; break;
                    case ',': cells.Add(cell.ToString()); cell.Clear(); any = true; break;
                    case '\r': break;
                    case '\n':
                        if (any || cell.Length > 0) { cells.Add(cell.ToString()); records.Add((start, cells)); }
                        cells = new List<string>(); cell.Clear(); any = false; line++; start = line;
                        break;
                    default: cell.Append(c); any = true; break;
                }
            }
            if (quoted) throw new InvalidDataException($"{path}:{start}: a quoted cell is not closed");
            if (any || cell.Length > 0) { cells.Add(cell.ToString()); records.Add((start, cells)); }
            return records;
        }
    }
}
