using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace MemoryLab.Experiments;

/// <summary>
/// The one way MemoryLab replaces a file: the content goes to a temporary file in the same folder
/// (<c>name.tmp-XXXXXXXX</c>), is flushed to disk, then renamed over the target (a rename within a folder is atomic on
/// POSIX and NTFS). A reader sees the old file or the new one, never a half-written one; a killed writer leaves at most
/// a temporary file, which the writer's next run removes (<see cref="DeleteTemporaries"/>).
/// </summary>
internal static class AtomicFile
{
    /// <summary>Suffix of temporary files (<c>name.tmp-XXXXXXXX</c>); a crash can leave one, never a partial target.</summary>
    public const string TempMarker = ".tmp-";

    /// <summary>Fault injection for tests only: <c>STEP:BYTES</c> makes the periodic checkpoint of training step STEP stop
    /// after BYTES bytes of its temporary file and kill the process (SIGKILL), as a <c>kill -9</c> during the write would;
    /// <c>STEP</c> alone kills it right after that checkpoint is complete (at the checkpoint boundary).</summary>
    public const string KillAtCheckpointVariable = "MEMLAB_TEST_KILL_AT_CHECKPOINT";

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="text"/> (UTF-8, no BOM).</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Atomically replaces <paramref name="path"/> with what <paramref name="write"/> writes to the stream it is given.
    /// <paramref name="killAfterBytes"/> (tests only) kills the process once that many bytes are on disk.</summary>
    public static void Write(string path, Action<Stream> write, long? killAfterBytes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder", nameof(path));
        Directory.CreateDirectory(dir);
        string tmp = full + TempMarker + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (killAfterBytes is { } limit)
                {
                    using var torn = new TornStream(fs, limit);
                    write(torn);
                }
                else write(fs);
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

    /// <summary>Removes temporary files a killed writer of <paramref name="path"/> left beside it.</summary>
    public static void DeleteTemporaries(string path)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) return;
        foreach (string f in Directory.EnumerateFiles(dir, Path.GetFileName(full) + TempMarker + "*"))
        {
            try { File.Delete(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The test-only kill point of the periodic checkpoint at <paramref name="step"/>: null when none, else the bytes to
    /// write before dying (<see cref="long.MaxValue"/>: die after the complete write).</summary>
    public static long? KillPointAt(long step)
    {
        string? v = Environment.GetEnvironmentVariable(KillAtCheckpointVariable);
        if (string.IsNullOrEmpty(v)) return null;
        var parts = v.Split(':');
        if (!long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long at) || at != step) return null;
        return parts.Length > 1 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : long.MaxValue;
    }

    /// <summary>Kills this process as <c>kill -9</c> would: no finally blocks, no flushing.</summary>
    public static void KillSelf()
    {
        using var me = Process.GetCurrentProcess();
        me.Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>Passes writes through until <c>limit</c> bytes, then puts those on disk and kills the process.</summary>
    private sealed class TornStream(FileStream inner, long limit) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            long room = limit - _written;
            if (buffer.Length < room)
            {
                inner.Write(buffer);
                _written += buffer.Length;
                return;
            }
            inner.Write(buffer[..(int)room]);
            inner.Flush(flushToDisk: true);
            KillSelf();
        }
        public override void WriteByte(byte value) => Write([value]);
    }
}
