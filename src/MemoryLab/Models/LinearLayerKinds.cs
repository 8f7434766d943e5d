using System.Numerics;

namespace MemoryLab.Models;

/// <summary>Model-factory entries for the linear recurrences (Zucchet &amp; Orvieto 2024, §2–4; Orvieto et al. 2023):
/// <c>linear_rnn</c> (dense, multi-head), <c>complex_diagonal</c> and <c>lru</c>, and the built-in eigenvalue
/// parametrisations. Output size <c>out</c> defaults to the input size.</summary>
internal static class LinearLayerKinds
{
    public static void Register(ModelFactory f)
    {
        foreach (var kind in Enum.GetValues<EigenvalueParametrisation>())
            f.RegisterParametrisation(EigenvalueMaps.For<float>(kind), EigenvalueMaps.For<double>(kind));
        f.Register("linear_rnn", LinearRnn<float>, LinearRnn<double>,
            "linear RNN h_t = A h_{t−1} + B x_t, y_t = C h_t + D x_t with a dense (or block-diagonal multi-head) A (Li et al., ICLR 2021, §2)");
        f.Register("complex_diagonal", ComplexDiagonal<float>, ComplexDiagonal<double>,
            "complex diagonal recurrence h_t = λ ⊙ h_{t−1} + γ(λ) ⊙ B x_t, y_t = Re(C h_t) + D x_t (Zucchet & Orvieto, NeurIPS 2024, §4)");
        f.Register("lru", Lru<float>, Lru<double>,
            "the linear recurrent unit (Orvieto et al., 2023): exp parametrisation, learned γ, diagonal skip");
    }

    private static ISequenceLayer<T> LinearRnn<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new DenseLinearRecurrence<T>(c.InputSize, c.IntOrInputWidth("out", "output features"), new DenseLinearRecurrenceOptions
        {
            StateSize = c.IntOrInputWidth("hidden", "state size m"),
            Heads = c.Int("heads", 1, "independent heads (A block-diagonal, hidden split evenly)", min: 1),
            Skip = c.Bool("skip", true, "include the direct path D x_t"),
            Nu0 = c.Double("nu0", 0.0, "initial eigenvalue magnitudes of A lie in [ν₀, 1)"),
            Theta0 = c.Double("theta0", Math.PI, "initial eigenvalue phases of A lie in [0, θ₀]"),
            Algorithm = c.Enum("algorithm", LtiAlgorithm.Auto, AlgorithmDoc),
        });

    private static ISequenceLayer<T> ComplexDiagonal<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var defaults = new DiagonalRecurrenceOptions { StateSize = 1 };
        var map = c.EigenvalueMap<T>("parametrisation", EigenvalueMaps.For<T>(defaults.Parametrisation).Name,
            "how λ is written in two trainable numbers: a built-in map or one a plugin registers (IEigenvalueMap)");
        var normalisation = c.Enum("normalisation", defaults.Normalisation,
            "input normalisation γ(λ): none, l2 √(1−|λ|²), l1 1−|λ|, learned (LRU; then gamma and gamma_init, as for lru)");
        return new DiagonalRecurrence<T>(c.InputSize, c.IntOrInputWidth("out", "output features"), Ring(c, defaults with
        {
            // A built-in map is also named in the options (what Options.Parametrisation reports).
            Parametrisation = Enum.GetValues<EigenvalueParametrisation>().FirstOrDefault(k => EigenvalueMaps.For<T>(k) == map, defaults.Parametrisation),
            Normalisation = normalisation,
            Skip = c.Enum("skip", defaults.Skip, "the direct path D: a full matrix, a diagonal (in = out) or none"),
        }, learnedGamma: normalisation == InputNormalisation.Learned), map);
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
            StateSize = c.IntOrInputWidth("hidden", "complex state neurons N"),
            RMin = c.Double("r_min", o.RMin, "smallest |λ| of the ring initialisation"),
            RMax = c.Double("r_max", o.RMax, "largest |λ| of the ring initialisation (≤ 1)"),
            MaxPhase = c.Double("max_phase", o.MaxPhase, "largest phase of the ring initialisation"),
            Init = c.Enum("init", o.Init, "how B, C, D and the phases are drawn: the LRU paper's or Zucchet & Orvieto's teacher–student code"),
            Algorithm = c.Enum("algorithm", LtiAlgorithm.Auto, AlgorithmDoc),
            Gamma = learnedGamma ? c.Enum("gamma", o.Gamma, "learned γ through its log (MemoryLab's default) or directly (the authors' which_gamma=learned)") : o.Gamma,
            GammaInit = learnedGamma ? c.Enum("gamma_init", o.GammaInit, "γ's initial value: modulus √(1−|λ|²) or from the real part √(1−(Re λ)²)") : o.GammaInit,
        };
    }

    private static readonly string[] GammaKeys = ["gamma", "gamma_init"];

    // In a spec the linear layers default to auto: the run takes the faster of the scan and the convolution for its shape.
    private const string AlgorithmDoc = "auto (a cost model picks per shape and thread count), scan (the recurrence) or convolution (kernel + FFT)";
}
