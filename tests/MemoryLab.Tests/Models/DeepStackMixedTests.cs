using MemoryLab.Models;

namespace MemoryLab.Tests.Models;

/// <summary>The 4-block deep stack of Zucchet24 §5 with the engine's linear layers and a GRU, under each norm.</summary>
public class DeepStackMixedTests
{
    [Theory]
    [InlineData("none")]
    [InlineData("layer")]
    [InlineData("batch")]
    public void Four_block_stack_with_lru_complex_diagonal_and_gru_has_exact_gradients(string norm)
    {
        var factory = ModelFactory.CreateDefault();
        var blocks = new[]
        {
            ModelDescription.Of("lru", ("hidden", 3), ("r_min", 0.5)),
            ModelDescription.Of("complex_diagonal", ("hidden", 3), ("parametrisation", "exp"), ("normalisation", "learned"), ("r_min", 0.5)),
            ModelDescription.Of("gru", ("hidden", 4)),
            ModelDescription.Of("lru", ("hidden", 2), ("r_min", 0.3)),
        };
        var stack = ModelDescription.Of("stack").With(
            [ModelDescription.Of("dense", ("out", 4), ("name", "encoder")),
             .. blocks.Select((b, i) => ModelDescription.Of("residual_block", ("norm", norm), ("name", $"block{i}")).With(b)),
             ModelDescription.Of("dense", ("out", 2), ("name", "decoder"))]);
        var layer = factory.Build<double>(stack, 3);
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 3, time: 5, step: 1e-4, floor: 1e-4);
        // Gradients here are O(1); entries below 1e-4 are compared in absolute terms at that scale, because the
        // finite difference of a deep sum carries ~1e-11 of roundoff, which is 1e-6 of a 1e-5 entry.
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }
}
