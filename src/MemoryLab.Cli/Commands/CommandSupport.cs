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
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

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

    /// <summary>Writes a file atomically (temporary file, then rename).</summary>
    public static void WriteAtomically(string path, string text)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, full, overwrite: true);
    }
}
