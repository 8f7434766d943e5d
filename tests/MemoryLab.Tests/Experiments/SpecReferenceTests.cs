using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Reproductions;

namespace MemoryLab.Tests.Experiments;

/// <summary>The spec reference (<c>memlab kinds</c>, docs/spec-reference.md) is recorded from the binders that validate specs:
/// what it says is what validation does.</summary>
public class SpecReferenceTests
{
    private static IReadOnlyList<KindReference> All()
    {
        var registry = ExperimentRegistry.CreateDefault();
        ReproductionRegistry.CreateDefault(registry);
        return SpecReference.All(registry, ModelFactory.CreateDefault());
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MemoryLab.slnx"))) return d.FullName;
        throw new InvalidOperationException("no MemoryLab.slnx above the test assembly");
    }

    [Fact]
    public void Docs_spec_reference_is_the_generated_reference()
    {
        string path = Path.Combine(RepositoryRoot(), "docs", "spec-reference.md");
        string expected = SpecReference.Markdown(All());
        Assert.True(File.Exists(path) && File.ReadAllText(path) == expected,
            "docs/spec-reference.md differs from the binders: regenerate it with `memlab kinds --markdown > docs/spec-reference.md` (scripts/regenerate-spec-reference.sh)");
    }

    [Fact]
    public void Every_kind_and_key_has_a_meaning_and_the_families_are_complete()
    {
        var all = All();
        foreach (var k in all)
        {
            Assert.False(string.IsNullOrWhiteSpace(k.Description), $"{k.Family} {k.Name} has no description");
            foreach (var key in k.Keys) Assert.True(key.Doc.Length > 0, $"{k.Family} {k.Name}: key {key.Path} has no meaning");
        }
        Assert.Equal(DataSpec.Kinds.Names, all.Where(k => k.Family == "data").Select(k => k.Name));
        Assert.Equal(OptimizerSpec.Kinds.Names, all.Where(k => k.Family == "optimizer").Select(k => k.Name));
        Assert.Equal(ModelFactory.CreateDefault().Kinds, all.Where(k => k.Family == "model").Select(k => k.Name));
    }

    [Fact]
    public void Every_key_of_every_reproduction_spec_is_listed_under_its_kind()
    {
        // A binder that stops at a placeholder value while it is described would leave the keys after it out of the reference.
        var kinds = ExperimentRegistry.CreateDefault();
        var reproductions = ReproductionRegistry.CreateDefault(kinds);
        var all = SpecReference.All(kinds, ModelFactory.CreateDefault());
        foreach (var scale in new[] { ReproductionScale.Quick, ReproductionScale.Paper })
            foreach (var plan in ReproductionPlan.Create(reproductions.All, scale, kinds))
                foreach (var run in plan.Sweep.Runs.Take(1))
                {
                    var listed = all.Single(k => k.Family == "experiment" && k.Name == run.Kind).Keys.Select(k => k.Path).ToHashSet();
                    foreach (string key in run.Spec.Keys.Where(k => k is not ("kind" or "seed")))
                        Assert.True(listed.Contains(key), $"{plan.Section.Name} ({scale}): key '{key}' of kind {run.Kind} is not in the spec reference");
                }
    }

    [Fact]
    public void Recorded_defaults_are_the_defaults_binding_applies()
    {
        var train = All().Single(k => k.Name == "train");
        string Default(string path) => train.Keys.Single(k => k.Path == path).DefaultText;
        var config = new TrainExperiment().Bind(SpecParser.ParseText("model: {kind: lru, hidden: 4}\n", "t.yaml"));
        Assert.Equal(config.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture), Default("steps"));
        Assert.Equal(config.Batch.ToString(System.Globalization.CultureInfo.InvariantCulture), Default("batch"));
        Assert.Equal(config.CheckpointEvery.ToString(System.Globalization.CultureInfo.InvariantCulture), Default("checkpoint_every"));
        Assert.Equal("required", Default("model"));
        Assert.Equal("adam | adamw | sgd", train.Keys.Single(k => k.Path == "optimizer.kind").Range);
        Assert.DoesNotContain(train.Keys, k => k.Path == "optimizer.beta1"); // listed under the optimizer family instead

        var adamw = All().Single(k => k.Family == "optimizer" && k.Name == "adamw");
        var bound = (AdamSpec)OptimizerSpec.Kinds.Bind(SpecParser.ParseText("kind: adamw\n", "o.yaml"));
        Assert.Equal(bound.WeightDecay.ToString("R", System.Globalization.CultureInfo.InvariantCulture), adamw.Keys.Single(k => k.Path == "weight_decay").Default);
        Assert.Equal("[0, 1)", adamw.Keys.Single(k => k.Path == "beta1").Range);
    }

    [Fact]
    public void Every_listed_model_option_and_name_is_accepted_by_its_builder()
    {
        var factory = ModelFactory.CreateDefault();
        foreach (var kind in All().Where(k => k.Family == "model"))
        {
            var children = kind.Name is "stack" or "residual_block" or "deep_stack" ? new[] { new ModelDescription("gelu") } : null;
            var required = kind.Keys.Where(k => k.Default is null).ToDictionary(k => k.Path, _ => "3");
            foreach (var key in kind.Keys)
            {
                var values = key.Type == "name" ? key.Range.Split(" | ") : key.Default is { Length: > 0 } d && d != "input width" ? [d.Replace("2π", "6.283185307179586").Replace("π", "3.141592653589793")] : [];
                foreach (var value in values)
                {
                    var options = new Dictionary<string, string>(required) { [key.Path] = value };
                    var e = Record.Exception(() => factory.Build<double>(new ModelDescription(kind.Name, options, children), 3));
                    Assert.True(e is null, $"{kind.Name} {key.Path}={value}: {e?.Message}");
                }
            }
        }
    }

    [Fact]
    public void Include_of_a_mapping_with_another_kind_is_replaced_not_merged()
    {
        using var dir = new TempDirectory();
        dir.File("base.yaml", "kind: train\nmodel: {kind: lru, hidden: 8, r_min: 0.5}\noptimizer: {kind: adam, lr: 0.01}\n");
        string spec = dir.File("deep.yaml", "include: base.yaml\nmodel: {kind: deep_stack, d_model: 4, layer: {kind: lru}}\noptimizer: {beta1: 0.8}\n");
        var node = SpecParser.ParseFile(spec);
        var model = node.Peek("model")!;
        Assert.Equal(["kind", "d_model", "layer"], model.Keys);
        Assert.Equal(["kind", "lr", "beta1"], node.Peek("optimizer")!.Keys); // same kind (none given): merged key by key
    }

    [Fact]
    public void Memlab_kinds_prints_a_kind_and_rejects_an_unknown_name_with_the_list()
    {
        using var dir = new TempDirectory();
        var (code, stdout, _) = Memlab.Run(dir.Path, "kinds", "adam");
        Assert.Equal(0, code);
        Assert.Contains("optimizer adam:", stdout);
        Assert.Contains("beta2", stdout);
        var bad = Memlab.Run(dir.Path, "kinds", "adamm");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("adamw", bad.Stderr);
        Assert.DoesNotContain('\n', bad.Stderr.TrimEnd('\n'));
        var md = Memlab.Run(dir.Path, "kinds", "--markdown");
        Assert.Equal(SpecReference.Markdown(All()), md.Stdout);
    }
}
