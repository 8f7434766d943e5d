using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Tests.Experiments;
using Microsoft.Playwright;

namespace MemoryLab.Tests.Reporting;

/// <summary><c>memlab report</c> of a user's own sweep or run: curves per run, mean ± SEM over seeds, the table per grid point with
/// the selection highlighted, and the final metric against each grid axis.</summary>
public class RunsReportTests
{
    private static string Sweep(TempDirectory dir)
    {
        string spec = dir.File("s.yaml", DemoSpecs.Sweep(steps: 40, lrs: "[0.1, 0.4, 3.0]", seeds: "[0, 1, 2]") + "select: {metric: final_loss, over: [optimizer.lr]}\n");
        string outDir = Path.Combine(dir.Path, "sw");
        var (code, _, stderr) = Memlab.Run(dir.Path, "sweep", spec, "--out", outDir);
        Assert.True(code == 0, stderr);
        return outDir;
    }

    [Fact]
    public void A_sweep_folder_gives_curves_means_the_selection_table_and_axis_plots()
    {
        using var dir = new TempDirectory();
        string sweep = Sweep(dir);
        var table = RunsReport.Load([sweep]);
        Assert.Equal(9, table.Rows.Sum(r => r.Runs.Count));
        Assert.Equal(["optimizer.lr"], table.Axes);
        var doc = RunsReport.Build(table, "sw", DateTimeOffset.UnixEpoch);
        Assert.False(doc.HasClaims);
        Assert.Equal(["Training curves", "Mean ± SEM over seeds", "Final metrics per grid point", "Final metric against each grid axis"], doc.Sections.Select(s => s.Name));
        Assert.Contains(doc.Sections[0].Figures, f => f.FileName == "curve-loss.svg");
        // One line per run that logged a loss.
        var lossChart = doc.Sections[0].Figures.Single(f => f.FileName == "curve-loss.svg").Figure.Panels().First().Chart;
        Assert.Equal(9, lossChart.Layers.OfType<MemoryLab.Reporting.Charts.LineSeries>().Count());

        var t = doc.Sections[2].Tables.Single();
        Assert.Equal(3, t.Rows.Count);
        int selected = table.Rows.ToList().FindIndex(r => r.Selected);
        Assert.Equal(new HashSet<int> { selected }, t.Highlighted);
        // The selected grid point has the lowest mean final loss of the completed ones.
        var best = table.Rows.Where(r => r.Completed == r.Runs.Count).MinBy(r => r.Stats["final_loss"].Mean)!;
        Assert.True(best.Selected);
        var s = best.Stats["final_loss"];
        Assert.Contains($"{ClaimCheck.Format(s.Mean)} ± {ClaimCheck.Format(s.Sem)}", t.Rows[selected]);
        Assert.Single(doc.Sections[3].Figures);

        // The command writes report.html and the SVGs, no claim files, into the sweep folder.
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "report", sweep);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("report runs=9 grid_points=3", stdout);
        Assert.True(File.Exists(Path.Combine(sweep, "report.html")));
        Assert.True(File.Exists(Path.Combine(sweep, "axis-optimizer-lr.svg")));
        Assert.False(File.Exists(Path.Combine(sweep, "claims.md")));
    }

    [Fact]
    public void One_run_folder_gives_its_curves_and_an_empty_folder_is_bad_input()
    {
        using var dir = new TempDirectory();
        string sweep = Sweep(dir);
        string run = Directory.EnumerateDirectories(sweep).First(d => File.Exists(Path.Combine(d, "summary.json")));
        string outDir = Path.Combine(dir.Path, "one");
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "report", run, "--out", outDir);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("report runs=1 grid_points=1", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "curve-loss.svg")));
        Assert.False(File.Exists(Path.Combine(outDir, "mean-loss.svg")), "one run has no spread over seeds");

        Directory.CreateDirectory(Path.Combine(dir.Path, "empty"));
        var bad = Memlab.Run(dir.Path, "report", Path.Combine(dir.Path, "empty"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("no finished runs", bad.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(dir.Path, "empty")));
    }

    [ChromiumFact]
    public async Task The_sweep_report_renders_in_headless_chromium_with_every_figure_and_the_table()
    {
        using var dir = new TempDirectory();
        string sweep = Sweep(dir);
        var doc = RunsReport.Build(RunsReport.Load([sweep]), "sw", DateTimeOffset.UnixEpoch);
        var files = ReportWriter.Write(doc, sweep);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await ChromiumFactAttribute.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(new Uri(files.Html).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        foreach (var f in doc.Sections.SelectMany(s => s.Figures))
        {
            var svg = page.Locator($"figure#{f.Anchor} svg.memlab-figure");
            Assert.Equal(1, await svg.CountAsync());
            var box = await svg.BoundingBoxAsync();
            Assert.True(box is { Width: > 100, Height: > 100 }, $"figure {f.FileName} collapsed");
            foreach (var plot in await svg.Locator("rect.plot-area").AllAsync())
                Assert.True(await plot.BoundingBoxAsync() is { Width: > 20, Height: > 20 }, $"a plot area of {f.FileName} collapsed");
        }
        Assert.Equal(3, await page.Locator("table.results tbody tr").CountAsync());
        Assert.Equal(1, await page.Locator("table.results tr.selected").CountAsync());
        string selectedBg = await page.Locator("table.results tr.selected td").First.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
        Assert.Equal("rgb(227, 241, 227)", selectedBg);
        Assert.Equal(0, await page.Locator("table.summary-claims").CountAsync());
        Assert.Empty(errors);
    }
}
