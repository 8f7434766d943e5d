using System.Text.Json;
using MemoryLab.Tests.Experiments;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Reliability;

/// <summary>
/// A corrupt or foreign <c>summary.json</c> in a results folder: <c>memlab results</c> reports it in one line and leaves the run out
/// of the table; <c>memlab sweep</c> reports it in one line, treats the run as not done and runs it again; everything else proceeds,
/// with no stack trace.
/// </summary>
public sealed class CorruptFileTests(ITestOutputHelper log)
{
    /// <summary>Ways a summary.json can be broken: its name and how to turn the good text into it.</summary>
    private static readonly (string Name, Func<string, string> Break)[] Corruptions =
    [
        ("garbage", _ => "garbage\n"),
        ("empty", _ => ""),
        ("truncated", good => good[..(good.Length / 2)]),
        ("empty-object", _ => "{}"),
        ("json-array", _ => "[1, 2]"),
        ("unknown-status", good => good.Replace("\"completed\"", "\"exploded\"")),
        ("metric-abc", good => Regex("\"final_loss\": [^,\\n]+", "\"final_loss\": \"abc\"", good)),
        ("metrics-not-object", good => Regex("\"metrics\": \\{[^}]*\\}", "\"metrics\": 3", good)),
        ("no-wall-time", good => Regex("\"wall_time_s\": [^,\\n]+,", "", good)),
    ];

    private static string Regex(string pattern, string replacement, string text) =>
        System.Text.RegularExpressions.Regex.Replace(text, pattern, replacement);

    public static TheoryData<int> Indices()
    {
        var d = new TheoryData<int>();
        for (int i = 0; i < Corruptions.Length; i++) d.Add(i);
        return d;
    }

    [Theory]
    [MemberData(nameof(Indices))]
    public void Results_reports_the_bad_run_in_one_line_and_leaves_it_out(int index)
    {
        var (name, corrupt) = Corruptions[index];
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "done");
        BadInputTests.CopyFolder(FinishedSweep.Folder, folder);
        string bad = Directory.EnumerateDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).First();
        string summary = Path.Combine(bad, "summary.json");
        File.WriteAllText(summary, corrupt(File.ReadAllText(summary)));
        string before = Reliable.Fingerprint(dir.Path);

        var r = Reliable.Run(dir.Path, null, "results", "done");
        log.WriteLine($"{name}\n{r}");
        Assert.Equal(0, r.ExitCode);
        Assert.False(r.HasStackTrace);
        var warning = Assert.Single(r.ErrorLines, l => l.StartsWith("warning:", StringComparison.Ordinal));
        Assert.Contains(Path.Combine("done", Path.GetFileName(bad), "summary.json"), warning);
        Assert.Contains("results runs=2 ", r.Stderr); // the two good runs of three
        Assert.Equal(before, Reliable.Fingerprint(dir.Path));
    }

    [Theory]
    [MemberData(nameof(Indices))]
    public void Sweep_reports_the_bad_run_in_one_line_and_runs_it_again(int index)
    {
        var (name, corrupt) = Corruptions[index];
        using var dir = new TempDirectory();
        dir.File("sweep.yaml", ReliabilitySpecs.Sweep);
        string folder = Path.Combine(dir.Path, "done");
        BadInputTests.CopyFolder(FinishedSweep.Folder, folder);
        string bad = Directory.EnumerateDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).First();
        string summary = Path.Combine(bad, "summary.json");
        string good = File.ReadAllText(summary);
        File.WriteAllText(summary, corrupt(good));

        var r = Reliable.Run(dir.Path, null, "sweep", "sweep.yaml", "--out", "done");
        log.WriteLine($"{name}\n{r}");
        Assert.Equal(0, r.ExitCode);
        Assert.False(r.HasStackTrace);
        var warning = Assert.Single(r.ErrorLines);
        Assert.Contains(summary, warning);
        Assert.Contains("runs again", warning);
        Assert.Contains("done completed=1 diverged=0 failed=0 skipped=2", r.Stdout);
        // The run again gives the same numbers as the first time.
        Assert.Equal(Metrics(good), Metrics(File.ReadAllText(summary)));
        Assert.Empty(Directory.EnumerateDirectories(folder, ".tmp-*"));
    }

    [Fact]
    public void A_selection_metric_no_run_has_is_a_warning_not_a_silent_zero()
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "done");
        BadInputTests.CopyFolder(FinishedSweep.Folder, folder);
        string sweep = Path.Combine(folder, "sweep.yaml");
        File.WriteAllText(sweep, File.ReadAllText(sweep).Replace("final_loss", "no_such_metric"));
        var r = Reliable.Run(dir.Path, null, "results", "done");
        log.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(r.ErrorLines, l => l.StartsWith("warning: select.metric 'no_such_metric' is no metric of these runs", StringComparison.Ordinal));
    }

    private static string Metrics(string summaryJson)
    {
        using var doc = JsonDocument.Parse(summaryJson);
        return doc.RootElement.GetProperty("status").GetString() + " " + doc.RootElement.GetProperty("metrics").GetRawText();
    }
}
