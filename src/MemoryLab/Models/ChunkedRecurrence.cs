using System.Numerics;
using System.Numerics.Tensors;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The shared skeleton of the fused nonlinear recurrences (Elman, continuous-time, GRU, LSTM).
/// The batch is cut into chunks of <see cref="ChunkSize"/> sequences — a partition fixed by the batch
/// size, never by the thread count. Each chunk runs its whole forward scan (input projections for all
/// steps as one GEMM — or, for inputs of at most <see cref="NarrowInputLimit"/> features, a few axpys per
/// step — then one <c>rows × gates</c> GEMM per step against the transposed recurrent weights) or its whole
/// reverse-time adjoint scan on a <see cref="WorkerPool"/> thread, writing its parameter gradient into its
/// own partial buffer; the partials are then summed in chunk order. So one thread and sixteen give the
/// same bits (DESIGN.md, "Deterministic"), and a call allocates nothing.
/// </summary>
/// <remarks>Tensors inside a chunk are addressed row-major: the state of sequence b at step t of a
/// width-w tensor starts at <c>(b·Time + t)·w</c>, so the rows of one step across the chunk's sequences
/// form a matrix with leading dimension <c>Time·w</c> — what the per-step GEMM consumes in place.</remarks>
public abstract class ChunkedRecurrence<T> : ISequenceLayer<T>, IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Sequences per chunk unless a layer is told otherwise: 16 rows keep a per-step GEMM
    /// efficient while a batch of 128 still gives 8 parallel chunks.</summary>
    public const int DefaultChunkSize = 16;

    private T[] _partials = [], _inputWeightsT = [], _recurrentWeightsT = [], _inputGradientsT = [];
    private bool _backward;
    private WorkerPool? _pool;

    /// <summary>Sets the sizes: <paramref name="gates"/> blocks of <paramref name="hiddenSize"/> pre-activations per
    /// step (1 for Elman, 3 for GRU, 4 for LSTM); <paramref name="chunkSize"/> is the fixed number of sequences per parallel chunk.</summary>
    protected ChunkedRecurrence(int inputSize, int hiddenSize, int gates, int chunkSize)
    {
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "input size must be positive");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "hidden size must be positive");
        if (chunkSize <= 0) throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "chunk size must be positive");
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        GateWidth = checked(gates * hiddenSize);
        ChunkSize = chunkSize;
    }

    /// <inheritdoc />
    public int InputSize { get; }

    /// <summary>Width of the hidden state h (and of the output, which is h).</summary>
    public int HiddenSize { get; }

    /// <inheritdoc />
    public int OutputSize => HiddenSize;

    /// <summary>Sequences per parallel chunk (fixed, so results do not depend on the thread count).</summary>
    public int ChunkSize { get; }

    /// <summary>Pre-activations per step: gates × hidden (the rows of the input weights).</summary>
    protected int GateWidth { get; }

    /// <summary>The input weights <c>[GateWidth, InputSize]</c> (U, or W_ih).</summary>
    protected abstract ParameterView InputWeightView { get; }

    /// <summary>The recurrent weights <c>[GateWidth, HiddenSize]</c> (W, or W_hh) as stored in θ.</summary>
    protected abstract ParameterView RecurrentWeightView { get; }

    /// <summary>The matrix the recurrence multiplies h by, <c>[GateWidth, HiddenSize]</c>: θ's view, or an
    /// effective matrix built from it in <see cref="BeginForward"/>.</summary>
    protected virtual ReadOnlySpan<T> RecurrentMatrix(T[] theta) => RecurrentWeightView.Of(theta);

    /// <summary>Prepared batch size.</summary>
    protected int Batch { get; private set; }
    /// <summary>Prepared sequence length.</summary>
    protected int Time { get; private set; }
    /// <summary>Number of chunks for the prepared batch.</summary>
    protected int ChunkCount { get; private set; }
    /// <summary>Start of this layer's parameters in θ (they are declared contiguously).</summary>
    protected int ParameterOffset { get; private set; }
    /// <summary>Number of this layer's parameters.</summary>
    protected int ParameterCount { get; private set; }

    /// <summary>θ of the current call.</summary>
    protected T[] Theta { get; private set; } = [];
    /// <summary>Input of the latest forward pass (kept by reference: it must not change before the backward pass).</summary>
    protected SequenceTensor<T> Input { get; private set; } = null!;
    /// <summary>Output being written by the current forward pass.</summary>
    protected SequenceTensor<T> Output { get; private set; } = null!;
    /// <summary>∂loss/∂output of the current backward pass.</summary>
    protected SequenceTensor<T> OutputGradient { get; private set; } = null!;
    /// <summary>∂loss/∂input to write in the current backward pass, or null when not wanted.</summary>
    protected SequenceTensor<T>? InputGradient { get; private set; }

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix)
    {
        int start = layout.Count;
        DeclareParameters(layout, prefix);
        ParameterOffset = start;
        ParameterCount = layout.Count - start;
    }

    /// <summary>Adds this layer's views to <paramref name="layout"/> (contiguously, in any order).</summary>
    protected abstract void DeclareParameters(ParameterLayout layout, string prefix);

    /// <inheritdoc />
    public abstract void Initialize(Span<T> theta, CounterRng rng);

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        if (ParameterCount == 0) throw new InvalidOperationException("call Declare before Prepare");
        Batch = batch;
        Time = time;
        _pool = pool;
        ChunkCount = WorkerPool.ChunkCount(batch, ChunkSize);
        _partials = new T[checked(ChunkCount * ParameterCount)];
        _inputWeightsT = new T[GateWidth * InputSize];
        _recurrentWeightsT = new T[GateWidth * HiddenSize];
        _inputGradientsT = NarrowInput ? new T[ChunkCount * GateWidth * InputSize] : [];
        AllocateBuffers(batch, time);
    }

    /// <summary>Allocates the per-shape buffers (called by <see cref="Prepare"/>; the only place that allocates).</summary>
    protected abstract void AllocateBuffers(int batch, int time);

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Forward");
        CheckShape(input, InputSize, nameof(input));
        CheckShape(output, OutputSize, nameof(output));
        CheckTheta(theta);
        Theta = theta;
        Input = input;
        Output = output;
        BeginForward();
        // Transposed copies, so every forward GEMM reads op(B) = B as stored (no per-call packing).
        Elementwise.Transpose(InputWeightView.Of(theta), GateWidth, InputSize, _inputWeightsT);
        Elementwise.Transpose(RecurrentMatrix(theta), GateWidth, HiddenSize, _recurrentWeightsT);
        _backward = false;
        pool.Run(this, ChunkCount);
    }

    /// <summary>Runs once before the chunks of a forward pass (e.g. to build an effective matrix from θ).</summary>
    protected virtual void BeginForward() { }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Backward");
        if (Input is null) throw new InvalidOperationException("call Forward before Backward");
        CheckShape(outputGradient, OutputSize, nameof(outputGradient));
        if (inputGradient is not null) CheckShape(inputGradient, InputSize, nameof(inputGradient));
        CheckTheta(theta);
        CheckTheta(gradient);
        Theta = theta;
        OutputGradient = outputGradient;
        InputGradient = inputGradient;
        _backward = true;
        pool.Run(this, ChunkCount);
        // Fixed-order reduction of the chunk partials: the same bits for any thread count.
        int p = ParameterCount;
        var sum = _partials.AsSpan(0, p);
        for (int c = 1; c < ChunkCount; c++) Elementwise.AddInPlace(sum, _partials.AsSpan(c * p, p));
        FinishGradient(sum);
        Elementwise.AddInPlace(gradient.AsSpan(ParameterOffset, p), sum);
    }

    /// <summary>Last touch on the summed gradient of this layer's parameters before it is added into the
    /// caller's gradient (e.g. the chain rule of a reparametrisation, which is linear so may act on the sum).</summary>
    protected virtual void FinishGradient(Span<T> layerGradient) { }

    /// <inheritdoc />
    public void Execute(int chunk)
    {
        int b0 = chunk * ChunkSize, rows = Math.Min(ChunkSize, Batch - b0);
        if (_backward)
        {
            var partial = _partials.AsSpan(chunk * ParameterCount, ParameterCount);
            partial.Clear();
            if (NarrowInput) InputGradientT(chunk).Clear();
            BackwardChunk(chunk, b0, rows, partial);
            if (NarrowInput) AddTransposed(InputGradientT(chunk), GateWidth, InputSize, Slice(partial, InputWeightView));
        }
        else ForwardChunk(chunk, b0, rows);
    }

    /// <summary>Forward scan of sequences <c>b0 .. b0+rows−1</c>: writes their outputs and keeps the state the backward pass needs.</summary>
    protected abstract void ForwardChunk(int chunk, int b0, int rows);

    /// <summary>Reverse-time adjoint scan of sequences <c>b0 .. b0+rows−1</c>: adds their parameter gradient
    /// into <paramref name="partial"/> (indexed like θ from <see cref="ParameterOffset"/>, zeroed on entry) and writes their input gradient.</summary>
    protected abstract void BackwardChunk(int chunk, int b0, int rows, Span<T> partial);

    /// <summary>The slice of a chunk-partial gradient that belongs to <paramref name="view"/>.</summary>
    protected Span<T> Slice(Span<T> partial, ParameterView view) => partial.Slice(view.Offset - ParameterOffset, view.Length);

    /// <summary>Inputs at most this wide are projected inside the scan, one step at a time, with D axpys into
    /// the row the cell reads next (hot in L1); wider inputs get one GEMM over all steps before the scan. With
    /// so few columns a GEMM would only stream the whole pre-activation tensor through memory once more.</summary>
    public const int NarrowInputLimit = 8;

    /// <summary>True when the input is projected step by step (see <see cref="NarrowInputLimit"/>).</summary>
    protected bool NarrowInput => InputSize <= NarrowInputLimit;

    /// <summary>The input weights transposed, <c>[InputSize, GateWidth]</c> (built at each forward pass).</summary>
    protected ReadOnlySpan<T> InputWeightsT => _inputWeightsT;

    /// <summary><see cref="RecurrentMatrix"/> transposed, <c>[HiddenSize, GateWidth]</c> (built at each forward pass).</summary>
    protected ReadOnlySpan<T> RecurrentWeightsT => _recurrentWeightsT;

    /// <summary>Chunk <paramref name="chunk"/>'s gradient of the input weights accumulated transposed, <c>[InputSize, GateWidth]</c>
    /// (narrow inputs; zeroed before and folded into the partial after <see cref="BackwardChunk"/>).</summary>
    protected Span<T> InputGradientT(int chunk) => _inputGradientsT.AsSpan(chunk * GateWidth * InputSize, GateWidth * InputSize);

    /// <summary>One narrow projection: <c>dest = bias + Σ_d x[d]·Wᵀ[d, :]</c> with Wᵀ <c>[D, dest.Length]</c>.</summary>
    protected static void ProjectRow(ReadOnlySpan<T> x, ReadOnlySpan<T> weightsT, ReadOnlySpan<T> bias, Span<T> dest)
    {
        int g = dest.Length;
        TensorPrimitives.MultiplyAdd(weightsT[..g], x[0], bias, dest);
        for (int d = 1; d < x.Length; d++) TensorPrimitives.MultiplyAdd(weightsT.Slice(d * g, g), x[d], dest, dest);
    }

    /// <summary>One narrow input-side backward row, for the pre-activation gradient <paramref name="g"/> of gate
    /// columns <c>col0 .. col0 + g.Length</c> out of <paramref name="width"/>: <c>∂Wᵀ[d, cols] += x[d]·g</c> and,
    /// when <paramref name="dx"/> is not empty, <c>dx[d] += Wᵀ[d, cols]·g</c>.</summary>
    protected static void AccumulateInputRow(ReadOnlySpan<T> g, int col0, int width, ReadOnlySpan<T> x, ReadOnlySpan<T> weightsT,
        Span<T> weightsTGradient, Span<T> dx)
    {
        for (int d = 0; d < x.Length; d++)
        {
            var grad = weightsTGradient.Slice(d * width + col0, g.Length);
            TensorPrimitives.MultiplyAdd(g, x[d], grad, grad);
            if (!dx.IsEmpty) dx[d] += TensorPrimitives.Dot(g, weightsT.Slice(d * width + col0, g.Length));
        }
    }

    /// <summary>Adds a gradient accumulated as Wᵀ <c>[cols, rows]</c> into θ-layout <c>[rows, cols]</c>.</summary>
    protected static void AddTransposed(ReadOnlySpan<T> gradientT, int rows, int cols, Span<T> gradient)
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                gradient[i * cols + j] += gradientT[j * rows + i];
    }

    private void CheckShape(SequenceTensor<T> tensor, int features, string name) => Partition.CheckShape(tensor, Batch, Time, features, name, this);

    private void CheckTheta(T[] theta)
    {
        ArgumentNullException.ThrowIfNull(theta);
        if (theta.Length < ParameterOffset + ParameterCount)
            throw new ArgumentException($"{GetType().Name}: parameter vector has {theta.Length} entries, the layer's views end at {ParameterOffset + ParameterCount}");
    }
}
