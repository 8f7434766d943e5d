using System.Diagnostics;
using System.Text;
using System.Xml.Linq;

namespace MemoryLab.Tests.Packaging;

/// <summary>The repository these tests run from, the build configuration of this test assembly, and a way to run the
/// <c>dotnet</c> CLI (build, pack, tool install) as a child process.</summary>
internal static class Repo
{
    /// <summary>The folder holding MemoryLab.slnx, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built in (…/bin/&lt;Configuration&gt;/net10.0/),
    /// so builds and packs reuse the library's outputs instead of compiling it again.</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name is { Length: > 0 } c && c != "bin" ? c : "Debug";

    /// <summary>The <c>&lt;Version&gt;</c> of Directory.Build.props: the one place the version is written.</summary>
    public static string Version { get; } =
        XDocument.Load(Path.Combine(Root, "Directory.Build.props")).Descendants("Version").Single().Value.Trim();

    /// <summary>The dotnet host running these tests (the CLI sets DOTNET_HOST_PATH), else <c>dotnet</c> on the PATH.</summary>
    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p : "dotnet";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MemoryLab.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no MemoryLab.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/> in <paramref name="workingDirectory"/>; returns the
    /// exit code and stdout + stderr. Build servers are off (<c>--disable-build-servers</c> and the variables below): a
    /// compiler server left running would hold the redirected output open, and the test would wait for it.</summary>
    public static (int ExitCode, string Output) Run(string file, string workingDirectory, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 180)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // The test host's MSBuild variables point at the outer build; a child `dotnet` sets its own.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToArray())
            psi.Environment.Remove(key);
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["UseSharedCompilation"] = "false";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // An installed tool's launcher finds the runtime through DOTNET_ROOT.
        if (Path.IsPathRooted(Dotnet)) psi.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(Dotnet)!;
        // A test must not pick up a shard from the environment it runs in.
        foreach (string v in new[] { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX", "MEMLAB_SHARD_COUNT" })
            psi.Environment.Remove(v);
        if (environment != null) foreach (var (k, v) in environment) psi.Environment[k] = v;

        var output = new StringBuilder();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds} s; output so far:\n{output}");
        }
        p.WaitForExit(); // drains the output handlers
        lock (output) return (p.ExitCode, output.ToString());
    }

    /// <summary><c>dotnet ARGS</c>; throws with the output when it fails.</summary>
    public static string DotnetOrThrow(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var (code, output) = Run(Dotnet, workingDirectory, args, environment);
        if (code != 0) throw new InvalidOperationException($"dotnet {string.Join(' ', args)} exited {code}:\n{output}");
        return output;
    }

    /// <summary>The NuGet global packages folder (where restored packages already are).</summary>
    public static string GlobalPackagesFolder()
    {
        string text = DotnetOrThrow(Root, null, "nuget", "locals", "global-packages", "--list");
        const string prefix = "global-packages:";
        string line = text.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line[prefix.Length..].Trim();
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class ScratchFolder : IDisposable
{
    public ScratchFolder(string tag)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"memlab-{tag}-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string relative, string text)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Packs MemoryLab and MemoryLab.Cli once (from the outputs this test run already built) into a temporary
/// folder, with a NuGet.config: the local folder for MemoryLab*, the usual nuget.org source for the rest. Each restore
/// goes to a fresh private packages folder (<see cref="RestoreEnvironment"/>) that links every package the machine has
/// restored before except MemoryLab's own, so dependencies need no network and a MemoryLab of the same version in the
/// user's NuGet cache (restored by following docs/README-install.md, say) is never picked up instead of the fresh one.
/// (The machine's folder cannot be a NuGet fallback folder: a package found there is used before any source.)</summary>
public sealed class PackedPackages : IDisposable
{
    private readonly ScratchFolder _scratch = new("packages");
    private readonly Lazy<string> _pack;

    /// <summary>Creates the folder; packing happens on first use.</summary>
    public PackedPackages()
    {
        _pack = new Lazy<string>(Pack, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The folder holding MemoryLab.&lt;version&gt;.nupkg and MemoryLab.Cli.&lt;version&gt;.nupkg.</summary>
    public string Folder => _pack.Value;

    /// <summary>The NuGet.config described above.</summary>
    public string ConfigFile => Path.Combine(_scratch.Path, "NuGet.config");

    /// <summary>Environment for one restore: <c>NUGET_PACKAGES</c> is a new private global packages folder holding a link
    /// to each package id of the machine's folder but <c>memorylab</c> and <c>memorylab.*</c>.</summary>
    public Dictionary<string, string> RestoreEnvironment()
    {
        string folder = Path.Combine(_scratch.Path, "restored-" + Interlocked.Increment(ref _restores).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        string machine = _machinePackages.Value;
        if (Directory.Exists(machine))
            foreach (string id in Directory.EnumerateDirectories(machine).Select(d => Path.GetFileName(d)))
                if (id != "memorylab" && !id.StartsWith("memorylab.", StringComparison.Ordinal))
                    Directory.CreateSymbolicLink(Path.Combine(folder, id), Path.Combine(machine, id));
        return new Dictionary<string, string> { ["NUGET_PACKAGES"] = folder };
    }

    private readonly Lazy<string> _machinePackages = new(Repo.GlobalPackagesFolder, LazyThreadSafetyMode.ExecutionAndPublication);
    private int _restores;

    /// <summary>A scratch folder that is deleted with the packages.</summary>
    public string Scratch => _scratch.Path;

    private string Pack()
    {
        string folder = Path.Combine(_scratch.Path, "feed");
        foreach (string project in new[] { "src/MemoryLab/MemoryLab.csproj", "src/MemoryLab.Cli/MemoryLab.Cli.csproj" })
            Repo.DotnetOrThrow(Repo.Root, null, "pack", project, "-c", Repo.Configuration, "--no-build", "-o", folder);
        File.WriteAllText(ConfigFile, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{folder}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="MemoryLab" /><package pattern="MemoryLab.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        return folder;
    }

    /// <summary>Deletes the folder.</summary>
    public void Dispose() => _scratch.Dispose();
}
