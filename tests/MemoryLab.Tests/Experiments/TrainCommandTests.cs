using MemoryLab.Experiments;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Experiments;

/// <summary>`memlab train` with the teacher–student spec: bad input, resume, divergence.</summary>
public class TrainCommandTests
{
    private static string SpecPath => Path.Combine(AppContext.BaseDirectory, "experiments", "teacher-student.yaml");

    private static string SmallSpec(TempDirectory dir, string extra = "") => dir.File("ts.yaml", $$"""
        kind: train
        seed: 3
        data: {kind: teacher, time: 40, state_size: 6, nu0: 0.9}
        model: {kind: lru, hidden: 8, r_min: 0.5, init: teacher_student}
        optimizer: {kind: adam, lr: 0.01}
        steps: 30
        batch: 8
        log_every: 1
        checkpoint_every: 10
        {{extra}}
        """);

    [Fact]
    public void The_shipped_spec_trains_and_writes_a_complete_run_folder()
    {
        using var dir = new TempDirectory();
        string outDir = Path.Combine(dir.Path, "runs");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "train", SpecPath, "steps=20", "batch=16", "--out", outDir);
        Assert.True(code == 0, stderr);
        Assert.Contains("status=completed", stdout);
        var run = Directory.GetDirectories(outDir).Single();
        foreach (var f in new[] { "spec.yaml", "metrics.csv", "metrics.jsonl", "summary.json", "checkpoint.safetensors" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.StartsWith("step,loss,lr,grad_norm,elapsed_s", csv[0]);
        Assert.Equal(4, csv.Length); // header, steps 0 and 10 (log_every 10), and the last step 19
    }

    [Fact]
    public void Bad_specs_exit_2_with_file_line_and_key_and_write_nothing()
    {
        using var dir = new TempDirectory();
        string spec = SmallSpec(dir);
        string outDir = Path.Combine(dir.Path, "out");
        var cases = new (string[] Args, string Expected)[]
        {
            (["train", spec, "data.nu0=1.0"], "<command line>: key 'data.nu0': must be < 1 (got 1.0)"),
            (["train", spec, "model.hidden=0"], "<command line>: key 'model.hidden': model lru, option 'hidden': must be at least 1 (got 0)"),
            (["train", spec, "batch=0"], "<command line>: key 'batch': must be >= 1 (got 0)"),
            (["train", SmallSpec(dir, "lossy: 1")], $"{spec}:10: key 'lossy'"),
            (["train", spec, "model.kind=transformer"], "unknown kind 'transformer'"),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, stdout, stderr) = Memlab.Run(dir.Path, [.. args, "--out", outDir]);
            Assert.True(code == 2, $"exit {code} for {string.Join(' ', args)}: {stderr}");
            Assert.Contains(expected, stderr);
            Assert.DoesNotContain('\n', stderr.TrimEnd('\n'));
            Assert.False(Directory.Exists(outDir), "nothing may be written on bad input");
        }
    }

    private static (RunSummary Summary, SafeTensorsFile Checkpoint) RunOnce(string spec, string outDir, bool resume, long cancelAtStep = long.MaxValue)
    {
        var registry = ExperimentRegistry.CreateDefault();
        var plan = SweepPlan.Load(spec, [], registry, ignoreSelection: true);
        var store = new ResultsStore(outDir) { Resume = resume };
        using var cts = new CancellationTokenSource();
        using var pool = new WorkerPool(1);
        var (summary, _) = store.Execute(plan.Runs[0], registry, pool, p => { if (p.Step >= cancelAtStep) cts.Cancel(); }, cts.Token);
        return (summary, SafeTensors.Load(Path.Combine(store.RunDirectory(plan.Runs[0].Id), ResultsStore.CheckpointFileName)));
    }

    [Fact]
    public void Resume_from_checkpoint_equals_an_uninterrupted_run_bit_for_bit()
    {
        using var dir = new TempDirectory();
        string spec = SmallSpec(dir);
        var (_, whole) = RunOnce(spec, Path.Combine(dir.Path, "a"), resume: false);

        string b = Path.Combine(dir.Path, "b");
        Assert.Throws<OperationCanceledException>(() => RunOnce(spec, b, resume: false, cancelAtStep: 25));
        Assert.Single(Directory.GetFiles(Path.Combine(b, ".resume")));   // the step-20 checkpoint survived
        var (summary, resumed) = RunOnce(spec, b, resume: true);
        Assert.Equal(RunStatus.Completed, summary.Status);
        Assert.False(Directory.Exists(Path.Combine(b, ".resume")) && Directory.GetFiles(Path.Combine(b, ".resume")).Length > 0);
        var names = whole.Tensors.Select(t => t.Name).ToArray();
        Assert.Equal(names, resumed.Tensors.Select(t => t.Name));
        Assert.Contains(names, n => n.StartsWith("optimizer.exp_avg_sq.", StringComparison.Ordinal));
        foreach (var name in names)
            Assert.Equal(whole.Read<float>(name), resumed.Read<float>(name));
    }

    [Fact]
    public void A_diverging_run_is_recorded_as_diverged()
    {
        using var dir = new TempDirectory();
        string spec = SmallSpec(dir, "schedule: {kind: constant}");
        var registry = ExperimentRegistry.CreateDefault();
        var plan = SweepPlan.Load(spec, ["optimizer.kind=sgd", "optimizer.lr=1e6", "model.kind=complex_diagonal"], registry, ignoreSelection: true);
        using var pool = new WorkerPool(1);
        var (summary, _) = new ResultsStore(Path.Combine(dir.Path, "o")).Execute(plan.Runs[0], registry, pool);
        Assert.Equal(RunStatus.Diverged, summary.Status);
    }

    [Fact]
    public void A_diverged_run_exits_0_with_its_folder_and_status_as_help_and_the_tour_say()
    {
        // memlab --help and docs/tour.md ("Exit codes and run statuses"): a diverged run is a result (exit code 0), its
        // folder holds the metrics so far and summary.json says diverged. (A failed run's exit code 1: PluginTests.)
        using var dir = new TempDirectory();
        string spec = SmallSpec(dir, "schedule: {kind: constant}");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "train", spec, "optimizer.kind=sgd", "optimizer.lr=1e6", "model.kind=complex_diagonal", "--out", "o");
        Assert.True(code == 0, stderr);
        Assert.Contains(" status=diverged ", stdout);
        string run = Directory.GetDirectories(Path.Combine(dir.Path, "o")).Single();
        Assert.Equal(RunStatus.Diverged, ResultsStore.ReadSummary(run).Status);
        Assert.True(File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length >= 2, "the metrics logged before the divergence are kept");
        string help = System.Text.RegularExpressions.Regex.Replace(Memlab.Run(dir.Path, "--help").Stdout, @"\s+", " "); // wrapped to the terminal
        Assert.Contains("0 = done (runs completed or diverged", help);
        Assert.Contains("1 = some run failed (its folder is still written", help);
    }
}
