using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MemoryLab.Numerics;

namespace MemoryLab.Experiments;

/// <summary>A finished run as stored on disk.</summary>
/// <param name="Id">The run id (its folder's name).</param>
/// <param name="Directory">The run's folder.</param>
/// <param name="Kind">Experiment kind name.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Summary">Status, final metrics, wall time, steps, message.</param>
/// <param name="Spec">The resolved spec read back from <c>spec.yaml</c>.</param>
public sealed record RunRecord(string Id, string Directory, string Kind, ulong Seed, RunSummary Summary, SpecNode Spec);

/// <summary>
/// The results folder: one sub-folder per run, named by the run's stable id, holding <c>spec.yaml</c> (the
/// resolved spec), <c>metrics.csv</c>, <c>metrics.jsonl</c>, a TensorBoard event file, <c>summary.json</c> and
/// optionally <c>checkpoint.safetensors</c>; plus <c>sweep.yaml</c>, the last sweep spec run into it.
/// <para>A run's folder appears only when the run is over: it is written as <c>.tmp-&lt;id&gt;-&lt;pid&gt;</c> and renamed
/// into place (an atomic rename), so a killed process leaves no half-written run, only a temporary folder
/// that <see cref="CleanStaleTemporaries"/> removes on the next sweep. A run whose folder exists is done and
/// is skipped (failed runs too, unless retried).</para>
/// </summary>
public sealed class ResultsStore
{
    /// <summary>The resolved spec of a run.</summary>
    public const string SpecFileName = "spec.yaml";
    /// <summary>Status, metrics and timing of a run.</summary>
    public const string SummaryFileName = "summary.json";
    /// <summary>Per-step metrics as CSV.</summary>
    public const string MetricsCsvFileName = "metrics.csv";
    /// <summary>Per-step metrics as JSON lines.</summary>
    public const string MetricsJsonLinesFileName = "metrics.jsonl";
    /// <summary>The run's parameters, if it saved them.</summary>
    public const string CheckpointFileName = "checkpoint.safetensors";
    /// <summary>The sweep spec (grid and select included) last run into this folder.</summary>
    public const string SweepSpecFileName = "sweep.yaml";
    private const string OwnerFileName = ".owner";
    private static readonly Regex TempName = new(@"^\.tmp-([0-9a-f]{12})-(\d+)(\..+)?$", RegexOptions.CultureInvariant);
    private static readonly Regex IdName = new(@"^[0-9a-f]{12}$", RegexOptions.CultureInvariant);

    /// <summary>A store rooted at <paramref name="root"/> (created on first write).</summary>
    public ResultsStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = root;
    }

    /// <summary>The results folder.</summary>
    public string Root { get; }

    /// <summary>The stable id of a resolved spec: the first 12 hex digits of SHA-256 of its canonical JSON
    /// (<see cref="SpecNode.ToCanonicalJson"/>), so key order, number spelling and file layout do not matter.</summary>
    public static string ComputeRunId(SpecNode resolvedSpec)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(resolvedSpec.ToCanonicalJson()));
        return Convert.ToHexStringLower(hash, 0, 6);
    }

    /// <summary>The folder of run <paramref name="id"/> (which exists only once the run is over).</summary>
    public string RunDirectory(string id) => Path.Combine(Root, id);

    /// <summary>Whether run <paramref name="id"/> is finished (its folder exists).</summary>
    public bool IsFinished(string id) => Directory.Exists(RunDirectory(id));

    /// <summary>Writes the sweep spec as <c>sweep.yaml</c> (atomically: shards of one sweep may write it at once).</summary>
    public void WriteSweepSpec(SpecNode sweepSpec)
    {
        Directory.CreateDirectory(Root);
        string tmp = Path.Combine(Root, $".{SweepSpecFileName}.{Environment.ProcessId}.tmp");
        File.WriteAllText(tmp, SpecYamlWriter.ToYaml(sweepSpec));
        File.Move(tmp, Path.Combine(Root, SweepSpecFileName), overwrite: true);
    }

    /// <summary>
    /// Removes temporary run folders whose writer is gone: those made on this host by a process that no longer
    /// runs (or whose pid now belongs to a younger process), and those from other hosts older than a day
    /// (a shared folder on a cluster). Returns how many were removed.
    /// </summary>
    public int CleanStaleTemporaries()
    {
        if (!Directory.Exists(Root)) return 0;
        int removed = 0;
        foreach (var dir in Directory.EnumerateDirectories(Root, ".tmp-*"))
        {
            var m = TempName.Match(Path.GetFileName(dir));
            if (!m.Success || !int.TryParse(m.Groups[2].Value, out int pid)) continue;
            if (pid == Environment.ProcessId && m.Groups[3].Length == 0) continue;
            string owner = File.Exists(Path.Combine(dir, OwnerFileName)) ? File.ReadAllText(Path.Combine(dir, OwnerFileName)).Trim() : Environment.MachineName;
            DateTime created = Directory.GetCreationTimeUtc(dir);
            bool stale = owner == Environment.MachineName
                ? !IsAlive(pid, created)
                : DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) > TimeSpan.FromDays(1);
            if (!stale) continue;
            try
            {
                Directory.Delete(dir, recursive: true);
                removed++;
            }
            catch (IOException) { } // another cleaner got there first
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    private static bool IsAlive(int pid, DateTime folderCreatedUtc)
    {
        if (OperatingSystem.IsLinux())
        {
            string stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat)) return false;
            try
            {
                string text = File.ReadAllText(stat);
                char state = text[text.LastIndexOf(')') + 2];
                if (state is 'Z' or 'X') return false; // killed, not yet reaped
            }
            catch (IOException) { return false; }
        }
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
            // A pid reused by a process started after the folder was made is not the writer.
            return p.StartTime.ToUniversalTime() <= folderCreatedUtc.AddSeconds(2);
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
        catch (System.ComponentModel.Win32Exception) { return true; } // cannot tell: keep it
    }

    /// <summary>When true, resumable kinds continue an interrupted run from its periodic checkpoint.</summary>
    public bool Resume { get; init; }

    /// <summary>Where run <paramref name="runId"/> keeps its periodic checkpoint: <c>ROOT/.resume/&lt;id&gt;.safetensors</c>
    /// (outside the temporary folder, so it survives a killed process; deleted when the run completes).</summary>
    public string ResumeCheckpointPath(string runId) => Path.Combine(Root, ".resume", runId + ".safetensors");

    /// <summary>
    /// Runs <paramref name="run"/> unless its folder exists: writes into <c>.tmp-&lt;id&gt;-&lt;pid&gt;</c> (spec,
    /// metrics as CSV, JSON lines and TensorBoard, summary), then renames the folder into place. An exception in
    /// the experiment gives a <see cref="RunStatus.Failed"/> run; cancellation removes the temporary folder and
    /// rethrows. Returns the summary and whether the run was already there.
    /// </summary>
    public (RunSummary Summary, bool Skipped) Execute(PlannedRun run, ExperimentRegistry registry, WorkerPool pool,
        Action<RunProgress>? progress = null, CancellationToken cancellation = default)
    {
        string final = RunDirectory(run.Id);
        if (Directory.Exists(final)) return (ReadSummary(final), true);
        Directory.CreateDirectory(Root);
        string temp = Path.Combine(Root, $".tmp-{run.Id}-{Environment.ProcessId}");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        File.WriteAllText(Path.Combine(temp, OwnerFileName), Environment.MachineName);
        File.WriteAllText(Path.Combine(temp, SpecFileName), SpecYamlWriter.ToYaml(run.Spec));

        var spec = run.CreateSpec();
        var kind = registry.Resolve(spec, out ulong seed);
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        RunSummary summary;
        OperationCanceledException? cancelled = null;
        var sink = new CompositeMetricSink(
            new CsvMetricSink(Path.Combine(temp, MetricsCsvFileName)),
            new JsonLinesMetricSink(Path.Combine(temp, MetricsJsonLinesFileName)),
            new TensorBoardMetricSink(temp));
        try
        {
            var context = new RunContext(run.Id, temp, seed, sink, pool, cancellation, progress)
            {
                ResumeCheckpointPath = ResumeCheckpointPath(run.Id),
                Resume = Resume,
            };
            summary = kind.Run(spec, context);
        }
        catch (OperationCanceledException e) when (cancellation.IsCancellationRequested)
        {
            cancelled = e;
            summary = RunSummary.Failed("cancelled");
        }
        catch (Exception e)
        {
            summary = RunSummary.Failed($"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" "));
        }
        finally
        {
            sink.Dispose();
        }
        if (cancelled != null)
        {
            // An interrupted run is not a result: leave nothing behind.
            TryDelete(temp);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cancelled);
        }
        summary = summary with { WallTime = clock.Elapsed };
        WriteSummary(Path.Combine(temp, SummaryFileName), run, seed, summary, started, DateTimeOffset.UtcNow);
        File.Delete(Path.Combine(temp, OwnerFileName));
        if (File.Exists(ResumeCheckpointPath(run.Id))) File.Delete(ResumeCheckpointPath(run.Id));
        try
        {
            Directory.Move(temp, final);
        }
        catch (IOException) when (Directory.Exists(final))
        {
            // Another process finished the same run meanwhile: keep its folder.
            TryDelete(temp);
            return (ReadSummary(final), true);
        }
        return (summary, false);
    }

    /// <summary>Moves a finished run's folder out of the way (atomically, then deletes it) so it can run again.</summary>
    public void Discard(string id)
    {
        string final = RunDirectory(id);
        if (!Directory.Exists(final)) return;
        string doomed = Path.Combine(Root, $".tmp-{id}-{Environment.ProcessId}.discarded");
        if (Directory.Exists(doomed)) Directory.Delete(doomed, recursive: true);
        Directory.Move(final, doomed);
        TryDelete(doomed);
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void WriteSummary(string path, PlannedRun run, ulong seed, RunSummary s, DateTimeOffset started, DateTimeOffset finished)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("id", run.Id);
        w.WriteString("kind", run.Kind);
        w.WriteNumber("seed", seed);
        w.WriteString("status", s.Status.ToString().ToLowerInvariant());
        if (s.Message is null) w.WriteNull("message"); else w.WriteString("message", s.Message);
        if (s.Algorithm is not null) w.WriteString("algorithm", s.Algorithm);
        w.WritePropertyName("metrics");
        w.WriteStartObject();
        foreach (var (name, value) in s.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (double.IsFinite(value)) w.WriteNumber(name, value);
            else w.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
        w.WriteEndObject();
        w.WriteNumber("steps", s.Steps);
        w.WriteNumber("wall_time_s", Math.Round(s.WallTime.TotalSeconds, 6));
        w.WritePropertyName("grid_point");
        w.WriteStartObject();
        foreach (var (axis, json) in run.GridPoint)
        {
            w.WritePropertyName(axis);
            w.WriteRawValue(json);
        }
        w.WriteEndObject();
        w.WriteString("host", Environment.MachineName);
        w.WriteString("started_utc", started.ToString("O", CultureInfo.InvariantCulture));
        w.WriteString("finished_utc", finished.ToString("O", CultureInfo.InvariantCulture));
        w.WriteString("memlab_version", typeof(ResultsStore).Assembly.GetName().Version?.ToString() ?? "0");
        w.WriteEndObject();
    }

    /// <summary>Reads <c>summary.json</c> of the run folder <paramref name="runDirectory"/>.</summary>
    public static RunSummary ReadSummary(string runDirectory)
    {
        string path = Path.Combine(runDirectory, SummaryFileName);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var status = Enum.Parse<RunStatus>(root.GetProperty("status").GetString()!, ignoreCase: true);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var p in root.GetProperty("metrics").EnumerateObject())
            metrics[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble()
                : p.Value.GetString() switch { "Infinity" => double.PositiveInfinity, "-Infinity" => double.NegativeInfinity, _ => double.NaN };
        string? message = root.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String ? msg.GetString() : null;
        string? algorithm = root.TryGetProperty("algorithm", out var alg) && alg.ValueKind == JsonValueKind.String ? alg.GetString() : null;
        return new RunSummary(status, metrics, TimeSpan.FromSeconds(root.GetProperty("wall_time_s").GetDouble()), root.GetProperty("steps").GetInt64(), message)
            { Algorithm = algorithm };
    }

    /// <summary>Every finished run in the folder (temporary folders and other files ignored), in id order.</summary>
    public IReadOnlyList<RunRecord> ReadAll()
    {
        var records = new List<RunRecord>();
        if (!Directory.Exists(Root)) return records;
        foreach (var dir in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            if (!IdName.IsMatch(name) || !File.Exists(Path.Combine(dir, SummaryFileName))) continue;
            records.Add(ReadRun(name)!);
        }
        return records;
    }

    /// <summary>The finished run <paramref name="id"/> (its spec, summary and folder), or null when it is not finished here.</summary>
    public RunRecord? ReadRun(string id)
    {
        string dir = RunDirectory(id);
        if (!File.Exists(Path.Combine(dir, SummaryFileName))) return null;
        var spec = SpecParser.ParseFile(Path.Combine(dir, SpecFileName));
        var summary = ReadSummary(dir);
        string kind = spec.Peek(ExperimentRegistry.KindKey)?.Text ?? "";
        var seedNode = spec.Peek(ExperimentRegistry.SeedKey);
        ulong seed = seedNode is null ? 0 : (ulong)seedNode.AsInteger();
        return new RunRecord(id, dir, kind, seed, summary, spec);
    }

    /// <summary>The sweep spec stored in the folder (<c>sweep.yaml</c>), or null.</summary>
    public SpecNode? ReadSweepSpec()
    {
        string path = Path.Combine(Root, SweepSpecFileName);
        return File.Exists(path) ? SpecParser.ParseFile(path) : null;
    }
}
