namespace MemoryLab.Numerics;

/// <summary>One piece of chunked parallel work. Implemented by layers and kernels (usually by the
/// object itself, so a parallel call allocates nothing).</summary>
public interface IChunkBody
{
    /// <summary>Runs chunk <paramref name="chunk"/>. Chunks must write disjoint memory.</summary>
    void Execute(int chunk);
}

/// <summary>
/// A fixed set of worker threads that run the chunks of an <see cref="IChunkBody"/>. Determinism is the
/// caller's contract: the partition into chunks depends only on the problem's shape (never on the
/// thread count), each chunk writes its own slot, and reductions over chunks run afterwards in chunk
/// order. Then 1 thread and 16 threads give the same bits. A call allocates nothing.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _start = new(0);
    private readonly ManualResetEventSlim _done = new(false);
    private readonly object _gate = new();
    private IChunkBody? _body;
    private int _chunkCount, _next, _active;
    private Exception? _error;
    private volatile bool _disposed;

    /// <summary>A pool that runs work on <paramref name="threads"/> threads in total (the caller's included).</summary>
    public WorkerPool(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "a pool needs at least one thread");
        Threads = threads;
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"memlab-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Number of threads that execute chunks, the caller's included.</summary>
    public int Threads { get; }

    private static WorkerPool? _shared;

    /// <summary>The process-wide pool: <c>MEMLAB_THREADS</c> threads if set, else one per available core (<see cref="AvailableCores()"/>).</summary>
    public static WorkerPool Shared
    {
        get
        {
            if (_shared is { } p) return p;
            var created = new WorkerPool(DefaultThreadCount());
            if (Interlocked.CompareExchange(ref _shared, created, null) != null) created.Dispose();
            return _shared!;
        }
    }

    /// <summary>The most threads a pool may have (far more than any machine's cores; beyond it a typo would start thousands of threads).</summary>
    public const int MaxThreads = 1024;

    /// <summary>The environment variable that sets the default thread count.</summary>
    public const string ThreadsVariable = "MEMLAB_THREADS";

    /// <summary>The thread count from <c>MEMLAB_THREADS</c>, else <see cref="AvailableCores()"/> (at most <see cref="MaxThreads"/>).
    /// An invalid <c>MEMLAB_THREADS</c> is an <see cref="ArgumentException"/> (see <see cref="CheckThreadsVariable"/>).</summary>
    public static int DefaultThreadCount() => DefaultThreadCount(Environment.GetEnvironmentVariable, Environment.ProcessorCount);

    /// <summary><see cref="DefaultThreadCount()"/> with the environment read through <paramref name="getVariable"/> and
    /// <paramref name="processorCount"/> cores visible to the process.</summary>
    public static int DefaultThreadCount(Func<string, string?> getVariable, int processorCount)
    {
        string? env = getVariable(ThreadsVariable);
        if (string.IsNullOrEmpty(env)) return Math.Min(AvailableCores(getVariable, processorCount), MaxThreads);
        return CheckThreadsVariable(env) is { } error ? throw new ArgumentException(error) : int.Parse(env.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The Slurm variable that gives a job step's CPUs per task (set when the job asked for <c>--cpus-per-task</c>).</summary>
    public const string SlurmCpusPerTaskVariable = "SLURM_CPUS_PER_TASK";

    /// <summary>The cores this process may use: <see cref="Environment.ProcessorCount"/> (which follows CPU affinity and cgroup
    /// limits), and no more than <c>SLURM_CPUS_PER_TASK</c> inside a Slurm job that set it, since a cluster without CPU
    /// binding (<c>TaskPlugin=task/none</c>) lets a job see every core of its node while it was given only those.</summary>
    public static int AvailableCores() => AvailableCores(Environment.GetEnvironmentVariable, Environment.ProcessorCount);

    /// <summary><see cref="AvailableCores()"/> with the environment read through <paramref name="getVariable"/> and
    /// <paramref name="processorCount"/> cores visible to the process. A <c>SLURM_CPUS_PER_TASK</c> that is not a positive whole
    /// number is ignored (Slurm writes it; it is not the user's input).</summary>
    public static int AvailableCores(Func<string, string?> getVariable, int processorCount)
    {
        int cores = Math.Max(1, processorCount);
        return int.TryParse(getVariable(SlurmCpusPerTaskVariable)?.Trim(), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out int slurm) && slurm >= 1
            ? Math.Min(cores, slurm) : cores;
    }

    /// <summary>Null when <paramref name="value"/> (of <c>MEMLAB_THREADS</c>) is a thread count from 1 to <see cref="MaxThreads"/>, else the one-line error.</summary>
    public static string? CheckThreadsVariable(string value) =>
        int.TryParse(value.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= MaxThreads
            ? null : $"{ThreadsVariable}: must be a whole number of threads from 1 to {MaxThreads} (got '{value}')";

    /// <summary>Runs chunks 0..<paramref name="chunkCount"/>−1 of <paramref name="body"/> and returns when all are done.
    /// Re-throws the first exception a chunk threw. Not re-entrant: a chunk must not call <see cref="Run"/> on the same pool.</summary>
    public void Run(IChunkBody body, int chunkCount)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (chunkCount <= 0) return;
        if (_threads.Length == 0 || chunkCount == 1)
        {
            for (int i = 0; i < chunkCount; i++) body.Execute(i);
            return;
        }
        lock (_gate)
        {
            _body = body;
            _chunkCount = chunkCount;
            _next = 0;
            _error = null;
            int helpers = Math.Min(_threads.Length, chunkCount - 1);
            _active = helpers + 1;
            _done.Reset();
            _start.Release(helpers);
            Work();
            _done.Wait();
            _body = null;
            if (_error is { } e) throw new AggregateException("a parallel chunk failed", e);
        }
    }

    private void Work()
    {
        var body = _body!;
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _chunkCount) body.Execute(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            Interlocked.Exchange(ref _next, int.MaxValue / 2);
        }
        if (Interlocked.Decrement(ref _active) == 0) _done.Set();
    }

    private void WorkerLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_disposed) return;
            Work();
        }
    }

    /// <summary>Stops the worker threads.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_threads.Length > 0) _start.Release(_threads.Length);
    }

    /// <summary>Splits <paramref name="count"/> items into chunks of at most <paramref name="chunkSize"/>: a partition that depends on the shape alone.</summary>
    public static int ChunkCount(int count, int chunkSize) => (count + chunkSize - 1) / chunkSize;
}
