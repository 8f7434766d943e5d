namespace MemoryLab.Experiments;

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>Ran to the end; its metrics are valid.</summary>
    Completed,
    /// <summary>The loss left the finite range (or blew past the divergence guard): a real outcome of, say, too large a learning rate.</summary>
    Diverged,
    /// <summary>The run threw; <see cref="RunSummary.Message"/> says why.</summary>
    Failed,
}

/// <summary>What a run reports when it ends: status, final metrics (e.g. <c>final_loss</c>, the mean training loss
/// over the last 100 steps), wall time, steps taken and, for failures, a message.</summary>
/// <param name="Status">How the run ended.</param>
/// <param name="Metrics">Final scalar metrics by name (the results table aggregates these over seeds).</param>
/// <param name="WallTime">Wall-clock time of the run (the runner fills it in).</param>
/// <param name="Steps">Training steps taken.</param>
/// <param name="Message">Why the run failed or diverged; null when it completed.</param>
public sealed record RunSummary(RunStatus Status, IReadOnlyDictionary<string, double> Metrics, TimeSpan WallTime, long Steps = 0, string? Message = null)
{
    /// <summary>The algorithm the run's linear time-invariant model computed with (<c>scan</c> or <c>convolution</c>); null when
    /// the model has none. Results of different algorithms differ in rounding, so tables keep them apart.</summary>
    public string? Algorithm { get; init; }

    /// <summary>A completed run with these metrics.</summary>
    public static RunSummary Completed(IReadOnlyDictionary<string, double> metrics, long steps) => new(RunStatus.Completed, metrics, TimeSpan.Zero, steps);

    /// <summary>A diverged run: the metrics at the point it stopped and why.</summary>
    public static RunSummary Diverged(IReadOnlyDictionary<string, double> metrics, long steps, string message) => new(RunStatus.Diverged, metrics, TimeSpan.Zero, steps, message);

    /// <summary>A failed run (an exception) and its message.</summary>
    public static RunSummary Failed(string message, long steps = 0) => new(RunStatus.Failed, new Dictionary<string, double>(), TimeSpan.Zero, steps, message);
}

/// <summary>A progress report from a running experiment: training step <paramref name="Step"/> of
/// <paramref name="Total"/> with the current <paramref name="Loss"/>, or a stage of an analysis with a note.</summary>
/// <param name="Step">Steps (or work units) done.</param>
/// <param name="Total">Steps planned (0 when unknown).</param>
/// <param name="Loss">The latest loss (NaN when none).</param>
/// <param name="Note">What is happening, for runs that are not a training loop (null when none).</param>
public readonly record struct RunProgress(long Step, long Total, double Loss, string? Note = null);
