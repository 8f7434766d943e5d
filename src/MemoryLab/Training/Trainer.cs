using System.Diagnostics;
using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Training;

/// <summary>How a training run ended.</summary>
public enum TrainingStatus
{
    /// <summary>All steps ran.</summary>
    Completed,
    /// <summary>The loss or gradient became non-finite; training stopped at that step.</summary>
    Diverged,
    /// <summary>Stopped by cancellation.</summary>
    Cancelled,
}

/// <summary>One logged training step.</summary>
/// <param name="Step">0-based step index.</param>
/// <param name="Loss">Training loss on the step's batch (before the update).</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="GradientNorm">Global gradient norm (before clipping).</param>
/// <param name="WallSeconds">Seconds since training started.</param>
public readonly record struct StepRecord(long Step, double Loss, double LearningRate, double GradientNorm, double WallSeconds);

/// <summary>Receives training progress (metric sinks, progress bars).</summary>
public interface ITrainingObserver
{
    /// <summary>Called for every logged step.</summary>
    void OnStep(in StepRecord record);
}

/// <summary>What a training run produced.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="StepsRun">Number of optimiser steps taken (in this call).</param>
/// <param name="FinalLoss">Mean training loss over the last <see cref="TrainerOptions.FinalWindow"/> steps (the metric of Zucchet24 §5, Fig. 3).</param>
/// <param name="InitialLoss">Loss at the first step of this call.</param>
/// <param name="WallSeconds">Wall time.</param>
/// <param name="DivergedAtStep">The step whose loss was non-finite, if any.</param>
public sealed record TrainingResult(TrainingStatus Status, long StepsRun, double FinalLoss, double InitialLoss, double WallSeconds, long? DivergedAtStep);

/// <summary>Settings of a <see cref="Trainer"/> run.</summary>
public sealed record TrainerOptions
{
    /// <summary>Total optimiser steps.</summary>
    public required long Steps { get; init; }
    /// <summary>Log every n-th step (and the last).</summary>
    public int LogEvery { get; init; } = 1;
    /// <summary>Steps averaged into the final loss.</summary>
    public int FinalWindow { get; init; } = 100;
}

/// <summary>
/// The training loop: for each step, draw the batch, evaluate (loss, ∇loss), step the optimiser at the
/// schedule's rate. A non-finite loss or gradient stops the run with status <see cref="TrainingStatus.Diverged"/>
/// (recorded, not thrown). The loop allocates nothing per step.
/// </summary>
public static class Trainer
{
    /// <summary>Trains θ (in place) from <paramref name="startStep"/> to <see cref="TrainerOptions.Steps"/>.</summary>
    public static TrainingResult Run<T>(IStochasticObjective<T> objective, T[] theta, Optimizer<T> optimizer, ISchedule schedule,
        TrainerOptions options, ITrainingObserver? observer = null, long startStep = 0, CancellationToken cancel = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (options.Steps < 0) throw new ArgumentException($"steps must be ≥ 0 (got {options.Steps})");
        var gradient = new T[objective.Dimension];
        var window = new double[Math.Max(1, options.FinalWindow)];
        int filled = 0;
        var clock = Stopwatch.StartNew();
        double initial = double.NaN;
        long step = startStep;
        for (; step < options.Steps; step++)
        {
            if (cancel.IsCancellationRequested)
                return new TrainingResult(TrainingStatus.Cancelled, step - startStep, Mean(window, filled), initial, clock.Elapsed.TotalSeconds, null);
            objective.NextBatch(step);
            double loss = double.CreateTruncating(objective.Evaluate(theta, gradient));
            if (step == startStep) initial = loss;
            double lr = schedule.At(step);
            bool finite = double.IsFinite(loss) && AllFinite(gradient);
            if (finite) optimizer.Step(theta, gradient, lr);
            window[filled++ % window.Length] = loss;
            if (observer != null && (!finite || step % options.LogEvery == 0 || step == options.Steps - 1))
                observer.OnStep(new StepRecord(step, loss, lr, finite ? optimizer.LastGradientNorm : double.NaN, clock.Elapsed.TotalSeconds));
            if (!finite)
                return new TrainingResult(TrainingStatus.Diverged, step - startStep, double.NaN, initial, clock.Elapsed.TotalSeconds, step);
        }
        return new TrainingResult(TrainingStatus.Completed, step - startStep, Mean(window, filled), initial, clock.Elapsed.TotalSeconds, null);
    }

    private static double Mean(double[] window, int filled)
    {
        int n = Math.Min(filled, window.Length);
        if (n == 0) return double.NaN;
        double s = 0;
        for (int i = 0; i < n; i++) s += window[i];
        return s / n;
    }

    private static bool AllFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var v in values) if (!T.IsFinite(v)) return false;
        return true;
    }
}
