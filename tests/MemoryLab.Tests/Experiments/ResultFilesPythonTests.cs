using System.Diagnostics;
using System.Text.RegularExpressions;
using MemoryLab.Reporting;
using MemoryLab.Tests.Reporting;
using MemoryLab.Tests.Reproductions;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Experiments;

/// <summary>A fact that needs <c>python3</c> with numpy; skipped, with the reason, where it is missing.</summary>
public sealed class PythonNumpyFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> Available = new(() => ResultFilesPythonTests.PythonHas("numpy"));

    public PythonNumpyFactAttribute()
    {
        if (!Available.Value) Skip = "python3 with numpy is not installed (apt-get install python3-numpy python3-pandas); the Python snippets of docs/result-files.md are not run";
    }
}

/// <summary>Every Python snippet of docs/result-files.md, run against files that real memlab commands wrote.</summary>
public class ResultFilesPythonTests(ITestOutputHelper output)
{
    private const string ExampleRun = "runs/71a24f34ad05";

    // Debian's python3 (with python3-numpy, python3-pandas from scripts/install-deps.sh) when present, as the PyTorch peer tests use.
    internal static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Modules = new();

    internal static bool PythonHas(string module) => Modules.GetOrAdd(module, ImportWorks);

    private static bool ImportWorks(string module)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Python, ["-c", $"import {module}"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit(30_000);
            return p.HasExited && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    [PythonNumpyFact]
    public void Every_python_snippet_of_result_files_runs_on_real_result_files()
    {
        using var dir = new TempDirectory();
        string repo = TeacherStudentTests.RepoRoot();
        var train = Memlab.Run(dir.Path, "train", Path.Combine(repo, "experiments", "teacher-student.yaml"), "steps=30", "batch=4", "data.time=20",
            "log_every=5", "checkpoint_every=10", "--out", "runs");
        Assert.True(train.ExitCode == 0, train.Stderr);
        string runId = Regex.Match(train.Stdout, @"run id=([0-9a-f]{12})").Groups[1].Value;
        var diagnose = Memlab.Run(dir.Path, "diagnose", "runs/" + runId, "--out", "diag");
        Assert.True(diagnose.ExitCode == 0, diagnose.Stderr);
        var sweep = Memlab.Run(dir.Path, "sweep", dir.File("s.yaml", DemoSpecs.Sweep(steps: 20)), "--out", "results/ts-sweep");
        Assert.True(sweep.ExitCode == 0, sweep.Stderr);
        ReportWriter.Write(SampleFigures.Report(), Path.Combine(dir.Path, "results"));

        string page = File.ReadAllText(Path.Combine(repo, "docs", "result-files.md"));
        var blocks = Regex.Matches(page, "```python\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(blocks.Count >= 7, $"found {blocks.Count} python blocks");
        int ran = 0;
        foreach (string block in blocks)
        {
            var missing = Regex.Matches(block, @"^(?:from|import) (\w+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value)
                .Distinct().Where(m => m is not ("json" or "pathlib" or "struct") && !PythonHas(m)).ToList();
            if (missing.Count > 0) { output.WriteLine($"skipped (no {string.Join(", ", missing)}): {block.Split('\n')[0]}"); continue; }
            string script = dir.File($"snippet{ran}.py", block.Replace(ExampleRun, "runs/" + runId));
            using var p = Process.Start(new ProcessStartInfo(Python, [script]) { WorkingDirectory = dir.Path, RedirectStandardError = true, RedirectStandardOutput = true })!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"snippet failed:\n{block}\n{stderr}");
            output.WriteLine(stdout);
            ran++;
        }
        Assert.True(ran >= 5, $"only {ran} snippets ran");
    }
}
