using System.Numerics;

namespace MemoryLab.Numerics;

/// <summary>
/// The one interface everything trainable meets: θ ↦ (loss, ∇loss) over a flat parameter vector.
/// Optimisers, gradient flow, Hessians, landscape slices and perturbation analyses all work on it.
/// </summary>
public interface IObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Length of θ.</summary>
    int Dimension { get; }

    /// <summary>Returns the loss at <paramref name="theta"/> and writes its gradient into <paramref name="gradient"/> (overwritten).</summary>
    T Evaluate(ReadOnlySpan<T> theta, Span<T> gradient);
}

/// <summary>An objective whose data can be redrawn (fresh batches each step). Between calls of
/// <see cref="NextBatch"/> it is a deterministic function of θ, so gradient checks and Hessians apply.</summary>
public interface IStochasticObjective<T> : IObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Draws the batch for training step <paramref name="step"/> (a pure function of the seed and the step).</summary>
    void NextBatch(long step);
}
