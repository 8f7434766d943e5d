using System.Diagnostics;
using System.Security.Cryptography;
using MemoryLab.Tests.Experiments;

namespace MemoryLab.Tests.Reliability;

/// <summary>What a memlab process did: exit code and its output.</summary>
internal sealed record MemlabResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The stderr lines (no empty ones).</summary>
    public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Whether any output looks like a .NET stack trace or an unhandled exception.</summary>
    public bool HasStackTrace => (Stdout + Stderr).Contains("   at ", StringComparison.Ordinal)
        || (Stdout + Stderr).Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase)
        || (Stdout + Stderr).Contains("--- End of", StringComparison.Ordinal);

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs the real memlab (a child process) with extra environment variables, and fingerprints folders.</summary>
internal static class Reliable
{
    public static MemlabResult Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = Memlab.StartInfo(workingDirectory, args);
        foreach (var v in new[] { "MEMLAB_THREADS", "MEMLAB_PLUGINS", "MEMLAB_TEST_KILL_AT_CHECKPOINT", "MEMLAB_DEBUG" }) psi.Environment.Remove(v);
        psi.Environment["MEMLAB_PLAIN"] = "1";
        if (environment != null) foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"memlab {string.Join(' ', args)} did not finish in 120 s");
        }
        return new MemlabResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Every file and folder under <paramref name="root"/> with a hash of each file's bytes: equal fingerprints mean nothing
    /// was written, created or removed.</summary>
    public static string Fingerprint(string root)
    {
        if (!Directory.Exists(root)) return "(absent)";
        var lines = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                     .Order(StringComparer.Ordinal))
        {
            string rel = Path.GetRelativePath(root, entry);
            lines.Add(Directory.Exists(entry) ? rel + "/" : $"{rel} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry)))}");
        }
        return string.Join("\n", lines);
    }
}
