using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>Layers applied one after another: <c>y = f_K(… f_1(x))</c>. Intermediate activations and
/// their gradients are allocated once in <see cref="Prepare"/>. Activations are kept for the backward pass, one per layer;
/// the gradient between layers i and i+1 is needed only while layers i+1 and i run backward, so gradients of equal shape
/// alternate between two buffers (from <see cref="GradientBuffers"/>) instead of one per layer.</summary>
public sealed class LayerStack<T> : ISequenceLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ISequenceLayer<T>[] _layers;
    private readonly string[] _names;
    private SequenceTensor<T>[] _acts = [];
    private SequenceTensor<T>[] _grads = [];
    private GradientBuffers<T> _gradientBuffers = new();

    /// <summary>Where <see cref="Prepare"/> takes the gradient buffers between layers from. Stacks that never run backward at the
    /// same time (the inner chains of consecutive residual blocks) may share one; a stack whose backward runs inside
    /// another's (a block inside a deep stack) must not share with it. Set before <see cref="Prepare"/>.</summary>
    internal GradientBuffers<T> GradientBuffers
    {
        get => _gradientBuffers;
        set => _gradientBuffers = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>A stack of <paramref name="layers"/>; each one's output size must equal the next one's input size.</summary>
    public LayerStack(params ISequenceLayer<T>[] layers)
        : this(Enumerable.Range(0, layers.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), layers)
    {
    }

    /// <summary>A stack whose layer i declares its parameters under <c>prefix.names[i]</c> (e.g. <c>encoder</c>,
    /// <c>blocks.0</c>) instead of <c>prefix.i</c>.</summary>
    public LayerStack(string[] names, ISequenceLayer<T>[] layers)
    {
        if (layers.Length == 0) throw new ArgumentException("a stack needs at least one layer");
        if (names.Length != layers.Length) throw new ArgumentException($"a stack of {layers.Length} layers needs {layers.Length} names, got {names.Length}");
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length) throw new ArgumentException("layer names in a stack must be distinct");
        for (int i = 1; i < layers.Length; i++)
            if (layers[i - 1].OutputSize != layers[i].InputSize)
                throw new ArgumentException($"layer {i - 1} outputs {layers[i - 1].OutputSize} features but layer {i} takes {layers[i].InputSize}");
        _layers = layers;
        _names = names;
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<ISequenceLayer<T>> Layers => _layers;

    /// <summary>The name each layer declares its parameters under.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The output of layer <paramref name="index"/> from the latest forward pass, for every layer but
    /// the last (whose output is the caller's tensor). For measurements such as block-output statistics.</summary>
    public SequenceTensor<T> IntermediateOutput(int index)
    {
        if ((uint)index >= (uint)_acts.Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"intermediate outputs exist for layers 0..{_layers.Length - 2} after Prepare");
        return _acts[index];
    }

    /// <inheritdoc />
    public int InputSize => _layers[0].InputSize;

    /// <inheritdoc />
    public int OutputSize => _layers[^1].OutputSize;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix)
    {
        for (int i = 0; i < _layers.Length; i++) _layers[i].Declare(layout, ParameterLayout.Join(prefix, _names[i]));
    }

    /// <inheritdoc />
    public void Initialize(Span<T> theta, CounterRng rng)
    {
        for (int i = 0; i < _layers.Length; i++) _layers[i].Initialize(theta, rng.Fork((ulong)i));
    }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        _acts = new SequenceTensor<T>[_layers.Length - 1];
        _grads = new SequenceTensor<T>[_layers.Length - 1];
        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i].Prepare(batch, time, pool);
            if (i < _layers.Length - 1)
            {
                _acts[i] = new SequenceTensor<T>(batch, time, _layers[i].OutputSize);
                _grads[i] = _gradientBuffers.Get(batch, time, _layers[i].OutputSize, i % 2);
            }
        }
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var x = input;
        for (int i = 0; i < _layers.Length; i++)
        {
            var y = i == _layers.Length - 1 ? output : _acts[i];
            _layers[i].Forward(theta, x, y, training);
            x = y;
        }
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        var dy = outputGradient;
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            var dx = i == 0 ? inputGradient : _grads[i - 1];
            _layers[i].Backward(theta, dy, dx, gradient);
            if (dx is null) break;
            dy = dx;
        }
    }
}

/// <summary>Gradient buffers between the layers of <see cref="LayerStack{T}"/>s, two per shape (by the parity of the layer
/// index, so that the gradients a layer reads and writes are never the same buffer). Holds only the latest batch × time.</summary>
internal sealed class GradientBuffers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Dictionary<(int Features, int Slot), SequenceTensor<T>> _buffers = [];
    private (int Batch, int Time) _shape;

    /// <summary>The slot of <see cref="Glu{T}"/>'s gradient of its two halves (slots 0 and 1 are a stack's two parities).</summary>
    public const int GluSlot = 2;
    /// <summary>The first of the slots a recurrent layer's backward scratch uses (<see cref="IUsesGradientBuffers{T}"/>).</summary>
    public const int RecurrentSlot = 3;

    /// <summary>The buffer of shape [batch, time, features] in slot <paramref name="slot"/> (a stack's parity 0 or 1, or <see cref="GluSlot"/>).</summary>
    public SequenceTensor<T> Get(int batch, int time, int features, int slot)
    {
        if (_shape != (batch, time)) { _buffers.Clear(); _shape = (batch, time); }
        if (!_buffers.TryGetValue((features, slot), out var t)) _buffers[(features, slot)] = t = new SequenceTensor<T>(batch, time, features);
        return t;
    }
}

/// <summary>A layer whose backward scratch (buffers that live only inside its <c>Backward</c>) can come from shared
/// <see cref="GradientBuffers{T}"/>, in slots from <see cref="GradientBuffers{T}.RecurrentSlot"/> on.</summary>
internal interface IUsesGradientBuffers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Where <c>Prepare</c> takes the backward scratch from (null: buffers of its own). Set before <c>Prepare</c>.</summary>
    GradientBuffers<T>? GradientBuffers { get; set; }
}
