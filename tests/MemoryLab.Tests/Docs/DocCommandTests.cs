using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using MemoryLab.Tests.Experiments;
using MemoryLab.Tests.Reproductions;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Docs;

/// <summary>
/// Docs as code: the shell commands of every page that has any (README.md, examples/README.md and the
/// pages of docs/; <see cref="Pages"/>, kept complete by a test) are parsed from the Markdown and
/// run in order, as written, in a scratch folder holding a copy of <c>experiments/</c>; a YAML block the page says to save
/// ("save this as `X`") is saved first. Long settings get short overrides from <see cref="ShortSettings"/> (every
/// command still runs); a command whose comment says "(exit code N)" must exit N, every other command 0; a comment
/// "final loss X (initial Y)" must match what the run prints. A command that writes a Slurm script (<c>&gt; NAME.sbatch</c>)
/// is followed by the script's array tasks, run here one after the other; a <c>#!/bin/bash</c> block after it must be
/// that script. <c>export NAME=VALUE</c> holds for the page's later commands, and <c>dotnet build -c Release examples/NAME</c>
/// builds that example (a plugin the page then names in <c>MEMLAB_PLUGINS</c>; the scratch folder's <c>examples/</c> is
/// the repository's). On the pages in <see cref="PagesWithOutput"/>, whose commands run unshortened, every line of a plain
/// (output) block must be among the lines the commands printed. Commands that cannot run here are listed in
/// <see cref="Skipped"/> with the reason, and each entry must still match a command. So a page cannot drift from the code.
/// </summary>
public class DocCommandTests(ITestOutputHelper output)
{
    /// <summary>Rewrites from the pages' settings to short ones (regex → replacement, applied in order to each command).</summary>
    public static IReadOnlyList<(string Pattern, string Replacement)> ShortSettings { get; } =
    [
        // The tool without installing it (README's set-up) is the memlab under test.
        (@"^dotnet run -c Release --project src/MemoryLab\.Cli --(?= )", "memlab"),
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
        // A paper-scale sweep emitted for Slurm: its quick spec, a few steps of short sequences, in two array tasks.
        (@"^(memlab sweep experiments/reproduce/[a-z0-9-]+/)paper\.yaml(.*?) --shards 40", "$1quick.yaml steps=5 batch=4 data.time=30$2 --shards 2"),
        // One shard (K/N on the page) of a paper-scale reproduction's sweep: the first of 30 shards of its quick spec, a few steps.
        (@"^(memlab sweep experiments/reproduce/[a-z0-9-]+/)paper\.yaml --shard K/N(.*)$", "$1quick.yaml steps=5 batch=4 data.time=30 --shard 1/30$2"),
        // The scratch folder is not a clone: the commit a publication records is a fixed stand-in.
        (@"""\$\(git rev-parse HEAD\)""", "0000000"),
    ];

    /// <summary>Commands not run here: (page, regex on the command, why).</summary>
    public static IReadOnlyList<(string Page, string Command, string Reason)> Skipped { get; } =
    [
        ("README.md", @"^dotnet test tests/MemoryLab\.Tests ", "the test suite itself, which holds this test"),
        ("README.md", @"^dotnet (pack|tool install --global) ", "PackagingTests packs both projects into a private folder and installs the tool into a scratch --tool-path (a global install would change the user's machine)"),
        ("docs/diagnose.md", @"^memlab diagnose RUN_DIR \|", "the command's synopsis (placeholders); the walkthrough's commands run"),
        ("docs/cluster-sweeps.md", @"^memlab sweep SPEC ", "the command's synopsis (placeholders); the emitted scripts' tasks run it"),
        ("docs/cluster-sweeps.md", @"^(sbatch|squeue) ", "needs a Slurm cluster: SlurmIntegrationTests submits an emitted script to a real Slurm; here the tasks of each emitted script run locally"),
        ("docs/cluster-sweeps.md", @"^sudo scripts/slurm-local\.sh", "installs and starts Slurm as root: SlurmIntegrationTests runs it"),
        ("docs/README-install.md", @"^dotnet pack ", "PackagingTests packs both projects, from this test run's build, into a private folder (PackedPackages)"),
        ("docs/README-install.md", @"^dotnet tool install --global ", "would install for the user running the tests; PackagingTests installs the same package into a scratch --tool-path and runs it"),
        ("docs/README-install.md", @"^(dotnet tool install --tool-path|~/memlab-tool/memlab) ", "PackagingTests.The_packed_tool_installs_into_a_tool_path_and_trains_a_tiny_spec does this in a scratch folder"),
        ("docs/README-install.md", @"^(MEMLAB=|cd \.\. |dotnet new nugetconfig|dotnet nuget add source|dotnet add package)", "run as one script, as written, by PackagingTests.Docs_install_page_library_project_commands_run_as_written (it needs the packed packages)"),
        ("docs/extending.md", @"^(dotnet build -c Release -o out|memlab run leaky\.yaml$|memlab (run|sweep|report) (fit\.yaml|fit-sweep\.yaml|results/fit-sweep)\b)", "DocumentationExampleTests builds the page's files into a plugin in a scratch project and runs leaky.yaml, fit.yaml, fit-sweep.yaml (and its report) and the page's reproduction through MEMLAB_PLUGINS"),
        ("docs/memory-kernels.md", @"^dotnet run -c Release --project examples/kernel-width ", "PackagingTests.Example_kernel_width_fits_a_custom_kernel_with_errors_falling_as_the_width_grows builds and runs it with short settings"),
        ("docs/parametrisations.md", @"^(dotnet build -c Release examples/custom-parametrisation|MEMLAB_PLUGINS=examples/custom-parametrisation/|memlab results results/compare$)", "PackagingTests.Example_custom_parametrisation_is_a_plugin_map_with_exact_gradients_that_a_spec_runs_beside_the_lru builds the plugin and runs compare.yaml through MEMLAB_PLUGINS with short settings"),
        ("docs/result-files.md", @"^tensorboard ", "TensorBoard is a Python tool not installed here; SinkTests.TensorBoardRecordsPassTheirCrcsAndDecodeToTheLoggedScalars reads the event files back record by record"),
        ("examples/README.md", @"^dotnet run -c Release --project examples/kernel-width ", "PackagingTests.Example_kernel_width_fits_a_custom_kernel_with_errors_falling_as_the_width_grows builds and runs it with short settings"),
        ("examples/README.md", @"^(dotnet build -c Release examples/custom-parametrisation|MEMLAB_PLUGINS=examples/custom-parametrisation/)", "PackagingTests.Example_custom_parametrisation_is_a_plugin_map_with_exact_gradients_that_a_spec_runs_beside_the_lru builds the plugin and runs compare.yaml through MEMLAB_PLUGINS with short settings"),
        ("examples/README.md", @"^(dotnet pack src/MemoryLab |(NUGET_PACKAGES=\S+ )?dotnet run -c Release --project examples/package-consumer)", "PackagingTests.Example_package_consumer_builds_against_the_packed_library_and_trains packs the library and builds and runs the example against the package, restoring into a private folder"),
    ];

    /// <summary>Pages whose commands run unshortened, so their output blocks are checked line by line.</summary>
    public static IReadOnlyList<string> PagesWithOutput { get; } = ["docs/diagnose.md"];

    private static readonly string[] Pages =
        ["README.md", "docs/tour.md", "docs/first-study.md", "docs/diagnose.md", "docs/cluster-sweeps.md", "docs/README-install.md", "examples/README.md",
         "docs/extending.md", "docs/memory-kernels.md", "docs/parametrisations.md", "docs/publishing.md", "docs/result-files.md"];

    public static IEnumerable<object[]> PageNames() => Pages.Select(p => new object[] { p });

    /// <summary>One step of a page: a file to save, a command to run (with the exit code it must give and its comment), a
    /// script the last command must have written, or the lines a command printed.</summary>
    internal sealed record Step(StepKind Kind, string Text, int Line, string? SaveAs = null, int Expected = 0, string Comment = "");

    internal enum StepKind { Save, Run, Script, Output }

    /// <summary>The commands of <paramref name="markdown"/>'s sh blocks, and before each
    /// block the YAML files the page says to save; <c>#!/bin/bash</c> blocks (scripts) and plain blocks (output).</summary>
    internal static List<Step> Steps(string page, string markdown)
    {
        markdown = markdown.ReplaceLineEndings("\n");
        var steps = new List<Step>();
        foreach (Match m in Regex.Matches(markdown, "^```(\\w*)[^\n]*\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline))
        {
            string lang = m.Groups[1].Value, body = m.Groups[2].Value;
            int firstLine = markdown.AsSpan(0, m.Groups[2].Index).Count('\n') + 1;
            if (lang == "yaml")
            {
                string before = markdown[Math.Max(0, m.Index - 300)..m.Index];
                var save = Regex.Match(before, @"[Ss]ave(?:\s+(?:this|it))?(?:\s+spec)?\s+as\s+`([^`]+)`(?:\s+in\s+`([^`]+)`)?[^`]*$", RegexOptions.Singleline);
                if (save.Success) steps.Add(new Step(StepKind.Save, body, firstLine, Path.Combine(save.Groups[2].Value, save.Groups[1].Value)));
                continue;
            }
            if (lang == "bash" && body.StartsWith("#!/bin/bash", StringComparison.Ordinal)) { steps.Add(new Step(StepKind.Script, body, firstLine)); continue; }
            if (lang == "") { steps.Add(new Step(StepKind.Output, body, firstLine)); continue; }
            if (lang != "sh") continue;
            var lines = body.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                int line = firstLine + i;
                string text = lines[i].Trim();
                while (text.EndsWith('\\') && i + 1 < lines.Length) text = text[..^1].TrimEnd() + " " + lines[++i].Trim(); // continued lines
                if (text.Length == 0 || text.StartsWith('#') || text.StartsWith("alias memlab=")) continue;
                string next = i + 1 < lines.Length ? lines[i + 1].Trim() : "";
                string comment = Regex.Match(text, @"\s#\s*(.*)$").Groups[1].Value + (next.StartsWith('#') ? " " + next.TrimStart('#').Trim() : "");
                string expect = Regex.Match(comment, @"\(exit code (\d+)\)").Groups[1].Value;
                steps.Add(new Step(StepKind.Run, Regex.Replace(text, @"\s+#.*$", ""), line,
                    Expected: expect.Length > 0 ? int.Parse(expect, System.Globalization.CultureInfo.InvariantCulture) : 0, Comment: comment.Trim()));
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
        TempDirectory.CopyTree(Path.Combine(repo, "experiments"), Path.Combine(dir.Path, "experiments"));
        TempDirectory.CopyTree(Path.Combine(repo, "experiments", "reproduce"), Path.Combine(dir.Path, "my-specs")); // the tour's "edited copies"
        Directory.CreateSymbolicLink(Path.Combine(dir.Path, "examples"), Path.Combine(repo, "examples"));
        var steps = Steps(page, File.ReadAllText(Path.Combine(repo, page)));
        var skips = Skipped.Where(s => s.Page == page).ToList();
        var used = new HashSet<int>();
        Assert.True(steps.Any(s => s.Kind == StepKind.Run), $"{page}: found no command");
        string lastRunId = "", lastScript = "", exports = "";
        var printed = new StringBuilder();
        foreach (var step in steps)
        {
            switch (step.Kind)
            {
                case StepKind.Save:
                    dir.File(step.SaveAs!, step.Text);
                    continue;
                case StepKind.Script:
                    Assert.True(lastScript.Length > 0, $"{page}:{step.Line}: a script block, but no command before it wrote a .sbatch file");
                    string shown = NormaliseScript(step.Text, "/home/me/MemoryLab"), emitted = NormaliseScript(File.ReadAllText(Path.Combine(dir.Path, lastScript)), dir.Path);
                    Assert.True(shown == emitted, $"{page}:{step.Line}: the page shows\n{shown}\nbut {lastScript} is\n{emitted}");
                    continue;
                case StepKind.Output:
                    if (!PagesWithOutput.Contains(page)) continue;
                    var lines = printed.ToString().Split('\n').Select(l => l.TrimEnd()).ToHashSet();
                    foreach (string expected in step.Text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0))
                        Assert.True(lines.Contains(expected), $"{page}:{step.Line}: the page shows\n{expected}\nwhich the commands above did not print:\n{printed}");
                    continue;
            }
            int skip = skips.FindIndex(s => Regex.IsMatch(step.Text, s.Command));
            if (skip >= 0) { used.Add(skip); output.WriteLine($"skipped {page}:{step.Line} `{step.Text}`: {skips[skip].Reason}"); continue; }

            if (Regex.IsMatch(step.Text, @"^export \w+=\S+$")) { exports += step.Text + "\n"; output.WriteLine($"$ {step.Text}"); continue; }
            if (Regex.Match(step.Text, @"^dotnet build -c Release (examples/[\w-]+)$") is { Success: true } example)
            {
                // Against the library this test run built, into the folder the page names.
                string project = Path.Combine(repo, example.Groups[1].Value);
                var (built, buildOutput) = Packaging.Repo.Run(Packaging.Repo.Dotnet, repo, ["build", project, "-c", Packaging.Repo.Configuration,
                    "-o", Path.Combine(project, "bin", "Release", "net10.0"), "-p:BuildProjectReferences=false", "-nologo", "-v", "q", "--disable-build-servers"]);
                output.WriteLine($"$ {step.Text}  → {built}");
                Assert.True(built == 0, $"{page}:{step.Line}: `{step.Text}` exited {built}\n{buildOutput}");
                continue;
            }
            string command = step.Text;
            foreach (var (pattern, replacement) in ShortSettings) command = Regex.Replace(command, pattern, replacement);
            command = command.Replace("<run id>", lastRunId);
            Assert.Matches("^memlab ", command); // every command run here is memlab's; anything else is in Skipped
            var (code, stdout, stderr) = Shell(dir.Path, exports + command);
            output.WriteLine($"$ {command}  → {code}");
            printed.Append(stdout);
            Assert.True(code == step.Expected, $"{page}:{step.Line}: `{command}` exited {code}, expected {step.Expected}\n{stderr}\n{stdout[^Math.Min(stdout.Length, 2000)..]}");
            if (Regex.Match(stdout, @"run id=([0-9a-f]{12})") is { Success: true } id) lastRunId = id.Groups[1].Value;
            if (Regex.Match(step.Comment, @"final loss ([0-9.eE+-]+) \(initial ([0-9.eE+-]+)\)") is { Success: true } loss)
            {
                Assert.True(command == step.Text, $"{page}:{step.Line}: a quoted loss needs the command as written");
                AssertRounds(page, step.Line, loss.Groups[1].Value, Regex.Match(stdout, @"final_loss=(\S+)").Groups[1].Value);
                AssertRounds(page, step.Line, loss.Groups[2].Value, Regex.Match(stdout, @"initial_loss=(\S+)").Groups[1].Value);
            }
            if (Regex.Match(command, @">\s*(\S+\.sbatch)\s*$") is { Success: true } script)
            {
                // The array tasks, one after the other, as Slurm would start them (in the script's --chdir).
                lastScript = script.Groups[1].Value;
                string text = File.ReadAllText(Path.Combine(dir.Path, lastScript));
                Assert.Contains($"#SBATCH --chdir={dir.Path}\n", text);
                var array = Regex.Match(text, @"#SBATCH --array=(\d+)-(\d+)");
                Assert.True(array.Success, text);
                for (int k = int.Parse(array.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture); k <= int.Parse(array.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture); k++)
                {
                    var (taskCode, taskOut, taskErr) = Shell(dir.Path, $"SLURM_ARRAY_TASK_ID={k} bash {lastScript}");
                    output.WriteLine($"$ SLURM_ARRAY_TASK_ID={k} bash {lastScript}  → {taskCode}");
                    Assert.True(taskCode == 0, $"{page}:{step.Line}: array task {k} of {lastScript} exited {taskCode}\n{taskErr}\n{taskOut}");
                }
            }
        }
        for (int i = 0; i < skips.Count; i++)
            Assert.True(used.Contains(i), $"{page}: no command matches the skipped `{skips[i].Command}` any more; remove it from DocCommandTests.Skipped");
    }

    /// <summary>A Slurm script with its folder written as ROOT and the command that starts memlab as MEMLAB.</summary>
    private static string NormaliseScript(string script, string root) =>
        Regex.Replace(script.ReplaceLineEndings("\n").Replace(root, "ROOT"), @"^exec .*? sweep ", "exec MEMLAB sweep ", RegexOptions.Multiline).TrimEnd();

    /// <summary>A number quoted on a page equals the printed one rounded to the quoted significant digits.</summary>
    private static void AssertRounds(string page, int line, string quoted, string printed)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        int digits = Regex.Replace(quoted.Split('e', 'E')[0], @"^[0.]+|\.", "").Length;
        double q = double.Parse(quoted, inv), p = double.Parse(printed, inv);
        double rounded = double.Parse(p.ToString("G" + digits, inv), inv);
        Assert.True(rounded == q, $"{page}:{line}: the page quotes {quoted}, the run printed {printed}");
    }

    [Fact]
    public void Every_page_with_shell_commands_is_run()
    {
        string repo = TeacherStudentTests.RepoRoot();
        var pages = new[] { "README.md", "examples/README.md" }
            .Concat(Directory.EnumerateFiles(Path.Combine(repo, "docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)));
        foreach (string page in pages)
            if (Steps(page, File.ReadAllText(Path.Combine(repo, page))).Any(s => s.Kind == StepKind.Run))
                Assert.True(Pages.Contains(page), $"{page} has shell commands but DocCommandTests does not run it: add it to Pages");
    }

    [Fact]
    public void First_study_shows_the_example_plugin_as_it_is()
    {
        string repo = TeacherStudentTests.RepoRoot();
        var block = Regex.Match(File.ReadAllText(Path.Combine(repo, "docs", "first-study.md")).ReplaceLineEndings("\n"), "^```csharp file=StretchedExp\\.cs\n(.*?)^```",
            RegexOptions.Singleline | RegexOptions.Multiline);
        Assert.True(block.Success, "first-study.md shows examples/stretched-kernel/StretchedExp.cs");
        Assert.Equal(File.ReadAllText(Path.Combine(repo, "examples", "stretched-kernel", "StretchedExp.cs")).ReplaceLineEndings("\n"), block.Groups[1].Value);
    }

    [Fact]
    public void The_page_parser_finds_the_commands_saved_files_and_expected_exit_codes()
    {
        const string md = "Save this as\n`a.yaml` in `experiments/`:\n\n```yaml\nkind: train\n```\n\n```sh\nmemlab train x.yaml   # note\n# out (exit code 2)\n\nmemlab kinds\n" +
                          "memlab sweep a.yaml \\\n  --emit slurm > s.sbatch   # final loss 1.5 (initial 20)\n```\n\n```\nprinted\n```\n\n```bash\n#!/bin/bash\nexec memlab\n```\n";
        var steps = Steps("docs/x.md", md);
        Assert.Equal(new Step(StepKind.Save, "kind: train\n", 5, "experiments/a.yaml"), steps[0]);
        Assert.Equal(new Step(StepKind.Run, "memlab train x.yaml", 9, Expected: 2, Comment: "note out (exit code 2)"), steps[1]);
        Assert.Equal(new Step(StepKind.Run, "memlab kinds", 12), steps[2]);
        Assert.Equal(new Step(StepKind.Run, "memlab sweep a.yaml --emit slurm > s.sbatch", 13, Comment: "final loss 1.5 (initial 20)"), steps[3]);
        Assert.Equal(new Step(StepKind.Output, "printed\n", 18), steps[4]);
        Assert.Equal(new Step(StepKind.Script, "#!/bin/bash\nexec memlab\n", 22), steps[5]);
        Assert.Equal(6, steps.Count);
        string c = "memlab reproduce --scale paper --out /tmp/r";
        foreach (var (p, r) in ShortSettings) c = Regex.Replace(c, p, r);
        Assert.Equal("memlab reproduce --only li21-plateau-scaling --scale quick --out r-tmp", c);
        AssertRounds("x", 1, "45.2", "45.22200576782227");
        AssertRounds("x", 1, "0.00812", "0.008120135948993266");
        Assert.ThrowsAny<Exception>(() => AssertRounds("x", 1, "45.3", "45.22200576782227"));
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
}
