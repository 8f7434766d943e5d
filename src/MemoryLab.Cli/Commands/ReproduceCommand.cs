using System.CommandLine;
using System.Globalization;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab reproduce [--scale quick|paper] [--only NAME…] [--out DIR] [--specs DIR] [--set NAME.key=value…] [--workers N]</c> and
/// <c>memlab report DIR [DIR…]</c>: run the registered reproductions' specs (<c>experiments/reproduce/NAME/{quick,paper}.yaml</c>, embedded in
/// the library; <c>--specs</c> reads edited copies) through one pool of workers, then write the report.</summary>
internal static class ReproduceCommand
{
    /// <summary>The <c>reproduce</c> command.</summary>
    public static Command Create(ReproductionRegistry reproductions, ExperimentRegistry kinds)
    {
        var scale = new Option<string>("--scale") { Description = "quick (minutes) or paper (the papers' settings; hours)", DefaultValueFactory = _ => "quick" };
        scale.AcceptOnlyFromAmong("quick", "paper");
        var only = new Option<string[]>("--only") { Description = "Run only these reproductions (--only a b or --only a,b)", AllowMultipleArgumentsPerToken = true };
        var list = new Option<bool>("--list") { Description = "List the reproductions (paper, figure, runs and run time at each scale) and exit" };
        var outDir = new Option<string>("--out") { Description = "Results folder (one sub-folder per reproduction, and the report)", DefaultValueFactory = _ => "results" };
        var workers = new Option<int?>("--workers") { Description = "Runs at once, over all selected reproductions (default: MEMLAB_THREADS, else one per core this process may use, at most SLURM_CPUS_PER_TASK)" };
        var threads = new Option<int>("--threads-per-run") { Description = "Threads of each run's worker pool (default 1: workers never contend)", DefaultValueFactory = _ => 1 };
        var specs = new Option<string?>("--specs") { Description = "Folder holding NAME/quick.yaml and NAME/paper.yaml to use instead of the built-in specs (experiments/reproduce/ in the repository)" };
        var set = new Option<string[]>("--set")
        {
            Description = "Override a setting of the chosen scale's spec: NAME.key=value (e.g. li21-plateaus.runs=5; NAME.+key=value adds a key)",
            AllowMultipleArgumentsPerToken = true,
        };
        var retry = new Option<bool>("--retry-failed") { Description = "Run again the runs stored as failed" };
        var command = new Command("reproduce", "Run the registered reproductions (all their runs in one pool of workers), then write the report")
        {
            scale, only, outDir, workers, threads, specs, set, retry, list,
        };
        command.SetAction(parse => CommandSupport.Guard(ct =>
        {
            IReadOnlyList<IReproduction> selected;
            try { selected = reproductions.Select(parse.GetValue(only) ?? []); }
            catch (ArgumentException e) { throw new SpecException(SourcePosition.CommandLine, "--only", e.Message); }
            if (parse.GetValue(list))
            {
                ReproduceListing.Print(selected, kinds, parse.GetValue(specs));
                return CommandSupport.ExitOk;
            }
            int w = CommandSupport.CheckThreads(parse.GetValue(workers) ?? WorkerPool.DefaultThreadCount(), "--workers");
            int t = CommandSupport.CheckThreads(parse.GetValue(threads), "--threads-per-run");
            var s = parse.GetValue(scale) == "paper" ? ReproductionScale.Paper : ReproductionScale.Quick;
            string output = CommandSupport.RequireOutputFolder(parse.GetValue(outDir)!, "--out");
            // Every spec is read, overridden and validated before anything runs or is written.
            var plans = ReproductionPlan.Create(selected, s, kinds, parse.GetValue(specs), parse.GetValue(set) ?? []);
            var view = new ReproduceProgressView(CommandSupport.Interactive, plans);
            if (!view.Live)
                Console.Out.WriteLine($"reproduce scale={s.ToString().ToLowerInvariant()} reproductions={plans.Count} runs={plans.Sum(p => p.Sweep.Runs.Count)} workers={w} threads_per_run={t} out={CommandSupport.Word(output)}");
            IReadOnlyList<ReproductionOutcome>? outcomes = null;
            bool interrupted = false;
            view.Show(() =>
            {
                try
                {
                    outcomes = Reproducer.Run(plans, output, kinds, new SweepOptions { Workers = w, ThreadsPerRun = t, RetryFailed = parse.GetValue(retry) }, view, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    interrupted = true;
                }
            });
            if (interrupted || outcomes is null)
            {
                Console.Out.WriteLine($"interrupted out={CommandSupport.Word(output)} (finished runs are kept; run the same command again to continue)");
                return CommandSupport.ExitInterrupted;
            }
            foreach (var o in outcomes)
            {
                string seconds = o.Seconds.ToString("F1", CultureInfo.InvariantCulture);
                Console.Out.WriteLine(o.Failed > 0 ? $"failed name={o.Name} runs={o.Runs} failed_runs={o.Failed} seconds={seconds} error={CommandSupport.Word(o.Error ?? "")}"
                    : o.Ran == 0 ? $"skipped name={o.Name} runs={o.Runs} (already complete with these settings)"
                    : $"finished name={o.Name} runs={o.Runs} ran={o.Ran} seconds={seconds}");
            }
            var doc = Reproducer.WriteReport(reproductions, kinds, [output], output);
            PrintClaims(doc, output);
            return outcomes.Any(o => o.Failed > 0) ? CommandSupport.ExitRunsFailed : CommandSupport.ExitOk;
        }));
        return command;
    }

    /// <summary>The <c>report</c> command.</summary>
    public static Command CreateReport(ReproductionRegistry reproductions, ExperimentRegistry kinds)
    {
        var dirs = new Argument<string[]>("results")
        {
            Description = "Folders written by memlab reproduce, or by memlab sweep or train (a sweep folder or one run's folder); several: shards merged by run id; "
                + "or one folder written by memlab publish (rendered again from its tables)",
            Arity = ArgumentArity.OneOrMore,
        };
        var outDir = new Option<string?>("--out") { Description = "Where to write the report (default: the first folder)" };
        var command = new Command("report", "Write report.html and one SVG per figure: for reproductions' folders with claims.md/claims.json; "
            + "for a sweep or run folder, its curves (loss, lr, grad_norm), mean ± SEM over seeds, the table per grid point and final metrics against each axis") { dirs, outDir };
        command.SetAction(parse => CommandSupport.Guard(_ =>
        {
            var folders = parse.GetValue(dirs)!.Select(Path.GetFullPath).ToArray();
            foreach (string f in folders)
                if (!Directory.Exists(f)) throw new SpecException(SourcePosition.CommandLine, null, $"no results folder '{f}'");
            string output = CommandSupport.RequireOutputFolder(parse.GetValue(outDir) ?? folders[0], "--out");
            if (folders.Length == 1 && Publication.IsPublished(folders[0]))
            {
                // A folder written by memlab publish: the report again from its tables alone, dated as the publication.
                var published = Publication.Render(reproductions.All, kinds, folders[0], output);
                PrintClaims(published, output);
                return CommandSupport.ExitOk;
            }
            if (Reproducer.FindStores(folders).Count == 0)
            {
                // A user's own sweep or run: figures and tables, no claims. Everything is read before anything is written.
                var table = RunsReport.Load(folders);
                string name = string.Join(", ", folders.Select(Path.GetFileName));
                var runsDoc = RunsReport.Build(table, name, DateTimeOffset.UtcNow);
                ReportWriter.Write(runsDoc, output);
                Console.Out.WriteLine($"report runs={table.Rows.Sum(r => r.Runs.Count)} grid_points={table.Rows.Count} figures={runsDoc.Sections.Sum(s => s.Figures.Count)} {Path.Combine(output, "report.html")}");
                return CommandSupport.ExitOk;
            }
            var doc = Reproducer.WriteReport(reproductions, kinds, folders, output);
            PrintClaims(doc, output);
            return CommandSupport.ExitOk;
        }));
        return command;
    }

    private static void PrintClaims(MemoryLab.Reporting.ReportDocument doc, string output)
    {
        foreach (var c in doc.AllClaims)
            Console.Out.WriteLine($"claim {c.Status.ToString().ToLowerInvariant()} experiment={c.Experiment} id={CommandSupport.Word(c.Id ?? "")} measured={CommandSupport.Word(c.MeasuredText)} claim={CommandSupport.Word(c.Claim)}"
                + (c.NotReproduced is null ? "" : " not_reproduced=documented"));   // the evidence is in claims.md, claims.json and report.html
        Console.Out.WriteLine($"report {Path.Combine(output, "report.html")}");
    }
}
