using System.Numerics.Tensors;
using MemoryLab.Numerics;

namespace MemoryLab.Analysis;

/// <summary>
/// The temporally weighted mean square of a causal linear model's output error, as a quadratic form in its kernel error.
/// For a model whose output is ŷ_t = Σ_{s≤t} ρ̂(s) x_{t−s} and a target y_t = Σ_{s≤t} ρ(s) x_{t−s} (the linear-functional task
/// of Wang, Li &amp; Li, ICLR 2024; radarFudan/Curse-of-memory <c>src/data/components/lf/datagen.py</c>), the loss over input
/// sequences x_n, n = 1..N, of length T is (1/(N·T)) Σ_n Σ_t ω_t² (ŷ_{n,t} − y_{n,t})² (the authors' twe_MSE,
/// <c>src/utils/temporally_weighted_error.py</c>) = δᵀMδ with δ = ρ̂ − ρ and
/// M_{s,s'} = (1/(N·T)) Σ_n Σ_{t ≥ max(s, s')} ω_t² x_{n,t−s} x_{n,t−s'}. Its expectation over i.i.d. unit-variance inputs is
/// the diagonal M = diag(Ω), Ω_k = (1/T) Σ_{t≥k} ω_t² (<see cref="Expected"/>); a fixed sampled set of sequences (a training
/// minibatch, the validation or the test set) gives a full symmetric M (<see cref="Sampled"/>). A step on the minibatch loss
/// then costs O(T²), whatever the batch size, and gives the same numbers as running the model on every sequence.
/// </summary>
public sealed class KernelLossMetric
{
    private readonly double[]? _diagonal; // Ω_k (expected loss)
    private readonly double[]? _matrix;   // M, T×T row-major (sampled sequences)

    private readonly double[] _meanInput;    // x̄_a = (1/N) Σ_n x_{n,a} (0 for the expected loss)
    private readonly double[] _outputWeight; // ω_t²/T

    private KernelLossMetric(int window, double[]? diagonal, double[]? matrix, int sequences, double[] meanInput, double timeWeightPower)
    {
        Window = window; _diagonal = diagonal; _matrix = matrix; Sequences = sequences; _meanInput = meanInput;
        _outputWeight = SquaredTimeWeights(window, timeWeightPower);
        for (int t = 0; t < window; t++) _outputWeight[t] /= window;
    }

    // ω_t² with ω_t ∝ ((t+1)/(T+1))^p normalised to mean 1 (twe_MSE).
    private static double[] SquaredTimeWeights(int window, double power)
    {
        var w = new double[window];
        double sum = 0;
        for (int t = 0; t < window; t++) { w[t] = Math.Pow((t + 1.0) / (window + 1.0), power); sum += w[t]; }
        for (int t = 0; t < window; t++) { double wt = w[t] * window / sum; w[t] = wt * wt; }
        return w;
    }

    /// <summary>Sequence length T.</summary>
    public int Window { get; }
    /// <summary>Number of sampled sequences N behind the form (0 for the expected loss).</summary>
    public int Sequences { get; }
    /// <summary>True for the expected loss over i.i.d. unit-variance inputs (diagonal form).</summary>
    public bool IsExpected => _diagonal is not null;

    /// <summary>The expected loss over i.i.d. unit-variance inputs: M = diag(Ω) (<see cref="ResidualRnnKernelObjective.LossWeights"/>).</summary>
    public static KernelLossMetric Expected(int window, double timeWeightPower) =>
        new(window, ResidualRnnKernelObjective.LossWeights(window, timeWeightPower), null, 0, new double[window], timeWeightPower);

    /// <summary>The loss over the sequences <paramref name="inputs"/> (row-major [<paramref name="count"/>, <paramref name="window"/>]):
    /// M_{s,s'} = (1/(N·T)) Σ_n Σ_{t ≥ max(s, s')} ω_t² x_{n,t−s} x_{n,t−s'}, ω the temporal weights of power
    /// <paramref name="timeWeightPower"/> normalised to mean 1. Deterministic (one thread, fixed order).</summary>
    public static KernelLossMetric Sampled(ReadOnlySpan<double> inputs, int count, int window, double timeWeightPower)
    {
        if (count < 1) throw new ArgumentException($"need at least one sequence (got {count})", nameof(count));
        if (window < 1) throw new ArgumentException($"window must be positive (got {window})", nameof(window));
        if (inputs.Length != count * window) throw new ArgumentException($"inputs hold {inputs.Length} numbers, expected {count}×{window}", nameof(inputs));
        int T = window;
        // C_{a,b} = Σ_n x_{n,a} x_{n,b}, lower triangle (b ≤ a).
        var c = new double[T * T];
        for (int n = 0; n < count; n++)
        {
            var x = inputs.Slice(n * T, T);
            for (int a = 0; a < T; a++)
            {
                var row = c.AsSpan(a * T, a + 1);
                TensorPrimitives.MultiplyAdd(x[..(a + 1)], x[a], row, row);
            }
        }
        var w = SquaredTimeWeights(T, timeWeightPower);
        var mean = new double[T];
        for (int n = 0; n < count; n++)
            for (int a = 0; a < T; a++) mean[a] += inputs[n * T + a];
        for (int a = 0; a < T; a++) mean[a] /= count;
        // M_{s,s+d} = (1/(N·T)) Σ_{a=0}^{T−1−s−d} ω²_{a+s+d} C_{a+d,a}  (t = a + s + d).
        var m = new double[T * T];
        double scale = 1.0 / ((double)count * T);
        for (int d = 0; d < T; d++)
            for (int s = 0; s + d < T; s++)
            {
                double acc = 0;
                for (int a = 0; a <= T - 1 - s - d; a++) acc += w[a + s + d] * c[(a + d) * T + a];
                m[s * T + s + d] = m[(s + d) * T + s] = acc * scale;
            }
        return new KernelLossMetric(T, null, m, count, mean, timeWeightPower);
    }

    /// <summary>
    /// The terms an input-independent output offset d_t adds to the loss (a model's biases): the sampled loss of ŷ + d is
    /// δᵀMδ + Σ_t (ω_t²/T)(2 d_t ē_t + d_t²), ē_t = Σ_{s≤t} δ_s x̄_{t−s} the error of the mean input sequence x̄ (0 in expectation).
    /// Returns those terms; adds their gradient in δ to <paramref name="gradDelta"/> and writes their gradient in d to
    /// <paramref name="gradOffset"/>.
    /// </summary>
    public double OffsetTerms(ReadOnlySpan<double> delta, ReadOnlySpan<double> offset, Span<double> gradDelta, Span<double> gradOffset)
    {
        int T = Window;
        if (delta.Length != T || offset.Length != T) throw new ArgumentException($"δ and d must have {T} entries");
        double j = 0;
        bool grad = !gradDelta.IsEmpty;
        for (int t = 0; t < T; t++)
        {
            double e = 0;
            if (_diagonal is null) for (int s = 0; s <= t; s++) e += delta[s] * _meanInput[t - s];
            double w = _outputWeight[t], d = offset[t];
            j += w * (2 * d * e + d * d);
            if (!grad) continue;
            gradOffset[t] = 2 * w * (e + d);
            if (_diagonal is null) for (int s = 0; s <= t; s++) gradDelta[s] += 2 * w * d * _meanInput[t - s];
        }
        return j;
    }

    /// <summary>δᵀMδ; writes Mδ into <paramref name="mDelta"/> (length T) unless it is empty.</summary>
    public double Apply(ReadOnlySpan<double> delta, Span<double> mDelta)
    {
        if (delta.Length != Window) throw new ArgumentException($"δ has {delta.Length} entries, expected {Window}", nameof(delta));
        bool write = !mDelta.IsEmpty;
        if (write && mDelta.Length != Window) throw new ArgumentException($"Mδ has {mDelta.Length} entries, expected {Window}", nameof(mDelta));
        double q = 0;
        if (_diagonal is not null)
        {
            for (int k = 0; k < Window; k++)
            {
                double md = _diagonal[k] * delta[k];
                q += md * delta[k];
                if (write) mDelta[k] = md;
            }
            return q;
        }
        for (int s = 0; s < Window; s++)
        {
            double md = TensorPrimitives.Dot(_matrix.AsSpan(s * Window, Window), delta);
            q += md * delta[s];
            if (write) mDelta[s] = md;
        }
        return q;
    }
}

/// <summary>
/// The group's sampled linear-functional data set (radarFudan/Curse-of-memory <c>src/data/lf_datamodule.py</c>,
/// <c>src/data/components/lf/datagen.py</c>, <c>configs/data/lf.yaml</c>): fixed training, validation and test sets of input
/// sequences x ~ dt·N(0, 1), held as the quadratic forms of their losses (<see cref="KernelLossMetric"/>); the training set is
/// cut into minibatches. The targets are exact convolutions with ρ, so one set of forms serves every target.
/// </summary>
/// <param name="Batches">The training set's minibatches, each as its loss form (the training set is split once, in a seeded
/// random order, into batches of equal size).</param>
/// <param name="Validation">The validation set's loss form (stopping, checkpoint and learning-rate schedule).</param>
/// <param name="Test">The test set's loss form (the reported loss and the perturbation error).</param>
public sealed record ApproximantData(IReadOnlyList<KernelLossMetric> Batches, KernelLossMetric Validation, KernelLossMetric Test)
{
    /// <summary>Draws the sets from <paramref name="seed"/> (<see cref="RandomPurpose.Data"/> for training,
    /// <see cref="RandomPurpose.Evaluation"/> for validation and test, each set its own substream).</summary>
    /// <param name="trainSize">Training sequences; a multiple of <paramref name="batchSize"/>.</param>
    /// <param name="validationSize">Validation sequences.</param>
    /// <param name="testSize">Test sequences.</param>
    /// <param name="batchSize">Sequences per minibatch.</param>
    /// <param name="window">Sequence length T.</param>
    /// <param name="timeWeightPower">p of the temporal weights.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="dt">Input scale (the authors draw dt·N(0, 1)).</param>
    public static ApproximantData Sample(int trainSize, int validationSize, int testSize, int batchSize, int window, double timeWeightPower, ulong seed, double dt = 1)
    {
        if (batchSize < 1) throw new ArgumentException($"batch size must be positive (got {batchSize})", nameof(batchSize));
        if (trainSize < batchSize || trainSize % batchSize != 0) throw new ArgumentException($"the training set ({trainSize}) must be a positive multiple of the batch size ({batchSize})", nameof(trainSize));
        if (validationSize < 1 || testSize < 1) throw new ArgumentException($"the validation and test sets need at least one sequence (got {validationSize}, {testSize})");
        KernelLossMetric Draw(CounterRng rng, int count)
        {
            var x = new double[count * window];
            rng.FillNormal<double>(x, 0, dt);
            return KernelLossMetric.Sampled(x, count, window, timeWeightPower);
        }
        var train = new CounterRng(seed, RandomPurpose.Data);
        var batches = new KernelLossMetric[trainSize / batchSize];
        for (int b = 0; b < batches.Length; b++) batches[b] = Draw(train.Fork((ulong)b), batchSize);
        var held = new CounterRng(seed, RandomPurpose.Evaluation);
        return new ApproximantData(batches, Draw(held.Fork(1), validationSize), Draw(held.Fork(2), testSize));
    }
}
