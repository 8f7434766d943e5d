using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>Float64 finite-difference checks of the feed-forward pieces of the deep block and of whole blocks and stacks.</summary>
public class BlockGradientTests
{
    private const double Tolerance = 1e-6;

    // Whole blocks have entries (GRU recurrent weights at early steps) whose gradient is ~1e-6 of the
    // largest; at h = 1e-5 the stencil's rounding noise (~1e-10 absolute) swamps them, at h = 1e-3 the
    // 4-point stencil's O(h⁴) truncation is still far below the tolerance.
    private const double BlockStep = 1e-3;

    private static void AssertGradients(ISequenceLayer<double> layer, int batch = 3, int time = 5, bool training = true, double step = 1e-5, double jitter = 0.05)
    {
        var (parameters, input) = LayerGradientCheck.Check(layer, batch, time, seed: 11, jitter: jitter, step: step, training: training);
        if (parameters.Checked > 0) Assert.True(parameters.MaxRelativeError <= Tolerance, $"parameters: {parameters}");
        Assert.True(input.MaxRelativeError <= Tolerance, $"input: {input}");
    }

    [Theory]
    [InlineData(GeluApproximation.None)]
    [InlineData(GeluApproximation.Tanh)]
    public void Gelu_gradient_matches_finite_differences(GeluApproximation form) => AssertGradients(new Gelu<double>(7, form));

    [Fact]
    public void LayerNorm_gradients_match_finite_differences() => AssertGradients(new LayerNorm<double>(6));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNorm_gradients_match_finite_differences(bool training) =>
        // 20 features: two feature blocks, the second partial.
        AssertGradients(new BatchNorm<double>(20, momentum: 0.3), training: training);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Glu_gradients_match_finite_differences(bool bias) => AssertGradients(new Glu<double>(5, 4, bias));

    [Theory]
    [InlineData(NormKind.None)]
    [InlineData(NormKind.Layer)]
    [InlineData(NormKind.Batch)]
    public void Residual_block_gradients_match_finite_differences(NormKind norm) =>
        AssertGradients(new ResidualBlock<double>(new GatedRecurrentUnit<double>(4, 4, chunkSize: 2), norm), batch: 3, time: 4, step: BlockStep);

    [Fact]
    public void Residual_block_with_batch_norm_in_evaluation_mode_matches_finite_differences() =>
        AssertGradients(new ResidualBlock<double>(new ElmanRecurrence<double>(4, 4, chunkSize: 2), NormKind.Batch), batch: 3, time: 4, training: false, step: BlockStep);

    [Theory]
    [InlineData(NormKind.None)]
    [InlineData(NormKind.Layer)]
    [InlineData(NormKind.Batch)]
    public void Deep_stack_of_gru_blocks_matches_finite_differences(NormKind norm) =>
        AssertGradients(new DeepStack<double>(2, 4, 3, blocks: 2, _ => new GatedRecurrentUnit<double>(4, 4, chunkSize: 2), norm), batch: 3, time: 4, step: BlockStep);

    [Fact]
    public void Deep_stack_of_elman_blocks_matches_finite_differences() =>
        AssertGradients(new DeepStack<double>(2, 4, 2, blocks: 3, _ => new ElmanRecurrence<double>(4, 4, chunkSize: 2), NormKind.Layer), batch: 3, time: 4, step: BlockStep);

    [Fact]
    public void Deep_stack_names_its_parameters_by_role()
    {
        var stack = new DeepStack<double>(3, 4, 2, blocks: 2, _ => new GatedRecurrentUnit<double>(4, 4), NormKind.Layer);
        var layout = new ParameterLayout();
        stack.Declare(layout, "model");
        foreach (var name in new[] { "model.encoder.weight", "model.blocks.0.norm_in.weight", "model.blocks.1.rnn.weight_hh",
                     "model.blocks.1.norm_out.bias", "model.blocks.0.glu.weight", "model.decoder.bias" })
            Assert.True(layout.TryGet(name, out _), $"missing {name}; have {string.Join(", ", layout.Views.Select(v => v.Name))}");
        Assert.Equal([8, 4], layout["model.blocks.0.glu.weight"].Shape);
    }
}
