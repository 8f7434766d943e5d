using System.CommandLine;
using System.Globalization;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reproductions;
using Spectre.Console;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab reproduce [--scale quick|paper] [--only NAME…] [--out DIR] [--specs DIR] [--set NAME.key=value…]</c> and
/// <c>memlab report DIR</c>: run the registered paper experiments with the settings of their specs
/// (<c>experiments/reproduce/NAME.yaml</c>, embedded in the library; <c>--specs</c> reads edited copies), then write the report.</summary>
internal static class ReproduceCommand
{
    /// <summary>The <c>reproduce</c> command.</summary>
    public static Command Create(PaperExperimentRegistry registry)
    {
        var scale = new Option<string>("--scale") { Description = "quick (minutes) or paper (the papers' settings; hours)", DefaultValueFactory = _ => "quick" };
        scale.AcceptOnlyFromAmong("quick", "paper");
        var only = new Option<string[]>("--only") { Description = "Run only these experiments", AllowMultipleArgumentsPerToken = true };
        var outDir = new Option<string>("--out") { Description = "Results folder", DefaultValueFactory = _ => "results" };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: MEMLAB_THREADS, else one per core)" };
        var specs = new Option<string?>("--specs") { Description = "Folder of specs NAME.yaml to use instead of the built-in ones (experiments/reproduce/ in the repository)" };
        var set = new Option<string[]>("--set")
        {
            Description = "Override a setting of the chosen scale: NAME.key=value (e.g. li21-plateaus.runs=5; NAME.+key=value adds a key)",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("reproduce", "Run every registered paper experiment, then write the report") { scale, only, outDir, threads, specs, set };
        command.SetAction(parse => CommandSupport.Guard(ct =>
        {
            IReadOnlyList<IPaperExperiment> selected;
            try { selected = registry.Select(parse.GetValue(only) ?? []); }
            catch (ArgumentException e) { throw new SpecException(SourcePosition.CommandLine, "--only", e.Message); }
            int t = parse.GetValue(threads) ?? WorkerPool.DefaultThreadCount();
            if (t < 1) throw new SpecException(SourcePosition.CommandLine, null, $"--threads must be at least 1 (got {t})");
            var s = parse.GetValue(scale) == "paper" ? ReproductionScale.Paper : ReproductionScale.Quick;
            string output = Path.GetFullPath(parse.GetValue(outDir)!);
            // Every spec is read, overridden and validated before anything runs or is written.
            var jobs = ReproductionJob.Plan(selected, s, parse.GetValue(specs), parse.GetValue(set) ?? []);
            using var pool = new WorkerPool(t);
            var outcomes = Show(selected, () => Reproducer.Run(jobs, output, pool, Progress, ct));
            foreach (var o in outcomes)
                Console.Out.WriteLine(o.Skipped ? $"skipped name={o.Name} (already complete with these settings)"
                    : o.Failed ? $"failed name={o.Name} seconds={o.Seconds.ToString("F1", CultureInfo.InvariantCulture)} error={CommandSupport.Word(o.Error ?? "")}"
                    : $"finished name={o.Name} seconds={o.Seconds.ToString("F1", CultureInfo.InvariantCulture)}");
            var doc = Reproducer.WriteReport(registry, output);
            PrintClaims(doc, output);
            return outcomes.Any(o => o.Failed) ? CommandSupport.ExitRunsFailed : CommandSupport.ExitOk;
        }));
        return command;
    }

    /// <summary>The <c>report</c> command.</summary>
    public static Command CreateReport(PaperExperimentRegistry registry)
    {
        var dir = new Argument<string>("results") { Description = "A folder written by memlab reproduce" };
        var command = new Command("report", "Write report.html, one SVG per figure and claims.md/claims.json for a results folder") { dir };
        command.SetAction(parse => CommandSupport.Guard(_ =>
        {
            string output = Path.GetFullPath(parse.GetValue(dir)!);
            var doc = Reproducer.WriteReport(registry, output);
            if (doc.Sections.Count == 0) throw new SpecException(SourcePosition.CommandLine, null, $"no completed experiments in '{output}' (run memlab reproduce first)");
            PrintClaims(doc, output);
            return CommandSupport.ExitOk;
        }));
        return command;
    }

    private static Action<string, double, string>? _live;

    private static void Progress(string name, double fraction, string what)
    {
        if (_live != null) _live(name, fraction, what);
        else if (fraction >= 1) { }
    }

    private static IReadOnlyList<ReproductionOutcome> Show(IReadOnlyList<IPaperExperiment> experiments, Func<IReadOnlyList<ReproductionOutcome>> run)
    {
        if (!CommandSupport.Interactive)
        {
            var last = new Dictionary<string, int>();
            _live = (name, f, what) =>
            {
                int tenth = (int)(f * 10);
                if (last.TryGetValue(name, out int l) && l == tenth) return;
                last[name] = tenth;
                Console.Out.WriteLine($"progress name={name} done={(f * 100).ToString("F0", CultureInfo.InvariantCulture)}% {CommandSupport.Word(what)}");
            };
            try { return run(); } finally { _live = null; }
        }
        IReadOnlyList<ReproductionOutcome>? result = null;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var tasks = experiments.ToDictionary(e => e.Name, e => ctx.AddTask(Markup.Escape(e.Name), maxValue: 1));
                _live = (name, f, what) => { var task = tasks[name]; task.Value = f; task.Description = Markup.Escape($"{name}: {what}"); };
                try { result = run(); } finally { _live = null; }
            });
        return result!;
    }

    private static void PrintClaims(MemoryLab.Reporting.ReportDocument doc, string output)
    {
        foreach (var c in doc.AllClaims)
            Console.Out.WriteLine($"claim {c.Status.ToString().ToLowerInvariant()} experiment={c.Experiment} measured={CommandSupport.Word(c.MeasuredText)} claim={CommandSupport.Word(c.Claim)}");
        Console.Out.WriteLine($"report {Path.Combine(output, "report.html")}");
    }
}
