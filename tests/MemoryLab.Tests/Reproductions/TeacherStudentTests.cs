using MemoryLab.Experiments;
using MemoryLab.Numerics;
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

    public static TheoryData<string> SpecFiles => new() { "zucchet24-teacher-student", "zucchet24-ablation" };

    private static string Generated(string name) => name == "zucchet24-teacher-student"
        ? TeacherStudentExperiment.SweepYaml(Specs.Settings(new TeacherStudentExperiment(), ReproductionScale.Paper))
        : AblationExperiment.SweepYaml(Specs.Settings(new AblationExperiment(), ReproductionScale.Paper));

    [Theory]
    [MemberData(nameof(SpecFiles))]
    public void CheckedInSpecEqualsTheExperimentsPaperScaleGrid(string name)
    {
        string path = Path.Combine(RepoRoot(), "experiments", name + ".yaml");
        // MEMLAB_UPDATE_SPECS=1 rewrites the checked-in file from the code (after changing the grid on purpose).
        if (Environment.GetEnvironmentVariable("MEMLAB_UPDATE_SPECS") == "1") File.WriteAllText(path, Generated(name));
        Assert.Equal(Generated(name), File.ReadAllText(path).ReplaceLineEndings("\n"));
    }

    [Fact]
    public void PaperScaleTeacherStudentSpecExpandsToTheFullE3Grid()
    {
        string path = Path.Combine(RepoRoot(), "experiments", "zucchet24-teacher-student.yaml");
        var plan = SweepPlan.Load(path, [], ExperimentRegistry.CreateDefault());
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
            if (flat["model.kind"] != "\"linear_rnn\"") Assert.Equal(flat["data.nu0"], flat["model.r_min"]); // ring init on [ν₀, 1]
        }
        var lruRates = plan.Runs.Where(r => r.Spec.Flatten().Any(p => p.Key == "model.kind" && p.Value == "\"lru\""))
            .Select(r => r.Spec.Flatten().First(p => p.Key == "optimizer.lr").Value).Distinct().Count();
        Assert.Equal(5, lruRates);

        // Tiny overrides still expand and validate the whole grid.
        var tiny = SweepPlan.Load(path, ["steps=3", "batch=2", "data.time=5"], ExperimentRegistry.CreateDefault());
        Assert.Equal(plan.Runs.Count, tiny.Runs.Count);
        Assert.All(tiny.Runs, r => Assert.Equal("3", r.Spec.Flatten().First(p => p.Key == "steps").Value));
    }

    [Fact]
    public void PaperScaleAblationSpecHasSixStudentsAtNu099()
    {
        var plan = SweepPlan.Load(Path.Combine(RepoRoot(), "experiments", "zucchet24-ablation.yaml"), [], ExperimentRegistry.CreateDefault());
        Assert.Equal(10 * (3 * 5 + 3 * 7), plan.Runs.Count);
        var names = plan.Runs.Select(r => r.Spec.Flatten().First(p => p.Key == "model.name").Value).Distinct().ToArray();
        Assert.Equal(AblationExperiment.Students.Select(s => $"\"{s.Name}\""), names);
        Assert.All(plan.Runs, r => Assert.Equal("0.99", r.Spec.Flatten().First(p => p.Key == "data.nu0").Value));
    }

    private static readonly TeacherStudentGrid Tiny = new([0.5, 0.9], 2, 3, 2, 5, 100,
        [TeacherStudentExperiment.Students[0] with { LearningRates = [1e-3, 1e-2] }, TeacherStudentExperiment.Students[2] with { LearningRates = [0.01, 0.1] }]);

    [Fact]
    public void MergedShardsGiveTheSameTableAsAnUnshardedRun()
    {
        using var dir = new TempDirectory();
        var registry = ExperimentRegistry.CreateDefault();
        var plan = SweepPlan.FromSpec(SpecParser.ParseText(TeacherStudentSweep.ToYaml(Tiny, "tiny"), "tiny.yaml"), "tiny", registry);
        Assert.Equal(2 * 2 * 2 * 2, plan.Runs.Count);
        string whole = Path.Combine(dir.Path, "whole");
        RunInto(whole, plan, plan.Runs, registry);
        var shards = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            string s = Path.Combine(dir.Path, $"shard{k}");
            RunInto(s, plan, new ShardSpec(k, 3).Select(plan.Runs), registry);
            shards.Add(s);
        }
        var a = ResultsTable.Load([whole]);
        var b = ResultsTable.Load(shards);
        Assert.Equal(a.Axes, b.Axes);
        Assert.Equal(a.Rows.Count, b.Rows.Count);
        Assert.Equal(8, a.Rows.Count); // (student, ν₀, lr) points, seeds merged
        Assert.Equal(4, a.Rows.Count(r => r.Selected));
        for (int i = 0; i < a.Rows.Count; i++)
        {
            Assert.Equal(a.Rows[i].AxisValues, b.Rows[i].AxisValues);
            Assert.Equal(a.Rows[i].Selected, b.Rows[i].Selected);
            Assert.Equal(a.Rows[i].Stats["final_loss"], b.Rows[i].Stats["final_loss"]);
            Assert.Equal(2, a.Rows[i].Stats["final_loss"].Count);
        }
        var sa = TeacherStudentSweep.Selected(a, TeacherStudentExperiment.Students);
        var sb = TeacherStudentSweep.Selected(b, TeacherStudentExperiment.Students);
        Assert.Equal(sa.Rows.Select(r => r[..6]), sb.Rows.Select(r => r[..6]));
        Assert.Equal(4, sa.Rows.Count);
    }

    private static void RunInto(string folder, SweepPlan plan, IReadOnlyList<PlannedRun> runs, ExperimentRegistry registry)
    {
        var store = new ResultsStore(folder);
        store.WriteSweepSpec(plan.Spec);
        var r = SweepRunner.Run(runs, store, registry, new SweepOptions { Workers = 2 });
        Assert.Equal(runs.Count, r.Completed);
    }

    [Fact]
    public void RunAndReportBuildTheFigureAndClaimsFromTheFiles()
    {
        using var dir = new TempDirectory();
        using var pool = new WorkerPool(2);
        var ctx = Specs.Context(new TeacherStudentExperiment(), dir.Path, pool);
        var table = TeacherStudentSweep.Run(ctx, TeacherStudentSweep.ToYaml(Tiny, "tiny"), "tiny");
        TeacherStudentSweep.Selected(table, Tiny.Students).Save(ctx.File("selected.csv"));
        Assert.True(File.Exists(Path.Combine(dir.Path, "runs", ResultsStore.SweepSpecFileName)));
        var section = new ReportSection("ts");
        new TeacherStudentExperiment().Report(dir.Path, section);
        Assert.Single(section.Figures);
        Assert.Equal(3, section.Claims.Count);
        // No ν₀ = 0.99 in the tiny grid: the order-of-magnitude claim has nothing to measure.
        Assert.Equal(ClaimStatus.Inconclusive, section.Claims[2].Status);
    }

    [Fact]
    public void ReportChecksTheClaimsAgainstTheSelectedLosses()
    {
        using var dir = new TempDirectory();
        var sel = new DataTable("model", "nu0", "lr", "mean", "sem", "completed", "runs", "initial", "wall");
        // RNN rises 10⁴× and loses 10³× at 0.99; the LRU stays at 1e−5 of its initial loss.
        foreach (var (nu, rnn, lru) in new[] { (0.5, 1e-4, 1e-4), (0.9, 1e-2, 2e-4), (0.99, 1.0, 1e-3) })
        {
            sel.Add(0, nu, 1e-3, rnn, rnn / 10, 2, 2, 100, 1);
            sel.Add(2, nu, 0.01, lru, lru / 10, 2, 2, 100, 1);
        }
        sel.Save(Path.Combine(dir.Path, "selected.csv"));
        var section = new ReportSection("ts");
        new TeacherStudentExperiment().Report(dir.Path, section);
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));

        // A dense RNN as good as the LRU fails the steep-rise and order-of-magnitude claims.
        var flat = new DataTable([.. sel.Columns]);
        foreach (var r in sel.Rows) flat.Add(r[0], r[1], r[2], r[0] == 0 ? 2e-4 : r[3], r[4], r[5], r[6], r[7], r[8]);
        flat.Save(Path.Combine(dir.Path, "selected.csv"));
        section = new ReportSection("ts");
        new TeacherStudentExperiment().Report(dir.Path, section);
        Assert.Equal([ClaimStatus.Fails, ClaimStatus.Holds, ClaimStatus.Fails], section.Claims.Select(c => c.Status));
    }

    [Fact]
    public void AblationReportChecksEachStepTowardTheLru()
    {
        using var dir = new TempDirectory();
        var sel = new DataTable("model", "nu0", "lr", "mean", "sem", "completed", "runs", "initial", "wall");
        double[] losses = [10, 8, 9, 1, 0.1, 0.5]; // the exp step makes it worse here
        for (int i = 0; i < losses.Length; i++) sel.Add(i, 0.99, 1e-3, losses[i], double.NaN, 1, 1, 700, 1);
        sel.Save(Path.Combine(dir.Path, "selected.csv"));
        var section = new ReportSection("ablation");
        new AblationExperiment().Report(dir.Path, section);
        Assert.Single(section.Figures);
        Assert.Equal([ClaimStatus.Holds, ClaimStatus.Holds, ClaimStatus.Fails], section.Claims.Select(c => c.Status));
    }
}
