using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

/// <summary>The reproductions' settings live in experiments/reproduce/NAME/{quick,paper}.yaml: every reproduction has both, they expand
/// and validate in the normal sweep schema, bad specs and overrides are rejected before anything is written, and overrides reach the run.</summary>
public class ReproductionSpecTests
{
    private const string Cheap = "zucchet24-landscapes";

    private static string SpecsFolder => Path.Combine(TeacherStudentTests.RepoRoot(), "experiments", "reproduce");

    private static string CopySpecs(TempDirectory dir, string name)
    {
        string specs = Path.Combine(dir.Path, "specs");
        Directory.CreateDirectory(Path.Combine(specs, name));
        foreach (string f in Directory.GetFiles(Path.Combine(SpecsFolder, name)))
            File.Copy(f, Path.Combine(specs, name, Path.GetFileName(f)));
        return specs;
    }

    [Fact]
    public void Every_registered_reproduction_has_embedded_quick_and_paper_specs_that_expand_and_validate()
    {
        var all = Specs.Reproductions.All;
        Assert.Equal(16, all.Count);
        foreach (var scale in new[] { ReproductionScale.Quick, ReproductionScale.Paper })
        {
            // Both scales of every reproduction are planned (and validated) from the embedded copies and from the repository folder alike.
            var embedded = ReproductionPlan.Create(all, scale, Specs.Kinds);
            var files = ReproductionPlan.Create(all, scale, Specs.Kinds, SpecsFolder);
            Assert.All(embedded, p => Assert.Equal($"embedded:{p.Reproduction.Name}/{ReproductionSpecs.FileName(scale)}", p.Source));
            Assert.All(files, p => Assert.EndsWith(Path.Combine(p.Reproduction.Name, ReproductionSpecs.FileName(scale)), p.Source));
            Assert.Equal(embedded.Select(p => p.Sweep.Spec.ToCanonicalJson()), files.Select(p => p.Sweep.Spec.ToCanonicalJson()));
            Assert.All(embedded, p =>
            {
                Assert.Equal(scale, p.Section.Scale);
                Assert.NotEmpty(p.Section.Claims);
                Assert.NotEmpty(p.Sweep.Runs);
            });
        }
        // No stray spec folders: each one names a registered reproduction.
        var names = Directory.GetDirectories(SpecsFolder).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(all.Select(e => e.Name).Order(), names);
        Assert.Empty(Directory.GetFiles(SpecsFolder));
    }

    [Fact]
    public void The_quick_and_paper_scales_differ_where_the_papers_ask_for_more()
    {
        var plateaus = new PlateausExperiment();
        var quick = Specs.Settings(plateaus);
        var paper = Specs.Settings(plateaus, ReproductionScale.Paper);
        Assert.Equal(10, paper.Runs);            // Li21 Fig. 1: 10 initialisations
        Assert.True(quick.Runs < paper.Runs);
        Assert.Equal(0.10, quick.Detector.MaxFall);
        Assert.Equal(9, quick.AiryDelay);        // Airy memory beyond the initial model (Li21 §4)
        var ts = Specs.Plan(new TeacherStudentExperiment(), ReproductionScale.Paper);
        Assert.Equal(["0.36", "0.68", "0.84", "0.92", "0.96", "0.98", "0.99"],
            ts.Runs.Select(r => r.Spec.Flatten().First(p => p.Key == "data.nu0").Value).Distinct().Order());
        Assert.Equal(["\"crnn\"", "\"lru\"", "\"rnn\""], ts.Runs.Select(r => r.Spec.Flatten().First(p => p.Key == "model.name").Value).Distinct().Order());
        // Constants once in code now come from the spec.
        var hessian = Specs.Settings(new HessianExperiment());
        Assert.Equal((10, 3.14, 11ul, 7ul, 1ul), (hessian.TeacherStateSize, hessian.TeacherTheta0, hessian.TrainingDataSeed, hessian.HessianDataSeed, hessian.InitSeed));
    }

    [Fact]
    public void A_spec_with_an_unknown_key_or_a_value_out_of_range_is_exit_2_naming_file_line_and_key_and_nothing_is_written()
    {
        using var dir = new TempDirectory();
        string specs = CopySpecs(dir, Cheap);
        string paperFile = Path.Combine(specs, Cheap, "paper.yaml"), quickFile = Path.Combine(specs, Cheap, "quick.yaml");
        string paper = File.ReadAllText(paperFile), quick = File.ReadAllText(quickFile);
        string outDir = Path.Combine(dir.Path, "out");

        // An unknown key (a typo) in paper.yaml fails a quick run too: both scales are validated before anything runs.
        string typo = paper.Replace("points: 801", "points: 801\npionts: 5");
        Assert.NotEqual(paper, typo);
        File.WriteAllText(paperFile, typo);
        int line = LineOf(typo, "pionts");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--specs", specs, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"paper.yaml:{line}: key 'pionts': unknown key", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(outDir));
        File.WriteAllText(paperFile, paper);

        string negative = quick.Replace("points: 201", "points: 1");
        File.WriteAllText(quickFile, negative);
        line = LineOf(negative, "points: 1 ");
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--specs", specs, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains($"quick.yaml:{line}: key 'points': must be >= 3 (got 1)", stderr);
        Assert.False(Directory.Exists(outDir));

        // Bad overrides: an unknown key, a value out of range, a reproduction that is not selected.
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--out", outDir, "--set", $"{Cheap}.pionts=5");
        Assert.Equal(2, code);
        Assert.Contains($"key '{Cheap}.pionts': no such key", stderr);
        Assert.Contains("did you mean 'points'", stderr);
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--out", outDir, "--set", $"{Cheap}.points=2");
        Assert.Equal(2, code);
        Assert.Contains($"<command line>: key '{Cheap}.points': must be >= 3 (got 2)", stderr);
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--out", outDir, "--set", "li21-plateaus.runs=2");
        Assert.Equal(2, code);
        Assert.Contains("not selected", stderr);
        Assert.False(Directory.Exists(outDir));
    }

    /// <summary>The 1-based number of the first line of <paramref name="text"/> that starts with <paramref name="prefix"/> (0: none).</summary>
    private static int LineOf(string text, string prefix) => text.Split('\n').ToList().FindIndex(l => l.StartsWith(prefix, StringComparison.Ordinal)) + 1;

    [Theory]
    [InlineData("\"\"", "must be a non-empty text")]
    [InlineData("42", "(got 42)")]
    [InlineData("{why: x}", "(got a mapping)")]
    public void Evidence_of_a_claim_that_is_not_a_text_is_exit_2_naming_file_line_and_key(string value, string expected)
    {
        using var dir = new TempDirectory();
        string specs = CopySpecs(dir, Cheap);
        string commonFile = Path.Combine(specs, Cheap, "common.yaml"), outDir = Path.Combine(dir.Path, "out");
        string common = File.ReadAllText(commonFile);
        string bad = common.Replace("      test: {less_than: 2}\n", $"      test: {{less_than: 2}}\n      not_reproduced: {value}\n");
        Assert.NotEqual(common, bad);
        File.WriteAllText(commonFile, bad);
        int line = LineOf(bad, "      not_reproduced:");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--specs", specs, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"common.yaml:{line}: key 'reproduction.claims[2].not_reproduced': ", stderr);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void A_misspelt_evidence_key_is_unknown_with_a_suggestion()
    {
        using var dir = new TempDirectory();
        string specs = CopySpecs(dir, Cheap);
        string commonFile = Path.Combine(specs, Cheap, "common.yaml");
        File.WriteAllText(commonFile, File.ReadAllText(commonFile).Replace("      test: {less_than: 2}\n", "      test: {less_than: 2}\n      not_reproducd: why\n"));
        var e = Assert.Throws<SpecException>(() => ReproductionPlan.Create(Specs.Reproductions.Select([Cheap]), ReproductionScale.Quick, Specs.Kinds, specs));
        Assert.Contains("key 'reproduction.claims[2].not_reproducd': unknown key (did you mean 'not_reproduced'?)", e.Message);
    }

    [Fact]
    public void A_spec_naming_another_reproduction_or_scale_or_with_a_bad_claim_is_rejected_at_its_line()
    {
        using var dir = new TempDirectory();
        string specs = CopySpecs(dir, Cheap);
        string commonFile = Path.Combine(specs, Cheap, "common.yaml");
        string common = File.ReadAllText(commonFile);
        var selected = Specs.Reproductions.Select([Cheap]);
        SpecException Fails(string text)
        {
            File.WriteAllText(commonFile, text);
            return Assert.Throws<SpecException>(() => ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, specs));
        }
        var wrong = Fails(common.Replace($"  name: {Cheap}", "  name: other"));
        Assert.Contains("key 'reproduction.name': names 'other', but this is the spec of 'zucchet24-landscapes'", wrong.Message);
        var extra = Fails(common.Replace($"  name: {Cheap}", $"  name: {Cheap}\n  nmae: x"));
        Assert.Contains("common.yaml:", extra.Message);
        Assert.Contains("key 'reproduction.nmae': unknown key", extra.Message);
        var relation = Fails(common.Replace("test: {less_than: 2}", "test: {less_than: 2, greater_than: 1}"));
        Assert.Contains("must hold exactly one of less_than, greater_than, at_least, at_most, between, near (got less_than, greater_than)", relation.Message);
        var kind = Fails(common.Replace("kind: numerical-check", "kind: numeric"));
        Assert.Contains("must be one of paper, numerical-check", kind.Message);
        var twice = Fails(common.Replace("id: curvature-matches-closed-form", "id: exp-magnitude-curvature-bounded"));
        Assert.Contains("appears twice", twice.Message);
        File.WriteAllText(commonFile, common);
        File.WriteAllText(Path.Combine(specs, Cheap, "paper.yaml"), File.ReadAllText(Path.Combine(specs, Cheap, "paper.yaml")).Replace("scale: paper", "scale: quick"));
        var scale = Assert.Throws<SpecException>(() => ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, specs));
        Assert.Contains("key 'reproduction.scale': says quick, but this is paper.yaml", scale.Message);
    }

    [Fact]
    public void An_override_reaches_the_run_is_recorded_and_changed_settings_run_again_and_the_report_reads_the_runs_of_the_spec()
    {
        using var dir = new TempDirectory();
        var selected = Specs.Reproductions.Select([Cheap]);
        string[] overrides = [$"{Cheap}.points=11", $"{Cheap}.gaps=[0.04, 0.08, 0.5]"];
        var plans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, overrides);
        var first = Reproducer.Run(plans, dir.Path, Specs.Kinds, new SweepOptions());
        Assert.Equal((1, 0), (first[0].Ran, first[0].Failed));

        var store = new ResultsStore(Path.Combine(dir.Path, Cheap));
        var run = store.ReadRun(plans[0].Sweep.Runs[0].Id)!;
        var data = DataTable.Load(Path.Combine(run.Directory, "loss-lambda.csv"));
        Assert.Equal([0.04, 0.08, 0.5], data.Column("gap").Distinct());
        Assert.Equal(3 * 11, data.Rows.Count);
        Assert.Equal(11, run.Spec.GetInt("points"));
        var sweep = store.ReadSweepSpec()!;
        Assert.Equal(11, sweep.GetInt("points"));
        Assert.Equal("quick", sweep.Child("reproduction").GetString("scale"));

        // The same settings again: skipped. Other settings: run again, with the new data; the report reads only the new run.
        var again = Reproducer.Run(ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, overrides), dir.Path, Specs.Kinds, new SweepOptions());
        Assert.Equal((0, 1), (again[0].Ran, again[0].Skipped));
        var changedPlans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, [$"{Cheap}.points=13", $"{Cheap}.gaps=[0.04, 0.08, 0.5]"]);
        var changed = Reproducer.Run(changedPlans, dir.Path, Specs.Kinds, new SweepOptions());
        Assert.Equal(1, changed[0].Ran);
        Assert.Equal(2, store.ReadAll().Count);   // the old run stays, but is not the spec's any more
        var doc = Reproducer.WriteReport(Specs.Reproductions, Specs.Kinds, [dir.Path], dir.Path);
        var section = Assert.Single(doc.Sections);
        Assert.Contains("points = 13", section.Description);
        Assert.Equal(8, section.Claims.Count);
        Assert.Equal(13, DataTable.Load(Path.Combine(store.RunDirectory(changedPlans[0].Sweep.Runs[0].Id), "loss-lambda.csv")).Rows.Count / 3);
    }

    [Fact]
    public void A_failed_run_gives_its_section_with_the_reason_and_inconclusive_claims()
    {
        using var dir = new TempDirectory();
        var selected = Specs.Reproductions.Select(["zucchet24-gru-theory"]);
        var plans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds);
        string folder = Path.Combine(dir.Path, "zucchet24-gru-theory");
        var store = new ResultsStore(folder);
        store.WriteSweepSpec(plans[0].Sweep.Spec);
        using var pool = new WorkerPool(1);
        // Stand in for a run that threw: a failed summary in the run's folder.
        var failing = new ExperimentRegistry().Register(new Throwing("zucchet24-gru-theory"));
        store.Execute(plans[0].Sweep.Runs[0], failing, pool);
        var doc = Reproducer.WriteReport(Specs.Reproductions, Specs.Kinds, [dir.Path], dir.Path);
        var section = Assert.Single(doc.Sections);
        Assert.Contains("The run failed: InvalidOperationException: broken on purpose", section.Description);
        Assert.Equal(2, section.Claims.Count);   // each declared claim once, unmeasured
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Inconclusive, c.Status));
    }

    private sealed class Throwing(string name) : IExperimentKind
    {
        public string Name => name;
        public string Description => "throws";
        public IReadOnlyCollection<string> MetricNames => [];
        public void Validate(SpecNode spec) => spec.MarkAllUsed();
        public RunSummary Run(SpecNode spec, RunContext context) => throw new InvalidOperationException("broken on purpose");
    }
}
