using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Training;

/// <summary>
/// θ ↦ (loss, ∇loss) for a model on batches of a <see cref="ISequenceDataset{T}"/>: forward, loss, backward.
/// <see cref="NextBatch"/> draws the batch of a step; between draws the objective is a fixed function of θ.
/// All buffers are allocated here, once (a ring drawn ahead into, at the first step and at a jump).
/// </summary>
/// <remarks>With <c>drawAhead</c>, a thread of the objective's own draws the batches of the steps after the current one into
/// a ring of buffers while the current step is evaluated (<see cref="BatchRing{T}"/>), so a training loop that asks for
/// consecutive steps finds each batch ready. A batch is a pure function of (seed, step) (<see cref="ISequenceDataset{T}"/>),
/// so the batches, and every bit that follows from them, are the same as without it; only where the draw runs changes. It
/// pays only where a core is free for that thread. Dispose the objective to stop the thread.</remarks>
public sealed class SupervisedObjective<T> : IStochasticObjective<T>, IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private SequenceTensor<T> _x, _y;
    private readonly SequenceTensor<T> _dy;
    private readonly bool _drawAhead;
    private BatchRing<T>? _ring;

    /// <summary>An objective training <paramref name="model"/> on <paramref name="task"/> with batches of
    /// <paramref name="batch"/> sequences; with <paramref name="drawAhead"/>, the batches of the next steps are drawn on a
    /// thread of its own while the current one is evaluated (same batches, same bits).</summary>
    public SupervisedObjective(SequenceModel<T> model, ISequenceDataset<T> task, ISequenceLoss<T> loss, int batch, WorkerPool pool, bool drawAhead = false)
    {
        int time = task.Time;
        if (model.Root.InputSize != task.InputFeatures || model.Root.OutputSize != task.OutputFeatures)
            throw new ArgumentException($"model maps {model.Root.InputSize}→{model.Root.OutputSize} features but the task has {task.InputFeatures}→{task.OutputFeatures}");
        Model = model; Task = task; Loss = loss;
        model.Prepare(batch, time, pool);
        _x = new SequenceTensor<T>(batch, time, task.InputFeatures);
        _y = new SequenceTensor<T>(batch, time, task.OutputFeatures);
        _dy = new SequenceTensor<T>(batch, time, task.OutputFeatures);
        _drawAhead = drawAhead;
    }

    /// <summary>Whether the next batches are drawn ahead on a thread of their own.</summary>
    public bool DrawsAhead => _drawAhead;

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
    public void NextBatch(long step)
    {
        if (!_drawAhead)
        {
            Task.FillBatch(step, _x, _y);
            return;
        }
        // The ring draws consecutive steps; a loop that jumps (a resume) starts a new ring at its step.
        if (_ring is null || _ring.NextStep != step)
        {
            _ring?.Dispose();
            _ring = new BatchRing<T>(Task, _dy.Batch, step);
        }
        (_x, _y) = _ring.Take();
    }

    /// <summary>Stops the thread that draws ahead (after the draw in flight, if any).</summary>
    public void Dispose()
    {
        _ring?.Dispose();
        _ring = null;
    }

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
