namespace MemoryLab.Training;

/// <summary>A learning-rate schedule: step ↦ learning rate.</summary>
public interface ISchedule
{
    /// <summary>The learning rate at <paramref name="step"/> (0-based).</summary>
    double At(long step);
}

/// <summary>A constant learning rate.</summary>
public sealed record ConstantSchedule(double LearningRate) : ISchedule
{
    /// <inheritdoc />
    public double At(long step) => LearningRate;
}

/// <summary>
/// Linear warm-up from <see cref="Initial"/> to <see cref="Peak"/> over <see cref="WarmupSteps"/>, then cosine decay
/// to <see cref="End"/> at <see cref="TotalSteps"/> (optax's warmup_cosine_decay_schedule; LRU23 recipe).
/// With no warm-up it starts at the peak.
/// </summary>
public sealed record WarmupCosineSchedule(double Initial, double Peak, double End, long WarmupSteps, long TotalSteps) : ISchedule
{
    /// <summary>Throws <see cref="ArgumentException"/> for inconsistent settings.</summary>
    public WarmupCosineSchedule Validated()
    {
        if (TotalSteps <= 0) throw new ArgumentException($"total steps must be positive (got {TotalSteps})");
        if (WarmupSteps < 0 || WarmupSteps > TotalSteps) throw new ArgumentException($"warm-up steps must lie in [0, {TotalSteps}] (got {WarmupSteps})");
        if (!(Peak > 0) || !(Initial >= 0) || !(End >= 0)) throw new ArgumentException("learning rates must be non-negative and the peak positive");
        return this;
    }

    /// <inheritdoc />
    public double At(long step)
    {
        if (step < WarmupSteps) return Initial + (Peak - Initial) * step / WarmupSteps;
        long decay = TotalSteps - WarmupSteps;
        if (decay <= 0) return Peak;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / decay);
        return End + (Peak - End) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
