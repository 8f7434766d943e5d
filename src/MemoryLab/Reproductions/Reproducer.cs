using System.Diagnostics;
using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;

namespace MemoryLab.Reproductions;

/// <summary>What happened to one experiment in <see cref="Reproducer.Run"/>.</summary>
public sealed record ReproductionOutcome(string Name, bool Skipped, bool Failed, double Seconds, string? Error);

/// <summary>
/// Runs registered reproductions into <c>OUT/&lt;name&gt;/</c> and builds the report. Each experiment runs in a
/// temporary folder that is renamed when it completes (with a <c>done.json</c>), so a finished experiment is
/// skipped on the next call and an interrupted one leaves nothing half-written.
/// </summary>
public static class Reproducer
{
    /// <summary>Marker written last into a completed experiment's folder.</summary>
    public const string DoneFileName = "done.json";

    /// <summary>Runs <paramref name="experiments"/> at <paramref name="scale"/> into <paramref name="outDirectory"/>.</summary>
    public static IReadOnlyList<ReproductionOutcome> Run(IReadOnlyList<IPaperExperiment> experiments, ReproductionScale scale, string outDirectory,
        WorkerPool pool, Action<string, double, string>? progress = null, CancellationToken cancellation = default)
    {
        Directory.CreateDirectory(outDirectory);
        var outcomes = new List<ReproductionOutcome>();
        foreach (var e in experiments)
        {
            string final = Path.Combine(outDirectory, e.Name);
            if (File.Exists(Path.Combine(final, DoneFileName)) && ReadScale(final) == scale)
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
                e.Run(new ReproductionContext(scale, temp, pool, cancellation, (f, what) => progress?.Invoke(e.Name, f, what)));
                cancellation.ThrowIfCancellationRequested();
                AtomicFile.WriteAllText(Path.Combine(temp, DoneFileName), JsonSerializer.Serialize(new
                {
                    experiment = e.Name,
                    scale = scale.ToString().ToLowerInvariant(),
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

    private static ReproductionScale? ReadScale(string directory)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, DoneFileName)));
            return Enum.TryParse<ReproductionScale>(doc.RootElement.GetProperty("scale").GetString(), true, out var s) ? s : null;
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException) { return null; }
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
            var section = doc.AddSection(e.Name, $"{e.Title}. {e.Description} (scale: {scale?.ToString().ToLowerInvariant() ?? "?"})");
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
