using MemoryLab.Experiments;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;

namespace MemoryLab.Tests.Reproductions;

/// <summary><c>memlab reproduce --list</c> and <c>--only a,b</c>.</summary>
public class ReproduceListTests
{
    [Fact]
    public void Only_accepts_commas_and_separate_words_alike()
    {
        var registry = ReproductionRegistry.CreateDefault(ExperimentRegistry.CreateDefault());
        var spaced = registry.Select(["li21-plateaus", "memory-function"]).Select(r => r.Name);
        var commas = registry.Select(["li21-plateaus,memory-function"]).Select(r => r.Name);
        Assert.Equal(["li21-plateaus", "memory-function"], spaced);
        Assert.Equal(spaced, commas);
        Assert.Throws<ArgumentException>(() => registry.Select(["li21-plateaus,nosuch"]));
    }

    [Fact]
    public void List_prints_one_line_per_reproduction_with_paper_figure_runs_and_run_time_from_its_specs()
    {
        using var dir = new TempDirectory();
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "reproduce", "--list");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var kinds = ExperimentRegistry.CreateDefault();
        var registry = ReproductionRegistry.CreateDefault(kinds);
        Assert.Equal(registry.All.Count, lines.Length);
        var ts = lines.Single(l => l.StartsWith("zucchet24-teacher-student ", StringComparison.Ordinal));
        Assert.Contains("Zucchet & Orvieto (NeurIPS 2024) Fig. 3 left", ts);
        var plan = ReproductionPlan.Create([registry.Find("zucchet24-teacher-student")!], ReproductionScale.Paper, ExperimentRegistry.CreateDefault())[0];
        Assert.Contains($"paper: {plan.Sweep.Runs.Count} runs", ts);
        Assert.False(Directory.EnumerateFileSystemEntries(dir.Path).Any(), "--list writes nothing");
        // Every reproduction's specs name its paper and figure, so the list never falls back to a title.
        foreach (var scale in new[] { ReproductionScale.Quick, ReproductionScale.Paper })
            foreach (var p in ReproductionPlan.Create(registry.All, scale, kinds))
                Assert.True(p.Section.Paper.Length > 0 && p.Section.Figure.Length > 0, $"{p.Section.Name} ({scale}): reproduction: needs paper: and figure:");

        var two = Memlab.Run(dir.Path, "reproduce", "--list", "--only", "li21-plateaus,memory-function");
        Assert.Equal(2, two.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
