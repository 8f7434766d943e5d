using MemoryLab.Experiments;
using System.Text.Json;
using System.Xml.Linq;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Tests.Reporting;

public sealed class TempFolder : IDisposable
{
    public TempFolder() => Path = Directory.CreateTempSubdirectory("memlab-report-").FullName;
    public string Path { get; }
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

public class ReportWriterTests
{
    [Fact]
    public void Writing_a_report_produces_html_svgs_and_claim_tables_and_no_temporary_files()
    {
        using var dir = new TempFolder();
        var doc = SampleFigures.Report();
        var files = ReportWriter.Write(doc, dir.Path);

        Assert.Equal(5, files.Figures.Count);
        foreach (var svg in files.Figures)
        {
            var x = XDocument.Load(svg);
            Assert.Equal("svg", x.Root!.Name.LocalName);
        }
        Assert.Empty(Directory.GetFiles(dir.Path, "*" + AtomicFile.TempMarker + "*"));

        string html = File.ReadAllText(files.Html);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("href=\"http", html);
        Assert.DoesNotContain("<link", html);
        foreach (var s in doc.Sections)
        {
            Assert.Contains($"id=\"{s.Anchor}\"", html);
            foreach (var f in s.Figures)
            {
                Assert.Contains($"<figure id=\"{f.Anchor}\"", html);
                Assert.Contains($"href=\"#{f.Anchor}\"", html); // linked from the contents
            }
        }
        Assert.Equal(5, html.Split("<svg ").Length - 1); // inline
        Assert.Contains("class=\"holds\"", html);
        Assert.Contains("class=\"fails\"", html);
        Assert.Contains("class=\"inconclusive\"", html);
        Assert.Contains("Drawing notes", html); // the NaN in the loss curve is reported under its figure
        // Each figure's ids are unique in the whole page, since inline SVGs share one id space.
        var ids = System.Text.RegularExpressions.Regex.Matches(html, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());

        using var json = JsonDocument.Parse(File.ReadAllText(files.ClaimsJson));
        var claims = json.RootElement.GetProperty("claims");
        Assert.Equal(4, claims.GetArrayLength());
        Assert.Equal(JsonValueKind.Null, claims[2].GetProperty("measured").ValueKind); // NaN → null
        Assert.Equal("inconclusive", claims[2].GetProperty("status").GetString());
        Assert.Equal("fails", claims[1].GetProperty("status").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("counts").GetProperty("holds").GetInt32());

        string md = File.ReadAllText(files.ClaimsMarkdown);
        var rows = md.Split('\n').Where(l => l.StartsWith("| ") && !l.StartsWith("| Experiment")).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Contains(rows, r => r.Contains("log τ grows linearly in the delay \\| slope > 0") && r.Contains("✗ fails"));
    }

    [Fact]
    public void Rewriting_replaces_the_old_files_whole()
    {
        using var dir = new TempFolder();
        File.WriteAllText(Path.Combine(dir.Path, "report.html"), "old, longer content that must not survive in any part ............");
        var doc = new ReportDocument("tiny", DateTimeOffset.UnixEpoch);
        doc.AddSection("only").Claims.Add(ClaimCheck.LessThan("only", "x small", 1, 2));
        ReportWriter.Write(doc, dir.Path);
        string html = File.ReadAllText(Path.Combine(dir.Path, "report.html"));
        Assert.DoesNotContain("old, longer", html);
        Assert.EndsWith("</html>\n", html);
        Assert.Empty(Directory.GetFiles(dir.Path, "*" + AtomicFile.TempMarker + "*"));
    }

    [Fact]
    public void A_failed_atomic_write_leaves_neither_a_partial_target_nor_a_temporary_file()
    {
        using var dir = new TempFolder();
        string target = Path.Combine(dir.Path, "report.html");
        Directory.CreateDirectory(target); // a folder where the file should go: the rename must fail
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllText(target, "content"));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Bad_figure_names_and_duplicates_are_rejected_with_the_name()
    {
        var chart = Chart.Create("c");
        Assert.Contains("../x.svg", Assert.Throws<ArgumentException>(() => new ReportFigure(chart, "c", "../x.svg")).Message);
        Assert.Throws<ArgumentException>(() => new ReportFigure(chart, "c", "x.png"));
        var doc = new ReportDocument("dup", DateTimeOffset.UnixEpoch);
        doc.AddSection("a").Figures.Add(new ReportFigure(chart, "one", "f.svg"));
        doc.AddSection("b").Figures.Add(new ReportFigure(chart, "two", "f.svg"));
        using var dir = new TempFolder();
        Assert.Contains("'f.svg'", Assert.Throws<ArgumentException>(() => ReportWriter.Write(doc, dir.Path)).Message);
    }

    [Fact]
    public void Claim_factories_decide_holds_fails_and_inconclusive()
    {
        Assert.Equal(ClaimStatus.Holds, ClaimCheck.LessThan("e", "c", 1, 2).Status);
        Assert.Equal(ClaimStatus.Fails, ClaimCheck.LessThan("e", "c", 3, 2).Status);
        Assert.Equal(ClaimStatus.Holds, ClaimCheck.GreaterThan("e", "c", 3, 2).Status);
        Assert.Equal(ClaimStatus.Holds, ClaimCheck.Between("e", "c", 2, 1, 3).Status);
        Assert.Equal(ClaimStatus.Fails, ClaimCheck.Between("e", "c", 4, 1, 3).Status);
        Assert.Equal(ClaimStatus.Holds, ClaimCheck.Near("e", "c", 0.52, 0.5, 0.05).Status);
        Assert.Equal(ClaimStatus.Fails, ClaimCheck.Near("e", "c", 0.56, 0.5, 0.05).Status);
        var nan = ClaimCheck.GreaterThan("e", "c", double.NaN, 0);
        Assert.Equal(ClaimStatus.Inconclusive, nan.Status);
        Assert.Equal("NaN", nan.MeasuredText);
        Assert.NotNull(nan.Details);
        Assert.Equal("< 0.001", ClaimCheck.LessThan("e", "c", 0, 1e-3).Expected);
        Assert.Throws<ArgumentException>(() => ClaimCheck.Between("e", "c", 1, 3, 2));
    }
}
