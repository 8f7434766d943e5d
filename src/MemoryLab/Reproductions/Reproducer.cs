using System.Diagnostics;
using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;

namespace MemoryLab.Reproductions;

/// <summary>What happened to one experiment in <c>Reproducer.Run</c>.</summary>
public sealed record ReproductionOutcome(string Name, bool Skipped, bool Failed, double Seconds, string? Error);

/// <summary>
/// Runs registered reproductions into <c>OUT/&lt;name&gt;/</c> and builds the report. Each experiment runs in a
/// temporary folder that is renamed when it completes (with its <c>spec.yaml</c> and a <c>done.json</c> recording scale and
/// settings), so a finished experiment is skipped on the next call when its scale and settings are unchanged, and an
/// interrupted one leaves nothing half-written.
/// </summary>
public static class Reproducer
{
    /// <summary>Marker written last into a completed experiment's folder.</summary>
    public const string DoneFileName = "done.json";

    /// <summary>The settings file written beside each experiment's data.</summary>
    public const string SpecFileName = "spec.yaml";

    /// <summary>Runs <paramref name="experiments"/> at <paramref name="scale"/> with the settings of their specs (embedded, or
    /// from <paramref name="specsDirectory"/>) into <paramref name="outDirectory"/>; every spec is validated before anything runs.</summary>
    public static IReadOnlyList<ReproductionOutcome> Run(IReadOnlyList<IPaperExperiment> experiments, ReproductionScale scale, string outDirectory,
        WorkerPool pool, Action<string, double, string>? progress = null, CancellationToken cancellation = default, string? specsDirectory = null) =>
        Run(ReproductionJob.Plan(experiments, scale, specsDirectory), outDirectory, pool, progress, cancellation);

    /// <summary>Runs planned <paramref name="jobs"/> (see <see cref="ReproductionJob.Plan"/>) into <paramref name="outDirectory"/>.
    /// A job whose folder holds a <c>done.json</c> with the same scale and settings is skipped.</summary>
    public static IReadOnlyList<ReproductionOutcome> Run(IReadOnlyList<ReproductionJob> jobs, string outDirectory,
        WorkerPool pool, Action<string, double, string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        Directory.CreateDirectory(outDirectory);
        var outcomes = new List<ReproductionOutcome>();
        foreach (var job in jobs)
        {
            var e = job.Experiment;
            var scale = job.Scale;
            string final = Path.Combine(outDirectory, e.Name);
            if (File.Exists(Path.Combine(final, DoneFileName)) && ReadScale(final) == scale && ReadSettings(final) == Normalise(job.SettingsJson))
            {
                outcomes.Add(new ReproductionOutcome(e.Name, true, false, 0, null));
                continue;
            }
            string temp = Path.Combine(outDirectory, $".tmp-{e.Name}-{Environment.ProcessId}");
            if (Directory.Exists(temp)) Directory.Delete(temp, true);
            Directory.CreateDirectory(temp);
            var clock = Stopwatch.StartNew();
            try
            {
                AtomicFile.WriteAllText(Path.Combine(temp, SpecFileName), job.SpecYaml());
                e.Run(new ReproductionContext(scale, job.Settings.Clone(), temp, pool, cancellation, (f, what) => progress?.Invoke(e.Name, f, what)));
                cancellation.ThrowIfCancellationRequested();
                AtomicFile.WriteAllText(Path.Combine(temp, DoneFileName), JsonSerializer.Serialize(new
                {
                    experiment = e.Name,
                    scale = scale.ToString().ToLowerInvariant(),
                    spec_source = job.Source,
                    overrides = job.Overrides,
                    settings = JsonSerializer.Deserialize<JsonElement>(job.SettingsJson),
                    seconds = clock.Elapsed.TotalSeconds,
                    finished_utc = DateTimeOffset.UtcNow,
                    memlab_version = typeof(Reproducer).Assembly.GetName().Version?.ToString(),
                }));
                if (Directory.Exists(final)) Directory.Delete(final, true);
                Directory.Move(temp, final);
                outcomes.Add(new ReproductionOutcome(e.Name, false, false, clock.Elapsed.TotalSeconds, null));
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                Directory.Delete(temp, true);
                throw;
            }
            catch (Exception ex)
            {
                Directory.Delete(temp, true);
                outcomes.Add(new ReproductionOutcome(e.Name, false, true, clock.Elapsed.TotalSeconds, $"{ex.GetType().Name}: {ex.Message}".ReplaceLineEndings(" ")));
            }
            progress?.Invoke(e.Name, 1, "done");
        }
        return outcomes;
    }

    internal static ReproductionScale? ReadScale(string directory)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, DoneFileName)));
            return Enum.TryParse<ReproductionScale>(doc.RootElement.GetProperty("scale").GetString(), true, out var s) ? s : null;
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException) { return null; }
    }

    /// <summary>" Settings: key = value; …" from the folder's spec.yaml (empty for a folder written before runs kept one), so the
    /// report states the numbers the run used.</summary>
    private static string SettingsLine(string directory)
    {
        string path = Path.Combine(directory, SpecFileName);
        if (!File.Exists(path)) return "";
        var settings = SpecParser.ParseFile(path).Child("settings");
        string prefix = settings.Path + ".";
        return " Settings (" + SpecFileName + "): " + string.Join("; ", settings.Flatten().Select(p =>
            $"{(p.Key.StartsWith(prefix, StringComparison.Ordinal) ? p.Key[prefix.Length..] : p.Key)} = {p.Value.Replace("\"", "")}")) + ".";
    }

    private static string Normalise(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(doc.RootElement);
    }

    private static string? ReadSettings(string directory)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, DoneFileName)));
            // Both sides go through the same serialiser, so escaping differences cannot make equal settings differ.
            return doc.RootElement.TryGetProperty("settings", out var s) ? JsonSerializer.Serialize(s) : null;
        }
        catch (Exception e) when (e is IOException or JsonException) { return null; }
    }

    /// <summary>Builds the report of every completed, registered experiment found in <paramref name="resultsDirectory"/>
    /// and writes it there (report.html, one .svg per figure, claims.md, claims.json). Returns the document.</summary>
    public static ReportDocument WriteReport(PaperExperimentRegistry registry, string resultsDirectory)
    {
        if (!Directory.Exists(resultsDirectory)) throw new DirectoryNotFoundException($"no results folder '{resultsDirectory}'");
        var doc = new ReportDocument("MemoryLab: the curse of memory, reproduced", DateTimeOffset.UtcNow);
        var missing = new List<string>();
        foreach (var e in registry.All)
        {
            string dir = Path.Combine(resultsDirectory, e.Name);
            if (!File.Exists(Path.Combine(dir, DoneFileName))) { missing.Add(e.Name); continue; }
            var scale = ReadScale(dir);
            var section = doc.AddSection(e.Name, $"{e.Title}. {e.Description} (scale: {scale?.ToString().ToLowerInvariant() ?? "?"}){SettingsLine(dir)}");
            e.Report(dir, section);
        }
        doc.Introduction = "Each section runs one experiment of Li et al. (ICLR 2021), Wang et al. (ICLR 2024) or Zucchet & Orvieto (NeurIPS 2024) "
            + "and checks the paper's claims against the numbers it measured. Claims were written from the papers before the results were seen; "
            + "a failing claim is reported as failing."
            + (missing.Count > 0 ? $" Not in this folder (not run yet): {string.Join(", ", missing)}." : "");
        ReportWriter.Write(doc, resultsDirectory);
        return doc;
    }
}
