namespace MemoryLab.Experiments;

/// <summary>Where a spec value came from: a file and a 1-based line and column, or the command line
/// (line 0). Every <see cref="SpecNode"/> carries one so an error can name the line to fix.</summary>
/// <param name="File">The file as the user named it (relative paths stay relative), or <see cref="CommandLineName"/>.</param>
/// <param name="Line">1-based line; 0 when the value came from the command line.</param>
/// <param name="Column">1-based column; 0 when unknown.</param>
public readonly record struct SourcePosition(string File, int Line, int Column)
{
    /// <summary>The file name used for values given as <c>key=value</c> overrides.</summary>
    public const string CommandLineName = "<command line>";

    /// <summary>The position of a command-line override.</summary>
    public static SourcePosition CommandLine => new(CommandLineName, 0, 0);

    /// <summary><c>FILE:LINE</c>, or just <c>FILE</c> when there is no line (command line).</summary>
    public override string ToString() => Line > 0 ? $"{File}:{Line}" : File;
}

/// <summary>
/// Bad input in an experiment spec or on the command line. <see cref="Exception.Message"/> is one line,
/// <c>FILE:LINE: key 'model.nu0': must be &lt; 1 (got 1.2)</c>, so the CLI can print it as it is and exit
/// with code 2 (DESIGN.md, "What users touch").
/// </summary>
public sealed class SpecException : Exception
{
    /// <summary>An error at <paramref name="position"/> about <paramref name="key"/> (a dotted path; null when
    /// the error is not about one key).</summary>
    public SpecException(SourcePosition position, string? key, string reason, Exception? inner = null)
        : base(Format(position, key, reason), inner)
    {
        Position = position;
        Key = key;
        Reason = reason;
    }

    /// <summary>Where the offending value (or key) is.</summary>
    public SourcePosition Position { get; }

    /// <summary>The dotted key path the error is about, or null.</summary>
    public string? Key { get; }

    /// <summary>What is wrong, without the position and key.</summary>
    public string Reason { get; }

    private static string Format(SourcePosition position, string? key, string reason)
    {
        // One line, always: a multi-line YAML error message is folded.
        reason = reason.ReplaceLineEndings(" ").Trim();
        return key is null ? $"{position}: {reason}" : $"{position}: key '{key}': {reason}";
    }
}
