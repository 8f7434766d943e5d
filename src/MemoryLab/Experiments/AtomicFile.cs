using System.Text;

namespace MemoryLab.Experiments;

/// <summary>
/// Writes files so a reader never sees a half-written one: the content goes to a temporary file in the same
/// folder, is flushed to disk, then renamed over the target (rename within a folder is atomic on POSIX and NTFS).
/// </summary>
internal static class AtomicFile
{
    /// <summary>Suffix of temporary files (<c>name.tmp-XXXXXXXX</c>); a crash can leave one, never a partial target.</summary>
    public const string TempMarker = ".tmp-";

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="text"/> (UTF-8, no BOM).</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder", nameof(path));
        Directory.CreateDirectory(dir);
        string tmp = full + TempMarker + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { /* the original error matters more */ }
            throw;
        }
    }
}
