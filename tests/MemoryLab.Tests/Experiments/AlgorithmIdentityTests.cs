using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Reproductions;

namespace MemoryLab.Tests.Experiments;

/// <summary>The algorithm <c>auto</c> picks is part of a run's identity and summary; the cost model knows the thread count;
/// a reproduction's results do not depend on how many workers ran it.</summary>
public class AlgorithmIdentityTests
{
    private static SpecNode Spec(string model) => SpecParser.ParseText($"""
        kind: train
        seed: 1
        data: {"{"}kind: teacher, time: 300, state_size: 10, nu0: 0.9{"}"}
        model: {model}
        steps: 3
        batch: 128
        """, "t.yaml");

    [Fact]
    public void The_cost_model_knows_the_thread_count()
    {
        // One thread: the convolution is ≈ 2.5× cheaper for the LRU at the teacher–student shape. Sixteen threads: the scan's 16 batch
        // chunks use them all while the convolution pays for waking them on each of its three passes (measured 0.43 vs 0.63 ms).
        Assert.Equal(LtiAlgorithm.Convolution, LtiCostModel.Choose(LtiLayerKind.Diagonal, 128, 300, 64, 1, 1, threads: 1));
        Assert.Equal(LtiAlgorithm.Convolution, LtiCostModel.Choose(LtiLayerKind.Diagonal, 128, 300, 64, 1, 1, threads: 2));
        Assert.Equal(LtiAlgorithm.Scan, LtiCostModel.Choose(LtiLayerKind.Diagonal, 128, 300, 64, 1, 1, threads: 16));
        // The dense RNN's scan is 20× the work: the convolution stays cheaper on any thread count.
        Assert.Equal(LtiAlgorithm.Convolution, LtiCostModel.Choose(LtiLayerKind.Dense, 128, 300, 64, 1, 1, threads: 16));
        // At batch 16 the convolution's passes are too small for the pool and run on the calling thread, waking no one:
        // the estimate is its one-thread cost on any thread count.
        Assert.Equal(LtiAlgorithm.Convolution, LtiCostModel.Choose(LtiLayerKind.Diagonal, 16, 300, 64, 1, 1, threads: 16));
        Assert.Equal(LtiCostModel.EstimatedCost(LtiLayerKind.Diagonal, LtiAlgorithm.Convolution, 16, 300, 64, 1, 1, threads: 1),
            LtiCostModel.EstimatedCost(LtiLayerKind.Diagonal, LtiAlgorithm.Convolution, 16, 300, 64, 1, 1, threads: 16));
        Assert.True(LtiCostModel.EstimatedCost(LtiLayerKind.Diagonal, LtiAlgorithm.Convolution, 128, 300, 64, 1, 1, threads: 2)
            < LtiCostModel.EstimatedCost(LtiLayerKind.Diagonal, LtiAlgorithm.Convolution, 128, 300, 64, 1, 1, threads: 1));
    }

    [Fact]
    public void Auto_is_resolved_into_the_run_spec_and_the_id()
    {
        var kinds = ExperimentRegistry.CreateDefault();
        var auto = Assert.Single(SweepPlan.FromSpec(Spec("{kind: lru, hidden: 64}"), "a", kinds).Runs);
        Assert.Equal("convolution", auto.Spec.Child("model").Peek("algorithm")!.Text);
        var explicitConv = Assert.Single(SweepPlan.FromSpec(Spec("{kind: lru, hidden: 64, algorithm: convolution}"), "c", kinds).Runs);
        var scan = Assert.Single(SweepPlan.FromSpec(Spec("{kind: lru, hidden: 64, algorithm: scan}"), "s", kinds).Runs);
        Assert.Equal(explicitConv.Id, auto.Id);           // auto is what it picked
        Assert.NotEqual(scan.Id, auto.Id);                // a scan result is never taken for a convolution one
        var sixteen = Assert.Single(SweepPlan.FromSpec(Spec("{kind: lru, hidden: 64}"), "a", kinds, threadsPerRun: 16).Runs);
        Assert.Equal(scan.Id, sixteen.Id);
        // Layers without two algorithms are left alone.
        var gru = Assert.Single(SweepPlan.FromSpec(Spec("{kind: stack, layers: [{kind: gru, hidden: 4}, {kind: dense, out: 1}]}"), "g", kinds).Runs);
        Assert.Null(gru.Spec.Child("model").Peek("algorithm"));
    }

    [Fact]
    public void The_summary_records_the_algorithm()
    {
        using var dir = new TempDirectory();
        var kinds = ExperimentRegistry.CreateDefault();
        var plan = SweepPlan.FromSpec(Spec("{kind: linear_rnn, hidden: 64}"), "d", kinds);
        var store = new ResultsStore(dir.Path);
        SweepRunner.Run(plan.Runs, store, kinds, new SweepOptions { Workers = 1 });
        Assert.Equal("convolution", store.ReadRun(plan.Runs[0].Id)!.Summary.Algorithm);
        Assert.Contains("\"algorithm\": \"convolution\"", File.ReadAllText(Path.Combine(dir.Path, plan.Runs[0].Id, ResultsStore.SummaryFileName)));
    }

    [Fact]
    public void A_reproduction_gives_the_same_bits_on_one_and_on_two_workers()
    {
        var selected = Specs.Reproductions.Select(["zucchet24-teacher-student"]);
        string[] tiny = ["zucchet24-teacher-student.steps=3", "zucchet24-teacher-student.batch=4", "zucchet24-teacher-student.data.time=20"];
        var plans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, tiny);
        using var one = new TempDirectory();
        using var two = new TempDirectory();
        Reproducer.Run(plans, one.Path, Specs.Kinds, new SweepOptions { Workers = 1 });
        Reproducer.Run(plans, two.Path, Specs.Kinds, new SweepOptions { Workers = 2 });
        var runs = plans[0].Sweep.Runs;
        Assert.NotEmpty(runs);
        foreach (var run in runs)
        {
            string a = Path.Combine(one.Path, "zucchet24-teacher-student", run.Id), b = Path.Combine(two.Path, "zucchet24-teacher-student", run.Id);
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, ResultsStore.CheckpointFileName)), File.ReadAllBytes(Path.Combine(b, ResultsStore.CheckpointFileName)));
            Assert.Equal(ResultsStore.ReadSummary(a).Metrics["final_loss"], ResultsStore.ReadSummary(b).Metrics["final_loss"]);
        }
    }
}
