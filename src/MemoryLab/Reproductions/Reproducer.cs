using MemoryLab.Experiments;
using MemoryLab.Reporting;

namespace MemoryLab.Reproductions;

/// <summary>One reproduction's runs as a report reads them.</summary>
/// <param name="Reproduction">The reproduction.</param>
/// <param name="Plan">Its sweep as it ran (<c>sweep.yaml</c>).</param>
/// <param name="Finished">The plan's finished runs, in plan order (fewer than the plan's runs when some did not run).</param>
/// <param name="SweepSpecPath">The <c>sweep.yaml</c> the plan was read from.</param>
public sealed record ReproductionRuns(IReproduction Reproduction, SweepPlan Plan, IReadOnlyList<RunRecord> Finished, string SweepSpecPath);

/// <summary>How one reproduction's runs ended in a <see cref="Reproducer.Run"/> call.</summary>
/// <param name="Name">The reproduction.</param>
/// <param name="Runs">Runs in its plan.</param>
/// <param name="Ran">Runs executed in this call.</param>
/// <param name="Skipped">Runs found finished (same spec, so the same results).</param>
/// <param name="Failed">Runs stored as failed.</param>
/// <param name="Seconds">Wall time of the runs executed in this call, summed.</param>
/// <param name="Error">The first failure's message, or null.</param>
public sealed record ReproductionOutcome(string Name, int Runs, int Ran, int Skipped, int Failed, double Seconds, string? Error);

/// <summary>
/// Runs reproductions and builds their report. <see cref="Run"/> puts the runs of every plan into one
/// <see cref="SweepRunner"/> pool, each reproduction's into its own <see cref="ResultsStore"/> <c>OUT/NAME</c> (with its
/// <c>sweep.yaml</c>); a finished run (its <c>summary.json</c>) is skipped, so an interrupted reproduction resumes and a
/// changed setting runs only the runs it changes. <see cref="WriteReport(ReproductionRegistry, ExperimentRegistry, IReadOnlyList{string}, string)"/> reads such folders, whoever wrote them
/// (<c>memlab reproduce</c>, or <c>memlab sweep … --shard K/N</c> on a cluster), and writes the report.
/// </summary>
public static class Reproducer
{
    /// <summary>The report's title.</summary>
    public const string ReportTitle = "MemoryLab: the curse of memory, reproduced";

    /// <summary>
    /// Runs every run of <paramref name="plans"/> on <see cref="SweepOptions.Workers"/> workers, results identical whatever
    /// their number (a run's numbers depend only on its spec and seed). A run two reproductions share (same resolved spec) runs once
    /// and is copied. <paramref name="observer"/> sees the runs of all plans. Returns the outcome per plan, in plan order.
    /// </summary>
    public static IReadOnlyList<ReproductionOutcome> Run(IReadOnlyList<ReproductionPlan> plans, string outDirectory, ExperimentRegistry kinds,
        SweepOptions options, ISweepObserver? observer = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(plans);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDirectory);
        var jobs = new List<SweepJob>();
        var stores = new List<ResultsStore>();
        // A run with the same id in several reproductions (the same resolved spec: the teacher–student and ablation students at
        // ν₀ = 0.99) runs once; when it finishes, its folder is copied into the other reproductions' folders.
        var first = new Dictionary<string, SweepJob>(StringComparer.Ordinal);
        var copies = new Dictionary<PlannedRun, List<SweepJob>>(ReferenceEqualityComparer.Instance);
        foreach (var plan in plans)
        {
            var store = new ResultsStore(Path.Combine(outDirectory, plan.Reproduction.Name));
            store.WriteSweepSpec(plan.Sweep.Spec);
            stores.Add(store);
            foreach (var run in plan.Sweep.Runs)
            {
                var job = new SweepJob(run, store);
                if (first.TryGetValue(run.Id, out var primary) && !store.IsFinished(run.Id))
                {
                    if (!copies.TryGetValue(primary.Run, out var list)) copies[primary.Run] = list = new List<SweepJob>();
                    list.Add(job);
                }
                else
                {
                    first.TryAdd(run.Id, job);
                    jobs.Add(job);
                }
            }
        }
        var before = plans.Select((p, i) => p.Sweep.Runs.Count(r => stores[i].IsFinished(r.Id))).ToArray();
        var result = SweepRunner.Run(jobs, kinds, options, new CopyingObserver(first, copies, observer), cancellation);
        var outcomes = new List<ReproductionOutcome>();
        for (int i = 0; i < plans.Count; i++)
        {
            var records = plans[i].Sweep.Runs.Select(r => stores[i].ReadRun(r.Id)).Where(r => r is not null).Select(r => r!).ToArray();
            var failed = records.Where(r => r.Summary.Status == RunStatus.Failed).ToArray();
            var ran = records.Length - before[i];
            double seconds = records.Sum(r => r.Summary.WallTime.TotalSeconds);
            outcomes.Add(new ReproductionOutcome(plans[i].Reproduction.Name, plans[i].Sweep.Runs.Count, ran, before[i], failed.Length,
                before[i] == records.Length ? 0 : seconds, failed.FirstOrDefault()?.Summary.Message));
        }
        if (result.Cancelled) cancellation.ThrowIfCancellationRequested();
        return outcomes;
    }

    /// <summary>Forwards a sweep's events and, when a run that other reproductions share finishes, copies its folder into their stores
    /// (written as a temporary folder and renamed, like a run's own) and reports them finished too.</summary>
    private sealed class CopyingObserver(Dictionary<string, SweepJob> first, Dictionary<PlannedRun, List<SweepJob>> copies, ISweepObserver? inner) : ISweepObserver
    {
        public void SweepStarted(int total, int alreadyDone) => inner?.SweepStarted(total + copies.Values.Sum(c => c.Count), alreadyDone);

        public void RunStarted(PlannedRun run, int worker) => inner?.RunStarted(run, worker);

        public void RunProgress(PlannedRun run, int worker, RunProgress progress) => inner?.RunProgress(run, worker, progress);

        public void Warning(string line) => inner?.Warning(line);

        public void RunFinished(PlannedRun run, int worker, RunSummary summary, bool skipped)
        {
            inner?.RunFinished(run, worker, summary, skipped);
            if (!copies.TryGetValue(run, out var others)) return;
            string source = first[run.Id].Store.RunDirectory(run.Id);
            foreach (var other in others)
            {
                CopyRun(source, other.Store, run.Id);
                inner?.RunFinished(other.Run, worker, summary, skipped: true);
            }
        }

        private static void CopyRun(string source, ResultsStore to, string id)
        {
            if (to.IsFinished(id)) return;
            Directory.CreateDirectory(to.Root);
            string temp = Path.Combine(to.Root, $".tmp-{id}-{Environment.ProcessId}");
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            foreach (string dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
                Directory.CreateDirectory(Path.Combine(temp, Path.GetRelativePath(source, dir)));
            Directory.CreateDirectory(temp);
            foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
                File.Copy(file, Path.Combine(temp, Path.GetRelativePath(source, file)));
            try { Directory.Move(temp, to.RunDirectory(id)); }
            catch (IOException) when (to.IsFinished(id)) { Directory.Delete(temp, recursive: true); }
        }
    }

    /// <summary>
    /// The results folders of reproductions found at <paramref name="folders"/>: each folder whose <c>sweep.yaml</c> has a
    /// <c>reproduction:</c> section, and each such folder directly inside one (as <c>memlab reproduce --out DIR</c> writes them).
    /// Returns (reproduction name, store) pairs in folder order.
    /// </summary>
    public static IReadOnlyList<(string Name, ResultsStore Store)> FindStores(IEnumerable<string> folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        var found = new List<(string, ResultsStore)>();
        foreach (string folder in folders)
        {
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"no results folder '{folder}'");
            foreach (string dir in new[] { folder }.Concat(Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal)))
            {
                var store = new ResultsStore(dir);
                if (store.ReadSweepSpec()?.Peek(SweepPlan.ReproductionKey) is { Kind: SpecNodeKind.Mapping } section
                    && section.Peek("name") is { Kind: SpecNodeKind.Scalar } name)
                    found.Add((name.Text, store));
            }
        }
        return found;
    }

    /// <summary>
    /// The runs of each of <paramref name="reproductions"/> found in <paramref name="folders"/> (see <see cref="FindStores"/>; several
    /// folders of one reproduction, such as shards written apart, are merged by run id): its plan, read from the first folder's
    /// <c>sweep.yaml</c>, and its finished runs in plan order. Reproductions with no folder are left out.
    /// </summary>
    public static IReadOnlyList<ReproductionRuns> ReadRuns(IReadOnlyList<IReproduction> reproductions, ExperimentRegistry kinds, IReadOnlyList<string> folders)
    {
        ArgumentNullException.ThrowIfNull(reproductions);
        ArgumentNullException.ThrowIfNull(kinds);
        var stores = FindStores(folders);
        var found = new List<ReproductionRuns>();
        foreach (var r in reproductions)
        {
            var mine = stores.Where(s => s.Name == r.Name).Select(s => s.Store).ToArray();
            if (mine.Length == 0) continue;
            var plan = SweepPlan.FromSpec(mine[0].ReadSweepSpec()!, r.Name, kinds);
            var runs = new List<RunRecord>();
            foreach (var run in plan.Runs)
                if (mine.Select(s => s.ReadRun(run.Id)).FirstOrDefault(x => x is not null) is { } record) runs.Add(record);
            found.Add(new ReproductionRuns(r, plan, runs, Path.Combine(mine[0].Root, ResultsStore.SweepSpecFileName)));
        }
        return found;
    }

    /// <summary>
    /// Builds the report of every registered reproduction found in <paramref name="folders"/> (see <see cref="ReadRuns"/>) and writes it
    /// into <paramref name="outDirectory"/>: report.html, one SVG per figure, claims.md and claims.json. Returns the document.
    /// </summary>
    public static ReportDocument WriteReport(ReproductionRegistry registry, ExperimentRegistry kinds, IReadOnlyList<string> folders, string outDirectory)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return WriteReport(registry.All, ReadRuns(registry.All, kinds, folders), outDirectory, DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// Builds the report of <paramref name="reproductions"/> from their runs <paramref name="found"/> (from results folders,
    /// <see cref="ReadRuns"/>, or from a published folder, <see cref="Publication.ReadRuns"/>) and writes it into
    /// <paramref name="outDirectory"/>, dated <paramref name="generatedAt"/>: report.html, one SVG per figure, claims.md and claims.json.
    /// A reproduction whose runs are not all finished is listed as incomplete, one not found as not run; one whose run failed, or whose
    /// report step throws, gets its section with the reason and its claims inconclusive. A claim checked by the report step but not
    /// declared in the results' spec throws <see cref="InvalidDataException"/> naming that sweep.yaml (results older than the claim). Returns the document.
    /// </summary>
    public static ReportDocument WriteReport(IReadOnlyList<IReproduction> reproductions, IReadOnlyList<ReproductionRuns> found, string outDirectory,
        DateTimeOffset generatedAt)
    {
        ArgumentNullException.ThrowIfNull(reproductions);
        ArgumentNullException.ThrowIfNull(found);
        var doc = new ReportDocument(ReportTitle, generatedAt);
        var missing = new List<string>();
        var incomplete = new List<string>();
        foreach (var r in reproductions)
        {
            if (found.FirstOrDefault(f => f.Reproduction.Name == r.Name) is not { } mine) { missing.Add(r.Name); continue; }
            var plan = mine.Plan;
            var section = ReproductionSection.Of(plan);
            var runs = mine.Finished;
            if (runs.Count < plan.Runs.Count)
            {
                incomplete.Add($"{r.Name} ({runs.Count} of {plan.Runs.Count} runs finished)");
                continue;
            }
            var reportSection = doc.AddSection(r.Name, $"{r.Title}. {r.Method} (scale: {section.Scale.ToString().ToLowerInvariant()}){SettingsLine(plan)}");
            var results = new ReproductionResults(plan, runs, section, reportSection);
            var failed = runs.FirstOrDefault(x => x.Summary.Status == RunStatus.Failed);
            if (failed is not null && runs.Count == 1)
            {
                reportSection.Description += $"\n\nThe run failed: {failed.Summary.Message}";
                results.Claims.Finish($"the run failed: {failed.Summary.Message}");
                continue;
            }
            try
            {
                r.Report(results);
                results.Claims.Finish();
            }
            catch (InvalidDataException e) when (ClaimSet.IsUndeclaredClaim(e))
            {
                // Not absorbed like the rest: the section's claims would all turn inconclusive, and a publication carry them silently.
                throw new InvalidDataException($"{mine.SweepSpecPath}: reproduction.claims: {e.Message}", e);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or KeyNotFoundException or FormatException or SpecException or ArgumentException)
            {
                reportSection.Description += $"\n\nThe report could not be built: {e.Message}";
                results.Claims.Finish($"the report could not be built: {e.Message}");
            }
        }
        doc.Introduction = "Each section runs one experiment of Li et al. (ICLR 2021), Wang et al. (ICLR 2024) or Zucchet & Orvieto (NeurIPS 2024) "
            + "and checks the paper's claims against the numbers it measured. Claims were written from the papers before the results were seen; "
            + "a failing claim is reported as failing. Each claim says whether it is a claim of a paper or a numerical check of our own, and where in the paper it comes from."
            + (incomplete.Count > 0 ? $" Not finished in this folder: {string.Join(", ", incomplete)}." : "")
            + (missing.Count > 0 ? $" Not in this folder (not run yet): {string.Join(", ", missing)}." : "");
        ReportWriter.Write(doc, outDirectory);
        return doc;
    }

    /// <summary>" Settings (sweep.yaml): key = value; …", with the grid's size and axes, so the report states the numbers the runs used.</summary>
    private static string SettingsLine(SweepPlan plan)
    {
        var template = plan.Spec.Clone();
        foreach (string key in new[] { SweepPlan.GridKey, SweepPlan.SelectKey, SweepPlan.ReproductionKey, ExperimentRegistry.KindKey })
            template.Remove(key);
        string settings = string.Join("; ", template.Flatten().Select(p => $"{p.Key} = {p.Value.Replace("\"", "")}"));
        string grid = plan.Axes.Count > 0 ? $"; grid: {plan.Runs.Count} runs over {string.Join(", ", plan.Axes)}" : "";
        return $" Settings ({ResultsStore.SweepSpecFileName}): {settings}{grid}.";
    }
}
