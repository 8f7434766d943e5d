using System.Text.Json;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Reporting;

/// <summary>
/// A fact that needs the system Chromium (<c>/usr/bin/chromium</c>; scripts/install-deps.sh installs it).
/// Skipped, with the reason shown, where it is missing.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Headless system Chromium for Playwright: no download, no network, no sandbox (tests run as root).</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = ChromiumPath,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath))
            Skip = $"{ChromiumPath} is not installed (apt-get install chromium, or run scripts/install-deps.sh); the browser test of the HTML report is skipped";
    }
}

public class ReportBrowserTests(ITestOutputHelper output)
{
    [ChromiumFact]
    public async Task The_report_renders_in_headless_chromium_with_every_figure_and_claim()
    {
        using var dir = new TempFolder();
        var doc = SampleFigures.Report();
        var files = ReportWriter.Write(doc, dir.Path);

        // Playwright's .NET package runs its bundled Node driver (in bin/.playwright); with ExecutablePath it
        // downloads nothing and needs no network.
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await ChromiumFactAttribute.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        var errors = new List<string>();
        var foreignRequests = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        page.Request += (_, r) => { if (!r.Url.StartsWith("file:", StringComparison.Ordinal) && !r.Url.StartsWith("data:", StringComparison.Ordinal)) foreignRequests.Add(r.Url); };

        await page.GotoAsync(new Uri(files.Html).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });

        foreach (var f in doc.Sections.SelectMany(s => s.Figures))
        {
            var svg = page.Locator($"figure#{f.Anchor} svg.memlab-figure");
            Assert.Equal(1, await svg.CountAsync());
            var box = await svg.BoundingBoxAsync();
            Assert.NotNull(box);
            Assert.True(box!.Width > 100 && box.Height > 100, $"figure {f.FileName} is {box.Width} × {box.Height}");
            // Every panel's plot area is laid out with a positive size.
            foreach (var plot in await svg.Locator("rect.plot-area").AllAsync())
            {
                var pb = await plot.BoundingBoxAsync();
                Assert.True(pb is { Width: > 20, Height: > 20 }, $"a plot area of {f.FileName} collapsed");
            }
        }
        Assert.Empty(errors);
        Assert.Empty(foreignRequests);

        var rows = await page.Locator("table.summary-claims tbody tr").AllAsync();
        Assert.Equal(doc.AllClaims.Count(), rows.Count);
        var experimentCells = await page.Locator("table.summary-claims td.experiment").AllInnerTextsAsync();
        foreach (var s in doc.Sections) Assert.Contains(s.Name, experimentCells);
        // Status cells are coloured (not the default transparent background).
        string failBg = await page.Locator("table.summary-claims tr.fails td.status").First.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
        Assert.Equal("rgb(251, 218, 218)", failBg);

        // Layout relies on estimated text widths: the real text must never be much wider than estimated,
        // or labels would be clipped or overlap. Compare with the browser's own measurement.
        string measured = await page.EvaluateAsync<string>(
            "() => JSON.stringify([...document.querySelectorAll('svg.memlab-figure text')].map(t => [t.textContent, t.getComputedTextLength(), parseFloat(t.getAttribute('font-size'))]))");
        int checkedTexts = 0;
        foreach (var item in JsonDocument.Parse(measured).RootElement.EnumerateArray())
        {
            string text = item[0].GetString()!;
            double actual = item[1].GetDouble(), size = item[2].GetDouble();
            if (text.Length < 2) continue;
            double estimate = TextMetrics.Width(text, size);
            Assert.True(actual <= estimate * 1.15 + 2, $"'{text}' at {size}px is {actual:F1}px wide in the browser but estimated {estimate:F1}px");
            checkedTexts++;
        }
        Assert.True(checkedTexts > 50);

        string shot = Path.Combine(AppContext.BaseDirectory, "report-screenshot.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 10_000);
        output.WriteLine($"screenshot: {shot}");
    }
}
