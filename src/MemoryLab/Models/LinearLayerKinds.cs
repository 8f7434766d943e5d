using System.Numerics;

namespace MemoryLab.Models;

/// <summary>Model-factory entries for the linear recurrences (SCIENCE.md B2): <c>linear_rnn</c> (dense, multi-head),
/// <c>complex_diagonal</c> and <c>lru</c>. Output size <c>out</c> defaults to the input size.</summary>
internal static class LinearLayerKinds
{
    private static readonly string RingSummary = FormattableString.Invariant(
        $"r_min={DiagonalRecurrenceOptions.DefaultRMin}, r_max={DiagonalRecurrenceOptions.DefaultRMax}, max_phase=2π");

    public static void Register(ModelFactory f)
    {
        f.Register("linear_rnn", LinearRnn<float>, LinearRnn<double>,
            "h = A h + B x, y = C h + D x; hidden=in, out=in, heads=1, skip=true, nu0=0, theta0=π, algorithm=scan|auto|convolution");
        f.Register("complex_diagonal", ComplexDiagonal<float>, ComplexDiagonal<double>,
            "h = λ⊙h + γ(λ)⊙Bx, y = Re(Ch) + Dx; hidden=in, out=in, parametrisation=default|polar|exp|tanh|opt, "
            + "normalisation=none|l2|l1|learned, gamma=log|direct and gamma_init=modulus|real_part (learned γ), skip=full|diagonal|none, "
            + RingSummary + ", init=lru23|teacher_student, algorithm=scan|auto|convolution");
        f.Register("lru", Lru<float>, Lru<double>,
            "LRU23: exp parametrisation, learned γ, diagonal skip; hidden=in, gamma=log|direct, gamma_init=modulus|real_part, " + RingSummary + ", "
            + "init=lru23|teacher_student, algorithm=scan|auto|convolution");
    }

    private static ISequenceLayer<T> LinearRnn<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new DenseLinearRecurrence<T>(c.InputSize, c.Int("out", c.InputSize), new DenseLinearRecurrenceOptions
        {
            StateSize = c.Int("hidden", c.InputSize),
            Heads = c.Int("heads", 1),
            Skip = c.Bool("skip", true),
            Nu0 = c.Double("nu0", 0.0),
            Theta0 = c.Double("theta0", Math.PI),
            Algorithm = c.Enum("algorithm", LtiAlgorithm.Scan),
        });

    private static ISequenceLayer<T> ComplexDiagonal<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var defaults = new DiagonalRecurrenceOptions { StateSize = 1 };
        var normalisation = c.Enum("normalisation", defaults.Normalisation);
        return new DiagonalRecurrence<T>(c.InputSize, c.Int("out", c.InputSize), Ring(c, defaults with
        {
            Parametrisation = c.Enum("parametrisation", defaults.Parametrisation),
            Normalisation = normalisation,
            Skip = c.Enum("skip", defaults.Skip),
        }, learnedGamma: normalisation == InputNormalisation.Learned));
    }

    private static ISequenceLayer<T> Lru<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new LinearRecurrentUnit<T>(c.InputSize, Ring(c, new DiagonalRecurrenceOptions { StateSize = 1 }, learnedGamma: true));

    // The options both diagonal kinds read, each defaulting to the options record's own default; γ's keys only with a learned γ.
    private static DiagonalRecurrenceOptions Ring(LayerBuildContext c, DiagonalRecurrenceOptions o, bool learnedGamma)
    {
        if (!learnedGamma)
            foreach (var key in GammaKeys)
                if (c.Description.Options.ContainsKey(key)) throw c.Error(key, "applies only to a learned γ (normalisation: learned)");
        return o with
        {
            StateSize = c.Int("hidden", c.InputSize),
            RMin = c.Double("r_min", o.RMin),
            RMax = c.Double("r_max", o.RMax),
            MaxPhase = c.Double("max_phase", o.MaxPhase),
            Init = c.Enum("init", o.Init),
            Algorithm = c.Enum("algorithm", o.Algorithm),
            Gamma = learnedGamma ? c.Enum("gamma", o.Gamma) : o.Gamma,
            GammaInit = learnedGamma ? c.Enum("gamma_init", o.GammaInit) : o.GammaInit,
        };
    }

    private static readonly string[] GammaKeys = ["gamma", "gamma_init"];
}
