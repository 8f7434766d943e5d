using System.Runtime.ExceptionServices;

namespace MemoryLab.Numerics;

/// <summary>
/// The workers of a sweep that have no run left to start. A run's <see cref="ParallelWork.For(int, Action{int, WorkerPool}, WorkerPool, CancellationToken)"/> loop offers its iterations
/// here, and each spare worker takes iterations of the open loops until the sweep <see cref="Stop"/>s it. So the last, long
/// runs of a sweep (a reproduction whose one run trains many independent models) spread over every core the sweep was given
/// instead of one each. What an iteration computes never depends on the thread that runs it, so results are the same bits.
/// </summary>
public sealed class SpareWorkers
{
    private readonly object _gate = new();
    private readonly List<ParallelWork.Loop> _open = new();
    private bool _stopped;

    internal void Open(ParallelWork.Loop loop)
    {
        lock (_gate)
        {
            _open.Add(loop);
            Monitor.PulseAll(_gate);
        }
    }

    internal void Close(ParallelWork.Loop loop)
    {
        lock (_gate) _open.Remove(loop);
    }

    /// <summary>Runs iterations of the open loops on the calling thread, with <paramref name="pool"/> as their worker pool,
    /// until <see cref="Stop"/>; waits while no loop has an iteration left to take.</summary>
    public void Help(WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        while (true)
        {
            ParallelWork.Loop? loop = null;
            lock (_gate)
            {
                while (!_stopped && (loop = _open.Find(l => l.HasWork)) is null) Monitor.Wait(_gate);
                if (_stopped) return;
            }
            loop!.Work(pool);
        }
    }

    /// <summary>Sends the helpers home: each finishes the iteration it holds and returns from <see cref="Help"/>. The loops
    /// still open are finished by their owners.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }
    }
}

/// <summary>
/// How a run spreads independent pieces of work (one model trained per seed, one fit per start): <see cref="For(int, Action{int, WorkerPool}, WorkerPool, CancellationToken)"/> runs
/// iterations on the calling thread, on <see cref="Threads"/> − 1 helper threads of the run's own, and on the sweep's
/// <see cref="SpareWorkers"/> when there are any. Loops nest (an iteration may run a loop of its own, which the same helpers
/// serve), and each iteration writes only its own results, so the outcome is the same bits whatever the number of threads.
/// </summary>
public sealed class ParallelWork
{
    /// <summary>Every iteration on the calling thread, one after another.</summary>
    public static ParallelWork Serial { get; } = new(1, null);

    // The pool handed to iterations of the overload whose body takes none (never used by them).
    private static readonly WorkerPool Unused = new(1);

    private readonly SpareWorkers? _sweep;
    private readonly object _gate = new();
    private int _depth;
    private SpareWorkers? _own;
    private Thread[] _helpers = [];

    /// <summary>Work on <paramref name="threads"/> threads (the caller's included) and, when given, the sweep's idle workers
    /// <paramref name="spare"/>.</summary>
    public ParallelWork(int threads, SpareWorkers? spare)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _sweep = spare;
    }

    /// <summary>Threads of the run's own (the caller's included), besides any spare workers of a sweep.</summary>
    public int Threads { get; }

    /// <summary>Runs <paramref name="body"/>(i) for i = 0 … <paramref name="count"/> − 1, in any order and concurrently;
    /// returns when all have run. The first exception is rethrown here (the iterations not yet started are skipped).</summary>
    public void For(int count, Action<int> body, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        For(count, (i, _) => body(i), Unused, cancellation);
    }

    /// <summary>As <see cref="For(int, Action{int}, CancellationToken)"/>, for iterations that compute on a worker pool:
    /// each gets the pool of the thread that runs it (<paramref name="pool"/> on the calling thread, unless the run's own helper
    /// threads share its cores, then one thread; a pool of its own elsewhere), so a pool is never used by two iterations at once.</summary>
    public void For(int count, Action<int, WorkerPool> body, WorkerPool pool, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        using var loop = new Loop(count, body, cancellation);
        if (count == 1)
        {
            // Nothing to share: the caller runs it with its whole pool (a loop inside starts the helpers it needs).
            loop.Work(pool);
            loop.ThrowIfFailed();
            return;
        }
        var own = Enter();
        try
        {
            _sweep?.Open(loop);
            own?.Open(loop);
            // While the run's own helpers take iterations, they hold its other threads: the caller's iterations then use one.
            using var single = own is not null && pool.Threads > 1 ? new WorkerPool(1) : null;
            try
            {
                loop.Work(single ?? pool);
            }
            finally
            {
                _sweep?.Close(loop);
                own?.Close(loop);
                loop.WaitAll();
            }
        }
        finally
        {
            Exit();
        }
        loop.ThrowIfFailed();
    }

    // The outermost loop starts the run's Threads − 1 helpers; loops inside it (nested, or on other threads meanwhile) share them.
    private SpareWorkers? Enter()
    {
        if (Threads == 1) return null;
        lock (_gate)
        {
            if (_depth++ == 0)
            {
                var own = _own = new SpareWorkers();
                _helpers = new Thread[Threads - 1];
                for (int t = 0; t < _helpers.Length; t++)
                {
                    _helpers[t] = new Thread(() =>
                    {
                        using var pool = new WorkerPool(1);
                        own.Help(pool);
                    })
                    { IsBackground = true, Name = $"memlab-work-{t + 1}" };
                    _helpers[t].Start();
                }
            }
            return _own;
        }
    }

    private void Exit()
    {
        if (Threads == 1) return;
        Thread[] helpers;
        lock (_gate)
        {
            if (--_depth > 0) return;
            _own!.Stop();
            _own = null;
            helpers = _helpers;
            _helpers = [];
        }
        foreach (var t in helpers) t.Join();
    }

    internal sealed class Loop(int count, Action<int, WorkerPool> body, CancellationToken cancellation) : IDisposable
    {
        private readonly ManualResetEventSlim _done = new(false);
        private readonly int _count = count;
        private int _next = -1, _pending = count;
        private Exception? _error;

        /// <summary>Whether an iteration is left to take.</summary>
        public bool HasWork => Volatile.Read(ref _next) + 1 < _count && Volatile.Read(ref _error) is null;

        /// <summary>Takes iterations until none is left.</summary>
        public void Work(WorkerPool pool)
        {
            while (true)
            {
                int i = Interlocked.Increment(ref _next);
                if (i >= _count) return;
                try
                {
                    if (Volatile.Read(ref _error) is null)
                    {
                        cancellation.ThrowIfCancellationRequested();
                        body(i, pool);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, e, null);
                }
                finally
                {
                    if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
                }
            }
        }

        /// <summary>Waits until every iteration taken has finished.</summary>
        public void WaitAll() => _done.Wait();

        public void ThrowIfFailed()
        {
            if (_error is { } e) ExceptionDispatchInfo.Capture(e).Throw();
        }

        // Once every iteration has finished, a helper that still holds the loop only finds it empty (Work returns before _done).
        public void Dispose() => _done.Dispose();
    }
}
