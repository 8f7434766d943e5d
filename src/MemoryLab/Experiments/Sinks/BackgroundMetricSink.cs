using System.Runtime.ExceptionServices;
using MemoryLab.Numerics;

namespace MemoryLab.Experiments;

/// <summary>
/// Writes the rows logged to it into a target sink on a thread of its own, in the order they came and with the wall time
/// they were logged at, so a training step does not wait for the number formatting and file writes (4–6 µs a step for a
/// run's three metric files, measured on this project's 2-core VM, a tenth of a step at batch 16 of the teacher–student
/// shape). The rows wait in a queue of <see cref="Capacity"/>; the writer sleeps when it has written them all and is woken
/// once <see cref="WakeEvery"/> have queued up (a wake-up costs the waker about 20 µs on that VM) or by <see cref="Flush"/>,
/// and wakes by itself after <see cref="MaxDelay"/>. <see cref="Flush"/> and <see cref="Dispose"/> return once every row
/// logged before them is in the target; <see cref="Mark"/> runs an action there once the rows before it are, without waiting.
/// The target is used by one thread at a time. A write that throws is rethrown by the next <see cref="Log"/> or
/// <see cref="Flush"/> (the rows after it are dropped).
/// </summary>
internal sealed class BackgroundMetricSink : IMetricSink
{
    /// <summary>Rows the queue holds; a full queue makes <see cref="Log"/> wait for the writer.</summary>
    public const int Capacity = 1024;

    /// <summary>Rows queued before a sleeping writer is woken.</summary>
    public const int WakeEvery = 256;

    /// <summary>How long the writer sleeps at most: it then writes what has queued, so a slow run's rows reach its files within
    /// about this.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    private readonly IWallTimedMetricSink _target;
    private readonly long[] _steps = new long[Capacity];
    private readonly double[] _times = new double[Capacity];   // the wall time each row was logged at
    private readonly MetricValue[]?[] _rows = new MetricValue[Capacity][];
    private readonly int[] _lengths = new int[Capacity];
    private readonly Action<Exception?>?[] _marks = new Action<Exception?>?[Capacity];   // a slot's mark (Mark) instead of a row
    private readonly Sleeper _writer = new(), _owner = new();
    private readonly Thread _thread;
    private long _queued, _written;           // rows queued (written by the owner), rows written (by the writer)
    private volatile Exception? _error;
    private volatile bool _stopping;
    private bool _disposed;

    /// <summary>A sink that writes into <paramref name="target"/> on its own thread (it does not dispose the target).</summary>
    public BackgroundMetricSink(IWallTimedMetricSink target)
    {
        _target = target;
        _thread = new Thread(Write) { Name = "memlab-metrics", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Whether the writer has written every row and announced that it sleeps (for tests).</summary>
    internal bool WriterIdle => _writer.IsAnnounced && Volatile.Read(ref _written) == Volatile.Read(ref _queued);

    /// <inheritdoc/>
    public void Log(long step, ReadOnlySpan<MetricValue> values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfFailed();
        long q = _queued;
        if (q - Volatile.Read(ref _written) == Capacity) WaitUntilWritten(q - Capacity + 1);
        int slot = (int)(q % Capacity);
        var row = _rows[slot];
        if (row is null || row.Length < values.Length) _rows[slot] = row = new MetricValue[Math.Max(values.Length, 8)];
        values.CopyTo(row);
        _lengths[slot] = values.Length;
        _steps[slot] = step;
        _times[slot] = MetricFormat.WallTime();
        Interlocked.Exchange(ref _queued, q + 1);
        if (_writer.IsAnnounced && q + 1 - Volatile.Read(ref _written) >= WakeEvery) _writer.Wake();
    }

    /// <summary>Queues <paramref name="atMark"/> behind the rows logged so far, without waiting for them: the writer calls it on its
    /// own thread (so it may use the target) once they are in the target, with null, or with the exception of a write that
    /// failed before it (the rows after a failure are dropped, a mark is still called). The writer is woken for it now.</summary>
    public void Mark(Action<Exception?> atMark)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(atMark);
        ThrowIfFailed();
        long q = _queued;
        if (q - Volatile.Read(ref _written) == Capacity) WaitUntilWritten(q - Capacity + 1);
        _marks[(int)(q % Capacity)] = atMark;
        Interlocked.Exchange(ref _queued, q + 1);
        _writer.Wake();
    }

    /// <summary>Returns once every row logged so far is in the target (and flushes it).</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WaitUntilWritten(_queued);
        ThrowIfFailed();
        _target.Flush();
    }

    // Wakes the writer and waits until it has written `count` rows.
    private void WaitUntilWritten(long count)
    {
        if (Volatile.Read(ref _written) >= count) return;
        _writer.Wake();
        _owner.WaitUntil((Sink: this, Count: count), static s => Volatile.Read(ref s.Sink._written) >= s.Count);
    }

    private void ThrowIfFailed()
    {
        if (_error is { } e) ExceptionDispatchInfo.Throw(e);
    }

    private void Write()
    {
        while (true)
        {
            long w = _written;
            if (w < Volatile.Read(ref _queued))
            {
                int slot = (int)(w % Capacity);
                if (_marks[slot] is { } mark)
                {
                    _marks[slot] = null;
                    try { mark(_error); }
                    catch (Exception e) { _error ??= e; }
                }
                else if (_error is null)
                {
                    try { _target.Log(_steps[slot], _rows[slot]!.AsSpan(0, _lengths[slot]), _times[slot]); }
                    catch (Exception e) { _error = e; }
                }
                Interlocked.Exchange(ref _written, w + 1);
                if (_owner.IsAnnounced) _owner.Wake();
                continue;
            }
            if (_stopping) return;
            _writer.Announce();
            if (Volatile.Read(ref _queued) > w || _stopping) _writer.Cancel();
            else _writer.Sleep(MaxDelay);
        }
    }

    /// <summary>Writes the rows still queued, then stops the writer.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stopping = true;
        _writer.Wake();
        _thread.Join();
    }
}
