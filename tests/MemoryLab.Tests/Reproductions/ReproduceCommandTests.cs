using System.Text.Json;
using MemoryLab.Reporting;
using MemoryLab.Tests.Experiments;
using MemoryLab.Tests.Reporting;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Reproductions;

/// <summary>`memlab reproduce` and `memlab report` as a user runs them, and the generated report in a real browser.</summary>
public class ReproduceCommandTests(ITestOutputHelper output)
{
    private const string Name = "zucchet24-signal-propagation";

    [Fact]
    public void Unknown_experiment_names_are_bad_input()
    {
        using var dir = new TempDirectory();
        string outDir = Path.Combine(dir.Path, "r");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", "li99-nothing", "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("unknown reproduction 'li99-nothing'", stderr);
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(outDir));
        Assert.Equal(2, Memlab.Run(dir.Path, "report", Path.Combine(dir.Path, "none")).ExitCode);
    }

    [Fact]
    public void A_reproductions_spec_runs_as_a_sweep_into_a_folder_named_after_it_and_memlab_report_builds_its_section()
    {
        using var dir = new TempDirectory();
        string spec = Path.Combine(TeacherStudentTests.RepoRoot(), "experiments", "reproduce", "zucchet24-landscapes", "quick.yaml");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "sweep", spec, "points=11", "--shard", "0/1");
        Assert.True(code == 0, stderr);
        Assert.Contains("sweep name=zucchet24-landscapes", stdout);
        Assert.True(File.Exists(Path.Combine(dir.Path, "results", "zucchet24-landscapes", "sweep.yaml")));
        (code, stdout, stderr) = Memlab.Run(dir.Path, "report", "results");
        Assert.True(code == 0, stderr);
        Assert.Equal(8, stdout.Split('\n').Count(l => l.StartsWith("claim ", StringComparison.Ordinal)));
        Assert.Contains("id=curvature-matches-closed-form", stdout);
        Assert.True(File.Exists(Path.Combine(dir.Path, "results", "claims.json")));

        // A spec whose reproduction: section names no registered reproduction is bad input.
        string other = dir.File("other.yaml", File.ReadAllText(spec)
            .Replace("include: common.yaml", $"include: {Path.Combine(Path.GetDirectoryName(spec)!, "common.yaml")}")
            .Replace("reproduction: {scale: quick,", "reproduction: {scale: quick, name: nobody,"));
        Assert.Contains("name: nobody", File.ReadAllText(other));
        (code, _, stderr) = Memlab.Run(dir.Path, "sweep", other, "--out", Path.Combine(dir.Path, "x"));
        Assert.Equal(2, code);
        Assert.Contains("unknown reproduction 'nobody'", stderr);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "x")));
    }

    [ChromiumFact]
    public async Task Reproduce_writes_a_report_whose_claims_and_figures_render_in_chromium()
    {
        using var dir = new TempDirectory();
        string outDir = Path.Combine(dir.Path, "results");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "reproduce", "--only", Name, "--out", outDir);
        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        Assert.Contains($"finished name={Name}", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, Name, "sweep.yaml")));
        var run = Assert.Single(Directory.GetDirectories(Path.Combine(outDir, Name)));
        Assert.True(File.Exists(Path.Combine(run, "summary.json")) && File.Exists(Path.Combine(run, "signal.csv")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(outDir, Name), ".tmp-*"));

        using var claims = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "claims.json")));
        var experiments = claims.RootElement.GetProperty("claims").EnumerateArray().Select(c => c.GetProperty("experiment").GetString()).Distinct().ToArray();
        Assert.Equal(new[] { Name }, experiments.Select(e => e ?? ""));
        Assert.Equal(3, claims.RootElement.GetProperty("claims").GetArrayLength());
        // Each printed claim line names a status.
        Assert.Equal(3, stdout.Split('\n').Count(l => l.StartsWith("claim holds", StringComparison.Ordinal) || l.StartsWith("claim fails", StringComparison.Ordinal)));

        // Each claim says whether it is a paper's claim or a numerical check, and where it comes from.
        foreach (var c in claims.RootElement.GetProperty("claims").EnumerateArray())
        {
            Assert.Contains(c.GetProperty("kind").GetString(), new[] { "paper", "numerical-check" });
            Assert.False(string.IsNullOrEmpty(c.GetProperty("source").GetProperty("paper").GetString()));
            Assert.False(string.IsNullOrEmpty(c.GetProperty("id").GetString()));
        }

        // A second call finds the experiment complete and only rebuilds the report; so does `memlab report`.
        var again = Memlab.Run(dir.Path, "reproduce", "--only", Name, "--out", outDir);
        Assert.Contains($"skipped name={Name}", again.Stdout);
        var report = Memlab.Run(dir.Path, "report", outDir);
        Assert.Equal(0, report.ExitCode);
        Assert.Equal(3, report.Stdout.Split('\n').Count(l => l.StartsWith("claim ", StringComparison.Ordinal)));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await ChromiumFactAttribute.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(new Uri(Path.Combine(outDir, "report.html")).AbsoluteUri);
        var figures = await page.Locator("svg.memlab-figure").AllAsync();
        Assert.Equal(2, figures.Count);
        foreach (var f in figures)
        {
            var box = await f.BoundingBoxAsync();
            Assert.True(box is { Width: > 100, Height: > 100 });
        }
        var cells = await page.Locator("table.summary-claims td.experiment").AllInnerTextsAsync();
        Assert.Equal(3, cells.Count);
        Assert.All(cells, c => Assert.Equal(Name, c.Trim()));
        Assert.Empty(errors);
        string shot = Path.Combine(AppContext.BaseDirectory, "reproduce-report-screenshot.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 10_000);
    }
}
