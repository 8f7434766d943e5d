using System.Diagnostics;
using MemoryLab.Experiments;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace MemoryLab.Tests.Experiments;

/// <summary>The memlab commands as a user runs them: `dotnet memlab.dll …` in a child process.</summary>
public class CliTests(ITestOutputHelper output)
{
    [Fact]
    public void BadInputExitsWithCode2AndOneLineAndWritesNothing()
    {
        using var dir = new TempDirectory();
        string spec = dir.File("s.yaml", DemoSpecs.Sweep());
        string outDir = Path.Combine(dir.Path, "out");
        var cases = new (string[] Args, string Expected)[]
        {
            (new[] { "sweep", spec, "problem.rowz=5", "--out", outDir }, "<command line>: key 'problem.rowz': no such key in the spec (did you mean 'problem.rows'?); write +problem.rowz=… to add a new key"),
            (new[] { "sweep", spec, "optimizer.lr=-1", "--out", outDir }, "<command line>: key 'optimizer.lr': must be > 0 (got -1)"),
            (new[] { "sweep", spec, "grid.seed=[0, 1.5]", "--out", outDir }, "<command line>: key 'seed': must be an integer (got 1.5)"),
            (new[] { "sweep", spec, "--shard", "3/2", "--out", outDir }, "<command line>: --shard must be K/N with 0 <= K < N (got '3/2')"),
            (new[] { "sweep", dir.File("bad.yaml", DemoSpecs.Sweep(cols: 200)), "--out", outDir }, $"{dir.Path}/bad.yaml:5: key 'problem.cols': must be <= rows (96) so the problem has one solution (got 200)"),
            (new[] { "run", spec, "--out", outDir }, $"{spec}:10: key 'grid': this spec's grid makes 4 runs; run it with `memlab sweep`, or fix the axes with key=value"),
            (new[] { "run", Path.Combine(dir.Path, "missing.yaml"), "--out", outDir }, $"<command line>: cannot read spec file '{dir.Path}/missing.yaml' (not found)"),
            (new[] { "results", Path.Combine(dir.Path, "nowhere") }, $"no results folder '{dir.Path}/nowhere'"),
            (new[] { "sweep", spec, "--workers", "many" }, "memlab: Cannot parse argument 'many' for option '--workers' as expected type 'System.Int32'."),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, stdout, stderr) = Memlab.Run(dir.Path, args);
            Assert.True(code == 2, $"exit {code} for {string.Join(' ', args)}: {stderr}");
            Assert.Equal(expected, stderr.TrimEnd('\n'));
            Assert.DoesNotContain('\n', stderr.TrimEnd('\n'));
            Assert.Equal("", stdout);
            Assert.False(Directory.Exists(outDir), "nothing may be written on bad input");
        }
    }

    [Fact]
    public void RunSweepAndResultsWorkEndToEnd()
    {
        using var dir = new TempDirectory();
        string spec = dir.File("s.yaml", DemoSpecs.Sweep(steps: 30) + "select: {metric: final_loss, over: [optimizer.lr]}\n");
        string a = Path.Combine(dir.Path, "a"), b0 = Path.Combine(dir.Path, "b0"), b1 = Path.Combine(dir.Path, "b1");
        var (code, stdout, _) = Memlab.Run(dir.Path, "sweep", spec, "--out", a, "--workers", "2");
        Assert.Equal(0, code);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("sweep name=s runs=4 shard=0/1 shard_runs=4 workers=2", lines[0]);
        Assert.Equal(4, lines.Count(l => l.StartsWith("start id=", StringComparison.Ordinal)));
        Assert.Equal(4, lines.Count(l => l.StartsWith("finish id=", StringComparison.Ordinal) && l.Contains(" status=completed ")));
        Assert.StartsWith("done completed=4 diverged=0 failed=0 skipped=0", lines[^1]);
        Assert.Equal(0, Memlab.Run(dir.Path, "sweep", spec, "--out", b0, "--shard", "0/2").ExitCode);
        Assert.Equal(0, Memlab.Run(dir.Path, "sweep", spec, "--out", b1, "--shard", "1/2").ExitCode);
        var whole = Memlab.Run(dir.Path, "results", a);
        var merged = Memlab.Run(dir.Path, "results", b0, b1, "--out", Path.Combine(dir.Path, "merged.csv"));
        Assert.Equal(0, merged.ExitCode);
        Assert.Equal(whole.Stdout, File.ReadAllText(Path.Combine(dir.Path, "merged.csv")));
        Assert.StartsWith("optimizer.lr,runs,completed,diverged,failed,", whole.Stdout);
        Assert.Contains("results runs=4 grid_points=2 completed=4 diverged=0 failed=0 selected=1 metric=final_loss", whole.Stderr);

        // One run of the same spec with the grid fixed: `memlab run` gives the sweep's run id.
        var run = Memlab.Run(dir.Path, "run", spec, "optimizer.lr=0.4", "seed=1", "--out", Path.Combine(dir.Path, "runs"));
        Assert.Equal(0, run.ExitCode);
        string id = run.Stdout.Split('\n').Single(l => l.StartsWith("run id=", StringComparison.Ordinal)).Split(' ')[1][3..];
        Assert.True(Directory.Exists(Path.Combine(a, id)), $"run {id} should match a sweep run");
    }

    [Fact]
    public void EmittedSlurmScriptAndKubernetesManifestAreWellFormed()
    {
        using var dir = new TempDirectory();
        string spec = dir.File("my sweep.yaml", DemoSpecs.Sweep());
        var slurm = Memlab.Run(dir.Path, "sweep", spec, "seed=3", "--emit", "slurm", "--shards", "3", "--workers", "2", "--out", "res", "--partition", "debug");
        Assert.Equal(0, slurm.ExitCode);
        string script = slurm.Stdout;
        Assert.StartsWith("#!/bin/bash\n", script);
        Assert.Contains("#SBATCH --array=0-2\n", script);
        Assert.Contains("#SBATCH --cpus-per-task=2\n", script);
        Assert.Contains("#SBATCH --partition=debug\n", script);
        Assert.Contains($"'{spec}' seed=3 --out {Path.Combine(dir.Path, "res")} --workers 2 --threads-per-run 1 --shard \"${{SLURM_ARRAY_TASK_ID}}/3\"", script);
        Assert.Contains(Memlab.Dll, script);
        string scriptFile = dir.File("job.sh", script);
        using (var bash = Process.Start(new ProcessStartInfo("bash", new[] { "-n", scriptFile }) { RedirectStandardError = true })!)
        {
            bash.WaitForExit();
            Assert.Equal(0, bash.ExitCode);
        }
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "res")));

        var k8s = Memlab.Run(dir.Path, "sweep", spec, "optimizer.steps=7", "--emit", "k8s", "--shards", "4", "--image", "registry/memlab:1");
        Assert.Equal(0, k8s.ExitCode);
        var stream = new YamlStream();
        stream.Load(new StringReader(k8s.Stdout));
        Assert.Equal(2, stream.Documents.Count);
        var config = (YamlMappingNode)stream.Documents[0].RootNode;
        var job = (YamlMappingNode)stream.Documents[1].RootNode;
        Assert.Equal("Job", job["kind"].ToString());
        var jobSpec = (YamlMappingNode)job["spec"];
        Assert.Equal("Indexed", jobSpec["completionMode"].ToString());
        Assert.Equal("4", jobSpec["completions"].ToString());
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)jobSpec["template"])["spec"])["containers"])[0];
        Assert.Equal("registry/memlab:1", container["image"].ToString());
        var env = (YamlMappingNode)((YamlSequenceNode)container["env"])[0];
        Assert.Equal(("MEMLAB_SHARD_COUNT", "4"), (env["name"].ToString(), env["value"].ToString()));
        // The embedded spec is the sweep with the override applied: it expands to the same runs.
        string embedded = ((YamlMappingNode)config["data"])["spec.yaml"].ToString();
        var fromManifest = SweepPlan.FromSpec(SpecParser.ParseText(embedded, "embedded.yaml"), "x", ExperimentRegistry.CreateDefault());
        var direct = SweepPlan.Load(spec, new[] { "optimizer.steps=7" }, ExperimentRegistry.CreateDefault());
        Assert.Equal(direct.Runs.Select(r => r.Id), fromManifest.Runs.Select(r => r.Id));
        output.WriteLine(k8s.Stdout);
    }

    [Fact]
    public void SweepKilledAtRandomMomentsCompletesEveryRunExactlyOnce()
    {
        using var dir = new TempDirectory();
        // 24 runs of ~0.1 s each. Each attempt is killed a random 0–150 ms after its first or second run starts,
        // so kills land inside runs (and during folder moves) whatever the machine's speed.
        string spec = dir.File("k.yaml", DemoSpecs.Sweep(rows: 2000, cols: 64, steps: 250, lrs: "[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]", seeds: "[0, 1, 2, 3]"));
        var plan = SweepPlan.Load(spec, Array.Empty<string>(), ExperimentRegistry.CreateDefault());
        string outDir = Path.Combine(dir.Path, "out");
        var random = new Random(20240611);
        int kills = 0, tempsSeen = 0;
        var clock = Stopwatch.StartNew();
        for (int attempt = 0; attempt < 12 && kills < 6; attempt++)
        {
            int startsWanted = random.Next(1, 3), starts = 0;
            using var started = new SemaphoreSlim(0);
            using var p = Process.Start(Memlab.StartInfo(dir.Path, "sweep", spec, "--out", outDir, "--workers", "2"))!;
            p.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.StartsWith("start id=", StringComparison.Ordinal) == true && Interlocked.Increment(ref starts) == startsWanted) started.Release();
            };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            while (!started.Wait(50) && !p.HasExited) { }
            if (p.HasExited) break; // it finished: nothing left to interrupt
            Thread.Sleep(random.Next(0, 150));
            p.Kill(entireProcessTree: true); // SIGKILL: no cleanup runs
            p.WaitForExit();
            kills++;
            if (Directory.Exists(outDir)) tempsSeen += Directory.GetDirectories(outDir, ".tmp-*").Length;
            AssertNoPartialRuns(outDir, plan);
        }
        output.WriteLine($"{kills} kills, {tempsSeen} temporary folders left by them, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(kills >= 5, $"only {kills} kills happened before the sweep finished");

        var final = Memlab.Run(dir.Path, "sweep", spec, "--out", outDir, "--workers", "2");
        Assert.Equal(0, final.ExitCode);
        Assert.Empty(Directory.GetDirectories(outDir, ".tmp-*"));
        var folders = Directory.GetDirectories(outDir).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(plan.Runs.Select(r => r.Id).Order(), folders);
        AssertNoPartialRuns(outDir, plan);

        // The interrupted-and-resumed results equal an uninterrupted sweep's.
        string reference = Path.Combine(dir.Path, "reference");
        Assert.Equal(0, Memlab.Run(dir.Path, "sweep", spec, "--out", reference, "--workers", "2").ExitCode);
        Assert.Equal(ResultsTable.Load(new[] { reference }).ToCsv(), ResultsTable.Load(new[] { outDir }).ToCsv());
        foreach (var run in plan.Runs)
            Assert.Equal(File.ReadAllText(Path.Combine(reference, run.Id, "metrics.csv")), File.ReadAllText(Path.Combine(outDir, run.Id, "metrics.csv")));
    }

    /// <summary>Every run folder present is complete: all files, a readable summary, every step in metrics.csv.</summary>
    private static void AssertNoPartialRuns(string outDir, SweepPlan plan)
    {
        if (!Directory.Exists(outDir)) return;
        var ids = plan.Runs.Select(r => r.Id).ToHashSet();
        foreach (string d in Directory.GetDirectories(outDir))
        {
            string name = Path.GetFileName(d);
            if (name.StartsWith(".tmp-", StringComparison.Ordinal)) continue;
            Assert.Contains(name, ids);
            Assert.Equal(RunStatus.Completed, ResultsStore.ReadSummary(d).Status);
            Assert.Equal(251, File.ReadAllLines(Path.Combine(d, "metrics.csv")).Length);
            Assert.Equal(250, File.ReadAllLines(Path.Combine(d, "metrics.jsonl")).Length);
            Assert.True(File.Exists(Path.Combine(d, "spec.yaml")));
            Assert.Single(Directory.GetFiles(d, "events.out.tfevents.*"));
        }
    }
}
