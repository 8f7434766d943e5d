using MemoryLab.Experiments;
using MemoryLab.Reproductions;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab reproduce --list</c>: one line per reproduction with its paper and figure, and for each scale the number of
/// runs and the run time, all read from its specs (<c>reproduction: {paper, figure, run_time}</c>).</summary>
internal static class ReproduceListing
{
    /// <summary>Writes the list of <paramref name="selected"/> to standard output (their specs are read and validated first).</summary>
    public static void Print(IReadOnlyList<IReproduction> selected, ExperimentRegistry kinds, string? specsDirectory)
    {
        var quick = ReproductionPlan.Create(selected, ReproductionScale.Quick, kinds, specsDirectory);
        var paper = ReproductionPlan.Create(selected, ReproductionScale.Paper, kinds, specsDirectory);
        int width = selected.Count == 0 ? 0 : selected.Max(r => r.Name.Length);
        for (int i = 0; i < selected.Count; i++)
        {
            var q = quick[i].Section;
            string source = string.Join(" ", new[] { q.Paper, q.Figure }.Where(s => s.Length > 0));
            Console.Out.WriteLine($"{selected[i].Name.PadRight(width)}  {(source.Length > 0 ? source : selected[i].Title)}; "
                + $"quick: {Scale(quick[i])}; paper: {Scale(paper[i])}");
        }
    }

    private static string Scale(ReproductionPlan plan)
    {
        int runs = plan.Sweep.Runs.Count;
        string time = plan.Section.RunTime.Length > 0 ? plan.Section.RunTime : "run time not measured";
        return $"{runs} run{(runs == 1 ? "" : "s")}, {time}";
    }
}
