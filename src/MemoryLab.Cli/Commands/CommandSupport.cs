using System.Globalization;
using System.Reflection;
using MemoryLab.Experiments;
using Spectre.Console;

namespace MemoryLab.Cli.Commands;

/// <summary>Shared behaviour of memlab's commands: exit codes, one-line errors, Ctrl+C, how memlab was started.</summary>
internal static class CommandSupport
{
    /// <summary>Everything went well.</summary>
    public const int ExitOk = 0;
    /// <summary>Some runs failed.</summary>
    public const int ExitRunsFailed = 1;
    /// <summary>Bad input: one line on stderr (file, line, key), nothing written.</summary>
    public const int ExitBadInput = 2;
    /// <summary>Interrupted (Ctrl+C / SIGTERM).</summary>
    public const int ExitInterrupted = 130;

    /// <summary>Runs <paramref name="body"/>, turning bad input into exit code 2 and a one-line message.</summary>
    public static int Guard(Func<CancellationToken, int> body)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // let the running runs stop cleanly and remove their temporary folders
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return body(cts.Token);
        }
        catch (SpecException e)
        {
            Console.Error.WriteLine(e.Message);
            return ExitBadInput;
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine(e.Message.ReplaceLineEndings(" "));
            return ExitBadInput;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never a stack trace: one line saying what failed (set MEMLAB_DEBUG=1 to see where).
            Console.Error.WriteLine($"memlab: {e.GetType().Name}: {e.Message}".ReplaceLineEndings(" "));
            if (Environment.GetEnvironmentVariable("MEMLAB_DEBUG") is { Length: > 0 }) Console.Error.WriteLine(e);
            return ExitRunsFailed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>A thread or worker count given as <paramref name="option"/>: from 1 to <see cref="Numerics.WorkerPool.MaxThreads"/>.</summary>
    public static int CheckThreads(int n, string option) =>
        n >= 1 && n <= Numerics.WorkerPool.MaxThreads ? n
            : throw new SpecException(SourcePosition.CommandLine, option, $"must be from 1 to {Numerics.WorkerPool.MaxThreads} (got {n})");

    /// <summary>The full path of the results folder <paramref name="path"/> given as <paramref name="option"/>, checked before anything is
    /// written: not a file or device, not under a file, and in a folder this process can write to. Writes nothing.</summary>
    public static string RequireOutputFolder(string path, string option)
    {
        string full = Full(path, option);
        if (!Directory.Exists(full) && Path.Exists(full)) throw Bad(option, $"'{path}' is a file, not a folder");
        CheckWritable(NearestFolder(full, path, option), path, option);
        return full;
    }

    /// <summary>The full path of the output file <paramref name="path"/> given as <paramref name="option"/>, checked before anything is
    /// written: not a folder or device, not under a file, in a folder this process can write to. Writes nothing.</summary>
    public static string RequireOutputFile(string path, string option)
    {
        string full = Full(path, option);
        if (Directory.Exists(full)) throw Bad(option, $"'{path}' is a folder, not a file");
        if (Path.Exists(full) && IsSpecial(full)) throw Bad(option, $"'{path}' is not a regular file");
        string parent = Path.GetDirectoryName(full) ?? throw Bad(option, $"'{path}' has no folder");
        string folder = Directory.Exists(parent) ? parent : NearestFolder(parent, path, option);
        CheckWritable(folder, path, option);
        return full;
    }

    private static string Full(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw Bad(option, "must name a path");
        try { return Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { throw Bad(option, $"'{path}' is not a valid path ({e.Message})"); }
    }

    // Device and kernel files: writing a result "into" /dev/null would replace it, not discard the result.
    private static bool IsSpecial(string full) =>
        OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()
            ? full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal) || full.StartsWith("/sys/", StringComparison.Ordinal)
            : false;

    /// <summary>The nearest existing folder at or above <paramref name="full"/>; an error when a file or device lies on the way.</summary>
    private static string NearestFolder(string full, string path, string option)
    {
        if (IsSpecial(full) && Path.Exists(full) && !Directory.Exists(full)) throw Bad(option, $"'{path}' is not a regular folder");
        string? p = full;
        while (p is not null && !Directory.Exists(p))
        {
            if (Path.Exists(p)) throw Bad(option, $"'{path}' lies under '{p}', which is a file");
            p = Path.GetDirectoryName(p);
        }
        return p ?? throw Bad(option, $"'{path}' has no existing folder above it");
    }

    private static void CheckWritable(string folder, string path, string option)
    {
        if (IsSpecial(folder + "/")) throw Bad(option, $"'{path}' is in '{folder}', where results cannot be written");
        string probe = Path.Combine(folder, $".memlab-write-check-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Bad(option, $"cannot write in '{folder}' ({e.Message.ReplaceLineEndings(" ")})");
        }
        finally
        {
            try { if (File.Exists(probe)) File.Delete(probe); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static SpecException Bad(string option, string reason) => new(SourcePosition.CommandLine, option, reason);

    /// <summary>Whether to draw live progress (a terminal) rather than plain lines (redirected output).</summary>
    public static bool Interactive =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
        && Environment.GetEnvironmentVariable("MEMLAB_PLAIN") is null;

    /// <summary>The command that starts this memlab: <c>dotnet /path/memlab.dll</c> or the apphost's path.</summary>
    public static IReadOnlyList<string> MemlabInvocation()
    {
        string? process = Environment.ProcessPath;
        // The apphost, a self-contained or a single-file build starts itself; only `dotnet memlab.dll` needs the dll, found beside
        // the app (Assembly.Location is empty in a single-file bundle: IL3000).
        if (process is not null && !Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            return new[] { process };
        string dll = Path.Combine(AppContext.BaseDirectory, (Assembly.GetEntryAssembly()?.GetName().Name ?? "memlab") + ".dll");
        return new[] { process ?? "dotnet", dll };
    }

    /// <summary>Seconds with millisecond resolution, invariant.</summary>
    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>A metric value for logs.</summary>
    public static string Number(double x) => SpecNode.FormatNumber(x).Trim('"');

    /// <summary>A value for a plain log line: quoted when it has spaces or quotes.</summary>
    public static string Word(string s) => s.Length > 0 && s.All(c => !char.IsWhiteSpace(c) && c != '"') ? s : "\"" + s.Replace("\"", "\\\"") + "\"";
}
