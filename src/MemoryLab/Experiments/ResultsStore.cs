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
    public void WriteSweepSpec(SpecNode sweepSpec) => AtomicFile.WriteAllText(Path.Combine(Root, SweepSpecFileName), SpecYamlWriter.ToYaml(sweepSpec));

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
            string ownerPath = Path.Combine(dir, OwnerFileName);
            string? owner = null;
            try { if (File.Exists(ownerPath)) owner = File.ReadAllText(ownerPath).Trim(); }
            catch (IOException) { }
            DateTime created = Directory.GetCreationTimeUtc(dir);
            TimeSpan age = DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir);
            // A writer names its host in .owner right after making the folder: a folder without one was left by a writer killed
            // in between (stale once that writer is gone here, or after a minute whoever made it).
            bool stale = owner is null ? !IsAlive(pid, created) || age > TimeSpan.FromMinutes(1)
                : owner == Environment.MachineName ? !IsAlive(pid, created)
                : age > TimeSpan.FromDays(1);
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
    public string ResumeCheckpointPath(string runId) => Path.Combine(Root, ResumeFolderName, runId + ".safetensors");

    private const string ResumeFolderName = ".resume";

    /// <summary>Removes run <paramref name="runId"/>'s periodic checkpoint, any torn temporary of it and its metric journals
    /// (<see cref="RunMetricFiles"/>), and the <c>.resume</c> folder once it is empty.</summary>
    private void DeleteResumeCheckpoint(string runId)
    {
        string path = ResumeCheckpointPath(runId);
        try
        {
            AtomicFile.DeleteTemporaries(path);
            if (File.Exists(path)) File.Delete(path);
            string dir = Path.GetDirectoryName(path)!;
            if (Directory.Exists(dir))
                foreach (string journal in Directory.EnumerateDirectories(dir).Where(d => RunMetricFiles.IsJournalOf(path, d)).ToArray())
                    Directory.Delete(journal, recursive: true);
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
        catch (IOException) { } // another run's checkpoint appeared meanwhile: the folder stays
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Runs <paramref name="run"/> unless its folder exists: writes into <c>.tmp-&lt;id&gt;-&lt;pid&gt;</c> (spec,
    /// metrics as CSV, JSON lines and TensorBoard, summary), then renames the folder into place. An exception in
    /// the experiment gives a <see cref="RunStatus.Failed"/> run; cancellation removes the temporary folder and
    /// rethrows. Returns the summary and whether the run was already there.
    /// </summary>
    public (RunSummary Summary, bool Skipped) Execute(PlannedRun run, ExperimentRegistry registry, WorkerPool pool,
        Action<RunProgress>? progress = null, CancellationToken cancellation = default, Action<string>? warnings = null, SpareWorkers? spare = null, bool offload = false)
    {
        string final = RunDirectory(run.Id);
        if (Directory.Exists(final)) return (ReadSummaryOrFailed(final), true);
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
        var sink = new RunMetricFiles(temp, background: offload);
        // A writer killed mid-checkpoint leaves a temporary beside it; the checkpoint itself is whole or absent.
        AtomicFile.DeleteTemporaries(ResumeCheckpointPath(run.Id));
        try
        {
            var context = new RunContext(run.Id, temp, seed, sink, pool, cancellation, progress)
            {
                ResumeCheckpointPath = ResumeCheckpointPath(run.Id),
                Resume = Resume,
                MetricFiles = sink,
                Warnings = warnings,
                Spare = spare,
                Offload = offload,
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
            // An interrupted run is not a result: leave nothing behind (but its periodic checkpoint and metric journals, for --resume).
            TryDelete(temp);
            if (!File.Exists(ResumeCheckpointPath(run.Id))) DeleteResumeCheckpoint(run.Id);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cancelled);
        }
        summary = summary with { WallTime = clock.Elapsed };
        WriteSummary(Path.Combine(temp, SummaryFileName), run, seed, summary, started, DateTimeOffset.UtcNow);
        File.Delete(Path.Combine(temp, OwnerFileName));
        DeleteResumeCheckpoint(run.Id);
        try
        {
            Directory.Move(temp, final);
        }
        catch (IOException) when (Directory.Exists(final))
        {
            // Another process finished the same run meanwhile: keep its folder.
            TryDelete(temp);
            return (ReadSummaryOrFailed(final), true);
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

    /// <summary>Reads <c>summary.json</c> of the run folder <paramref name="runDirectory"/>; throws <see cref="InvalidDataException"/>
    /// (one line naming the file and what is wrong) when it is missing, not JSON or not a summary.</summary>
    public static RunSummary ReadSummary(string runDirectory) =>
        TryReadSummary(runDirectory, out var summary, out string? problem) ? summary! : throw new InvalidDataException(problem);

    /// <summary>Reads <c>summary.json</c> of <paramref name="runDirectory"/>; false with a one-line <paramref name="problem"/>
    /// (the file and what is wrong) when it cannot be read as a summary: garbage, truncated, <c>{}</c>, an unknown status, a metric
    /// that is neither a number nor <c>"NaN"</c>/<c>"Infinity"</c>/<c>"-Infinity"</c>.</summary>
    public static bool TryReadSummary(string runDirectory, out RunSummary? summary, out string? problem)
    {
        string path = Path.Combine(runDirectory, SummaryFileName);
        summary = null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Fail("is not a JSON object", out problem);
            if (!root.TryGetProperty("status", out var st) || st.ValueKind != JsonValueKind.String) return Fail("has no status", out problem);
            RunStatus? status = st.GetString() switch { "completed" => RunStatus.Completed, "diverged" => RunStatus.Diverged, "failed" => RunStatus.Failed, _ => null };
            if (status is null) return Fail($"has unknown status '{st.GetString()}' (completed, diverged or failed)", out problem);
            if (!root.TryGetProperty("metrics", out var ms) || ms.ValueKind != JsonValueKind.Object) return Fail("has no metrics object", out problem);
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var p in ms.EnumerateObject())
            {
                double? v = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble()
                    : p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() switch { "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, "-Infinity" => double.NegativeInfinity, _ => null }
                    : null;
                if (v is null) return Fail($"metric '{p.Name}' is {p.Value.GetRawText()}, not a number", out problem);
                metrics[p.Name] = v.Value;
            }
            if (!root.TryGetProperty("wall_time_s", out var wall) || wall.ValueKind != JsonValueKind.Number || !double.IsFinite(wall.GetDouble()) || wall.GetDouble() < 0)
                return Fail("has no valid wall_time_s", out problem);
            if (!root.TryGetProperty("steps", out var steps) || !steps.TryGetInt64(out long n) || n < 0) return Fail("has no valid steps", out problem);
            string? message = root.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String ? msg.GetString() : null;
            string? algorithm = root.TryGetProperty("algorithm", out var alg) && alg.ValueKind == JsonValueKind.String ? alg.GetString() : null;
            summary = new RunSummary(status.Value, metrics, TimeSpan.FromSeconds(wall.GetDouble()), n, message) { Algorithm = algorithm };
            problem = null;
            return true;
        }
        catch (JsonException e) { return Fail($"is not valid JSON ({e.Message.ReplaceLineEndings(" ")})", out problem); }
        catch (IOException e) { return Fail($"cannot be read ({e.Message.ReplaceLineEndings(" ")})", out problem); }
        catch (UnauthorizedAccessException e) { return Fail($"cannot be read ({e.Message.ReplaceLineEndings(" ")})", out problem); }

        bool Fail(string what, out string? p)
        {
            p = $"{path}: {what}";
            return false;
        }
    }

    /// <summary>The summary, or a failed one whose message says why it cannot be read.</summary>
    private static RunSummary ReadSummaryOrFailed(string runDirectory) =>
        TryReadSummary(runDirectory, out var s, out string? problem) ? s! : RunSummary.Failed(problem!);

    /// <summary>Every finished run in the folder (temporary folders and other files ignored), in id order. A run whose
    /// <c>summary.json</c> or <c>spec.yaml</c> cannot be read is left out, with one line about it in <paramref name="problems"/>.</summary>
    public IReadOnlyList<RunRecord> ReadAll(ICollection<string>? problems = null)
    {
        var records = new List<RunRecord>();
        if (!Directory.Exists(Root)) return records;
        foreach (var dir in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            if (!IdName.IsMatch(name)) continue;
            if (TryReadRun(name, out var record, out string? problem)) records.Add(record!);
            else if (problem is not null) problems?.Add(problem);
        }
        return records;
    }

    /// <summary>The finished run <paramref name="id"/> (its spec, summary and folder), or null when it is not finished here or
    /// its files cannot be read.</summary>
    public RunRecord? ReadRun(string id) => TryReadRun(id, out var record, out _) ? record : null;

    /// <summary>Reads the finished run <paramref name="id"/>: false when there is none (<paramref name="problem"/> null) or when its
    /// summary or spec cannot be read (<paramref name="problem"/> says which file and why, in one line).</summary>
    public bool TryReadRun(string id, out RunRecord? record, out string? problem)
    {
        record = null;
        problem = null;
        string dir = RunDirectory(id);
        if (!Directory.Exists(dir)) return false;
        if (!TryReadSummary(dir, out var summary, out problem)) return false;
        SpecNode spec;
        try { spec = SpecParser.ParseFile(Path.Combine(dir, SpecFileName)); }
        catch (Exception e) when (e is SpecException or IOException or UnauthorizedAccessException)
        {
            problem = e is SpecException ? e.Message : $"{Path.Combine(dir, SpecFileName)}: cannot be read ({e.Message.ReplaceLineEndings(" ")})";
            return false;
        }
        string kind = spec.Peek(ExperimentRegistry.KindKey)?.Text ?? "";
        var seedNode = spec.Peek(ExperimentRegistry.SeedKey);
        ulong seed = 0;
        try { if (seedNode is not null) seed = (ulong)seedNode.AsInteger(); }
        catch (SpecException e) { problem = e.Message; return false; }
        record = new RunRecord(id, dir, kind, seed, summary!, spec);
        return true;
    }

    /// <summary>The sweep spec stored in the folder (<c>sweep.yaml</c>), or null.</summary>
    public SpecNode? ReadSweepSpec()
    {
        string path = Path.Combine(Root, SweepSpecFileName);
        return File.Exists(path) ? SpecParser.ParseFile(path) : null;
    }
}
