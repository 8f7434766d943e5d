using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>Float64 finite-difference checks (LayerGradientCheck, rel err ≤ 1e-6) of every parameter and
/// the input of each recurrent layer and option.</summary>
public class RecurrentGradientTests
{
    private const double Tolerance = 1e-6;

    private static void AssertGradients(ISequenceLayer<double> layer, int batch = 3, int time = 6, double jitter = 0.05, ulong seed = 7, double step = 1e-5)
    {
        var (parameters, input) = LayerGradientCheck.Check(layer, batch, time, seed, jitter, step: step);
        Assert.True(parameters.MaxRelativeError <= Tolerance, $"parameters: {parameters}");
        Assert.True(input.MaxRelativeError <= Tolerance, $"input: {input}");
    }

    [Theory]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.HardTanh)]
    [InlineData(Activation.Identity)]
    public void Elman_gradients_match_finite_differences(Activation activation) =>
        // chunk size 2 with batch 3: two chunks, the second one partial.
        AssertGradients(new ElmanRecurrence<double>(2, 5, activation, recurrentGain: 0.9, chunkSize: 2));

    [Theory]
    [InlineData(Activation.Tanh, StableParametrisation.Direct)]
    [InlineData(Activation.Tanh, StableParametrisation.Exp)]
    [InlineData(Activation.Tanh, StableParametrisation.Softplus)]
    [InlineData(Activation.Tanh, StableParametrisation.Best)]
    [InlineData(Activation.HardTanh, StableParametrisation.Softplus)]
    [InlineData(Activation.Identity, StableParametrisation.Exp)]
    public void Continuous_time_gradients_match_finite_differences(Activation activation, StableParametrisation parametrisation) =>
        AssertGradients(new ContinuousTimeRecurrence<double>(2, 4, activation, parametrisation, dt: 0.3, chunkSize: 2));

    [Theory]
    [InlineData(GruInitialization.Chrono)]
    [InlineData(GruInitialization.PyTorch)]
    public void Gru_gradients_match_finite_differences(GruInitialization init) =>
        AssertGradients(new GatedRecurrentUnit<double>(3, 5, init, chronoMin: 1, chronoMax: 4, chunkSize: 2));

    [Fact]
    public void Gru_gradients_match_finite_differences_with_a_full_vector_width() =>
        // 8 units: the vectorised cell path (Vector<double>.Count ≤ 8) as well as the scalar tail.
        AssertGradients(new GatedRecurrentUnit<double>(2, 11, chunkSize: 2), batch: 3, time: 4, jitter: 0.2, step: 1e-3);

    [Theory]
    [InlineData(null)]
    [InlineData(1.0)]
    public void Lstm_gradients_match_finite_differences(double? forgetBias) =>
        AssertGradients(new LongShortTermMemory<double>(3, 5, forgetBias, chunkSize: 2));

    [Fact]
    public void Lstm_gradients_match_finite_differences_with_a_full_vector_width() =>
        AssertGradients(new LongShortTermMemory<double>(2, 11, chunkSize: 2), batch: 3, time: 4, jitter: 0.2, step: 1e-3);

    [Theory]
    [InlineData(3, 20, true)]
    [InlineData(3, 20, false)]
    [InlineData(5, 1, true)]   // narrow output: dot-product path
    [InlineData(5, 3, false)]
    public void Dense_gradients_match_finite_differences(int input, int output, bool bias) =>
        AssertGradients(new Dense<double>(input, output, bias), batch: 2, time: 5);

    // Inputs wider than ChunkedRecurrence.NarrowInputLimit take the all-steps GEMM path; the cases above the narrow one.
    [Fact]
    public void Elman_gradients_match_finite_differences_for_wide_inputs() =>
        AssertGradients(new ElmanRecurrence<double>(10, 4, chunkSize: 2));

    [Fact]
    public void Continuous_time_gradients_match_finite_differences_for_wide_inputs() =>
        AssertGradients(new ContinuousTimeRecurrence<double>(10, 4, Activation.Tanh, StableParametrisation.Best, dt: 0.5, chunkSize: 2));

    [Fact]
    public void Gru_gradients_match_finite_differences_for_wide_inputs() =>
        AssertGradients(new GatedRecurrentUnit<double>(10, 5, chunkSize: 2), jitter: 0.2, step: 1e-3);

    [Fact]
    public void Lstm_gradients_match_finite_differences_for_wide_inputs() =>
        AssertGradients(new LongShortTermMemory<double>(10, 5, chunkSize: 2), jitter: 0.2, step: 1e-3);
}
