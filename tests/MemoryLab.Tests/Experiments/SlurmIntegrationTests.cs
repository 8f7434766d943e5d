using System.ComponentModel;
using System.Diagnostics;
using MemoryLab.Experiments;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Experiments;

/// <summary>A [Fact] that is skipped, with the reason, when no Slurm cluster answers here
/// (start one with <c>scripts/slurm-local.sh</c> as root).</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>Skips the test when <c>sinfo</c> is missing or shows no usable node.</summary>
    public SlurmFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = reason;
    }

    private static string? Probe()
    {
        const string hint = "; start a local one-node cluster with `scripts/slurm-local.sh` (as root)";
        try
        {
            var (code, stdout, stderr) = Shell.Run("sinfo", TimeSpan.FromSeconds(15), "-h", "-N", "-o", "%N %T");
            if (code != 0) return $"Slurm is not running (sinfo: {stderr.Trim()})" + hint;
            if (!stdout.Split('\n').Any(l => l.Contains(" idle") || l.Contains(" mixed") || l.Contains(" allocated")))
                return $"no Slurm node is up (sinfo: {stdout.Trim()})" + hint;
            return null;
        }
        catch (Win32Exception)
        {
            return "Slurm is not installed (no sinfo)" + hint;
        }
        catch (TimeoutException)
        {
            return "Slurm does not answer (sinfo timed out)" + hint;
        }
    }
}

internal static class Shell
{
    public static (int Code, string Stdout, string Stderr) Run(string file, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} timed out");
        }
        return (p.ExitCode, o.Result, e.Result);
    }
}

public class SlurmIntegrationTests(ITestOutputHelper output)
{
    /// <summary>Submits `memlab sweep --emit slurm` (12 runs, 4 array tasks) to a real Slurm cluster, waits for the
    /// array, merges with `memlab results` and compares with a local sweep of the same grid.</summary>
    [SlurmFact]
    public void SlurmJobArrayRunsEveryShardAndMergesToTheLocalResult()
    {
        // Under /tmp: Slurm tasks run on this machine and must see the folder.
        using var dir = new TempDirectory();
        string spec = dir.File("slurm-grid.yaml", DemoSpecs.Sweep(steps: 40, lrs: "[0.05, 0.2, 0.6]", seeds: "[0, 1, 2, 3]")
                                                  + "select: {metric: final_loss, over: [optimizer.lr]}\n");
        var plan = SweepPlan.Load(spec, Array.Empty<string>(), ExperimentRegistry.CreateDefault());
        Assert.Equal(12, plan.Runs.Count);
        string clusterOut = Path.Combine(dir.Path, "cluster");

        var emit = Memlab.Run(dir.Path, "sweep", spec, "--emit", "slurm", "--shards", "4", "--out", clusterOut);
        Assert.Equal(0, emit.ExitCode);
        string script = dir.File("job.sh", emit.Stdout);
        var submit = Shell.Run("sbatch", TimeSpan.FromSeconds(30), "--parsable", script);
        Assert.True(submit.Code == 0, $"sbatch failed: {submit.Stderr}");
        string jobId = submit.Stdout.Trim().Split(';')[0];
        output.WriteLine($"submitted job array {jobId}");

        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                var q = Shell.Run("squeue", TimeSpan.FromSeconds(15), "-h", "-j", jobId, "-o", "%i %T");
                if (q.Code == 0 && q.Stdout.Trim().Length == 0) break;
                if (clock.Elapsed > TimeSpan.FromSeconds(150))
                    Assert.Fail($"job {jobId} still queued/running after 150 s: {q.Stdout}{q.Stderr}");
                Thread.Sleep(500);
            }
        }
        catch
        {
            Shell.Run("scancel", TimeSpan.FromSeconds(15), jobId);
            throw;
        }
        output.WriteLine($"array finished in {clock.Elapsed.TotalSeconds:F1} s");

        var logs = Directory.GetFiles(dir.Path, $"memlab-slurm-grid-{jobId}_*.out");
        string allLogs = string.Join("\n", logs.Select(File.ReadAllText));
        Assert.True(logs.Length == 4, $"expected 4 task logs, found {logs.Length}:\n{allLogs}");
        var show = Shell.Run("scontrol", TimeSpan.FromSeconds(15), "show", "job", jobId);
        var states = show.Stdout.Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries).Where(w => w.StartsWith("JobState=", StringComparison.Ordinal)).ToList();
        if (states.Count > 0) Assert.All(states, s => Assert.Equal("JobState=COMPLETED", s));
        foreach (string log in logs)
        {
            string text = File.ReadAllText(log);
            Assert.Contains("shard_runs=3", text);
            Assert.Contains("done completed=3 diverged=0 failed=0", text);
        }

        // Every run exactly once, nothing temporary left.
        var folders = Directory.GetDirectories(clusterOut).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(plan.Runs.Select(r => r.Id).Order(), folders);

        string localOut = Path.Combine(dir.Path, "local");
        Assert.Equal(0, Memlab.Run(dir.Path, "sweep", spec, "--out", localOut, "--workers", "2").ExitCode);
        var merged = Memlab.Run(dir.Path, "results", clusterOut, "--out", Path.Combine(dir.Path, "merged.csv"));
        Assert.Equal(0, merged.ExitCode);
        var local = Memlab.Run(dir.Path, "results", localOut);
        Assert.Equal(local.Stdout, File.ReadAllText(Path.Combine(dir.Path, "merged.csv")));
        Assert.Contains("results runs=12 grid_points=3 completed=12", merged.Stderr);
    }

    /// <summary>A job step given one CPU (<c>srun -c 1</c>) runs one worker by default even where Slurm does not bind CPUs and
    /// the process sees every core of the node (the local cluster runs <c>TaskPlugin=task/none</c>).</summary>
    [SlurmFact]
    public void A_job_step_given_one_cpu_runs_one_worker_by_default()
    {
        using var dir = new TempDirectory();
        string Header(params string[] srun)
        {
            var args = srun.Concat(["env", "-u", "MEMLAB_THREADS", Memlab.DotnetHost, Memlab.Dll, "reproduce", "--scale", "quick", "--only", "zucchet24-cross-kernel",
                "--out", Path.Combine(dir.Path, $"out{srun.Length}")]).ToArray();
            var (code, stdout, stderr) = Shell.Run("srun", TimeSpan.FromSeconds(120), args);
            Assert.True(code == 0, $"srun {string.Join(' ', args)} exited {code}: {stderr}");
            return stdout.Split('\n').First(l => l.StartsWith("reproduce scale=", StringComparison.Ordinal));
        }
        Assert.Contains(" workers=1 ", Header("-c", "1"));
        int visible = int.Parse(Shell.Run("srun", TimeSpan.FromSeconds(60), "nproc").Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($" workers={visible} ", Header());
    }
}
