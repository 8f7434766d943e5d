using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Targets;

/// <summary>A supervised sequence task: input batches and the outputs a model should produce.
/// <see cref="Sample"/> must be a pure function of (the task's seed, <c>step</c>), so training is reproducible
/// and resumable.</summary>
public interface ISequenceTask<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Input features per step.</summary>
    int InputSize { get; }

    /// <summary>Output features per step.</summary>
    int OutputSize { get; }

    /// <summary>Fills <paramref name="input"/> and <paramref name="target"/> with the batch for <paramref name="step"/>.</summary>
    void Sample(long step, SequenceTensor<T> input, SequenceTensor<T> target);
}
