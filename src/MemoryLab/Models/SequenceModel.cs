using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// A trainable model: one root layer (often a <see cref="LayerStack{T}"/>) over a flat parameter vector θ
/// with its layout, a gradient buffer of the same layout, and the output buffers for one shape.
/// </summary>
public sealed class SequenceModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private SequenceTensor<T>? _output;

    /// <summary>Declares the root layer's parameters; θ starts at zero until <see cref="Initialize"/>.</summary>
    public SequenceModel(ISequenceLayer<T> root, string prefix = "")
    {
        Root = root;
        Layout = new ParameterLayout();
        root.Declare(Layout, prefix);
        Theta = new T[Layout.Count];
        Gradient = new T[Layout.Count];
    }

    /// <summary>The root layer.</summary>
    public ISequenceLayer<T> Root { get; }
    /// <summary>Names and shapes of θ.</summary>
    public ParameterLayout Layout { get; }
    /// <summary>The flat parameter vector θ.</summary>
    public T[] Theta { get; }
    /// <summary>∂loss/∂θ from the latest <see cref="Backward"/>.</summary>
    public T[] Gradient { get; }
    /// <summary>The output of the latest <see cref="Forward"/>.</summary>
    public SequenceTensor<T> Output => _output ?? throw new InvalidOperationException("call Prepare first");

    /// <summary>Initialises θ from the Init stream of <paramref name="seed"/>.</summary>
    public void Initialize(ulong seed) => Root.Initialize(Theta, new CounterRng(seed, RandomPurpose.Init));

    /// <summary>Allocates every buffer for this shape.</summary>
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        Root.Prepare(batch, time, pool);
        _output = new SequenceTensor<T>(batch, time, Root.OutputSize);
    }

    /// <summary>Runs the model on <paramref name="input"/>; the result is <see cref="Output"/>.</summary>
    public SequenceTensor<T> Forward(SequenceTensor<T> input, bool training = true)
    {
        var y = Output;
        if (!input.HasShape(y.Batch, y.Time, Root.InputSize))
            throw new ArgumentException($"input {input} does not match the prepared shape [{y.Batch}, {y.Time}, {Root.InputSize}]");
        Root.Forward(Theta, input, y, training);
        return y;
    }

    /// <summary>Zeroes <see cref="Gradient"/> and back-propagates ∂loss/∂output into it.</summary>
    public void Backward(SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient = null)
    {
        Array.Clear(Gradient);
        Root.Backward(Theta, outputGradient, inputGradient, Gradient);
    }
}
