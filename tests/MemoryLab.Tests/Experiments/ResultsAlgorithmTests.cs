using MemoryLab.Experiments;

namespace MemoryLab.Tests.Experiments;

/// <summary><c>memlab results</c> never averages or selects runs of different algorithms together: runs whose settings agree but whose
/// summary.json names different algorithms (or none, as runs saved before the algorithm was recorded) are kept apart by an
/// <c>algorithm</c> axis.</summary>
public class ResultsAlgorithmTests
{
    private static RunRecord Run(string id, ulong seed, double lr, string? algorithm, double loss) =>
        new(id, "/nowhere/" + id, "train", seed,
            RunSummary.Completed(new Dictionary<string, double> { ["final_loss"] = loss }, 10) with { Algorithm = algorithm },
            SpecParser.ParseText($"kind: train\nseed: {seed}\noptimizer: {{kind: adam, lr: {lr}}}\nmodel: {{kind: lru, hidden: 4}}\n", "s.yaml"));

    private static readonly SelectionRule ByLr = new("final_loss", true, ["optimizer.lr"], []);

    [Fact]
    public void OldRunsAndRunsOfAnotherAlgorithmAreKeptApartAndSelectedSeparately()
    {
        var runs = new[]
        {
            // Saved before the algorithm was recorded (no algorithm in summary.json nor in the spec): the best lr is 0.1.
            Run("a0", 0, 0.1, null, 1.0), Run("a1", 1, 0.1, null, 3.0), Run("a2", 0, 0.01, null, 5.0),
            // The same settings computed by the convolution: the best lr is 0.01.
            Run("b0", 0, 0.1, "convolution", 10.0), Run("b1", 1, 0.1, "convolution", 12.0), Run("b2", 0, 0.01, "convolution", 2.0),
        };
        var table = ResultsTable.Build(runs, ByLr);

        Assert.True(table.SeparatesAlgorithms);
        Assert.Equal(new[] { ResultsTable.AlgorithmAxis, "optimizer.lr" }, table.Axes);
        Assert.Equal(4, table.Rows.Count);
        var notRecorded01 = table.Rows.Single(r => ResultsTable.DisplayValue(r.AxisValues[0]) == ResultsTable.AlgorithmNotRecorded && r.AxisValues[1] == "0.1");
        Assert.Equal(2.0, notRecorded01.Stats["final_loss"].Mean, 12); // (1 + 3)/2: only the old runs
        var conv01 = table.Rows.Single(r => ResultsTable.DisplayValue(r.AxisValues[0]) == "convolution" && r.AxisValues[1] == "0.1");
        Assert.Equal(11.0, conv01.Stats["final_loss"].Mean, 12);
        // Selection happens within each algorithm: lr 0.1 for the old runs, 0.01 for the convolution's.
        var selected = table.Rows.Where(r => r.Selected).Select(r => (ResultsTable.DisplayValue(r.AxisValues[0]), r.AxisValues[1])).Order().ToArray();
        Assert.Equal(new[] { ("convolution", "0.01"), (ResultsTable.AlgorithmNotRecorded, "0.1") }, selected);
        Assert.Equal(new[] { ("convolution", 3), (ResultsTable.AlgorithmNotRecorded, 3) }, table.Algorithms);
        Assert.StartsWith("algorithm,optimizer.lr,runs,", table.ToCsv());
        Assert.Contains("\nconvolution,0.01,1,1,0,0,2,", table.ToCsv());
    }

    [Fact]
    public void AlgorithmsThatFollowAnAxisAddNoColumn()
    {
        // Two learning rates, each with its own algorithm (as when the spec records it): no row mixes algorithms, so no extra axis.
        var runs = new[] { Run("a", 0, 0.1, "scan", 1.0), Run("b", 0, 0.01, "convolution", 2.0) };
        var table = ResultsTable.Build(runs, ByLr);
        Assert.False(table.SeparatesAlgorithms);
        Assert.Equal(new[] { "optimizer.lr" }, table.Axes);

        // One algorithm everywhere: the table is as before.
        var same = ResultsTable.Build(new[] { Run("a", 0, 0.1, "scan", 1.0), Run("b", 1, 0.1, "scan", 3.0) });
        Assert.False(same.SeparatesAlgorithms);
        Assert.Empty(same.Axes);
        Assert.Equal(2.0, same.Rows.Single().Stats["final_loss"].Mean, 12);
    }
}
