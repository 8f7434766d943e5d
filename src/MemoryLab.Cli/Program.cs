using System.CommandLine;
using MemoryLab.Cli.Commands;
using MemoryLab.Experiments;

namespace MemoryLab.Cli;

internal static class Program
{
    // Shown by memlab --help: what a script calling memlab can rely on (docs/tour.md, "Exit codes and run statuses").
    private const string RootDescription = """
        memlab: train, measure and explain memory in recurrent networks

        Exit codes: 0 = done (runs completed or diverged; a diverged run is a result), 1 = some run failed (its folder is
        still written, with status failed and the error in summary.json), 2 = bad input (a spec, an override, an option or a
        folder: one line on stderr naming the file, line and key; nothing written), 130 = interrupted (finished runs kept).
        Run statuses (summary.json): completed; diverged = the loss became NaN or infinite, training stopped and the
        metrics so far are kept; failed = the run threw an error.
        """;

    private static int Main(string[] args)
    {
        // An invalid MEMLAB_THREADS is bad input like any other: said before anything runs or is written.
        if (Environment.GetEnvironmentVariable(MemoryLab.Numerics.WorkerPool.ThreadsVariable) is { } threads
            && MemoryLab.Numerics.WorkerPool.CheckThreadsVariable(threads) is { } threadsError)
        {
            Console.Error.WriteLine(threadsError);
            return 2;
        }
        // One catalog of model and data kinds, which plugins extend and every train run (and reproduction) builds from.
        var models = MemoryLab.Models.ModelFactory.CreateDefault();
        var data = DataSpec.CreateKinds();
        var registry = ExperimentRegistry.CreateDefault(models, data);
        var reproductions = MemoryLab.Reproductions.ReproductionRegistry.CreateDefault(registry);
        if (Plugins.Load(registry, reproductions, models, data) is { } pluginError)
        {
            Console.Error.WriteLine(pluginError);
            return 2;
        }
        var root = new RootCommand(RootDescription)
        {
            RunCommand.Create(registry),
            RunCommand.Create(registry, "train", "Train one model from a spec (kind: train); alias of run"),
            SweepCommand.Create(registry, reproductions),
            ResultsCommand.Create(),
            ReproduceCommand.Create(reproductions, registry),
            ReproduceCommand.CreateReport(reproductions, registry),
            PublishCommand.Create(reproductions, registry),
            DiagnoseCommand.Create(),
            BenchCommand.Create(),
            KindsCommand.Create(registry, models, data),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // Bad command line: one line, exit code 2 (DESIGN.md, "What users touch").
            Console.Error.WriteLine($"memlab: {parse.Errors[0].Message}");
            return 2;
        }
        return parse.Invoke();
    }
}
