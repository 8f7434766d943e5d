using System.CommandLine;
using MemoryLab.Cli.Commands;
using MemoryLab.Experiments;

namespace MemoryLab.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        // An invalid MEMLAB_THREADS is bad input like any other: said before anything runs or is written.
        if (Environment.GetEnvironmentVariable(MemoryLab.Numerics.WorkerPool.ThreadsVariable) is { } threads
            && MemoryLab.Numerics.WorkerPool.CheckThreadsVariable(threads) is { } threadsError)
        {
            Console.Error.WriteLine(threadsError);
            return 2;
        }
        var registry = ExperimentRegistry.CreateDefault();
        var reproductions = MemoryLab.Reproductions.ReproductionRegistry.CreateDefault(registry);
        if (Plugins.Load(registry, reproductions) is { } pluginError)
        {
            Console.Error.WriteLine(pluginError);
            return 2;
        }
        var root = new RootCommand("memlab: train, measure and explain memory in recurrent networks")
        {
            RunCommand.Create(registry),
            RunCommand.Create(registry, "train", "Train one model from a spec (kind: train); alias of run"),
            SweepCommand.Create(registry, reproductions),
            ResultsCommand.Create(),
            ReproduceCommand.Create(reproductions, registry),
            ReproduceCommand.CreateReport(reproductions, registry),
            BenchCommand.Create(),
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
