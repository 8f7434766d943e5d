using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public class TeacherStudentTests
{
    /// <summary>The repository root (the folder holding MemoryLab.slnx) above the test assembly.</summary>
    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MemoryLab.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("no MemoryLab.slnx above " + AppContext.BaseDirectory);
    }

    private static string SpecFile(string name, string scale) => Path.Combine(RepoRoot(), "experiments", "reproduce", name, scale + ".yaml");

    // Tiny runs of the quick grid: same sweep structure, three steps of five-step sequences.
    private static readonly string[] Tiny = ["steps=3", "batch=2", "data.time=5"];

    [Fact]
    public void PaperScaleTeacherStudentSpecExpandsToTheFullE3Grid()
    {
        var plan = SweepPlan.Load(SpecFile("zucchet24-teacher-student", "paper"), [], Specs.Kinds);
        // 7 ν₀ × 10 seeds × (5 RNN + 7 cRNN + 5 LRU learning rates).
        Assert.Equal(7 * 10 * (5 + 7 + 5), plan.Runs.Count);
        Assert.Equal(plan.Runs.Count, plan.Runs.Select(r => r.Id).Distinct().Count());
        Assert.NotNull(plan.Selection);
        Assert.Equal(["optimizer.lr"], plan.Selection!.Over);
        Assert.Equal(["model.name", "data.nu0"], plan.Selection.Per);
        foreach (var run in plan.Runs)
        {
            var flat = run.Spec.Flatten().ToDictionary(p => p.Key, p => p.Value);
            Assert.Equal("10000", flat["steps"]);
            Assert.Equal("128", flat["batch"]);
            Assert.Equal("1", flat["log_every"]);
            Assert.Equal("42", flat["data.teacher_seed"]);
            Assert.Equal("10", flat["data.state_size"]);
            Assert.False(flat.ContainsKey("reproduction.name"), "the reproduction section is no part of a run");
            if (flat["model.kind"] != "\"linear_rnn\"") Assert.Equal(flat["data.nu0"], flat["model.r_min"]); // ring init on [ν₀, 1]
        }
        var lruRates = plan.Runs.Where(r => r.Spec.Flatten().Any(p => p.Key == "model.kind" && p.Value == "\"lru\""))
            .Select(r => r.Spec.Flatten().First(p => p.Key == "optimizer.lr").Value).Distinct().Count();
        Assert.Equal(5, lruRates);
        Assert.Equal("zucchet24-teacher-student", ReproductionSection.Of(plan).Name);
        Assert.Equal(ReproductionScale.Paper, ReproductionSection.Of(plan).Scale);

        // Tiny overrides still expand and validate the whole grid.
        var tiny = SweepPlan.Load(SpecFile("zucchet24-teacher-student", "paper"), Tiny, Specs.Kinds);
        Assert.Equal(plan.Runs.Count, tiny.Runs.Count);
        Assert.All(tiny.Runs, r => Assert.Equal("3", r.Spec.Flatten().First(p => p.Key == "steps").Value));
    }

    [Fact]
    public void PaperScaleAblationSpecHasSixStudentsAtNu099()
    {
        var plan = SweepPlan.Load(SpecFile("zucchet24-ablation", "paper"), [], Specs.Kinds);
        Assert.Equal(10 * (5 + 2 * 4 + 3 * 7), plan.Runs.Count); // the authors' grids: RNN 5 rates, block diagonal / more neurons 4, diagonal 7
        var names = plan.Runs.Select(r => r.Spec.Flatten().First(p => p.Key == "model.name").Value).Distinct().ToArray();
        Assert.Equal(AblationExperiment.Students.Select(s => $"\"{s.Name}\""), names);
        Assert.All(plan.Runs, r => Assert.Equal("0.99", r.Spec.Flatten().First(p => p.Key == "data.nu0").Value));
        Assert.All(plan.Runs, r => Assert.Equal("300", r.Spec.Flatten().First(p => p.Key == "data.time").Value));
    }

    [Fact]
    public void TheQuickStudentsOfBothReproductionsAreTheSameRuns()
    {
        // The ablation's RNN and LRU at ν₀ = 0.99 are the teacher–student runs at ν₀ = 0.99: same resolved spec, same id.
        var ts = Specs.Plan(new TeacherStudentExperiment()).Runs.Select(r => r.Id).ToHashSet();
        var ablation = Specs.Plan(new AblationExperiment()).Runs;
        // RNN at its 5 rates and LRU at the 4 rates both grids hold (0.1 … 0.0032), 3 seeds each.
        Assert.Equal((5 + 4) * 3, ablation.Count(r => ts.Contains(r.Id)));
        // "+ γ" is the authors' lru_param=default, which_gamma=learned: γ learned directly from √(1 − (Re λ)²).
        var gamma = ablation.First(r => r.Spec.Flatten().Any(p => p.Key == "model.name" && p.Value == "\"complex_diagonal_gamma\"")).Spec.Flatten().ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(("\"learned\"", "\"direct\"", "\"real_part\""), (gamma["model.normalisation"], gamma["model.gamma"], gamma["model.gamma_init"]));
    }

    [Fact]
    public void MergedShardsGiveTheSameTableAsAnUnshardedRun()
    {
        using var dir = new TempDirectory();
        var plan = SweepPlan.Load(SpecFile("zucchet24-teacher-student", "quick"), Tiny, Specs.Kinds);
        Assert.Equal(3 * 2 * 5 * 3, plan.Runs.Count); // 3 ν₀ × (RNN, LRU) × the authors' 5 rates × 3 seeds
        string whole = Path.Combine(dir.Path, "whole");
        RunInto(whole, plan, plan.Runs);
        var shards = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            string s = Path.Combine(dir.Path, $"shard{k}");
            RunInto(s, plan, new ShardSpec(k, 3).Select(plan.Runs));
            shards.Add(s);
        }
        var a = ResultsTable.Load([whole]);
        var b = ResultsTable.Load(shards);
        Assert.Equal(a.Axes, b.Axes);
        Assert.Equal(a.Rows.Count, b.Rows.Count);
        Assert.Equal(30, a.Rows.Count); // (student, ν₀, lr) points, seeds merged
        Assert.Equal(6, a.Rows.Count(r => r.Selected));
        for (int i = 0; i < a.Rows.Count; i++)
        {
            Assert.Equal(a.Rows[i].AxisValues, b.Rows[i].AxisValues);
            Assert.Equal(a.Rows[i].Selected, b.Rows[i].Selected);
            Assert.Equal(a.Rows[i].Stats["final_loss"], b.Rows[i].Stats["final_loss"]);
            Assert.Equal(3, a.Rows[i].Stats["final_loss"].Count);
        }
        var sa = SelectedPoint.From(a);
        var sb = SelectedPoint.From(b);
        Assert.Equal(6, sa.Count);
        Assert.Equal(sa, sb);

        // `memlab report` over the three shard folders merges them by run id into the same section.
        var doc = Reproducer.WriteReport(Specs.Reproductions, Specs.Kinds, shards, Path.Combine(dir.Path, "report"));
        var section = Assert.Single(doc.Sections);
        Assert.Equal("zucchet24-teacher-student", section.Name);
        Assert.Single(section.Figures);
        Assert.Equal(3, section.Claims.Count);
    }

    private static void RunInto(string folder, SweepPlan plan, IReadOnlyList<PlannedRun> runs)
    {
        var store = new ResultsStore(folder);
        store.WriteSweepSpec(plan.Spec);
        var r = SweepRunner.Run(runs, store, Specs.Kinds, new SweepOptions { Workers = 2 });
        Assert.Equal(runs.Count, r.Completed);
    }

    [Fact]
    public void ReproduceRunsBothReproductionsInOnePoolAndReportsThemFromTheirFolders()
    {
        using var dir = new TempDirectory();
        var selected = Specs.Reproductions.Select(["zucchet24-teacher-student", "zucchet24-ablation"]);
        var overrides = selected.SelectMany(r => Tiny.Select(t => $"{r.Name}.{t}")).ToArray();
        var plans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, overrides);
        var counts = new CountingObserver();
        var outcomes = Reproducer.Run(plans, dir.Path, Specs.Kinds, new SweepOptions { Workers = 3 }, counts);
        Assert.Equal([90, 96], outcomes.Select(o => o.Ran));
        // The 27 runs both share (RNN and LRU at ν₀ = 0.99) ran once and were copied: 159 started, 186 finished.
        Assert.Equal((159, 186), (counts.Started, counts.Finished));
        var shared = plans[1].Sweep.Runs.Where(r => plans[0].Sweep.Runs.Any(t => t.Id == r.Id)).ToArray();
        Assert.Equal(27, shared.Length);
        foreach (var run in shared)
            Assert.Equal(File.ReadAllText(Path.Combine(dir.Path, "zucchet24-teacher-student", run.Id, "metrics.csv")),
                File.ReadAllText(Path.Combine(dir.Path, "zucchet24-ablation", run.Id, "metrics.csv")));
        Assert.All(outcomes, o => Assert.Equal(0, o.Failed));
        foreach (var r in selected)
            Assert.True(File.Exists(Path.Combine(dir.Path, r.Name, ResultsStore.SweepSpecFileName)));
        var doc = Reproducer.WriteReport(Specs.Reproductions, Specs.Kinds, [dir.Path], dir.Path);
        Assert.Equal(["zucchet24-teacher-student", "zucchet24-ablation"], doc.Sections.Select(s => s.Name));
        Assert.Equal([3, 3], doc.Sections.Select(s => s.Claims.Count));
        Assert.All(doc.AllClaims, c => Assert.NotNull(c.Source));

        // Again: every run is found finished; nothing runs.
        var again = Reproducer.Run(plans, dir.Path, Specs.Kinds, new SweepOptions { Workers = 3 });
        Assert.Equal([0, 0], again.Select(o => o.Ran));
        Assert.Equal([90, 96], again.Select(o => o.Skipped));
    }

    private sealed class CountingObserver : ISweepObserver
    {
        private int _started, _finished;
        public int Started => _started;
        public int Finished => _finished;
        public void SweepStarted(int total, int alreadyDone) { }
        public void RunStarted(PlannedRun run, int worker) => Interlocked.Increment(ref _started);
        public void RunProgress(PlannedRun run, int worker, RunProgress progress) { }
        public void RunFinished(PlannedRun run, int worker, RunSummary summary, bool skipped) => Interlocked.Increment(ref _finished);
    }

    private static SelectedPoint Point(string student, double nu0, double mean, double initial = 100) =>
        new(student, nu0, 1e-3, new MetricStats(2, mean, mean / 10, mean, mean), initial, 2, 2);

    private static ReportSection ReportTs(IReadOnlyList<SelectedPoint> points)
    {
        var section = new ReportSection("ts");
        var claims = Specs.Claims(new TeacherStudentExperiment(), section);
        TeacherStudentExperiment.Report(points, section, claims);
        claims.Finish();
        return section;
    }

    [Fact]
    public void ReportChecksTheClaimsAgainstTheSelectedLosses()
    {
        // RNN rises 10⁴× and loses 10³× at 0.99; the LRU stays at 1e−5 of its initial loss.
        var points = new List<SelectedPoint>();
        foreach (var (nu, rnn, lru) in new[] { (0.5, 1e-4, 1e-4), (0.9, 1e-2, 2e-4), (0.99, 1.0, 1e-3) })
        {
            points.Add(Point("rnn", nu, rnn));
            points.Add(Point("lru", nu, lru));
        }
        var section = ReportTs(points);
        Assert.Single(section.Figures);
        Assert.Equal(3, section.Claims.Count);
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        Assert.Equal(["rnn-loss-rises-with-memory", "lru-loss-stays-low", "lru-beats-rnn-at-long-memory"], section.Claims.Select(c => c.Id));

        // A dense RNN as good as the LRU fails the steep-rise and order-of-magnitude claims.
        var flat = points.Select(p => p.Student == "rnn" ? Point("rnn", p.Nu0, 2e-4) : p).ToList();
        Assert.Equal([ClaimStatus.Fails, ClaimStatus.Holds, ClaimStatus.Fails], ReportTs(flat).Claims.Select(c => c.Status));

        // A rise of the raw loss that only follows the teacher's output scale (the initial loss) is no rise.
        double Scale(double nu) => nu switch { 0.5 => 1, 0.9 => 30, _ => 1000 };
        var scaled = points.Select(p => p.Student == "rnn" ? Point("rnn", p.Nu0, 1e-4 * Scale(p.Nu0), 100 * Scale(p.Nu0)) : p).ToList();
        Assert.Equal(ClaimStatus.Fails, ReportTs(scaled).Claims[0].Status);

        // The LRU's claim is on final/initial: a final loss of 0.05 passes against an initial 1000 and fails against 10.
        var lruBig = points.Select(p => p.Student == "lru" ? Point("lru", p.Nu0, 0.05, 1000) : p).ToList();
        Assert.Equal(ClaimStatus.Holds, ReportTs(lruBig).Claims[1].Status);
        var lruSmall = points.Select(p => p.Student == "lru" ? Point("lru", p.Nu0, 0.05, 10) : p).ToList();
        Assert.Equal(ClaimStatus.Fails, ReportTs(lruSmall).Claims[1].Status);

        // No ν₀ = 0.99 in the data: the order-of-magnitude claim has nothing to measure.
        var short_ = points.Where(p => p.Nu0 < 0.99).ToList();
        Assert.Equal(ClaimStatus.Inconclusive, ReportTs(short_).Claims[2].Status);
    }

    private static ReportSection ReportAblation(double[] losses, double[] sems, ReproductionScale scale)
    {
        var points = AblationExperiment.Students.Select((s, i) => new SelectedPoint(s.Name, 0.99, 1e-3, new MetricStats(10, losses[i], sems[i], losses[i], losses[i]), 700, 10, 10)).ToList();
        var section = new ReportSection("ablation");
        var claims = Specs.Claims(new AblationExperiment(), section);
        AblationExperiment.Report(points, section, claims, scale);
        claims.Finish();
        Assert.Single(section.Figures);
        Assert.Equal(["near-diagonal-far-below-rnn", "gamma-and-exp-change-little", "normalisation-lowers-complex-diagonal"], section.Claims.Select(c => c.Id));
        return section;
    }

    [Fact]
    public void AblationReportChecksTheOrdersOfMagnitudeAndTheOrderingOnlyAtPaperScale()
    {
        // The paper's Fig. 3 right read by eye, with SEMs a tenth of the means.
        double[] paper = AblationExperiment.Students.Select(s => s.Paper).ToArray();
        double[] tenth = paper.Select(p => p / 10).ToArray();
        Assert.Equal([ClaimStatus.Holds, ClaimStatus.Holds, ClaimStatus.Holds], ReportAblation(paper, tenth, ReproductionScale.Paper).Claims.Select(c => c.Status));
        // At quick scale the ordering is not decided, whatever the numbers.
        var quick = ReportAblation(paper, tenth, ReproductionScale.Quick).Claims;
        Assert.Equal([ClaimStatus.Holds, ClaimStatus.Holds, ClaimStatus.Inconclusive], quick.Select(c => c.Status));
        Assert.Contains("paper scale", quick[2].Details);
        Assert.Contains("complex diagonal 4.2E-05", quick[2].MeasuredText);
        // Means a factor 2 apart but SEMs as large: not separated.
        double[] wide = paper.Select(p => p).ToArray();
        Assert.Equal(ClaimStatus.Fails, ReportAblation(paper, wide, ReproductionScale.Paper).Claims[2].Status);
        // One near-diagonal student only 10× below the RNN, and a γ step of 30×: both order-of-magnitude claims fail.
        double[] bad = [0.4, 0.04, 2e-5, 1e-3, 3.3e-5, 2.4e-5];
        var failing = ReportAblation(bad, tenth, ReproductionScale.Paper).Claims;
        Assert.Equal([ClaimStatus.Fails, ClaimStatus.Fails, ClaimStatus.Holds], failing.Select(c => c.Status));
    }
}
