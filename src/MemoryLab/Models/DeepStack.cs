using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The deep recurrent network of Zucchet24 §5 (Figs. 5, 13): an encoder
/// <c>Dense(d_in → d_model)</c>, K <see cref="ResidualBlock{T}"/>s around any recurrent layer, and a decoder
/// <c>Dense(d_model → d_out)</c>. Parameters sit under <c>encoder</c>, <c>blocks.k</c> and <c>decoder</c>.
/// </summary>
public sealed class DeepStack<T> : ISequenceLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LayerStack<T> _stack;
    private readonly ResidualBlock<T>[] _blocks;

    /// <summary>A deep stack of <paramref name="blocks"/> residual blocks.</summary>
    /// <param name="inputSize">d_in.</param>
    /// <param name="modelSize">d_model, the width inside the blocks.</param>
    /// <param name="outputSize">d_out.</param>
    /// <param name="blocks">K (the paper uses 4).</param>
    /// <param name="recurrentLayer">Makes block k's recurrent layer, which must map d_model to d_model features.</param>
    /// <param name="norm">Normalisation inside every block.</param>
    /// <param name="gelu">GELU form inside every block.</param>
    public DeepStack(int inputSize, int modelSize, int outputSize, int blocks, Func<int, ISequenceLayer<T>> recurrentLayer,
        NormKind norm = NormKind.None, GeluApproximation gelu = GeluApproximation.None)
    {
        ArgumentNullException.ThrowIfNull(recurrentLayer);
        if (blocks <= 0) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, "a deep stack needs at least one block");
        Encoder = new Dense<T>(inputSize, modelSize, group: "encoder");
        Decoder = new Dense<T>(modelSize, outputSize, group: "decoder");
        _blocks = new ResidualBlock<T>[blocks];
        var names = new string[blocks + 2];
        var layers = new ISequenceLayer<T>[blocks + 2];
        (names[0], layers[0]) = ("encoder", Encoder);
        for (int k = 0; k < blocks; k++)
        {
            var rnn = recurrentLayer(k) ?? throw new ArgumentException($"the recurrent-layer factory returned null for block {k}", nameof(recurrentLayer));
            if (rnn.InputSize != modelSize || rnn.OutputSize != modelSize)
                throw new ArgumentException($"block {k}: the recurrent layer maps {rnn.InputSize} → {rnn.OutputSize} features, the model width is {modelSize}", nameof(recurrentLayer));
            _blocks[k] = new ResidualBlock<T>(rnn, norm, gelu);
            (names[k + 1], layers[k + 1]) = ("blocks." + k.ToString(System.Globalization.CultureInfo.InvariantCulture), _blocks[k]);
        }
        // The blocks run backward one after another, so their inner chains share gradient buffers (the outer stack, whose
        // gradients around block k are live while block k runs backward, keeps its own).
        var inner = new GradientBuffers<T>();
        foreach (var block in _blocks) block.GradientBuffers = inner;
        (names[^1], layers[^1]) = ("decoder", Decoder);
        _stack = new LayerStack<T>(names, layers);
        ModelSize = modelSize;
    }

    /// <summary>d_model.</summary>
    public int ModelSize { get; }
    /// <summary>The encoder d_in → d_model.</summary>
    public Dense<T> Encoder { get; }
    /// <summary>The decoder d_model → d_out.</summary>
    public Dense<T> Decoder { get; }
    /// <summary>The residual blocks, first to last.</summary>
    public IReadOnlyList<ResidualBlock<T>> Blocks => _blocks;

    /// <summary>Output of block <paramref name="k"/> (0-based) from the latest forward pass: what Zucchet24 Fig. 5
    /// measures E[x²] of.</summary>
    public SequenceTensor<T> BlockOutput(int k)
    {
        if ((uint)k >= (uint)_blocks.Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"blocks are 0..{_blocks.Length - 1}");
        return _stack.IntermediateOutput(k + 1);
    }

    /// <inheritdoc />
    public int InputSize => _stack.InputSize;
    /// <inheritdoc />
    public int OutputSize => _stack.OutputSize;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix) => _stack.Declare(layout, prefix);

    /// <inheritdoc />
    public void Initialize(Span<T> theta, CounterRng rng) => _stack.Initialize(theta, rng);

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool) => _stack.Prepare(batch, time, pool);

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training) =>
        _stack.Forward(theta, input, output, training);

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient) =>
        _stack.Backward(theta, outputGradient, inputGradient, gradient);
}
