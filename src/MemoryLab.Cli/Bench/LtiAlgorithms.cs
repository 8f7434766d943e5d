using MemoryLab.Models;

namespace MemoryLab.Cli.Bench;

/// <summary>Which MemoryLab algorithms a benchmark model has, which one <c>auto</c> picks (<see cref="LtiCostModel"/>), and
/// what each costs. Only the three linear time-invariant students have two; every other model has the scan alone.</summary>
internal static class LtiAlgorithms
{
    /// <summary>The scan.</summary>
    public const string Scan = "scan";
    /// <summary>Kernel generation and causal convolution.</summary>
    public const string Convolution = "convolution";

    private static LtiLayerKind? Kind(BenchModel model) => model.Name switch
    {
        "lru" or "complex_diagonal" => LtiLayerKind.Diagonal,
        "linear_rnn" => LtiLayerKind.Dense,
        _ => null,
    };

    /// <summary>The algorithms to time for <paramref name="model"/>.</summary>
    public static IReadOnlyList<string> For(BenchModel model) => Kind(model) is null ? [Scan] : [Scan, Convolution];

    /// <summary>The model description's <c>algorithm</c> option for <paramref name="algorithm"/> (null for a model without one).</summary>
    public static string? Option(BenchModel model, string algorithm) => Kind(model) is null ? null : algorithm;

    /// <summary>Whether <paramref name="model"/> can run <paramref name="algorithm"/> at <paramref name="shape"/> (the convolution's
    /// Toeplitz matrix must fit, <see cref="LtiCostModel.EstimatedCost"/>).</summary>
    public static bool Feasible(BenchModel model, BenchShape shape, string algorithm) =>
        algorithm == Scan || (Kind(model) is { } kind
            && double.IsFinite(LtiCostModel.EstimatedCost(kind, LtiAlgorithm.Convolution, shape.Batch, shape.Time, shape.Hidden, shape.InputSize, shape.OutputSize)));

    /// <summary>The algorithm <c>auto</c> picks for <paramref name="model"/> at <paramref name="shape"/>.</summary>
    public static string Auto(BenchModel model, BenchShape shape) => Kind(model) is { } kind
        && LtiCostModel.Choose(kind, shape.Batch, shape.Time, shape.Hidden, shape.InputSize, shape.OutputSize) == LtiAlgorithm.Convolution
        ? Convolution : Scan;

    /// <summary>Flops and bytes of one step of <paramref name="model"/> with <paramref name="algorithm"/>.</summary>
    public static StepCost Cost(BenchModel model, BenchShape shape, string algorithm)
    {
        if (Kind(model) is not { } kind) return model.NonlinearCost(shape);
        var a = algorithm == Convolution ? LtiAlgorithm.Convolution : LtiAlgorithm.Scan;
        return new StepCost(
            LtiCostModel.Flops(kind, a, shape.Batch, shape.Time, shape.Hidden, shape.InputSize, shape.OutputSize),
            LtiCostModel.BytesMoved(kind, a, shape.Batch, shape.Time, shape.Hidden, shape.InputSize, shape.OutputSize));
    }
}
