using System.CommandLine;
using MemoryLab.Experiments;
using MemoryLab.Numerics;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab run SPEC.yaml [key=value…] [--out DIR] [--threads N]</c>: one run of any registered
/// experiment kind, stored like a sweep's run (<c>DIR/&lt;run id&gt;/</c>).</summary>
internal static class RunCommand
{
    /// <summary>The <c>run</c> command over the kinds of <paramref name="registry"/>; <paramref name="name"/> and
    /// <paramref name="description"/> let the same command serve under another name (e.g. <c>train</c>).</summary>
    public static Command Create(ExperimentRegistry registry, string name = "run", string description = "Run one experiment")
    {
        var spec = new Argument<string>("spec") { Description = "The experiment spec (YAML; kind: selects the experiment)" };
        var overrides = new Argument<string[]>("overrides") { Description = "key=value overrides (dotted keys; +key=value adds a key)", Arity = ArgumentArity.ZeroOrMore };
        var outDir = new Option<string>("--out") { Description = "Results folder (the run goes into OUT/<run id>)", DefaultValueFactory = _ => "runs" };
        var threads = new Option<int?>("--threads") { Description = "Threads for the run (default: MEMLAB_THREADS, else one per core this process may use, at most SLURM_CPUS_PER_TASK)" };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from its latest periodic checkpoint (same seed, same bits)" };
        var command = new Command(name, description) { spec, overrides, outDir, threads, resume };
        command.SetAction(parse => CommandSupport.Guard(ct =>
        {
            int t = CommandSupport.CheckThreads(parse.GetValue(threads) ?? WorkerPool.DefaultThreadCount(), "--threads");
            // The run's choices by thread count (auto's algorithm) are made for t threads and become part of its id.
            var plan = SweepPlan.Load(parse.GetValue(spec)!, parse.GetValue(overrides) ?? Array.Empty<string>(), registry, ignoreSelection: true, threadsPerRun: t);
            if (plan.Runs.Count != 1)
            {
                throw new SpecException(plan.Spec.KeyPosition(SweepPlan.GridKey), SweepPlan.GridKey, $"this spec's grid makes {plan.Runs.Count} runs; run it with `memlab sweep`, or fix the axes with key=value");
            }
            string output = CommandSupport.RequireOutputFolder(parse.GetValue(outDir)!, "--out");
            var store = new ResultsStore(output) { Resume = parse.GetValue(resume) };
            bool live = CommandSupport.Interactive;
            var view = new SweepProgressView(live, 1);
            var result = view.Show(() => SweepRunner.Run(plan.Runs, store, registry, new SweepOptions { Workers = 1, ThreadsPerRun = t }, view, ct));
            if (result.Cancelled)
            {
                view.Finish(result, output);
                return CommandSupport.ExitInterrupted;
            }
            Console.Out.WriteLine($"run id={plan.Runs[0].Id} dir={CommandSupport.Word(store.RunDirectory(plan.Runs[0].Id))}");
            return view.Failed > 0 ? CommandSupport.ExitRunsFailed : CommandSupport.ExitOk;
        }));
        return command;
    }
}
