using System.Numerics;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Training;

/// <summary>
/// The batches of consecutive steps, drawn ahead by a thread of the ring's own into a ring of buffers. Batch n (of step
/// <c>first + n</c>) lives in slot n mod the slot count; the owner holds the batch it took last until it takes the next, and
/// the drawer fills every other slot. A thread woken through the kernel costs its waker tens of microseconds on some virtual
/// machines (about 20 µs on the 2-core VM this project is developed on, a tenth of a training step at the teacher–student
/// shape), so the drawer, once the ring is full, sleeps until half of it has been taken, and the owner wakes it once per half
/// ring rather than once per step (13 slots at batch 128 of the teacher–student shape, 64 at batch 16). Only the drawer calls
/// the dataset while the ring lives. The first lap is slower than the rest, as the slots' fresh memory is first written (a
/// page fault per 4 KiB: about 0.5 ms for a batch of 128 × 300 on that VM, so the owner waits for each of its first 13 steps,
/// ≈ 7 ms once per run).
/// </summary>
internal sealed class BatchRing<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Most slots: small batches get many, so the drawer is woken once per up to 32 steps.</summary>
    public const int MaxSlots = 64;

    /// <summary>Bytes the slots may take together (a ring always has two): small enough that a half ring drawn in one burst
    /// does not push much of the model's working set out of a last-level cache.</summary>
    public const long MemoryBudget = 4L << 20;

    private readonly ISequenceDataset<T> _task;
    private readonly long _first;
    private readonly SequenceTensor<T>[] _x, _y;
    private readonly Thread _thread;
    private readonly Sleeper _drawer = new(), _owner = new();
    private long _drawn, _taken;              // batches drawn (written by the drawer), batches taken (written by the owner)
    private long _failedAt = -1;              // the batch whose draw threw; the drawer stops there
    private volatile bool _stopping;
    private bool _disposed;

    /// <summary>A ring that draws the batches of <paramref name="task"/> from step <paramref name="firstStep"/> on.</summary>
    public BatchRing(ISequenceDataset<T> task, int batch, long firstStep)
    {
        _task = task;
        _first = firstStep;
        long slotBytes = (long)batch * task.Time * (task.InputFeatures + task.OutputFeatures) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        int slots = (int)Math.Clamp(MemoryBudget / Math.Max(1, slotBytes), 2, MaxSlots);
        _x = new SequenceTensor<T>[slots];
        _y = new SequenceTensor<T>[slots];
        for (int i = 0; i < slots; i++)
        {
            _x[i] = new SequenceTensor<T>(batch, task.Time, task.InputFeatures);
            _y[i] = new SequenceTensor<T>(batch, task.Time, task.OutputFeatures);
        }
        _thread = new Thread(Draw) { Name = "memlab-draw-ahead", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Slots in the ring.</summary>
    public int Slots => _x.Length;

    /// <summary>The step whose batch <see cref="Take"/> returns next.</summary>
    public long NextStep => _first + _taken;

    /// <summary>The batch of <see cref="NextStep"/> (waiting for it if it is not drawn yet); the previous one's buffers go back
    /// to the drawer. Throws what the dataset threw for this step.</summary>
    public (SequenceTensor<T> Inputs, SequenceTensor<T> Targets) Take()
    {
        long n = _taken;
        // Batch n − 1 is released: the drawer may use its slot. Wake a sleeping drawer once half the ring is free.
        Interlocked.Exchange(ref _taken, n + 1);
        if (_drawer.IsAnnounced && Volatile.Read(ref _drawn) - n <= Slots / 2) _drawer.Wake();
        if (Volatile.Read(ref _drawn) <= n) WaitFor(n);
        int slot = (int)(n % Slots);
        return (_x[slot], _y[slot]);
    }

    private void WaitFor(long n)
    {
        _owner.WaitUntil((Ring: this, N: n), static s => Volatile.Read(ref s.Ring._drawn) > s.N || s.Ring.DrawerFailedBy(s.N));
        if (Volatile.Read(ref _drawn) > n) return;
        // The drawer has stopped at a batch whose draw threw: this batch and every later one are drawn here, where the
        // dataset's exception reaches the training loop.
        _thread.Join();
        int slot = (int)(n % Slots);
        _task.FillBatch(_first + n, _x[slot], _y[slot]);
        Interlocked.Exchange(ref _drawn, n + 1);
    }

    private bool DrawerFailedBy(long n) => Volatile.Read(ref _failedAt) is >= 0 and var at && at <= n;

    private void Draw()
    {
        while (!_stopping)
        {
            long n = _drawn;
            // Slot n mod Slots is free once batch n − Slots has been released, i.e. the owner has taken batch n − Slots + 1.
            if (n - Volatile.Read(ref _taken) < Slots - 1)
            {
                int slot = (int)(n % Slots);
                try { _task.FillBatch(_first + n, _x[slot], _y[slot]); }
                catch (Exception)
                {
                    // The owner draws this batch itself and meets the exception on its own thread.
                    Interlocked.Exchange(ref _failedAt, n);
                    _owner.Wake();
                    return;
                }
                Interlocked.Exchange(ref _drawn, n + 1);
                _owner.Wake();
                continue;
            }
            _drawer.Announce();
            if (n - Volatile.Read(ref _taken) < Slots - 1 || _stopping) _drawer.Cancel();
            else _drawer.Sleep();
        }
    }

    /// <summary>Stops the drawer (after the batch it is drawing, if any).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stopping = true;
        _drawer.Wake();
        _thread.Join();
    }
}
