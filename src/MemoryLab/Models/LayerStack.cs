using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>Layers applied one after another: <c>y = f_K(… f_1(x))</c>. Intermediate activations and
/// their gradients are allocated once in <see cref="Prepare"/>.</summary>
public sealed class LayerStack<T> : ISequenceLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ISequenceLayer<T>[] _layers;
    private readonly string[] _names;
    private SequenceTensor<T>[] _acts = [];
    private SequenceTensor<T>[] _grads = [];

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
                _grads[i] = new SequenceTensor<T>(batch, time, _layers[i].OutputSize);
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
