using System.Diagnostics;
using System.Text.RegularExpressions;
using MemoryLab.Tests.Experiments;
using MemoryLab.Tests.Reproductions;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Docs;

/// <summary>
/// Docs as code: the shell commands of the newcomer's pages (the README's quick tour, docs/tour.md, docs/first-study.md)
/// are parsed from the Markdown and run in order, as written, in a scratch folder holding a copy of <c>experiments/</c>;
/// a YAML block the page says to save ("save this as `X`") is saved first. Long settings get short overrides from
/// <see cref="ShortSettings"/> (every command still runs); a command whose comment says "(exit code N)" must exit N, every
/// other command 0. So a page cannot drift from the code.
/// </summary>
public class DocCommandTests(ITestOutputHelper output)
{
    /// <summary>Rewrites from the pages' settings to short ones (regex → replacement, applied in order to each command).</summary>
    public static IReadOnlyList<(string Pattern, string Replacement)> ShortSettings { get; } =
    [
        // Absolute scratch paths stay inside the test's folder.
        (@"/tmp/r\b", "r-tmp"),
        // Reproductions: the fastest one (li21-plateau-scaling, seconds) stands in for any other and for the whole set, at quick scale.
        (@"--scale paper", "--scale quick"),
        (@"--set li21-plateaus\.runs=2", "--set li21-plateau-scaling.widths=[5]"),
        (@"--only [a-z0-9-]+", "--only li21-plateau-scaling"),
        (@"^(memlab reproduce)(?!.*--only)(?!.*--list)", "$1 --only li21-plateau-scaling"),
        // Training specs: a few steps of short sequences.
        (@"^(memlab train experiments/teacher-student\.yaml.*?)(\s--out|$)", "$1 steps=20 batch=4 data.time=30 checkpoint_every=10 model.hidden=8$2"),
        (@"^(memlab sweep experiments/ts-sweep\.yaml.*?)(\s--out|$)", "$1 steps=10 batch=4 data.time=30$2"),
        (@"^(memlab (?:train|sweep) experiments/my-study(?:-sweep)?\.yaml.*?)(\s--out|$)", "$1 steps=30$2"),
    ];

    private static readonly string[] Pages = ["README.md", "docs/tour.md", "docs/first-study.md"];

    public static IEnumerable<object[]> PageNames() => Pages.Select(p => new object[] { p });

    /// <summary>The commands of <paramref name="markdown"/>'s sh blocks (README: only its quick-tour block), and before each
    /// block the YAML files the page says to save.</summary>
    internal static List<(string? SaveAs, string Text)> Steps(string page, string markdown)
    {
        var steps = new List<(string?, string)>();
        foreach (Match m in Regex.Matches(markdown, "```(sh|yaml)\n(.*?)```", RegexOptions.Singleline))
        {
            string lang = m.Groups[1].Value, body = m.Groups[2].Value;
            if (lang == "yaml")
            {
                string before = markdown[Math.Max(0, m.Index - 300)..m.Index];
                var save = Regex.Match(before, @"[Ss]ave(?:\s+(?:this|it))?(?:\s+spec)?\s+as\s+`([^`]+)`(?:\s+in\s+`([^`]+)`)?[^`]*$", RegexOptions.Singleline);
                if (save.Success) steps.Add((Path.Combine(save.Groups[2].Value, save.Groups[1].Value), body));
                continue;
            }
            if (page == "README.md" && !body.Contains("alias memlab=")) continue;
            var lines = body.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i].Trim();
                if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("alias memlab=")) continue;
                string next = i + 1 < lines.Length ? lines[i + 1].Trim() : "";
                string expect = Regex.Match(line + " " + (next.StartsWith('#') ? next : ""), @"\(exit code (\d+)\)").Groups[1].Value;
                steps.Add((null, expect + "|" + Regex.Replace(line, @"\s+#.*$", "")));
            }
        }
        return steps;
    }

    [Theory]
    [MemberData(nameof(PageNames))]
    public void Every_shell_command_of_the_page_runs_as_written_with_short_settings(string page)
    {
        string repo = TeacherStudentTests.RepoRoot();
        using var dir = new TempDirectory();
        CopyDirectory(Path.Combine(repo, "experiments"), Path.Combine(dir.Path, "experiments"));
        CopyDirectory(Path.Combine(repo, "experiments", "reproduce"), Path.Combine(dir.Path, "my-specs")); // the tour's "edited copies"
        var steps = Steps(page, File.ReadAllText(Path.Combine(repo, page)));
        Assert.True(steps.Count(s => s.SaveAs is null) >= 3, $"{page}: found {steps.Count} commands");
        string lastRunId = "";
        foreach (var (saveAs, text) in steps)
        {
            if (saveAs is not null) { dir.File(saveAs, text); continue; }
            int bar = text.IndexOf('|');
            int expected = bar > 0 ? int.Parse(text[..bar], System.Globalization.CultureInfo.InvariantCulture) : 0;
            string command = text[(bar + 1)..];
            foreach (var (pattern, replacement) in ShortSettings) command = Regex.Replace(command, pattern, replacement);
            command = command.Replace("<run id>", lastRunId);
            Assert.StartsWith("memlab ", command); // every command of these pages is memlab's
            var (code, stdout, stderr) = Shell(dir.Path, command);
            output.WriteLine($"$ {command}  → {code}");
            Assert.True(code == expected, $"{page}: `{command}` exited {code}, expected {expected}\n{stderr}\n{stdout[^Math.Min(stdout.Length, 2000)..]}");
            if (Regex.Match(stdout, @"run id=([0-9a-f]{12})") is { Success: true } id) lastRunId = id.Groups[1].Value;
        }
    }

    [Fact]
    public void The_page_parser_finds_the_commands_saved_files_and_expected_exit_codes()
    {
        const string md = "Save this as\n`a.yaml` in `experiments/`:\n\n```yaml\nkind: train\n```\n\n```sh\nmemlab train x.yaml   # note\n# out (exit code 2)\n\nmemlab kinds\n```\n";
        var steps = Steps("docs/x.md", md);
        Assert.Equal(("experiments/a.yaml", "kind: train\n"), steps[0]);
        Assert.Equal((null, "2|memlab train x.yaml"), steps[1]);
        Assert.Equal((null, "|memlab kinds"), steps[2]);
        string c = "memlab reproduce --scale paper --out /tmp/r";
        foreach (var (p, r) in ShortSettings) c = Regex.Replace(c, p, r);
        Assert.Equal("memlab reproduce --only li21-plateau-scaling --scale quick --out r-tmp", c);
    }

    private static (int Code, string Stdout, string Stderr) Shell(string workingDirectory, string command)
    {
        var psi = new ProcessStartInfo("/bin/bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("memlab() { \"$MEMLAB_DOTNET\" \"$MEMLAB_DLL\" \"$@\"; }\n" + command);
        psi.Environment["MEMLAB_DOTNET"] = Memlab.DotnetHost;
        psi.Environment["MEMLAB_DLL"] = Memlab.Dll;
        psi.Environment["MEMLAB_PLAIN"] = "1";
        foreach (string v in new[] { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX", "MEMLAB_SHARD_COUNT" })
            psi.Environment.Remove(v);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string d in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }
}
