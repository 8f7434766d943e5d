using System.Diagnostics;
using MemoryLab.Experiments;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Experiments;

public class ResultsStoreTests
{
    /// <summary>Test-only kind for the failure path: it throws when <c>explode</c> is true, else it completes with
    /// metric <c>value</c> = the spec's <c>value</c> (so statistics can be checked by hand).</summary>
    private sealed class ExplodingKind : ExperimentKind<(bool Explode, double Value)>
    {
        public override string Name => "exploding";
        public override string Description => "throws on request (tests the failure path)";
        public override IReadOnlyCollection<string> MetricNames => new[] { "value" };
        public override (bool, double) Bind(SpecNode spec) => (spec.GetBool("explode"), spec.GetDouble("value", 0));

        protected override RunSummary Execute((bool Explode, double Value) c, RunContext context)
        {
            if (c.Explode) throw new InvalidOperationException($"boom (seed {context.Seed})");
            return RunSummary.Completed(new Dictionary<string, double> { ["value"] = c.Value * (1 + context.Seed) }, 1);
        }
    }

    private static readonly ExperimentRegistry Registry = ExperimentRegistry.CreateDefault().Register(new ExplodingKind());

    private static SweepPlan Plan(string text) => SweepPlan.FromSpec(SpecParser.ParseText(text, "s.yaml"), "s", Registry);

    [Fact]
    public void RunsLandInCompleteFoldersAndFinishedRunsAreSkipped()
    {
        using var dir = new TempDirectory();
        var plan = Plan(DemoSpecs.Sweep(steps: 40));
        var store = new ResultsStore(dir.Path);
        var result = SweepRunner.Run(plan.Runs, store, Registry, new SweepOptions { Workers = 2 });
        Assert.Equal((4, 0, 0, 0, false), (result.Completed, result.Diverged, result.Failed, result.Skipped, result.Cancelled));
        foreach (var run in plan.Runs)
        {
            string d = store.RunDirectory(run.Id);
            var files = Directory.GetFiles(d).Select(Path.GetFileName).Order().ToArray();
            Assert.Equal(5, files.Length);
            Assert.Contains("spec.yaml", files);
            Assert.Contains("summary.json", files);
            Assert.Contains("metrics.csv", files);
            Assert.Contains("metrics.jsonl", files);
            Assert.Single(files, f => f!.StartsWith("events.out.tfevents.", StringComparison.Ordinal));
            Assert.Equal(41, File.ReadAllLines(Path.Combine(d, "metrics.csv")).Length);
            // spec.yaml is the resolved spec: same id when read back.
            Assert.Equal(run.Id, ResultsStore.ComputeRunId(SpecParser.ParseFile(Path.Combine(d, "spec.yaml"))));
            Assert.Equal(RunStatus.Completed, ResultsStore.ReadSummary(d).Status);
        }
        Assert.Empty(Directory.GetDirectories(dir.Path, ".tmp-*"));
        var stamp = Directory.GetLastWriteTimeUtc(store.RunDirectory(plan.Runs[0].Id));
        var again = SweepRunner.Run(plan.Runs, store, Registry, new SweepOptions { Workers = 2 });
        Assert.Equal(4, again.Skipped);
        Assert.Equal(0, again.Completed);
        Assert.Equal(stamp, Directory.GetLastWriteTimeUtc(store.RunDirectory(plan.Runs[0].Id)));
    }

    [Fact]
    public void StaleTemporaryFoldersAreRemovedAndLiveOnesKept()
    {
        using var dir = new TempDirectory();
        var store = new ResultsStore(dir.Path);
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        dead.WaitForExit();
        string stale = Path.Combine(dir.Path, $".tmp-0123456789ab-{dead.Id}");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "metrics.csv"), "step,loss\n0,1\n"); // a partial run
        using var alive = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            Thread.Sleep(100);
            string live = Path.Combine(dir.Path, $".tmp-ba9876543210-{alive.Id}");
            Directory.CreateDirectory(live);
            File.WriteAllText(Path.Combine(live, ".owner"), Environment.MachineName);
            Assert.Equal(1, store.CleanStaleTemporaries());
            Assert.False(Directory.Exists(stale));
            Assert.True(Directory.Exists(live));
            alive.Kill();
            alive.WaitForExit();
            Assert.Equal(1, store.CleanStaleTemporaries());
            Assert.False(Directory.Exists(live));
        }
        finally
        {
            if (!alive.HasExited) alive.Kill();
        }
    }

    [Fact]
    public void FailedRunsAreStoredListedAndRetriedOnRequest()
    {
        using var dir = new TempDirectory();
        var plan = Plan("kind: exploding\nexplode: false\nvalue: 2\ngrid:\n  explode: [false, true]\n  seed: [0, 1, 2]\n");
        var store = new ResultsStore(dir.Path);
        var r = SweepRunner.Run(plan.Runs, store, Registry, new SweepOptions());
        Assert.Equal((3, 3), (r.Completed, r.Failed));
        var failed = plan.Runs.First(x => x.Describe().Contains("explode=true"));
        var summary = ResultsStore.ReadSummary(store.RunDirectory(failed.Id));
        Assert.Equal(RunStatus.Failed, summary.Status);
        Assert.StartsWith("InvalidOperationException: boom (seed", summary.Message);

        var table = ResultsTable.Load(new[] { dir.Path });
        Assert.Equal(new[] { "explode" }, table.Axes);
        Assert.Equal(3, table.Problems.Count());
        var ok = table.Rows.Single(x => x.AxisValues[0] == "false");
        // value = 2·(1 + seed) for seeds 0, 1, 2: mean 4, SEM = s/√3 with s = 2.
        Assert.Equal(4.0, ok.Stats["value"].Mean, 12);
        Assert.Equal(2.0 / Math.Sqrt(3), ok.Stats["value"].Sem, 12);
        Assert.Equal((2.0, 6.0), (ok.Stats["value"].Min, ok.Stats["value"].Max));
        Assert.Equal(3, table.Rows.Single(x => x.AxisValues[0] == "true").Failed);

        var stamp = File.GetLastWriteTimeUtc(Path.Combine(store.RunDirectory(failed.Id), "summary.json"));
        Thread.Sleep(20);
        var skipped = SweepRunner.Run(plan.Runs, store, Registry, new SweepOptions());
        Assert.Equal(6, skipped.Skipped);
        var retried = SweepRunner.Run(plan.Runs, store, Registry, new SweepOptions { RetryFailed = true });
        Assert.Equal((3, 3), (retried.Failed, retried.Skipped));
        Assert.NotEqual(stamp, File.GetLastWriteTimeUtc(Path.Combine(store.RunDirectory(failed.Id), "summary.json")));
        Assert.Empty(Directory.GetDirectories(dir.Path, ".tmp-*"));
    }

    [Fact]
    public void CancellationLeavesNothingBehind()
    {
        using var dir = new TempDirectory();
        var plan = Plan(DemoSpecs.Sweep(rows: 2000, cols: 64, steps: 100000, lrs: "[0.1]", seeds: "[0]"));
        var store = new ResultsStore(dir.Path);
        using var cts = new CancellationTokenSource();
        var observer = new CancelOnProgress(cts, 50);
        var r = SweepRunner.Run(plan.Runs, store, Registry, new SweepOptions(), observer, cts.Token);
        Assert.True(r.Cancelled);
        Assert.Empty(Directory.GetDirectories(dir.Path));
    }

    private sealed class CancelOnProgress(CancellationTokenSource cts, long atStep) : ISweepObserver
    {
        public void SweepStarted(int total, int alreadyDone) { }
        public void RunStarted(PlannedRun run, int worker) { }
        public void RunProgress(PlannedRun run, int worker, RunProgress progress) { if (progress.Step >= atStep) cts.Cancel(); }
        public void RunFinished(PlannedRun run, int worker, RunSummary summary, bool skipped) { }
    }

    [Fact]
    public void SelectionPicksTheBestFullyCompletedSettingPerGroupAndShardsMergeToTheSameTable()
    {
        using var whole = new TempDirectory();
        using var shards = new TempDirectory();
        // cols 8 of 96 rows: λ_max ≈ (1 + √(8/96))² ≈ 1.66, so lr 2.5 diverges and 0.9 is fastest among the rest.
        string text = DemoSpecs.Sweep(steps: 30, lrs: "[0.05, 0.3, 0.9, 2.5]", seeds: "[0, 1, 2]", extra: "  problem.noise: [0.1, 0.5]\n")
                      + "select: {metric: final_loss, minimize: true, over: [optimizer.lr], per: [problem.noise]}\n";
        var plan = Plan(text);
        Assert.Equal(24, plan.Runs.Count);
        new ResultsStore(whole.Path).WriteSweepSpec(plan.Spec);
        SweepRunner.Run(plan.Runs, new ResultsStore(whole.Path), Registry, new SweepOptions { Workers = 2 });
        var dirs = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            string d = Path.Combine(shards.Path, $"shard{k}");
            var s = new ResultsStore(d);
            s.WriteSweepSpec(plan.Spec);
            SweepRunner.Run(new ShardSpec(k, 3).Select(plan.Runs), s, Registry, new SweepOptions());
            dirs.Add(d);
        }
        var table = ResultsTable.Load(new[] { whole.Path });
        var merged = ResultsTable.Load(dirs);
        Assert.Equal(table.ToCsv(), merged.ToCsv());
        Assert.Equal(new[] { "optimizer.lr", "problem.noise" }, table.Axes);
        Assert.Equal(8, table.Rows.Count);
        var selected = table.Rows.Where(r => r.Selected).ToList();
        Assert.Equal(2, selected.Count);
        Assert.All(selected, r => Assert.Equal("0.9", r.AxisValues[0]));
        Assert.All(table.Rows.Where(r => r.AxisValues[0] == "2.5"), r => Assert.Equal(3, r.Diverged));
        // Each selected mean is the smallest completed mean of its noise level.
        foreach (var s in selected)
        {
            var group = table.Rows.Where(r => r.AxisValues[1] == s.AxisValues[1] && r.Completed == r.Runs.Count);
            Assert.Equal(group.Min(r => r.Stats["final_loss"].Mean), s.Stats["final_loss"].Mean);
        }
        string csv = table.ToCsv(selectedOnly: true);
        Assert.Equal(3, csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.StartsWith("optimizer.lr,problem.noise,runs,completed,diverged,failed,excess_loss_mean,excess_loss_sem,", csv);
        Assert.EndsWith(",selected", csv.Split('\n')[0]);
    }
}
