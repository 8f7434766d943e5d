using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Training;

/// <summary>
/// θ ↦ (loss, ∇loss) for a model on batches of a <see cref="ISequenceDataset{T}"/>: forward, loss, backward.
/// <see cref="NextBatch"/> draws the batch of a step; between draws the objective is a fixed function of θ.
/// All buffers are allocated here, once.
/// </summary>
public sealed class SupervisedObjective<T> : IStochasticObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SequenceTensor<T> _x, _y, _dy;

    /// <summary>An objective training <paramref name="model"/> on <paramref name="task"/> with batches of
    /// <paramref name="batch"/> sequences.</summary>
    public SupervisedObjective(SequenceModel<T> model, ISequenceDataset<T> task, ISequenceLoss<T> loss, int batch, WorkerPool pool)
    {
        int time = task.Time;
        if (model.Root.InputSize != task.InputFeatures || model.Root.OutputSize != task.OutputFeatures)
            throw new ArgumentException($"model maps {model.Root.InputSize}→{model.Root.OutputSize} features but the task has {task.InputFeatures}→{task.OutputFeatures}");
        Model = model; Task = task; Loss = loss;
        model.Prepare(batch, time, pool);
        _x = new SequenceTensor<T>(batch, time, task.InputFeatures);
        _y = new SequenceTensor<T>(batch, time, task.OutputFeatures);
        _dy = new SequenceTensor<T>(batch, time, task.OutputFeatures);
    }

    /// <summary>The model trained.</summary>
    public SequenceModel<T> Model { get; }
    /// <summary>The task the batches come from.</summary>
    public ISequenceDataset<T> Task { get; }
    /// <summary>The loss.</summary>
    public ISequenceLoss<T> Loss { get; }
    /// <summary>The current batch's inputs.</summary>
    public SequenceTensor<T> Inputs => _x;
    /// <summary>The current batch's targets.</summary>
    public SequenceTensor<T> Targets => _y;
    /// <inheritdoc />
    public int Dimension => Model.Layout.Count;

    /// <inheritdoc />
    public void NextBatch(long step) => Task.FillBatch(step, _x, _y);

    /// <inheritdoc />
    public T Evaluate(ReadOnlySpan<T> theta, Span<T> gradient)
    {
        if (!theta.Overlaps(Model.Theta)) theta.CopyTo(Model.Theta);
        var loss = Loss.Evaluate(Model.Forward(_x), _y, _dy);
        Model.Backward(_dy);
        if (!gradient.Overlaps(Model.Gradient)) Model.Gradient.CopyTo(gradient);
        return loss;
    }

    /// <summary>The loss at the model's current θ without computing a gradient.</summary>
    public T EvaluateLoss() => Loss.Evaluate(Model.Forward(_x, training: false), _y, _dy);
}
