using System.Numerics;

namespace MemoryLab.Models;

/// <summary>Model-factory entries for the linear recurrences (SCIENCE.md B2): <c>linear_rnn</c> (dense, multi-head),
/// <c>complex_diagonal</c> and <c>lru</c>. Output size <c>out</c> defaults to the input size.</summary>
internal static class LinearLayerKinds
{
    public static void Register(ModelFactory f)
    {
        f.Register("linear_rnn", LinearRnn<float>, LinearRnn<double>,
            "h = A h + B x, y = C h + D x; hidden=in, out=in, heads=1, skip=true, nu0=0, theta0=π, algorithm=auto|scan|convolution");
        f.Register("complex_diagonal", ComplexDiagonal<float>, ComplexDiagonal<double>,
            "h = λ⊙h + γ(λ)⊙Bx, y = Re(Ch) + Dx; hidden=in, out=in, parametrisation=default|polar|exp|tanh|opt, "
            + "normalisation=none|l2|l1|learned, skip=full|diagonal|none, r_min=0, r_max=1, max_phase=2π, init=lru23|teacher_student, algorithm=auto|scan|convolution");
        f.Register("lru", Lru<float>, Lru<double>,
            "LRU23: exp parametrisation, learned γ, diagonal skip; hidden=in, r_min=0, r_max=1, max_phase=2π, init=lru23|teacher_student, algorithm=auto|scan|convolution");
    }

    private static ISequenceLayer<T> LinearRnn<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new DenseLinearRecurrence<T>(c.InputSize, c.Int("out", c.InputSize), new DenseLinearRecurrenceOptions
        {
            StateSize = c.Int("hidden", c.InputSize),
            Heads = c.Int("heads", 1),
            Skip = c.Bool("skip", true),
            Nu0 = c.Double("nu0", 0.0),
            Theta0 = c.Double("theta0", Math.PI),
            Algorithm = c.Enum("algorithm", LtiAlgorithm.Auto),
        });

    private static ISequenceLayer<T> ComplexDiagonal<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new DiagonalRecurrence<T>(c.InputSize, c.Int("out", c.InputSize), new DiagonalRecurrenceOptions
        {
            StateSize = c.Int("hidden", c.InputSize),
            Parametrisation = c.Enum("parametrisation", EigenvalueParametrisation.Default),
            Normalisation = c.Enum("normalisation", InputNormalisation.None),
            Skip = c.Enum("skip", SkipConnection.Full),
            RMin = c.Double("r_min", 0.0),
            RMax = c.Double("r_max", 1.0),
            MaxPhase = c.Double("max_phase", 2 * Math.PI),
            Init = c.Enum("init", RingInitialisation.Lru23),
            Algorithm = c.Enum("algorithm", LtiAlgorithm.Auto),
        });

    private static ISequenceLayer<T> Lru<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new LinearRecurrentUnit<T>(c.InputSize, c.Int("hidden", c.InputSize), c.Double("r_min", 0.0), c.Double("r_max", 1.0),
            c.Double("max_phase", 2 * Math.PI), c.Enum("init", RingInitialisation.Lru23), c.Enum("algorithm", LtiAlgorithm.Auto));
}
