using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Experiments;

/// <summary>
/// Everything a running experiment gets from the runner: its id and (temporary) directory, its seed, where to
/// stream metrics, the worker pool to compute on, a cancellation token and a progress callback. The same
/// object serves <c>memlab run</c>, each run of <c>memlab sweep</c>, and tests.
/// </summary>
public sealed class RunContext
{
    private readonly Action<RunProgress>? _progress;

    /// <summary>A context for run <paramref name="runId"/> writing into <paramref name="runDirectory"/>.</summary>
    /// <param name="runId">The run's stable id (<see cref="ResultsStore.ComputeRunId"/>).</param>
    /// <param name="runDirectory">Existing directory for the run's files (the runner moves it into place when the run ends).</param>
    /// <param name="seed">The spec's <c>seed</c>: every random stream of the run derives from it.</param>
    /// <param name="metrics">Where per-step scalars go.</param>
    /// <param name="pool">Threads for the run's parallel kernels. A sweep gives each of its workers its own
    /// single-thread pool by default, so concurrent runs never contend for threads.</param>
    /// <param name="cancellation">Set when the user interrupts; long loops should check it.</param>
    /// <param name="progress">Called by <c>ReportProgress</c>; must be cheap and thread-safe.</param>
    public RunContext(string runId, string runDirectory, ulong seed, IMetricSink metrics, WorkerPool pool,
        CancellationToken cancellation = default, Action<RunProgress>? progress = null)
    {
        RunId = runId;
        RunDirectory = runDirectory;
        Seed = seed;
        Metrics = metrics;
        Pool = pool;
        Cancellation = cancellation;
        _progress = progress;
    }

    /// <summary>The run's stable id.</summary>
    public string RunId { get; }

    /// <summary>Directory for the run's own files (checkpoints, extra outputs).</summary>
    public string RunDirectory { get; }

    /// <summary>The run's seed.</summary>
    public ulong Seed { get; }

    /// <summary>The metric sink (CSV + JSON lines + TensorBoard under a sweep).</summary>
    public IMetricSink Metrics { get; }

    /// <summary>The worker pool for this run's parallel work.</summary>
    public WorkerPool Pool { get; }

    /// <summary>Cancellation requested by the user.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Where a resumable kind keeps its periodic checkpoint (outside the run's temporary folder, so it
    /// survives a killed process); null when the store offers none.</summary>
    public string? ResumeCheckpointPath { get; init; }

    /// <summary>True when the run should continue from <see cref="ResumeCheckpointPath"/> if it exists
    /// (<c>memlab train --resume</c>); otherwise a stale periodic checkpoint is ignored and overwritten.</summary>
    public bool Resume { get; init; }

    /// <summary>The run's metric files when the store writes them (a resumable kind snapshots them into its periodic
    /// checkpoint and restores them on resume); null otherwise.</summary>
    public RunMetricFiles? MetricFiles { get; init; }

    /// <summary>The sweep's workers that have no run left to start (null outside a sweep): <see cref="Work"/> hands them
    /// iterations of this run's parallel loops.</summary>
    public SpareWorkers? Spare { get; init; }

    /// <summary>Independent pieces of this run's work (<see cref="ParallelWork.For(int, Action{int, WorkerPool}, WorkerPool, CancellationToken)"/>)
    /// spread over its pool's threads and the sweep's spare workers.</summary>
    public ParallelWork Work => LazyInitializer.EnsureInitialized(ref _work, () => new ParallelWork(Pool.Threads, Spare));
    private ParallelWork? _work;

    /// <summary>True when a core is free for this run beside its pool's threads (the sweep leaves one for each worker): a
    /// training run then draws its next batches there while it computes the current one, and its metric files are written
    /// there. The batches and files are the same either way; only the wall time changes.</summary>
    public bool Offload { get; init; }

    /// <summary>Where one-line warnings go (a checkpoint that cannot be used, …); null drops them.</summary>
    public Action<string>? Warnings { get; init; }

    /// <summary>Reports a one-line warning to whoever watches the run.</summary>
    public void Warn(string line) => Warnings?.Invoke(line.ReplaceLineEndings(" "));

    /// <summary>Path of the final checkpoint in the run's folder.</summary>
    public string CheckpointPath => Path.Combine(RunDirectory, ResultsStore.CheckpointFileName);

    /// <summary>A random stream of this run's seed for <paramref name="purpose"/> (random streams are split by purpose, so a draw for one purpose moves nothing elsewhere).</summary>
    public CounterRng Rng(RandomPurpose purpose, ulong substream = 0) => new(Seed, purpose, substream);

    /// <summary>Reports progress (step of total, current loss) to whoever watches the run.</summary>
    public void ReportProgress(long step, long total, double loss) => _progress?.Invoke(new RunProgress(step, total, loss));

    /// <summary>Reports the fraction done (clamped to [0, 1]) and what is happening, for runs that are not a training loop.</summary>
    public void ReportProgress(double fraction, string note) =>
        _progress?.Invoke(new RunProgress((long)Math.Round(1000 * Math.Clamp(fraction, 0, 1)), 1000, double.NaN, note));

    /// <summary>Writes θ with its layout as <see cref="CheckpointPath"/> (safetensors).</summary>
    public void SaveCheckpoint<T>(ParameterLayout layout, ReadOnlySpan<T> theta, IReadOnlyDictionary<string, string>? metadata = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meta = new Dictionary<string, string> { ["memlab.run_id"] = RunId, ["memlab.seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (metadata != null) foreach (var (k, v) in metadata) meta[k] = v;
        SafeTensors.Save(CheckpointPath, layout, theta, meta);
    }
}
