using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

/// <summary>A small reproduce results folder, made once for the tests of this class: three single-run reproductions (one with a thinned
/// image) and the heads sweep at tiny settings (its report reads per-step curves), with its report written as memlab reproduce does.</summary>
public sealed class QuickResultsFixture : IDisposable
{
    public static readonly string[] Names = ["li21-plateau-scaling", "zucchet24-landscapes", "zucchet24-heads", "zucchet24-cross-kernel"];

    private readonly TempDirectory _dir = new();

    public QuickResultsFixture()
    {
        var selected = Specs.Reproductions.Select(Names);
        string[] tiny = ["zucchet24-heads.steps=30", "zucchet24-heads.batch=2", "zucchet24-heads.data.time=5"];
        Plans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, tiny);
        var outcomes = Reproducer.Run(Plans, Results, Specs.Kinds, new SweepOptions { Workers = 2 });
        Assert.All(outcomes, o => Assert.Equal(0, o.Failed));
        Reproducer.WriteReport(Specs.Reproductions, Specs.Kinds, [Results], Results);
    }

    public IReadOnlyList<ReproductionPlan> Plans { get; }

    /// <summary>The results folder (read-only for the tests: copy it to change it).</summary>
    public string Results => Path.Combine(_dir.Path, "results");

    /// <summary>The registered reproductions the fixture ran, in registry order.</summary>
    public static IReadOnlyList<IReproduction> Selected => Specs.Reproductions.All.Where(r => Names.Contains(r.Name)).ToArray();

    public void Dispose() => _dir.Dispose();
}

public class PublicationTests(QuickResultsFixture fixture) : IClassFixture<QuickResultsFixture>
{
    [Fact]
    public void Published_tables_render_the_claims_of_the_full_results_and_leave_per_step_files_out()
    {
        using var dir = new TempDirectory();
        string published = Path.Combine(dir.Path, "paper");
        var result = Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, fixture.Results, published, new PublishOptions { Commit = "abc1234", Machine = "test machine" });

        // The claims rendered from the published tables are those memlab reproduce wrote, to the byte (same date, same report code).
        string original = File.ReadAllText(Path.Combine(fixture.Results, "claims.json"));
        Assert.Equal(original, File.ReadAllText(Path.Combine(published, "claims.json")));
        Assert.Empty(result.Warnings);
        var claims = result.Report.AllClaims.ToList();
        Assert.Equal(QuickResultsFixture.Names.Order(), claims.Select(c => c.Experiment).Distinct().Order());
        Assert.Contains(claims, c => c.Status == ClaimStatus.Holds);

        // Rendered again (memlab report PUBLISHED --out …): the same claims.json, and the same figures as the publication wrote.
        string again = Path.Combine(dir.Path, "again");
        Publication.Render(Specs.Reproductions.All, Specs.Kinds, published, again);
        Assert.Equal(original, File.ReadAllText(Path.Combine(again, "claims.json")));
        foreach (string svg in Directory.EnumerateFiles(published, "*.svg"))
            Assert.Equal(File.ReadAllText(svg), File.ReadAllText(Path.Combine(again, Path.GetFileName(svg))));
        // Only figures drawn from thinned tables differ from those of the full results.
        Assert.Contains("cross-kernel.svg", result.ChangedFigures);
        Assert.Subset(new HashSet<string> { "cross-kernel.svg", "landscapes-plain.svg", "landscapes-normalised.svg" }, result.ChangedFigures.ToHashSet());

        // No run folders' bulky files; no report.html (memlab report writes it); a small folder.
        var files = Directory.EnumerateFiles(published, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(published, f).Replace('\\', '/')).ToArray();
        Assert.DoesNotContain(files, f => f.EndsWith("metrics.jsonl") || f.Contains("tfevents") || f.EndsWith(".safetensors") || f.EndsWith("summary.json") || f.EndsWith("spec.yaml"));
        Assert.DoesNotContain("report.html", files);
        Assert.True(result.Bytes < 5_000_000, $"{result.Bytes} bytes");

        // runs.csv: one row per planned run; table.csv for the sweep only.
        var heads = fixture.Plans.Single(p => p.Reproduction.Name == "zucchet24-heads");
        var rows = File.ReadAllLines(Path.Combine(published, "zucchet24-heads", Publication.RunsFileName));
        Assert.Equal(heads.Sweep.Runs.Count + 1, rows.Length);
        Assert.StartsWith("id,seed,status,model.heads,optimizer.lr,", rows[0]);
        Assert.Contains("metric.final_loss", rows[0]);
        Assert.True(File.Exists(Path.Combine(published, "zucchet24-heads", Publication.TableFileName)));
        Assert.False(File.Exists(Path.Combine(published, "zucchet24-landscapes", Publication.TableFileName)));

        // The heads report reads curves of the selected grid points' runs only: 6 numbers of heads × 2 seeds, step and the rate alone.
        var curves = files.Where(f => f.StartsWith("zucchet24-heads/") && f.EndsWith("/metrics.csv")).ToArray();
        Assert.Equal(6 * 2, curves.Length);
        Assert.Equal("step," + HeadsExperiment.RateMetric, File.ReadLines(Path.Combine(published, curves[0])).First());

        // The cross-kernel image is thinned: at most 41 points per side, an even grid with its ends.
        var image = DataTable.Load(Path.Combine(published, files.Single(f => f.EndsWith("/image.csv"))));
        var xs = image.Column("x").Distinct().Order().ToArray();
        Assert.InRange(xs.Length, 2, 41);
        Assert.Equal((-1.0, 1.0), (xs[0], xs[^1]));

        // The manifest: the commit, machine, commands and each reproduction's wall time from its runs.
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(published, Publication.ManifestFileName)));
        var root = manifest.RootElement;
        Assert.Equal(("abc1234", "test machine", "quick"), (root.GetProperty("commit").GetString(), root.GetProperty("machine").GetString(), root.GetProperty("scale").GetString()));
        Assert.True(root.GetProperty("commandsDerived").GetBoolean());
        Assert.Contains("memlab reproduce --scale quick --only zucchet24-heads", root.GetProperty("commands").EnumerateArray().Select(c => c.GetString()));
        foreach (var e in root.GetProperty("reproductions").EnumerateArray())
        {
            Assert.Equal("complete", e.GetProperty("status").GetString());
            Assert.True(e.GetProperty("elapsedSeconds").GetDouble() > 0 && e.GetProperty("computeSeconds").GetDouble() > 0);
            Assert.False(string.IsNullOrEmpty(e.GetProperty("startedUtc").GetString()));
        }
        Assert.Contains("| zucchet24-heads | quick | complete | 48 of 48 |", File.ReadAllText(Path.Combine(published, Publication.ManifestMarkdownFileName)));
    }

    [Fact]
    public void Published_folders_in_the_repository_render_their_own_claims()
    {
        // Every folder published under docs/results/ must give its own claims.json when rendered from its tables with today's report code:
        // a change to a report step that moves a published claim fails here until the folder is published again.
        string? repo = FindRepository();
        var folders = repo is null ? [] : Directory.Exists(Path.Combine(repo, "docs", "results"))
            ? Directory.EnumerateDirectories(Path.Combine(repo, "docs", "results")).Where(Publication.IsPublished).ToArray() : [];
        using var dir = new TempDirectory();
        if (folders.Length == 0)
        {
            // None published yet: the same check on a folder published from the quick results.
            string published = Path.Combine(dir.Path, "published");
            Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, fixture.Results, published, new PublishOptions());
            folders = [published];
        }
        foreach (string folder in folders)
        {
            string rendered = Path.Combine(dir.Path, "rendered-" + Path.GetFileName(folder));
            var doc = Publication.Render(Specs.Reproductions.All, Specs.Kinds, folder, rendered);
            Assert.NotEmpty(doc.AllClaims);
            Assert.Equal(File.ReadAllText(Path.Combine(folder, "claims.json")), File.ReadAllText(Path.Combine(rendered, "claims.json")));
            Assert.Equal(File.ReadAllText(Path.Combine(folder, "claims.md")), File.ReadAllText(Path.Combine(rendered, "claims.md")));
        }
    }

    [Fact]
    public void Evidence_that_a_claim_does_not_reproduce_is_published_and_rendered_again_to_the_byte()
    {
        // The evidence lives in the claims of the sweep.yaml the runs were made with (the reproduction's section belongs to no run).
        using var dir = new TempDirectory();
        string results = Path.Combine(dir.Path, "results");
        CopyFolder(fixture.Results, results);
        string sweep = Path.Combine(results, "zucchet24-landscapes", ResultsStore.SweepSpecFileName);
        string text = File.ReadAllText(sweep);
        const string failing = "the curvature could not be matched: \"measured\" 1.0 everywhere", held = "expected to stay above 10⁻³";
        string edited = text
            .Replace("    - id: exp-magnitude-curvature-bounded\n", $"    - id: exp-magnitude-curvature-bounded\n      not_reproduced: {SpecYamlWriter.FormatString(failing)}\n")
            .Replace("      test:\n        less_than: 2\n", "      test:\n        greater_than: 2\n")   // made to fail
            .Replace("    - id: opt-magnitude-curvature-is-one\n", $"    - id: opt-magnitude-curvature-is-one\n      not_reproduced: {SpecYamlWriter.FormatString(held)}\n");
        Assert.Equal(2, edited.Split("      not_reproduced: ").Length - 1);
        Assert.Contains("        greater_than: 2\n", edited);
        File.WriteAllText(sweep, edited);
        var doc = Reproducer.WriteReport(Specs.Reproductions, Specs.Kinds, [results], results);
        var claims = doc.AllClaims.Where(c => c.NotReproduced is not null).ToList();
        Assert.Equal([("exp-magnitude-curvature-bounded", ClaimStatus.Fails, failing), ("opt-magnitude-curvature-is-one", ClaimStatus.Holds, held)],
            claims.Select(c => (c.Id!, c.Status, c.NotReproduced!)));

        string published = Path.Combine(dir.Path, "published");
        var result = Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, results, published, new PublishOptions());
        Assert.Empty(result.Warnings);
        string json = File.ReadAllText(Path.Combine(results, "claims.json"));
        Assert.Equal(json, File.ReadAllText(Path.Combine(published, "claims.json")));
        Assert.Contains("\"notReproduced\": \"expected to stay above 10⁻³\"", json);
        string again = Path.Combine(dir.Path, "again");
        Publication.Render(Specs.Reproductions.All, Specs.Kinds, published, again);
        Assert.Equal(json, File.ReadAllText(Path.Combine(again, "claims.json")));
        string md = File.ReadAllText(Path.Combine(again, "claims.md"));
        Assert.Equal(File.ReadAllText(Path.Combine(published, "claims.md")), md);
        Assert.Contains($"(✓ holds). Expected not to reproduce, but held in this run: {held}", md);
        Assert.Contains($"(✗ fails). Not reproduced: {failing}", md);
        Assert.Contains("Expected not to reproduce, but held in this run:</strong> expected to stay above 10⁻³", File.ReadAllText(Path.Combine(again, "report.html")));
    }

    [Fact]
    public void A_reproduction_with_missing_runs_is_published_as_partial_and_one_absent_as_not_run()
    {
        using var dir = new TempDirectory();
        string results = Path.Combine(dir.Path, "results");
        CopyFolder(fixture.Results, results);
        var heads = fixture.Plans.Single(p => p.Reproduction.Name == "zucchet24-heads");
        string missing = heads.Sweep.Runs[5].Id;
        Directory.Delete(Path.Combine(results, "zucchet24-heads", missing), recursive: true);
        Directory.Delete(Path.Combine(results, "li21-plateau-scaling"), recursive: true);
        string published = Path.Combine(dir.Path, "published");
        var result = Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, results, published, new PublishOptions());

        var byName = result.Reproductions.ToDictionary(r => r.Name);
        Assert.Equal(("partial", 47, 48), (byName["zucchet24-heads"].Status, byName["zucchet24-heads"].Finished, byName["zucchet24-heads"].Runs));
        Assert.Equal(Publication.NotRun, byName["li21-plateau-scaling"].Status);
        Assert.False(Directory.Exists(Path.Combine(published, "li21-plateau-scaling")));
        Assert.Contains(File.ReadLines(Path.Combine(published, "zucchet24-heads", Publication.RunsFileName)), l => l.StartsWith($"{missing},") && l.Contains($",{Publication.NotRun},"));
        string md = File.ReadAllText(Path.Combine(published, Publication.ManifestMarkdownFileName));
        Assert.Contains("| zucchet24-heads | quick | **partial: no claims** | 47 of 48 |", md);
        Assert.Contains("| li21-plateau-scaling |  | **not run** |", md);
        // Their claims are absent from claims.json (the report lists them as not finished / not run); the others' are there.
        var experiments = result.Report.AllClaims.Select(c => c.Experiment).Distinct().Order().ToArray();
        Assert.Equal(["zucchet24-cross-kernel", "zucchet24-landscapes"], experiments);
        Assert.Contains("zucchet24-heads (47 of 48 runs finished)", result.Report.Introduction);
        Assert.Contains("li21-plateau-scaling", result.Report.Introduction);
        // Rendered again, the same.
        var again = Publication.Render(Specs.Reproductions.All, Specs.Kinds, published, Path.Combine(dir.Path, "again"));
        Assert.Equal(File.ReadAllText(Path.Combine(published, "claims.json")), File.ReadAllText(Path.Combine(dir.Path, "again", "claims.json")));
        Assert.Equal(result.Report.Introduction, again.Introduction);
    }

    [Fact]
    public void Bad_input_names_the_path_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        string target = Path.Combine(dir.Path, "out", "paper");
        // Not a results folder.
        string empty = Directory.CreateDirectory(Path.Combine(dir.Path, "empty")).FullName;
        var e = Assert.Throws<InvalidDataException>(() => Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, empty, target, new PublishOptions()));
        Assert.StartsWith(empty + ":", e.Message);
        Assert.False(Directory.Exists(target));

        // Too large: refused, nothing left behind (no staging folder beside the target).
        Assert.Throws<PublishException>(() => Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, fixture.Results, target, new PublishOptions { MaxBytes = 1000 }));
        Assert.False(Directory.Exists(target));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(dir.Path, "out")));

        // A published folder missing a table: rendering names the file.
        Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, fixture.Results, target, new PublishOptions());
        string runs = Path.Combine(target, "zucchet24-heads", Publication.RunsFileName);
        File.Delete(runs);
        var missing = Assert.Throws<InvalidDataException>(() => Publication.Render(Specs.Reproductions.All, Specs.Kinds, target, Path.Combine(dir.Path, "r")));
        Assert.StartsWith(runs + ":", missing.Message);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "r")));
        // A folder that is not published.
        var notPublished = Assert.Throws<InvalidDataException>(() => Publication.Render(Specs.Reproductions.All, Specs.Kinds, empty, Path.Combine(dir.Path, "r")));
        Assert.StartsWith(Path.Combine(empty, Publication.ManifestFileName) + ":", notPublished.Message);
    }

    [Fact]
    public void Publishing_again_replaces_the_tables_and_keeps_a_readme_written_beside_them()
    {
        using var dir = new TempDirectory();
        string target = Path.Combine(dir.Path, "paper");
        Publication.Publish(QuickResultsFixture.Selected, Specs.Kinds, fixture.Results, target, new PublishOptions());
        File.WriteAllText(Path.Combine(target, "README.md"), "paper vs MemoryLab");
        string stale = Path.Combine(target, "zucchet24-heads", "stale.csv");
        File.WriteAllText(stale, "x");
        var only = QuickResultsFixture.Selected.Where(r => r.Name == "zucchet24-landscapes").ToArray();
        Publication.Publish(only, Specs.Kinds, fixture.Results, target, new PublishOptions());
        Assert.Equal("paper vs MemoryLab", File.ReadAllText(Path.Combine(target, "README.md")));
        Assert.False(Directory.Exists(Path.Combine(target, "zucchet24-heads")));
        Assert.True(File.Exists(Path.Combine(target, "zucchet24-landscapes", Publication.RunsFileName)));
        Assert.Equal(["paper"], Directory.EnumerateDirectories(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Thinning_keeps_an_even_grid_with_its_ends_and_every_curve_end()
    {
        var grid = new DataTable("g", "x", "y", "v");
        for (int g = 0; g < 2; g++)
            for (int i = 0; i < 301; i++)
                for (int j = 0; j < 301; j++)
                    grid.Add(g, -1 + 2.0 * j / 300, -1 + 2.0 * i / 300, i * 1000 + j);
        var thin = new Thinning("image.csv", ["g"], ["x", "y"], 41).Apply(grid);
        var xs = thin.Where("g", 0).Column("x").Distinct().Order().ToArray();
        // 300 = 10 × 30: every 10th point, 31 per side, evenly spaced, both ends kept; a full grid in each group.
        Assert.Equal(31, xs.Length);
        Assert.Equal((-1.0, 1.0), (xs[0], xs[^1]));
        Assert.All(xs.Zip(xs.Skip(1)), p => Assert.Equal(2.0 / 30, p.Second - p.First, 12));
        Assert.Equal(2 * 31 * 31, thin.Rows.Count);
        Assert.Equal(10, new Thinning("f", [], ["x"], 41).Stride(301));
        Assert.Equal(1, new Thinning("f", [], ["x"], 41).Stride(41));

        // A curve of 998 steps whose last step is 997, a prime (no stride of 3 or 4 divides it): every 3rd, and the last.
        var curve = new DataTable("step", "loss");
        for (int s = 0; s < 998; s++) curve.Add(s, 1.0 / (s + 1));
        var kept = new Thinning("c.csv", [], ["step"], 400).Apply(curve).Column("step");
        Assert.Equal(333 + 1, kept.Length);
        Assert.Equal((0.0, 3.0, 996.0, 997.0), (kept[0], kept[1], kept[^2], kept[^1]));
    }

    [Fact]
    public void The_cli_publishes_renders_again_and_exits_2_on_a_folder_that_is_no_results()
    {
        using var dir = new TempDirectory();
        string published = Path.Combine(dir.Path, "paper");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, ["publish", fixture.Results, "--out", published, "--only", .. QuickResultsFixture.Names, "--commit", "abc1234",
            "--command", "memlab reproduce --scale quick --only li21-plateau-scaling"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("published name=zucchet24-heads status=complete scale=quick runs=48/48", stdout);
        Assert.Equal(["memlab reproduce --scale quick --only li21-plateau-scaling"],
            JsonDocument.Parse(File.ReadAllText(Path.Combine(published, Publication.ManifestFileName))).RootElement.GetProperty("commands").EnumerateArray().Select(c => c.GetString()));
        string claims = File.ReadAllText(Path.Combine(published, "claims.json"));
        File.Delete(Path.Combine(published, "claims.json"));
        (code, _, stderr) = Memlab.Run(dir.Path, "report", published);
        Assert.True(code == 0, stderr);
        Assert.Equal(claims, File.ReadAllText(Path.Combine(published, "claims.json")));
        Assert.True(File.Exists(Path.Combine(published, "report.html")));

        string empty = Directory.CreateDirectory(Path.Combine(dir.Path, "empty")).FullName;
        (code, _, stderr) = Memlab.Run(dir.Path, "publish", empty, "--out", Path.Combine(dir.Path, "x"));
        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(empty, stderr);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "x")));

        // Results whose spec lacks a claim the report step checks (made before the claim was added): exit 2, one line naming that
        // sweep.yaml and the claim, and the published folder as it was (not republished with every claim of the section inconclusive).
        string stale = Path.Combine(dir.Path, "stale");
        string landscapes = Path.Combine(stale, "zucchet24-landscapes");
        TempDirectory.CopyTree(Path.Combine(fixture.Results, "zucchet24-landscapes"), landscapes);
        string sweep = Path.Combine(landscapes, "sweep.yaml");
        File.WriteAllText(sweep, File.ReadAllText(sweep).Replace("- id: plain-curvature-grows-cubically", "- id: plain-curvature-renamed"));
        string before = File.ReadAllText(Path.Combine(published, "claims.json"));
        (code, _, stderr) = Memlab.Run(dir.Path, "publish", stale, "--out", published, "--only", "zucchet24-landscapes", "--commit", "abc1234");
        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith(sweep + ": reproduction.claims: ", stderr.Trim());
        Assert.Contains("claim 'plain-curvature-grows-cubically' is not declared", stderr);
        Assert.Equal(before, File.ReadAllText(Path.Combine(published, "claims.json")));
        Assert.True(Directory.Exists(Path.Combine(published, "zucchet24-heads")));
    }

    private static string? FindRepository()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MemoryLab.slnx"))) return d.FullName;
        return null;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (string d in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }
}
