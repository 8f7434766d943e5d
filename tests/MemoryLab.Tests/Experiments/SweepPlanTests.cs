using MemoryLab.Experiments;

namespace MemoryLab.Tests.Experiments;

public class SweepPlanTests
{
    private static readonly ExperimentRegistry Registry = ExperimentRegistry.CreateDefault();

    private static SweepPlan Plan(string text, params string[] overrides)
    {
        var root = SpecParser.ParseText(text, "sweep.yaml");
        SpecOverrides.Apply(root, overrides);
        return SweepPlan.FromSpec(root, "sweep", Registry);
    }

    [Fact]
    public void GridExpandsToTheCartesianProductInOrder()
    {
        var plan = Plan(DemoSpecs.Sweep(lrs: "[0.1, 0.2, 0.3]", seeds: "[0, 1]", extra: "  problem.cols: [4, 8]\n"));
        Assert.Equal(12, plan.Runs.Count);
        Assert.Equal(new[] { "optimizer.lr", "seed", "problem.cols" }, plan.Axes);
        // First axis outermost, last fastest.
        var first = plan.Runs[0].GridPoint.Select(p => p.Value).ToArray();
        var second = plan.Runs[1].GridPoint.Select(p => p.Value).ToArray();
        Assert.Equal(new[] { "0.1", "0", "4" }, first);
        Assert.Equal(new[] { "0.1", "0", "8" }, second);
        Assert.Equal(new[] { "0.3", "1", "8" }, plan.Runs[11].GridPoint.Select(p => p.Value).ToArray());
        // Each run's spec holds its values, nested, without grid/select.
        var spec = plan.Runs[5].CreateSpec();
        Assert.False(spec.Has("grid"));
        Assert.Equal(0.2, spec.Child("optimizer").GetDouble("lr"));
        Assert.Equal(8, spec.Child("problem").GetInt("cols"));
        Assert.Equal(0UL, plan.Runs[5].Seed);
        Assert.Equal(1UL, plan.Runs[7].Seed);
        Assert.Equal(12, plan.Runs.Select(r => r.Id).Distinct().Count());
        Assert.All(plan.Runs, r => Assert.Matches("^[0-9a-f]{12}$", r.Id));
        Assert.Equal(Enumerable.Range(0, 12), plan.Runs.Select(r => r.Index));
    }

    [Fact]
    public void RunIdsAreStableAcrossLoadsAndSpellingsAndDependOnValues()
    {
        var a = Plan(DemoSpecs.Sweep());
        var b = Plan(DemoSpecs.Sweep(lrs: "[1e-1, 0.40]"));
        Assert.Equal(a.Runs.Select(r => r.Id), b.Runs.Select(r => r.Id));
        // A run's id is the id of its resolved spec, however it was produced.
        var single = SpecParser.ParseText("kind: least-squares-demo\nseed: 1\nproblem: {rows: 96, cols: 8, noise: 0.1}\noptimizer: {steps: 60, lr: 0.4}\n", "one.yaml");
        Assert.Equal(a.Runs[3].Id, ResultsStore.ComputeRunId(single));
        var c = Plan(DemoSpecs.Sweep(steps: 61));
        Assert.Empty(a.Runs.Select(r => r.Id).Intersect(c.Runs.Select(r => r.Id)));
    }

    [Fact]
    public void AListOfSubGridsConcatenatesProductsAndDropsDuplicates()
    {
        string text = DemoSpecs.Sweep().Replace("grid:\n  optimizer.lr: [0.1, 0.4]\n  seed: [0, 1]\n",
            "grid:\n  - {problem.cols: [4], optimizer.lr: [0.1, 0.2, 0.3], seed: [0, 1]}\n  - {problem.cols: [8], optimizer.lr: [0.05], seed: [0, 1]}\n  - {problem.cols: [8], optimizer.lr: [0.05], seed: [1]}\n");
        var plan = Plan(text);
        Assert.Equal(8, plan.Runs.Count);
        Assert.Equal(2, plan.Runs.Count(r => r.CreateSpec().Child("problem").GetInt("cols") == 8));
    }

    [Fact]
    public void AnOverrideOnAnAxisFixesThatAxis()
    {
        var plan = Plan(DemoSpecs.Sweep(lrs: "[0.1, 0.2, 0.3]"), "optimizer.lr=0.25");
        Assert.Equal(2, plan.Runs.Count);
        Assert.All(plan.Runs, r => Assert.Equal(0.25, r.CreateSpec().Child("optimizer").GetDouble("lr")));
        Assert.Equal(new[] { "seed" }, plan.Axes);
        // And grid axes themselves can be replaced.
        var more = Plan(DemoSpecs.Sweep(), "grid.seed=[0, 1, 2, 3]");
        Assert.Equal(8, more.Runs.Count);
    }

    [Fact]
    public void EveryRunIsValidatedBeforeAnythingRuns()
    {
        var e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep(lrs: "[0.1, -0.4]")));
        Assert.Equal("sweep.yaml:11: key 'optimizer.lr': must be > 0 (got -0.4)", e.Message);
        e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep(extra: "  problem.colz: [3]\n")));
        Assert.StartsWith("sweep.yaml:13: key 'problem.colz': unknown key (known here: cols, init_scale, noise, rows)", e.Message);
        e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep().Replace("least-squares-demo", "least-squares")));
        Assert.StartsWith("sweep.yaml:1: key 'kind': unknown experiment kind 'least-squares' (known: least-squares-demo", e.Message);
        e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep(extra: "  seed: 3\n")));
        Assert.Contains("duplicate key", e.Message);
        e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep(lrs: "0.1")));
        Assert.Equal("sweep.yaml:11: key 'grid.optimizer.lr': a grid axis must be a non-empty list of values (got 0.1)", e.Message);
    }

    [Fact]
    public void SelectionRuleIsReadAndChecked()
    {
        var plan = Plan(DemoSpecs.Sweep() + "select: {metric: final_loss, over: [optimizer.lr]}\n");
        Assert.Equal(new SelectionRule("final_loss", true, new[] { "optimizer.lr" }, Array.Empty<string>()).Metric, plan.Selection!.Metric);
        Assert.True(plan.Selection.Minimize);
        var e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep() + "select:\n  metric: final_loss\n  over: [optimizer.lrr]\n"));
        Assert.Equal("sweep.yaml:15: key 'select.over[0]': 'optimizer.lrr' is not a grid axis (axes: optimizer.lr, seed)", e.Message);
        e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep() + "select:\n  metric: final_los\n"));
        Assert.StartsWith("sweep.yaml:14: key 'select.metric': kind 'least-squares-demo' reports no metric 'final_los'", e.Message);
        e = Assert.Throws<SpecException>(() => Plan(DemoSpecs.Sweep() + "select:\n  metric: final_loss\n  maximise: true\n"));
        Assert.StartsWith("sweep.yaml:15: key 'select.maximise': unknown key", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public void ShardsCoverEveryRunExactlyOnce(int n)
    {
        var plan = Plan(DemoSpecs.Sweep(lrs: "[0.1, 0.2, 0.3, 0.4, 0.5]", seeds: "[0, 1, 2, 3]"));
        Assert.Equal(20, plan.Runs.Count);
        var seen = new List<string>();
        for (int k = 0; k < n; k++)
        {
            var shard = ShardSpec.Parse($"{k}/{n}");
            var runs = shard.Select(plan.Runs);
            Assert.All(runs, r => Assert.Equal(k, r.Index % n));
            // Even split: sizes differ by at most one.
            Assert.InRange(runs.Count, 20 / n, (20 + n - 1) / n);
            seen.AddRange(runs.Select(r => r.Id));
        }
        Assert.Equal(plan.Runs.Select(r => r.Id).Order(), seen.Order());
    }

    [Fact]
    public void ShardsComeFromSlurmOrKubernetesEnvironments()
    {
        Dictionary<string, string> env = new() { ["SLURM_ARRAY_TASK_ID"] = "5", ["SLURM_ARRAY_TASK_COUNT"] = "4", ["SLURM_ARRAY_TASK_MIN"] = "2" };
        Assert.Equal(new ShardSpec(3, 4), ShardSpec.FromEnvironment(v => env.GetValueOrDefault(v)));
        env = new() { ["JOB_COMPLETION_INDEX"] = "2", ["MEMLAB_SHARD_COUNT"] = "3" };
        Assert.Equal(new ShardSpec(2, 3), ShardSpec.FromEnvironment(v => env.GetValueOrDefault(v)));
        env = new() { ["JOB_COMPLETION_INDEX"] = "2" };
        Assert.Throws<SpecException>(() => ShardSpec.FromEnvironment(v => env.GetValueOrDefault(v)));
        Assert.Null(ShardSpec.FromEnvironment(_ => null));
        Assert.Equal("<command line>: --shard must be K/N with 0 <= K < N (got '4/4')", Assert.Throws<SpecException>(() => ShardSpec.Parse("4/4")).Message);
    }
}
