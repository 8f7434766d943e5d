using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The layer contract. A layer maps a batch of sequences <c>[batch, time, in]</c> to <c>[batch, time, out]</c>
/// with a fused forward over the whole sequence and an exact, hand-written backward (the reverse-time
/// adjoint scan for recurrences). Its parameters live in the model's flat vector θ at the views it
/// declared; it keeps whatever the backward pass needs from the last forward pass.
/// </summary>
/// <remarks>Lifecycle: <see cref="Declare"/> once, <see cref="Initialize"/>, then <see cref="Prepare"/> for a
/// shape (allocates all buffers), then any number of <see cref="Forward"/>/<see cref="Backward"/> pairs
/// that allocate nothing.</remarks>
public interface ISequenceLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Features per input step.</summary>
    int InputSize { get; }

    /// <summary>Features per output step.</summary>
    int OutputSize { get; }

    /// <summary>Registers this layer's parameters in <paramref name="layout"/> under <paramref name="prefix"/>.</summary>
    void Declare(ParameterLayout layout, string prefix);

    /// <summary>Writes initial values of this layer's parameters into θ.</summary>
    void Initialize(Span<T> theta, CounterRng rng);

    /// <summary>Allocates buffers for inputs of shape <c>[batch, time, InputSize]</c>; parallel work runs on <paramref name="pool"/>.</summary>
    void Prepare(int batch, int time, WorkerPool pool);

    /// <summary>Computes the output for <paramref name="input"/> and keeps what <see cref="Backward"/> needs.
    /// <paramref name="training"/> selects batch statistics in normalisation layers.</summary>
    void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training);

    /// <summary>Given ∂loss/∂output, <b>adds</b> ∂loss/∂θ into this layer's views of <paramref name="gradient"/>
    /// and, when <paramref name="inputGradient"/> is not null, <b>writes</b> ∂loss/∂input into it.
    /// Uses the state kept by the latest <see cref="Forward"/>.</summary>
    void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient);
}
