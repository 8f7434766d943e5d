using System.Diagnostics;
using System.Text;

namespace MemoryLab.Tests.Experiments;

/// <summary>A fresh temporary directory, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "memlab-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, string text)
    {
        string full = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, text);
        return full;
    }

    /// <summary>Copies folder <paramref name="from"/> with everything under it to <paramref name="to"/>.</summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string d in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(System.IO.Path.Combine(to, System.IO.Path.GetRelativePath(from, d)));
        foreach (string f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            System.IO.File.Copy(f, System.IO.Path.Combine(to, System.IO.Path.GetRelativePath(from, f)));
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Runs the built CLI as `dotnet memlab.dll …` (the test project references the CLI, so memlab.dll sits
/// beside the test assembly).</summary>
internal static class Memlab
{
    public static string Dll => System.IO.Path.Combine(AppContext.BaseDirectory, "memlab.dll");

    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p : "dotnet";

    public static ProcessStartInfo StartInfo(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(DotnetHost)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        // A test must not pick up a shard from the environment it runs in.
        foreach (string v in new[] { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX", "MEMLAB_SHARD_COUNT" })
            psi.Environment.Remove(v);
        return psi;
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(string workingDirectory, params string[] args)
    {
        using var p = Process.Start(StartInfo(workingDirectory, args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"memlab {string.Join(' ', args)} did not finish in 120 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>Spec text of the demo kind, sized by the caller.</summary>
internal static class DemoSpecs
{
    public static string Sweep(int rows = 96, int cols = 8, int steps = 60, string lrs = "[0.1, 0.4]", string seeds = "[0, 1]", string extra = "")
    {
        var sb = new StringBuilder();
        sb.Append("kind: least-squares-demo\nseed: 0\n");
        sb.Append($"problem:\n  rows: {rows}\n  cols: {cols}\n  noise: 0.1\n");
        sb.Append($"optimizer:\n  lr: 0.1\n  steps: {steps}\n");
        sb.Append("grid:\n");
        sb.Append($"  optimizer.lr: {lrs}\n");
        sb.Append($"  seed: {seeds}\n");
        sb.Append(extra);
        return sb.ToString();
    }
}
