using System.Numerics;

namespace MemoryLab.Models;

/// <summary>Model-factory entries for the linear recurrences (Li et al., ICLR 2021; Zucchet &amp; Orvieto, NeurIPS 2024; Orvieto et al., 2023): <c>linear_rnn</c> (dense, multi-head),
/// <c>complex_diagonal</c> and <c>lru</c>. Output size <c>out</c> defaults to the input size.</summary>
internal static class LinearLayerKinds
{
    public static void Register(ModelFactory f)
    {
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
            Algorithm = c.Enum("algorithm", LtiAlgorithm.Scan, "scan (the recurrence), convolution (kernel + FFT) or auto (a cost model picks per shape)"),
        });

    private static ISequenceLayer<T> ComplexDiagonal<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new DiagonalRecurrence<T>(c.InputSize, c.IntOrInputWidth("out", "output features"), new DiagonalRecurrenceOptions
        {
            StateSize = c.IntOrInputWidth("hidden", "complex state neurons N"),
            Parametrisation = c.Enum("parametrisation", EigenvalueParametrisation.Default,
                "how λ is written in two trainable numbers: default (Re, Im), polar (ν, θ), exp (LRU), tanh, opt (Zucchet & Orvieto, NeurIPS 2024, §4)"),
            Normalisation = c.Enum("normalisation", InputNormalisation.None, "input normalisation γ(λ): none, l2 √(1−|λ|²), l1 1−|λ|, learned (LRU)"),
            Skip = c.Enum("skip", SkipConnection.Full, "the direct path D: a full matrix, a diagonal (in = out) or none"),
            RMin = c.Double("r_min", 0.0, "smallest |λ| of the ring initialisation"),
            RMax = c.Double("r_max", 1.0, "largest |λ| of the ring initialisation (≤ 1)"),
            MaxPhase = c.Double("max_phase", 2 * Math.PI, "largest phase of the ring initialisation"),
            Init = c.Enum("init", RingInitialisation.Lru23, "how B, C, D and the phases are drawn: the LRU paper's or Zucchet & Orvieto's teacher–student code"),
            Algorithm = c.Enum("algorithm", LtiAlgorithm.Scan, "scan (the recurrence), convolution (kernel + FFT) or auto (a cost model picks per shape)"),
        });

    private static ISequenceLayer<T> Lru<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new LinearRecurrentUnit<T>(c.InputSize, c.IntOrInputWidth("hidden", "complex state neurons N"),
            c.Double("r_min", 0.0, "smallest |λ| of the ring initialisation"), c.Double("r_max", 1.0, "largest |λ| of the ring initialisation (≤ 1)"),
            c.Double("max_phase", 2 * Math.PI, "largest phase of the ring initialisation"),
            c.Enum("init", RingInitialisation.Lru23, "how B, C, D and the phases are drawn: the LRU paper's or Zucchet & Orvieto's teacher–student code"),
            c.Enum("algorithm", LtiAlgorithm.Scan, "scan (the recurrence), convolution (kernel + FFT) or auto (a cost model picks per shape)"));
}
