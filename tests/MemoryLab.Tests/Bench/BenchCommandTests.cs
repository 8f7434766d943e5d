using System.Text.Json;
using MemoryLab.Cli.Bench;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using MemoryLab.Tests.Peers;

namespace MemoryLab.Tests.Bench;

/// <summary><c>memlab bench</c>: the table and JSON it writes, bad input, the scaling report's linearity checks.</summary>
public class BenchCommandTests
{
    [Fact]
    public void Bench_times_both_algorithms_of_an_lti_layer_and_reports_the_auto_choice_with_its_work_rates()
    {
        using var dir = new TempDirectory();
        string outDir = Path.Combine(dir.Path, "bench");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "bench", "--models", "linear_rnn", "--threads", "1", "--steps", "5", "--warmup", "0", "--out", outDir);
        Assert.True(code == 0, stderr);
        string md = File.ReadAllText(Path.Combine(outDir, "bench.md"));
        Assert.Contains("| linear_rnn | teacher-student | 1 |", md);
        Assert.Contains("FMA peak", md);
        Assert.Contains("| linear_rnn | teacher-student | 1 |", stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")));
        var row = Assert.Single(json.RootElement.GetProperty("results").EnumerateArray());
        // The cost model picks the convolution at d = 1, T = 300; both algorithms were timed.
        Assert.Equal("convolution", row.GetProperty("algorithm").GetString());
        var ms = row.GetProperty("memlab_ms");
        Assert.True(ms.GetProperty("scan").GetDouble() > 0 && ms.GetProperty("convolution").GetDouble() > 0);
        double gflops = row.GetProperty("gflops").GetDouble(), peak = row.GetProperty("fma_peak_gflops").GetDouble();
        // Both are timings: under load the peak probe and the step are disturbed differently, so their order is not asserted
        // here (the benchmark reports them side by side); the rate must be the step's flops over its time.
        Assert.True(gflops > 0 && peak > 0, $"{gflops} GFLOP/s, measured peak {peak}");
        Assert.Equal(row.GetProperty("flops").GetDouble() / (ms.GetProperty("convolution").GetDouble() * 1e-3) / 1e9, gflops, 9);
        Assert.Empty(row.GetProperty("pytorch_ms").EnumerateObject());
    }

    [Fact]
    public void Bad_bench_options_exit_2_with_one_line_and_write_nothing()
    {
        using var dir = new TempDirectory();
        string outDir = Path.Combine(dir.Path, "bench");
        var cases = new (string[] Args, string Expected)[]
        {
            (["bench", "--steps", "3", "--out", outDir], "<command line>: key '--steps': must be at least 5 (got 3)"),
            (["bench", "--models", "transformer", "--out", outDir], "<command line>: key '--models': unknown model 'transformer'; known: lru, complex_diagonal, linear_rnn, elman, gru, lstm, deep_stack"),
            (["bench", "--threads", "0", "--out", outDir], "<command line>: key '--threads': must be at least 1 (got 0)"),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, stdout, stderr) = Memlab.Run(dir.Path, args);
            Assert.True(code == 2, $"exit {code} for {string.Join(' ', args)}: {stderr}");
            Assert.Equal(expected, stderr.TrimEnd('\n'));
            Assert.Equal("", stdout);
            Assert.False(Directory.Exists(outDir));
        }
    }

    [TorchFact]
    public void Bench_with_peers_puts_pytorch_beside_memlab_and_divides_by_the_fastest_variant()
    {
        using var dir = new TempDirectory();
        string outDir = Path.Combine(dir.Path, "bench");
        var (code, _, stderr) = Memlab.Run(dir.Path, "bench", "--models", "lru", "--threads", "1", "--steps", "5", "--warmup", "0", "--peers", "--out", outDir);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")));
        var row = Assert.Single(json.RootElement.GetProperty("results").EnumerateArray());
        var torch = row.GetProperty("pytorch_ms");
        double loop = torch.GetProperty("loop").GetDouble(), conv = torch.GetProperty("conv").GetDouble();
        double memlab = row.GetProperty("memlab_ms").GetProperty(row.GetProperty("algorithm").GetString()!).GetDouble();
        Assert.Equal(Math.Min(loop, conv) / memlab, row.GetProperty("speedup_vs_fastest_pytorch").GetDouble(), 9);
        Assert.Contains("PyTorch peers: torch 1.13", File.ReadAllText(Path.Combine(outDir, "bench.md")));
    }

    private static DataTable Scaling(Func<double, double, double> ms)
    {
        // Model 0 (LRU), scan (0): the T sweep (0) and the batch sweep (1) around batch 128, T 300.
        var t = new DataTable("model", "algorithm", "sweep", "batch", "time", "hidden", "ms");
        foreach (int time in ScalingRun.Times) t.Add(0, 0, 0, 128, time, 64, ms(128, time));
        foreach (int batch in ScalingRun.Batches) t.Add(0, 0, 1, batch, 300, 64, ms(batch, 300));
        return t;
    }

    [Fact]
    public void Scaling_report_holds_linearity_for_proportional_cost_and_fails_it_for_a_fixed_overhead()
    {
        var linear = ScalingRun.Report(Scaling((b, t) => 1e-4 * b * t), threads: 2);
        var claims = linear.AllClaims.ToArray();
        Assert.Equal(2, claims.Length);
        Assert.All(claims, c => Assert.Equal(MemoryLab.Reporting.ClaimStatus.Holds, c.Status));
        Assert.Single(linear.Sections.Single().Figures);

        // A fixed 1 ms per step: per-token cost at batch 1 is far above the reference's.
        var overhead = ScalingRun.Report(Scaling((b, t) => 1 + 1e-4 * b * t), threads: 2);
        var batchClaim = overhead.AllClaims.Single(c => c.Claim.Contains("batch"));
        Assert.Equal(MemoryLab.Reporting.ClaimStatus.Fails, batchClaim.Status);
        Assert.Contains("at batch 1", batchClaim.MeasuredText);
    }

    [Fact]
    public void Sweep_table_gives_medians_over_the_alternating_pairs_with_their_range_and_the_draw()
    {
        // Three pairs: ratios 1.25, 1.5, 1.0 (rate) and 1.2, 1.25, 0.9 (median step).
        TrainPair[] pairs =
        [
            new(ModelStepMs: 0.4, ModelCpuMs: 0.42, TrainStepMs: 0.5, TrainMedianStepMs: 0.48, TrainCpuMsPerStep: 0.55),
            new(ModelStepMs: 0.4, ModelCpuMs: 0.40, TrainStepMs: 0.6, TrainMedianStepMs: 0.5, TrainCpuMsPerStep: 0.6),
            new(ModelStepMs: 0.5, ModelCpuMs: 0.5, TrainStepMs: 0.5, TrainMedianStepMs: 0.45, TrainCpuMsPerStep: 0.5),
        ];
        var row = new SweepRow("lru", 128, "convolution", pairs, [(1, 2000.0, 0.5), (2, 3800.0, 0.52)], DrawMs: 0.08);
        Assert.Equal(1.25, row.Ratio, 12);
        Assert.Equal(1.0, row.RatioRange.Min, 12);
        Assert.Equal(1.5, row.RatioRange.Max, 12);
        Assert.Equal(1.2, row.MedianStepRatio, 12);
        Assert.Equal(0.9, row.MedianStepRatioRange.Min, 12);
        Assert.Equal(1.25, row.MedianStepRatioRange.Max, 12);
        Assert.Equal(0.4, row.ModelStepMs, 12);
        Assert.Equal(0.5, row.TrainStepMs, 12);
        // (0.5 − 0.08) / 0.4, (0.6 − 0.08) / 0.4, (0.5 − 0.08) / 0.5: median 1.05.
        Assert.Equal(1.05, row.RatioWithoutDraw, 12);
        string md = SweepThroughput.Markdown(new SweepMeasurements([row], [], []), "memlab bench --sweep", DateTimeOffset.UnixEpoch, "0/0/0", "0/0/0", 1000);
        Assert.Contains("| train / model (range) | train median step ms | median step / model (range) | batch draw ms | (train − draw) / model |", md);
        Assert.Contains("| lru | 128 | convolution | 0.400 | 0.500 | 1.25 (1.00–1.50) | 0.480 | 1.20 (0.90–1.25) | 0.080 | 1.05 | 0.420 | 0.550 | 1.31 | 2000 | 2000 | 0.500 | 3800 | 0.520 |", md);
        Assert.Contains("Each row times 3 such runs in alternation", md);
    }

    [Fact]
    public void The_paper_scale_projection_counts_each_run_of_its_reproductions_at_its_own_students_rate()
    {
        var registry = MemoryLab.Experiments.ExperimentRegistry.CreateDefault();
        var planned = SweepThroughput.PaperGrids(registry);
        var grids = planned.ToDictionary(g => g.Name, g => g.Students.ToDictionary(s => s.Key, s => s.Runs));
        string dense = SweepThroughput.StudentKey("linear_rnn", 128, registry), diagonal = SweepThroughput.StudentKey("complex_diagonal", 128, registry),
            lru = SweepThroughput.StudentKey("lru", 128, registry);
        Assert.Equal("linear_rnn algorithm=convolution hidden=64", dense);
        // The grid's students start their eigenvalues on seven rings (r_min = ν₀); a step's work is the same, so one rate each.
        Assert.Equal(new Dictionary<string, int> { [dense] = 350, [diagonal] = 490, [lru] = 350 }, grids["zucchet24-teacher-student (paper)"]);
        // The ablation's two multi-head dense students have four learning rates, not five; its complex diagonal students differ
        // from the bench's in their (explicit or learned) normalisation.
        string heads32 = "linear_rnn algorithm=convolution heads=32 hidden=64", heads64 = "linear_rnn algorithm=convolution heads=64 hidden=128";
        var ablation = grids["zucchet24-ablation (paper)"];
        Assert.Equal(340, ablation.Values.Sum());
        Assert.Equal(50, ablation[dense]);
        Assert.Equal(40, ablation[heads32]);
        Assert.Equal(40, ablation[heads64]);
        Assert.Equal(70, ablation[lru]);
        Assert.Equal(6, ablation.Count);
        Assert.Equal(140, ablation.Where(s => s.Key.StartsWith("complex_diagonal ", StringComparison.Ordinal)).Sum(s => s.Value));

        TrainPair[] pair = [new(0.3, 0.3, 0.33, 0.32, 0.34)];
        SweepRow Row(string model, double rate) => new(model, 128, "convolution", pair, [(1, rate, 0.3), (2, 2 * rate, 0.3)], DrawMs: 0.04);
        SweepRow[] rows = [Row("lru", 3000), Row("complex_diagonal", 3000), Row("linear_rnn", 2500)];
        var others = ablation.Keys.Where(k => k != dense && k != diagonal && k != lru)
            .Select(k => new StudentSweep(k, [(1, k == heads64 ? 1000.0 : 2000.0, 0.6), (2, k == heads64 ? 2000.0 : 4000.0, 0.6)])).ToArray();
        Assert.Equal(4, others.Length);
        string md = SweepThroughput.Markdown(new SweepMeasurements(rows, others, planned), "memlab bench --sweep", DateTimeOffset.UnixEpoch, "0/0/0", "0/0/0", 1000);
        // Ablation on 1 worker: (50 / 2500 + 40 / 2000 + 40 / 1000 + 140 / 2000 + 70 / 3000) × 10,000 steps = 1,733 s = 29 min;
        // the grid (350 / 2500 + 840 / 3000) × 10,000 = 4,200 s = 70 min. Twice the rate on 2 workers halves them.
        Assert.Contains("| zucchet24-ablation (paper) | 340 | 29 min |", md);
        Assert.Matches(@"\| zucchet24-ablation \(paper\) \| 340 \| 29 min \| \d+ min \| 14 min \|", md);
        Assert.Matches(@"\| zucchet24-teacher-student \(paper\) \| 1,190 \| 70 min \| \d+ min \| 35 min \|", md);
        Assert.Contains($"| {heads64} | 40 | 1000 | 0.600 | 2000 | 0.600 |", md);

        // Without the other students' rates the ablation is not projected at all, rather than at the wrong rates.
        string partial = SweepThroughput.Markdown(new SweepMeasurements(rows, [], planned), "memlab bench --sweep", DateTimeOffset.UnixEpoch, "0/0/0", "0/0/0", 1000);
        Assert.DoesNotContain("zucchet24-ablation (paper)", partial);
        Assert.Contains("| zucchet24-teacher-student (paper) | 1,190 | 70 min |", partial);
    }

    [Theory]
    [InlineData(10_000, 1000, 9)]
    [InlineData(2000, 667, 2)]
    [InlineData(1000, 500, 1)]
    [InlineData(200, 100, 1)]
    public void A_bench_run_checkpoints_about_as_often_as_a_paper_scale_run(int steps, long every, int checkpoints)
    {
        Assert.Equal(every, SweepThroughput.CheckpointEvery(steps));
        // A run checkpoints at the multiples of the interval before its last step.
        Assert.Equal(checkpoints, (steps - 1) / every);
        var spec = MemoryLab.Experiments.SpecParser.ParseText(SweepThroughput.Spec("lru", 128, steps), "bench-sweep.yaml");
        Assert.Equal(every, spec.GetLong("checkpoint_every"));
    }

    [Fact]
    public void Median_step_comes_from_the_elapsed_seconds_logged_every_step()
    {
        using var dir = new TempDirectory();
        string csv = Path.Combine(dir.Path, "metrics.csv");
        File.WriteAllText(csv, "step,loss,lr,grad_norm,elapsed_s,steps_per_second\n0,1,0.1,1,0.010,NaN\n1,1,0.1,1,0.011,1\n2,1,0.1,1,0.0125,1\n3,1,0.1,1,0.0200,1\n");
        // Gaps 1, 1.5 and 7.5 ms: the median ignores the slow step that a mean would count.
        Assert.Equal(1.5, SweepThroughput.MedianStepMs(csv), 9);
        File.WriteAllText(csv, "step,loss\n0,1\n");
        Assert.Contains("no elapsed_s column", Assert.Throws<InvalidDataException>(() => SweepThroughput.MedianStepMs(csv)).Message);
    }
}
