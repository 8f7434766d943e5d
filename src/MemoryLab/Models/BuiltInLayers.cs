using System.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The built-in kinds of <see cref="ModelFactory.CreateDefault"/>: one builder method per kind, generic over
/// the scalar, and one registration line each in <see cref="RegisterAll"/>. Recurrent kinds default
/// <c>hidden</c> to the input width, so they drop into residual blocks as they are.
/// </summary>
internal static class BuiltInLayers
{
    public static void RegisterAll(ModelFactory f)
    {
        LinearLayerKinds.Register(f);
        f.Register("stack", Stack<float>, Stack<double>, "its children (under layers:) applied in order; each child's 'name' option names its parameters");
        f.Register("dense", Dense<float>, Dense<double>, "y = W x + b at every step");
        f.Register("elman", Elman<float>, Elman<double>, "Elman RNN h_t = σ(W h_{t−1} + U x_t + b), output h");
        f.Register("continuous_time", ContinuousTime<float>, ContinuousTime<double>,
            "continuous-time RNN h += dt·(−Λ h + σ(W h + U x + b)) with a stable diagonal Λ (Wang et al., ICLR 2024); outputs its hidden state, so add a dense readout");
        f.Register("gru", Gru<float>, Gru<double>, "GRU with PyTorch's equations, output h");
        f.Register("lstm", Lstm<float>, Lstm<double>, "LSTM with PyTorch's equations, output h");
        f.Register("glu", Glu<float>, Glu<double>, "gated linear unit (W₁z + b₁) ⊙ σ(W₂z + b₂)");
        f.Register("gelu", Gelu<float>, Gelu<double>, "GELU x Φ(x), elementwise");
        f.Register("layer_norm", LayerNorm<float>, LayerNorm<double>, "layer norm over the features of each step");
        f.Register("batch_norm", BatchNorm<float>, BatchNorm<double>, "batch norm over batch × time");
        f.Register("residual_block", ResidualBlock<float>, ResidualBlock<double>,
            "x + GLU(norm(GELU(RNN(norm(x))))) around its one child (under layer:), the block of Zucchet & Orvieto (NeurIPS 2024) App. B");
        f.Register("deep_stack", DeepStack<float>, DeepStack<double>,
            "dense(in → d_model), blocks × residual block around its one child (under layer:, built afresh per block), dense(d_model → out)");
    }

    private static ISequenceLayer<T> Stack<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (c.ChildCount == 0) throw c.Error(null, "a stack needs at least one child description");
        var layers = new ISequenceLayer<T>[c.ChildCount];
        var names = new string[c.ChildCount];
        int width = c.InputSize;
        for (int i = 0; i < layers.Length; i++)
        {
            layers[i] = c.Child<T>(i, width);
            names[i] = c.ChildName(i);
            width = layers[i].OutputSize;
        }
        return new LayerStack<T>(names, layers);
    }

    private static ISequenceLayer<T> Dense<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Dense<T>(c.InputSize, c.Int("out", "output features", min: 1), c.Bool("bias", true, "add the bias b"),
            c.String("group", "dense", "the parameter group of W and b (optimiser groups: rules)"));

    private static ISequenceLayer<T> Elman<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new ElmanRecurrence<T>(c.InputSize, c.IntOrInputWidth("hidden", "hidden units"), c.Enum("activation", Activation.Tanh, "the nonlinearity σ"),
            c.Double("recurrent_gain", 0.9, "spectral scale of the initial W"), Chunk(c));

    private static ISequenceLayer<T> ContinuousTime<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new ContinuousTimeRecurrence<T>(c.InputSize, c.IntOrInputWidth("hidden", "hidden units (the layer's output width)"),
            c.Enum("activation", Activation.Tanh, "the nonlinearity σ"),
            c.Enum("parametrisation", StableParametrisation.Softplus, "how the decay rates Λ are parametrised (Wang et al., ICLR 2024, §3: softplus, direct, exp, best)"),
            c.Double("dt", 1.0, "Euler step"),
            c.Double("best_offset", StableParametrisations.DefaultBestOffset, "offset of the 'best' parametrisation"),
            c.Double("rate_min", 0.5, "smallest initial decay rate"), c.Double("rate_max", 1.5, "largest initial decay rate"),
            c.Double("off_diagonal_scale", 0.5, "scale of W's initial off-diagonal entries"), Chunk(c));

    private static ISequenceLayer<T> Gru<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new GatedRecurrentUnit<T>(c.InputSize, c.IntOrInputWidth("hidden", "hidden units"),
            c.Enum("init", GruInitialization.Chrono, "gate-bias initialisation: chrono (Tallec & Ollivier, 2018) or PyTorch's"),
            c.Double("t_min", 1, "chrono init: shortest time scale"), c.Double("t_max", 10, "chrono init: longest time scale"), Chunk(c));

    private static ISequenceLayer<T> Lstm<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new LongShortTermMemory<T>(c.InputSize, c.IntOrInputWidth("hidden", "hidden units"),
            c.OptionalDouble("forget_bias", "initial forget-gate bias (absent: PyTorch's uniform init)"), Chunk(c));

    private static ISequenceLayer<T> Glu<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Glu<T>(c.InputSize, c.IntOrInputWidth("out", "output features"), c.Bool("bias", true, "add the biases b₁, b₂"));

    private static ISequenceLayer<T> Gelu<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Gelu<T>(c.InputSize, c.Enum("approximation", GeluApproximation.None, "exact Φ (none) or PyTorch's tanh approximation"));

    private static ISequenceLayer<T> LayerNorm<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new LayerNorm<T>(c.InputSize, c.Double("epsilon", 1e-5, "added to the variance"));

    private static ISequenceLayer<T> BatchNorm<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new BatchNorm<T>(c.InputSize, c.Double("momentum", 0.1, "update rate of the running statistics"), c.Double("epsilon", 1e-5, "added to the variance"));

    private static ISequenceLayer<T> ResidualBlock<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        c.RequireChildren(1);
        return new ResidualBlock<T>(c.Child<T>(0, c.InputSize), c.Enum("norm", NormKind.None, "the block's normalisation"),
            c.Enum("gelu", GeluApproximation.None, "the block's GELU: exact (none) or tanh approximation"),
            c.Double("momentum", 0.1, "batch norm's running-statistics rate (norm: batch)"));
    }

    private static ISequenceLayer<T> DeepStack<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        c.RequireChildren(1);
        int d = c.Int("d_model", "width of the residual stream", min: 1);
        return new DeepStack<T>(c.InputSize, d, c.IntOrInputWidth("out", "output features of the final dense layer"),
            c.Int("blocks", 4, "residual blocks", min: 1), _ => c.Child<T>(0, d),
            c.Enum("norm", NormKind.None, "each block's normalisation"), c.Enum("gelu", GeluApproximation.None, "each block's GELU: exact (none) or tanh approximation"));
    }

    // The chunk length of the recurrences built on ChunkedRecurrence (the default is the same for float and double).
    private static int Chunk(LayerBuildContext c) =>
        c.Int("chunk", ChunkedRecurrence<float>.DefaultChunkSize, "sequences per chunk of the batch, the unit of parallel work (a speed knob)", min: 1);
}
