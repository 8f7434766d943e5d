using System.CommandLine;
using MemoryLab.Experiments;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab results DIR [DIR…] [--out FILE] [--selected]</c>: merges result folders (shards of a sweep,
/// or several sweeps) into one table of mean, SEM, min and max over seeds per grid point, with the sweep's
/// selection rule applied; lists diverged and failed runs on stderr.</summary>
internal static class ResultsCommand
{
    /// <summary>The <c>results</c> command.</summary>
    public static Command Create()
    {
        var dirs = new Argument<string[]>("dirs") { Description = "Result folders to merge", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "Write the CSV table here instead of stdout" };
        var selectedOnly = new Option<bool>("--selected") { Description = "Only the rows the selection rule picked" };
        var command = new Command("results", "Merge result folders into one table (CSV) with statistics over seeds and the selection rule")
        {
            dirs, output, selectedOnly,
        };
        command.SetAction(parse => CommandSupport.Guard(_ =>
        {
            var folders = parse.GetValue(dirs)!;
            string? outFile = parse.GetValue(output) is { } o ? CommandSupport.RequireOutputFile(o, "--out") : null;
            var table = ResultsTable.Load(folders);
            foreach (string problem in table.Unreadable) Console.Error.WriteLine($"warning: {problem}; the run is left out of the table");
            if (table.Selection is { } rule && table.Rows.Count > 0 && !table.Metrics.Contains(rule.Metric))
                Console.Error.WriteLine($"warning: select.metric '{rule.Metric}' is no metric of these runs (they have: {string.Join(", ", table.Metrics)}); nothing is selected");
            if (table.SeparatesAlgorithms)
                Console.Error.WriteLine($"warning: runs with the same settings computed with different algorithms ({string.Join(", ", table.Algorithms.Select(a => $"{a.Algorithm}: {a.Runs}"))}); "
                    + $"the table keeps them apart (column {ResultsTable.AlgorithmAxis}) and selects within each");
            int runs = table.Rows.Sum(r => r.Runs.Count);
            if (runs == 0) throw new SpecException(SourcePosition.CommandLine, null, $"no finished runs in {string.Join(", ", folders)}");
            string csv = table.ToCsv(parse.GetValue(selectedOnly));
            if (outFile is not null) AtomicFile.WriteAllText(outFile, csv);
            else Console.Out.Write(csv);

            foreach (var r in table.Problems)
            {
                string point = string.Join(" ", table.Axes.Select(a => $"{a}={ResultsTable.DisplayValue(r.Spec.Flatten().FirstOrDefault(p => p.Key == a).Value ?? "")}"));
                Console.Error.WriteLine($"{r.Summary.Status.ToString().ToLowerInvariant()} id={r.Id} seed={r.Seed} {point} message={CommandSupport.Word(r.Summary.Message ?? "")}");
            }
            foreach (string id in table.Duplicates) Console.Error.WriteLine($"duplicate id={id} (found in more than one folder; counted once)");
            int completed = table.Rows.Sum(r => r.Completed), diverged = table.Rows.Sum(r => r.Diverged), failed = table.Rows.Sum(r => r.Failed);
            Console.Error.WriteLine($"results runs={runs} grid_points={table.Rows.Count} completed={completed} diverged={diverged} failed={failed}" +
                                    (table.Selection is { } s ? $" selected={table.Rows.Count(r => r.Selected)} metric={s.Metric}" : ""));
            return CommandSupport.ExitOk;
        }));
        return command;
    }
}
