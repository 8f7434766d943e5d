using MemoryLab.Models;

namespace MemoryLab.Cli.Bench;

/// <summary>A benchmark shape: <c>[batch, time, in]</c> in, <c>[batch, time, out]</c> out, a recurrence of <c>Hidden</c> units
/// (the model width <c>d_model</c> for the deep stack, whose blocks each hold <c>Hidden</c> = <c>d_model</c> complex states).</summary>
internal sealed record BenchShape(string Name, int Batch, int Time, int Hidden, int InputSize = 1, int OutputSize = 1, int Blocks = 0)
{
    /// <summary>Zucchet24's teacher–student shape: batch 128, T = 300, hidden 64, d = 1.</summary>
    public static BenchShape TeacherStudent { get; } = new("teacher-student", 128, 300, 64);

    /// <summary>The deep-stack shape: batch 16, T = 512, d_model 256, 4 residual LRU blocks, d = 1 in and out.</summary>
    public static BenchShape DeepStack { get; } = new("deep-stack", 16, 512, 256, Blocks: 4);

    /// <summary>Tokens per batch.</summary>
    public long Tokens => (long)Batch * Time;

    /// <summary>This shape with another batch, length or width (for the scaling sweep).</summary>
    public BenchShape With(int? batch = null, int? time = null, int? hidden = null) =>
        this with { Batch = batch ?? Batch, Time = time ?? Time, Hidden = hidden ?? Hidden };

    public override string ToString() => Blocks > 0
        ? $"batch {Batch}, T {Time}, d_model {Hidden}, {Blocks} blocks"
        : $"batch {Batch}, T {Time}, hidden {Hidden}, d {InputSize}";
}

/// <summary>Work of one training step, counted from the shapes and the algorithm (forward + backward ≈ 3× the forward's
/// multiply-adds; Adam and pointwise non-linearities are not counted). Bytes are the compulsory traffic: what the forward
/// pass must store for the backward pass (written once, read once) plus inputs, targets and output gradients.</summary>
internal readonly record struct StepCost(double Flops, double Bytes);

/// <summary>One model of the side-by-side benchmark: how MemoryLab builds it, which PyTorch variants exist, and its cost.</summary>
/// <param name="Name">The name used in tables and by the PyTorch peer script (<c>lru</c>, <c>gru</c> …).</param>
/// <param name="Lti">Whether it is linear time-invariant (then it has a scan and a convolution path).</param>
/// <param name="PeerVariants">The PyTorch variants written for it (loop, conv, native).</param>
internal sealed record BenchModel(string Name, bool Lti, IReadOnlyList<string> PeerVariants)
{
    private const double BytesPerFloat = 4;

    /// <summary>The models at the teacher–student shape, then the deep stack.</summary>
    public static IReadOnlyList<BenchModel> All { get; } =
    [
        new("lru", true, ["loop", "conv"]),
        new("complex_diagonal", true, ["loop", "conv"]),
        new("linear_rnn", true, ["loop", "conv"]),
        new("elman", false, ["loop", "native"]),
        new("gru", false, ["loop", "native"]),
        new("lstm", false, ["loop", "native"]),
        new("deep_stack", false, ["loop", "conv"]),
    ];

    /// <summary>The shape this model is benchmarked at.</summary>
    public BenchShape Shape => Name == "deep_stack" ? BenchShape.DeepStack : BenchShape.TeacherStudent;

    /// <summary>MemoryLab's description of the model at <paramref name="shape"/> (nonlinear recurrences get a Dense readout,
    /// as a PyTorch user puts an nn.Linear after nn.GRU), with the LTI algorithm when given.</summary>
    public ModelDescription Describe(BenchShape shape, string? algorithm = null)
    {
        (string, object)[] Lti(params (string, object)[] options) =>
            algorithm is null ? options : [.. options, ("algorithm", algorithm)];
        var readout = ModelDescription.Of("dense", ("out", shape.OutputSize));
        return Name switch
        {
            "lru" => ModelDescription.Of("lru", Lti(("hidden", shape.Hidden), ("r_min", 0.9), ("max_phase", Math.PI), ("init", "teacher_student"))),
            "complex_diagonal" => ModelDescription.Of("complex_diagonal", Lti(("hidden", shape.Hidden), ("out", shape.OutputSize), ("r_min", 0.9), ("max_phase", Math.PI))),
            "linear_rnn" => ModelDescription.Of("linear_rnn", Lti(("hidden", shape.Hidden), ("out", shape.OutputSize))),
            "elman" => ModelDescription.Of("stack").With(ModelDescription.Of("elman", ("hidden", shape.Hidden)), readout),
            "gru" => ModelDescription.Of("stack").With(ModelDescription.Of("gru", ("hidden", shape.Hidden)), readout),
            "lstm" => ModelDescription.Of("stack").With(ModelDescription.Of("lstm", ("hidden", shape.Hidden)), readout),
            "deep_stack" => ModelDescription.Of("deep_stack", ("d_model", shape.Hidden), ("blocks", shape.Blocks), ("out", shape.OutputSize))
                .With(ModelDescription.Of("lru", Lti())),
            _ => throw new ArgumentException($"unknown benchmark model '{Name}'"),
        };
    }

    /// <summary>Flops and compulsory bytes of one training step of a nonlinear model at <paramref name="s"/> (the LTI layers'
    /// costs come from <see cref="LtiCostModel"/>, through <see cref="LtiAlgorithms.Cost"/>).</summary>
    public StepCost NonlinearCost(BenchShape s)
    {
        double n = s.Hidden, din = s.InputSize, dout = s.OutputSize, tokens = s.Tokens;
        // Forward multiply-adds per token, and floats stored per token for the backward pass.
        (double mac, double stored) = Name switch
        {
            "elman" => (n * n + n * din + n * dout, n),
            "gru" => (3 * (n * n + n * din) + n * dout, 4 * n),
            "lstm" => (4 * (n * n + n * din) + n * dout, 6 * n),
            // Encoder, per block an LRU (B̃, C complex n = d_model; scan) and a GLU (d → 2d), decoder.
            "deep_stack" => (n * din + s.Blocks * (4 * n * n + 4 * n + 2 * n * n) + n * dout, s.Blocks * 7 * n),
            _ => throw new ArgumentException(Name),
        };
        double flops = 3 * 2 * mac * tokens;
        double bytes = BytesPerFloat * tokens * (2 * stored + din + 2 * dout);
        return new StepCost(flops, bytes);
    }
}
