using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

/// <summary>The reproductions' settings live in experiments/reproduce/NAME.yaml: every experiment has one, both scales bind
/// strictly, bad specs and overrides are rejected before anything is written, and overrides reach the run.</summary>
public class ReproductionSpecTests
{
    private const string Cheap = "zucchet24-landscapes";

    private static string SpecsFolder => Path.Combine(TeacherStudentTests.RepoRoot(), "experiments", "reproduce");

    [Fact]
    public void Every_registered_experiment_has_an_embedded_spec_whose_quick_and_paper_sections_bind_strictly()
    {
        var registry = PaperExperimentRegistry.CreateDefault();
        Assert.Equal(13, registry.All.Count);
        foreach (var e in registry.All)
        {
            var spec = ReproductionSpec.Load(e);
            Assert.Equal($"embedded:{e.Name}.yaml", spec.Source);
            Assert.True(spec.Quick.Count > 0 && spec.Paper.Count > 0, e.Name);
            e.Validate(spec.Quick);   // throws a SpecException on a missing, unknown or out-of-range key
            e.Validate(spec.Paper);
        }
        // Both scales of every experiment are planned (and validated) from the embedded copies and from the repository folder alike.
        foreach (var scale in new[] { ReproductionScale.Quick, ReproductionScale.Paper })
        {
            var embedded = ReproductionJob.Plan(registry.All, scale);
            var files = ReproductionJob.Plan(registry.All, scale, SpecsFolder);
            Assert.Equal(embedded.Select(j => j.SettingsJson), files.Select(j => j.SettingsJson));
            Assert.All(files, j => Assert.EndsWith(j.Experiment.Name + ".yaml", j.Source));
        }
        // No stray spec files: each one names a registered experiment.
        var names = Directory.GetFiles(SpecsFolder, "*.yaml").Select(Path.GetFileNameWithoutExtension).Order().ToArray();
        Assert.Equal(registry.All.Select(e => e.Name).Order(), names);
    }

    [Fact]
    public void The_quick_and_paper_scales_differ_where_the_papers_ask_for_more()
    {
        var plateaus = new PlateausExperiment();
        var quick = Specs.Settings(plateaus);
        var paper = Specs.Settings(plateaus, ReproductionScale.Paper);
        Assert.Equal(10, paper.Runs);            // Li21 Fig. 1: 10 initialisations
        Assert.True(quick.Runs < paper.Runs);
        Assert.Equal(0.10, quick.Detector.MaxDecreasePerDecade);
        var ts = Specs.Settings(new TeacherStudentExperiment(), ReproductionScale.Paper);
        Assert.Equal([0.36, 0.68, 0.84, 0.92, 0.96, 0.98, 0.99], ts.Nu0s);
        Assert.Equal(["rnn", "crnn", "lru"], ts.Students.Select(s => s.Name));
    }

    [Fact]
    public void A_spec_with_an_unknown_key_or_a_value_out_of_range_is_exit_2_naming_file_line_and_key_and_nothing_is_written()
    {
        using var dir = new TempDirectory();
        string specs = Path.Combine(dir.Path, "specs");
        Directory.CreateDirectory(specs);
        string original = File.ReadAllText(Path.Combine(SpecsFolder, Cheap + ".yaml"));
        string outDir = Path.Combine(dir.Path, "out");

        // An unknown key (a typo) in the paper section fails a quick run too: both scales are validated before anything runs.
        string typo = original.Replace("  points: 801", "  points: 801\n  pionts: 5");
        Assert.NotEqual(original, typo);
        File.WriteAllText(Path.Combine(specs, Cheap + ".yaml"), typo);
        int line = typo.Split('\n').ToList().FindIndex(l => l.Contains("pionts")) + 1;
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--specs", specs, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"{Cheap}.yaml:{line}: key 'paper.pionts': unknown key", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(outDir));

        string negative = original.Replace("  points: 201", "  points: 1");
        File.WriteAllText(Path.Combine(specs, Cheap + ".yaml"), negative);
        line = negative.Split('\n').ToList().FindIndex(l => l.StartsWith("  points: 1 ", StringComparison.Ordinal)) + 1;
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--specs", specs, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains($"{Cheap}.yaml:{line}: key 'quick.points': must be >= 3 (got 1)", stderr);
        Assert.False(Directory.Exists(outDir));

        // Bad overrides: an unknown key, a value out of range, an experiment that is not selected.
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--out", outDir, "--set", $"{Cheap}.pionts=5");
        Assert.Equal(2, code);
        Assert.Contains($"key '{Cheap}.pionts': no such key", stderr);
        Assert.Contains("did you mean 'points'", stderr);
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--out", outDir, "--set", $"{Cheap}.points=2");
        Assert.Equal(2, code);
        Assert.Contains("key 'quick.points': must be >= 3 (got 2)", stderr);
        (code, _, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Cheap, "--out", outDir, "--set", "li21-plateaus.runs=2");
        Assert.Equal(2, code);
        Assert.Contains("not selected", stderr);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void A_spec_naming_another_experiment_or_lacking_a_scale_is_rejected()
    {
        var e = new LandscapesExperiment();
        var wrong = Assert.Throws<SpecException>(() => ReproductionSpec.Parse(e, "experiment: other\nquick: {points: 5}\npaper: {points: 5}\n", "x.yaml"));
        Assert.Equal("x.yaml:1: key 'experiment': names 'other', but this is the spec of 'zucchet24-landscapes'", wrong.Message);
        var missing = Assert.Throws<SpecException>(() => ReproductionSpec.Parse(e, "experiment: zucchet24-landscapes\nquick: {points: 5}\n", "x.yaml"));
        Assert.Contains("'paper'", missing.Message);
        var extra = Assert.Throws<SpecException>(() => ReproductionSpec.Parse(e, "experiment: zucchet24-landscapes\nquick: {}\npaper: {}\nquik: {}\n", "x.yaml"));
        Assert.Contains("x.yaml:4: key 'quik'", extra.Message);
    }

    [Fact]
    public void An_override_reaches_the_run_is_recorded_and_changed_settings_are_not_skipped()
    {
        using var dir = new TempDirectory();
        using var pool = new WorkerPool(1);
        var registry = PaperExperimentRegistry.CreateDefault();
        var selected = registry.Select([Cheap]);
        string[] overrides = [$"{Cheap}.points=11", $"{Cheap}.gaps=[0.1, 0.5]"];
        var jobs = ReproductionJob.Plan(selected, ReproductionScale.Quick, null, overrides);
        var first = Reproducer.Run(jobs, dir.Path, pool);
        Assert.False(first[0].Skipped || first[0].Failed, first[0].Error);

        string folder = Path.Combine(dir.Path, Cheap);
        var data = DataTable.Load(Path.Combine(folder, "loss-lambda.csv"));
        Assert.Equal([0.1, 0.5], data.Column("gap").Distinct());
        Assert.Equal(2 * 11, data.Rows.Count);
        var used = SpecParser.ParseFile(Path.Combine(folder, Reproducer.SpecFileName));
        Assert.Equal(Cheap, used.GetString("experiment"));
        Assert.Equal("quick", used.GetString("scale"));
        Assert.Equal(11, used.Child("settings").GetInt("points"));
        using (var done = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, Reproducer.DoneFileName))))
        {
            Assert.Equal(11, done.RootElement.GetProperty("settings").GetProperty("points").GetInt32());
            Assert.Equal(2, done.RootElement.GetProperty("overrides").GetArrayLength());
        }

        // The same settings again: skipped. Other settings: run again, with the new data.
        Assert.True(Reproducer.Run(ReproductionJob.Plan(selected, ReproductionScale.Quick, null, overrides), dir.Path, pool)[0].Skipped);
        var changed = Reproducer.Run(ReproductionJob.Plan(selected, ReproductionScale.Quick, null, [$"{Cheap}.points=13", $"{Cheap}.gaps=[0.1, 0.5]"]), dir.Path, pool);
        Assert.False(changed[0].Skipped || changed[0].Failed, changed[0].Error);
        Assert.Equal(2 * 13, DataTable.Load(Path.Combine(folder, "loss-lambda.csv")).Rows.Count);
        // The report reads the settings that were used from the folder.
        Assert.Equal(13, new LandscapesExperiment().SettingsUsed(folder).Points);
    }
}
