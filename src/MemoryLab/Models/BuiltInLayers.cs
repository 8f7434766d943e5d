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
        f.Register("stack", Stack<float>, Stack<double>, "children applied in order (each child's 'name' option names its parameters)");
        f.Register("dense", Dense<float>, Dense<double>, "y = W x + b; out (required), bias=true, group=dense");
        f.Register("elman", Elman<float>, Elman<double>, "h = σ(W h + U x + b); hidden=in, activation=tanh|hardtanh|identity, recurrent_gain=0.9, chunk=16");
        f.Register("continuous_time", ContinuousTime<float>, ContinuousTime<double>,
            "h += dt σ(W h + U x + b), stable diagonal; hidden=in, activation=tanh, parametrisation=softplus|direct|exp|best, dt=1, best_offset=0.1, rate_min=0.5, rate_max=1.5, off_diagonal_scale=0.5, chunk=16");
        f.Register("gru", Gru<float>, Gru<double>, "PyTorch GRU; hidden=in, init=chrono|pytorch, t_min=1, t_max=10, chunk=16");
        f.Register("lstm", Lstm<float>, Lstm<double>, "PyTorch LSTM; hidden=in, forget_bias (optional), chunk=16");
        f.Register("glu", Glu<float>, Glu<double>, "(W₁z + b₁) ⊙ σ(W₂z + b₂); out=in, bias=true");
        f.Register("gelu", Gelu<float>, Gelu<double>, "x Φ(x); approximation=none|tanh");
        f.Register("layer_norm", LayerNorm<float>, LayerNorm<double>, "layer norm over features; epsilon=1e-5");
        f.Register("batch_norm", BatchNorm<float>, BatchNorm<double>, "batch norm over batch × time; momentum=0.1, epsilon=1e-5");
        f.Register("residual_block", ResidualBlock<float>, ResidualBlock<double>,
            "x + GLU(norm(gelu(RNN(norm(x))))) around its one child; norm=none|layer|batch, gelu=none|tanh, momentum=0.1");
        f.Register("deep_stack", DeepStack<float>, DeepStack<double>,
            "Dense(in→d_model), blocks × residual block around its one child (rebuilt per block), Dense(d_model→out); d_model (required), blocks=4, out=in, norm=none, gelu=none");
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
        new Dense<T>(c.InputSize, c.Int("out"), c.Bool("bias", true), c.String("group", "dense"));

    private static ISequenceLayer<T> Elman<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new ElmanRecurrence<T>(c.InputSize, c.Int("hidden", c.InputSize), c.Enum("activation", Activation.Tanh),
            c.Double("recurrent_gain", 0.9), c.Int("chunk", ChunkedRecurrence<T>.DefaultChunkSize));

    private static ISequenceLayer<T> ContinuousTime<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new ContinuousTimeRecurrence<T>(c.InputSize, c.Int("hidden", c.InputSize), c.Enum("activation", Activation.Tanh),
            c.Enum("parametrisation", StableParametrisation.Softplus), c.Double("dt", 1.0),
            c.Double("best_offset", StableParametrisations.DefaultBestOffset), c.Double("rate_min", 0.5), c.Double("rate_max", 1.5),
            c.Double("off_diagonal_scale", 0.5), c.Int("chunk", ChunkedRecurrence<T>.DefaultChunkSize));

    private static ISequenceLayer<T> Gru<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new GatedRecurrentUnit<T>(c.InputSize, c.Int("hidden", c.InputSize), c.Enum("init", GruInitialization.Chrono),
            c.Double("t_min", 1), c.Double("t_max", 10), c.Int("chunk", ChunkedRecurrence<T>.DefaultChunkSize));

    private static ISequenceLayer<T> Lstm<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new LongShortTermMemory<T>(c.InputSize, c.Int("hidden", c.InputSize), c.OptionalDouble("forget_bias"),
            c.Int("chunk", ChunkedRecurrence<T>.DefaultChunkSize));

    private static ISequenceLayer<T> Glu<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Glu<T>(c.InputSize, c.Int("out", c.InputSize), c.Bool("bias", true));

    private static ISequenceLayer<T> Gelu<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Gelu<T>(c.InputSize, c.Enum("approximation", GeluApproximation.None));

    private static ISequenceLayer<T> LayerNorm<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new LayerNorm<T>(c.InputSize, c.Double("epsilon", 1e-5));

    private static ISequenceLayer<T> BatchNorm<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new BatchNorm<T>(c.InputSize, c.Double("momentum", 0.1), c.Double("epsilon", 1e-5));

    private static ISequenceLayer<T> ResidualBlock<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        c.RequireChildren(1);
        return new ResidualBlock<T>(c.Child<T>(0, c.InputSize), c.Enum("norm", NormKind.None),
            c.Enum("gelu", GeluApproximation.None), c.Double("momentum", 0.1));
    }

    private static ISequenceLayer<T> DeepStack<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        c.RequireChildren(1);
        int d = c.Int("d_model");
        return new DeepStack<T>(c.InputSize, d, c.Int("out", c.InputSize), c.Int("blocks", 4), _ => c.Child<T>(0, d),
            c.Enum("norm", NormKind.None), c.Enum("gelu", GeluApproximation.None));
    }
}
