using System.Diagnostics;
using MemoryLab.Numerics;

namespace MemoryLab.Experiments;

/// <summary>Receives a sweep's events (from worker threads: implementations must be thread-safe and cheap).</summary>
public interface ISweepObserver
{
    /// <summary>The sweep starts: <paramref name="total"/> runs in this shard, of which <paramref name="alreadyDone"/> are finished.</summary>
    void SweepStarted(int total, int alreadyDone);

    /// <summary>Worker <paramref name="worker"/> starts <paramref name="run"/>.</summary>
    void RunStarted(PlannedRun run, int worker);

    /// <summary>A running run reports progress (may be called every step).</summary>
    void RunProgress(PlannedRun run, int worker, RunProgress progress);

    /// <summary>A run ended (or was found finished, <paramref name="skipped"/>).</summary>
    void RunFinished(PlannedRun run, int worker, RunSummary summary, bool skipped);

    /// <summary>Something the user should know that does not stop the sweep, in one line (a stored run that cannot be read
    /// and runs again, a checkpoint that cannot be resumed from).</summary>
    void Warning(string line) { }
}

/// <summary>How a sweep runs on this machine.</summary>
public sealed record SweepOptions
{
    /// <summary>Runs executed at once, each on its own worker thread.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Threads of each run's <see cref="WorkerPool"/>. The default 1 gives every worker a private
    /// single-thread pool: N runs in parallel use N cores without contending. Raise it for a few large runs.</summary>
    public int ThreadsPerRun { get; init; } = 1;

    /// <summary>Whether each run moves work off its critical path onto threads of its own (<see cref="RunContext.Offload"/>:
    /// a training run draws its next batches there, and its metric files are written there; same bits and files either way).
    /// Null, the default, does so when the machine has a core for each worker's helpers beside the workers' pools:
    /// <see cref="Workers"/> × (<see cref="ThreadsPerRun"/> + 1) ≤ the cores this process may use.</summary>
    public bool? Offload { get; init; }

    /// <summary>Whether runs offload work under these options on a machine with <paramref name="cores"/> cores.</summary>
    public bool OffloadsOn(int cores) => Offload ?? (long)Workers * (ThreadsPerRun + 1) <= cores;

    /// <summary>Run again those runs whose stored status is <see cref="RunStatus.Failed"/>.</summary>
    public bool RetryFailed { get; init; }
}

/// <summary>Counts of how a sweep's runs ended.</summary>
/// <param name="Completed">Runs that completed in this invocation.</param>
/// <param name="Diverged">Runs that diverged in this invocation.</param>
/// <param name="Failed">Runs that failed in this invocation.</param>
/// <param name="Skipped">Runs found already finished.</param>
/// <param name="WallTime">Wall time of the whole sweep.</param>
/// <param name="Cancelled">Whether the sweep was interrupted (some runs did not start or were abandoned).</param>
public sealed record SweepResult(int Completed, int Diverged, int Failed, int Skipped, TimeSpan WallTime, bool Cancelled);

/// <summary>One run of a sweep and the results folder it goes into.</summary>
/// <param name="Run">The planned run.</param>
/// <param name="Store">Its results folder.</param>
public sealed record SweepJob(PlannedRun Run, ResultsStore Store);

/// <summary>
/// Runs a list of planned runs into a <see cref="ResultsStore"/> (or runs of several sweeps, each into its own store) on N worker threads. Stale temporary folders
/// are removed first; finished runs are skipped; the rest are taken in order by whichever worker is free.
/// Each worker owns one <see cref="WorkerPool"/> of <see cref="SweepOptions.ThreadsPerRun"/> threads for all its
/// runs; a worker with no run left to start helps the runs still going with their <see cref="ParallelWork"/> loops.
/// Results do not depend on the worker count: each run's numbers depend only on its spec and seed.
/// </summary>
public static class SweepRunner
{
    /// <summary>Runs <paramref name="runs"/> into <paramref name="store"/>; returns the counts. Throws the first infrastructure error (I/O) a worker hit.</summary>
    public static SweepResult Run(IReadOnlyList<PlannedRun> runs, ResultsStore store, ExperimentRegistry registry,
        SweepOptions options, ISweepObserver? observer = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return Run(runs.Select(r => new SweepJob(r, store)).ToArray(), registry, options, observer, cancellation);
    }

    /// <summary>Runs <paramref name="jobs"/>, each into its own store (the runs of several sweeps share one pool of workers);
    /// returns the counts. Throws the first infrastructure error (I/O) a worker hit.</summary>
    public static SweepResult Run(IReadOnlyList<SweepJob> jobs, ExperimentRegistry registry,
        SweepOptions options, ISweepObserver? observer = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (options.Workers < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Workers, "a sweep needs at least one worker");
        if (options.ThreadsPerRun < 1) throw new ArgumentOutOfRangeException(nameof(options), options.ThreadsPerRun, "a run needs at least one thread");
        var clock = Stopwatch.StartNew();
        foreach (var store in jobs.Select(j => j.Store).Distinct()) store.CleanStaleTemporaries();

        var todo = new List<SweepJob>();
        int skipped = 0;
        var done = new List<(PlannedRun, RunSummary)>();
        foreach (var job in jobs)
        {
            var (run, store) = (job.Run, job.Store);
            if (store.IsFinished(run.Id))
            {
                if (!ResultsStore.TryReadSummary(store.RunDirectory(run.Id), out var summary, out string? problem))
                {
                    // A corrupt or foreign summary.json: the run is not done; it runs again and its folder is replaced.
                    observer?.Warning($"warning: {problem}; the run is treated as not done and runs again");
                    store.Discard(run.Id);
                    todo.Add(job);
                    continue;
                }
                if (options.RetryFailed && summary!.Status == RunStatus.Failed)
                {
                    store.Discard(run.Id);
                    todo.Add(job);
                    continue;
                }
                skipped++;
                done.Add((run, summary!));
            }
            else todo.Add(job);
        }
        observer?.SweepStarted(jobs.Count, skipped);
        foreach (var (run, summary) in done) observer?.RunFinished(run, -1, summary, skipped: true);

        int next = -1, completed = 0, diverged = 0, failed = 0, lateSkips = 0;
        Exception? error = null;
        bool cancelled = false;
        // Every worker starts, even with fewer runs than workers: one with no run left to start serves the parallel loops of
        // the runs still going (SpareWorkers) until the last of them ends.
        int workerCount = todo.Count == 0 ? 0 : options.Workers;
        var spare = new SpareWorkers();
        bool offload = options.OffloadsOn(WorkerPool.AvailableCores());
        int unfinished = todo.Count;
        using var stopOnCancel = cancellation.Register(spare.Stop);
        var threads = new Thread[workerCount];
        for (int w = 0; w < workerCount; w++)
        {
            int worker = w;
            threads[w] = new Thread(() =>
            {
                using var pool = new WorkerPool(options.ThreadsPerRun);
                WorkerLoop(worker, pool);
                spare.Help(pool);
            })
            { Name = $"memlab-sweep-{w}", IsBackground = true };
            threads[w].Start();
        }

        void WorkerLoop(int worker, WorkerPool pool)
        {
            while (Volatile.Read(ref error) is null && !cancellation.IsCancellationRequested)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= todo.Count) return;
                var (run, store) = (todo[i].Run, todo[i].Store);
                try
                {
                    observer?.RunStarted(run, worker);
                    var (summary, wasSkipped) = store.Execute(run, registry, pool,
                        observer is null ? null : p => observer.RunProgress(run, worker, p), cancellation,
                        observer is null ? null : observer.Warning, spare, offload);
                    if (wasSkipped) Interlocked.Increment(ref lateSkips);
                    else if (summary.Status == RunStatus.Completed) Interlocked.Increment(ref completed);
                    else if (summary.Status == RunStatus.Diverged) Interlocked.Increment(ref diverged);
                    else Interlocked.Increment(ref failed);
                    observer?.RunFinished(run, worker, summary, wasSkipped);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    cancelled = true;
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref error, e, null);
                }
                finally
                {
                    if (Interlocked.Decrement(ref unfinished) == 0) spare.Stop();
                }
            }
            // Stopped by an error or the user: no run will start, so nothing is left for the spare workers.
            spare.Stop();
        }

        foreach (var t in threads) t.Join();
        if (error != null) throw new IOException($"the sweep stopped: {error.Message}", error);
        cancelled |= completed + diverged + failed + lateSkips < todo.Count;
        return new SweepResult(completed, diverged, failed, skipped + lateSkips, clock.Elapsed, cancelled);
    }
}
