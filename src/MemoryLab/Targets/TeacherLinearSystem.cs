using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Targets;

/// <summary>Settings of the linear teacher (Zucchet24 §5, Fig. 3 left: the teacher–student task).</summary>
public sealed record TeacherOptions
{
    /// <summary>Teacher state size n.</summary>
    public int StateSize { get; init; } = 10;
    /// <summary>Input features.</summary>
    public int InputSize { get; init; } = 1;
    /// <summary>Output features.</summary>
    public int OutputSize { get; init; } = 1;
    /// <summary>Smallest eigenvalue magnitude ν₀ ∈ [0, 1): eigenvalues are mapped to ν₀ + (1−ν₀)·tanh|l|.</summary>
    public double Nu0 { get; init; } = 0.9;
    /// <summary>Phase concentration θ₀: phases are scaled by θ₀/π (π keeps them).</summary>
    public double Theta0 { get; init; } = 3.14;
    /// <summary>Teacher seed (fixed at 42 in the paper; student seeds vary).</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Throws <see cref="ArgumentException"/> for out-of-range values.</summary>
    public void Validate()
    {
        if (StateSize <= 0 || InputSize <= 0 || OutputSize <= 0) throw new ArgumentException("teacher sizes must be positive");
        if (!(Nu0 >= 0 && Nu0 < 1)) throw new ArgumentException($"ν₀ must lie in [0, 1) (got {Nu0})");
        if (!(Theta0 > 0 && Theta0 <= Math.PI + 1e-12)) throw new ArgumentException($"θ₀ must lie in (0, π] (got {Theta0})");
    }
}

/// <summary>
/// The linear teacher h_t = A h_{t−1} + B x_t, y_t = C h_t + D x_t with x ~ N(0, 1) i.i.d. A is drawn with
/// N(0, 1/n) entries, eigendecomposed, and its eigenvalues remapped to magnitude ν₀ + (1−ν₀)tanh|l| and
/// phase arg(l)·θ₀/π; B ~ N(0, 1/d_in), C ~ N(0, 1/n), D ~ N(0, 1/d_in) (Zucchet &amp; Orvieto, NeurIPS 2024, §5).
/// Targets are the system's exact response computed by <see cref="ChunkedStateSpace{T}"/>: the sequence is cut into chunks of about
/// 20 steps, each one GEMM over the batch that maps the chunk's inputs and the carried state to the chunk's outputs and the next state.
/// At the paper's shape (n = 10, T = 300) that is about a quarter of the multiply-adds of the T-step Toeplitz product
/// (kernel K_s = C A^s B convolved with x), which cost as much as the student's own forward pass. Inputs x ~ N(0, 1) come from
/// the vectorised <see cref="CounterRng.FillNormalVectorized{T}"/> of the step's Data stream.
/// </summary>
public sealed class TeacherLinearSystem<T> : ISequenceDataset<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SequenceModel<T> _model;
    private readonly ulong _dataSeed;
    private readonly ChunkedStateSpace<T> _system;
    private int _batch;

    /// <summary>A teacher with <paramref name="options"/> producing sequences of <paramref name="time"/> steps; batches are
    /// drawn from <paramref name="dataSeed"/>'s Data stream.</summary>
    public TeacherLinearSystem(TeacherOptions options, ulong dataSeed, int time = 300)
    {
        options.Validate();
        if (time <= 0) throw new ArgumentException($"sequence length must be positive (got {time})");
        Options = options;
        _dataSeed = dataSeed;
        Time = time;
        var layer = new DenseLinearRecurrence<T>(options.InputSize, options.OutputSize, new DenseLinearRecurrenceOptions { StateSize = options.StateSize, Algorithm = LtiAlgorithm.Convolution });
        _model = new SequenceModel<T>(layer);
        var rng = new CounterRng(options.Seed, RandomPurpose.Teacher);
        var a = SpectralInit.RemappedRandomMatrix(options.StateSize, options.Nu0, options.Theta0, rng.Fork(0));
        var layout = _model.Layout;
        for (int i = 0; i < a.Length; i++) layout["A"].Of(_model.Theta)[i] = T.CreateTruncating(a[i]);
        var w = rng.Fork(1);
        w.FillNormal(layout["B"].Of(_model.Theta), 0, Math.Sqrt(1.0 / options.InputSize));
        w.FillNormal(layout["C"].Of(_model.Theta), 0, Math.Sqrt(1.0 / options.StateSize));
        w.FillNormal(layout["D"].Of(_model.Theta), 0, Math.Sqrt(1.0 / options.InputSize));
        double[] Matrix(string name) => [.. layout[name].Of(_model.Theta).ToArray().Select(double.CreateTruncating)];
        _system = new ChunkedStateSpace<T>(options.StateSize, options.InputSize, options.OutputSize, Matrix("A"), Matrix("B"), Matrix("C"), Matrix("D"));
    }

    /// <summary>The settings.</summary>
    public TeacherOptions Options { get; }
    /// <inheritdoc />
    public int Time { get; }
    /// <inheritdoc />
    public int InputFeatures => Options.InputSize;
    /// <inheritdoc />
    public int OutputFeatures => Options.OutputSize;
    /// <inheritdoc />
    public ulong Seed => _dataSeed;
    /// <summary>The teacher's parameters (A, B, C, D) with their layout.</summary>
    public SequenceModel<T> Model => _model;

    /// <summary>Eigenvalues of the teacher's A.</summary>
    public System.Numerics.Complex[] Eigenvalues()
    {
        var a = _model.Layout["A"].Of(_model.Theta);
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = double.CreateTruncating(a[i]);
        return SpectralInit.Eigenvalues(d, Options.StateSize);
    }

    /// <inheritdoc />
    public void FillBatch(long step, SequenceTensor<T> input, SequenceTensor<T> target)
    {
        SequenceDataset.CheckShapes(this, input, target);
        new CounterRng(_dataSeed, RandomPurpose.Data, (ulong)step).FillNormalVectorized<T>(input.Data);
        if (_batch != input.Batch)
        {
            _system.Prepare(input.Batch);
            _batch = input.Batch;
        }
        _system.Apply(input, target);
    }
}
