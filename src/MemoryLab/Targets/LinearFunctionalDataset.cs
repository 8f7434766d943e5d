using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Targets;

/// <summary>
/// A source of (input, target) sequence batches: batch <c>step</c> is a pure function of (seed, step), so
/// training is reproducible and any batch can be regenerated without replaying earlier ones (DESIGN.md).
/// </summary>
public interface ISequenceDataset<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Steps per sequence.</summary>
    int Time { get; }

    /// <summary>Input features per step.</summary>
    int InputFeatures { get; }

    /// <summary>Target features per step.</summary>
    int OutputFeatures { get; }

    /// <summary>The data seed.</summary>
    ulong Seed { get; }

    /// <summary>Fills the batch of training step <paramref name="step"/>: <paramref name="inputs"/> [batch, Time, InputFeatures]
    /// and <paramref name="targets"/> [batch, Time, OutputFeatures] (same batch size).</summary>
    void FillBatch(long step, SequenceTensor<T> inputs, SequenceTensor<T> targets);
}

/// <summary>Helpers for <see cref="ISequenceDataset{T}"/>.</summary>
public static class SequenceDataset
{
    /// <summary>Allocates and fills the batch of step <paramref name="step"/>.</summary>
    public static (SequenceTensor<T> Inputs, SequenceTensor<T> Targets) CreateBatch<T>(this ISequenceDataset<T> dataset, long step, int batchSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        var x = new SequenceTensor<T>(batchSize, dataset.Time, dataset.InputFeatures);
        var y = new SequenceTensor<T>(batchSize, dataset.Time, dataset.OutputFeatures);
        dataset.FillBatch(step, x, y);
        return (x, y);
    }

    internal static void CheckShapes<T>(ISequenceDataset<T> d, SequenceTensor<T> inputs, SequenceTensor<T> targets)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Time != d.Time || inputs.Features != d.InputFeatures)
            throw new ArgumentException($"inputs have shape [{inputs.Batch}, {inputs.Time}, {inputs.Features}], the dataset needs [batch, {d.Time}, {d.InputFeatures}]");
        if (targets.Batch != inputs.Batch || targets.Time != d.Time || targets.Features != d.OutputFeatures)
            throw new ArgumentException($"targets have shape [{targets.Batch}, {targets.Time}, {targets.Features}], the dataset needs [{inputs.Batch}, {d.Time}, {d.OutputFeatures}]");
    }
}

/// <summary>
/// The sampled linear functional of Li21 (Li21 §2; the Curse-of-memory code, src/data/lf_datamodule.py): inputs from an <see cref="IInputProcess"/>
/// (default x_t ~ dt·N(0,1)), target <c>y_t = Σ_k Σ_{s=0}^{t} x_{t−s,k} ρ_k(s·dt)</c> — one kernel per input feature,
/// one output feature. The causal convolution uses FFT for long sequences and direct sums for short ones
/// (<see cref="CausalConvolution"/>; both agree to rounding). Data of step k come from
/// <c>CounterRng(seed, Data, substream = k)</c> (see <see cref="InputProcess.Fill{T}"/>).
/// </summary>
public sealed class LinearFunctionalDataset<T> : ISequenceDataset<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly MemoryKernel[] _kernels;
    private readonly CausalConvolution[] _convolutions;

    /// <summary>One kernel per input feature.</summary>
    public LinearFunctionalDataset(IReadOnlyList<MemoryKernel> kernels, int time, double dt, ulong seed,
        IInputProcess? input = null, ConvolutionMethod method = ConvolutionMethod.Auto)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        if (kernels.Count == 0) throw new ArgumentException("a linear functional needs at least one kernel (one per input feature)");
        if (time < 1) throw new ArgumentOutOfRangeException(nameof(time), time, "sequence length must be at least 1");
        if (!(dt > 0) || !double.IsFinite(dt)) throw new ArgumentOutOfRangeException(nameof(dt), dt, "time step dt must be positive and finite");
        _kernels = kernels.ToArray();
        foreach (var k in _kernels) ArgumentNullException.ThrowIfNull(k, nameof(kernels));
        Time = time;
        Dt = dt;
        Seed = seed;
        Input = input ?? InputProcess.WhiteNoise(dt);
        _convolutions = new CausalConvolution[_kernels.Length];
        for (int k = 0; k < _kernels.Length; k++)
        {
            var samples = _kernels[k].Sample(time, dt);
            for (int s = 0; s < time; s++)
                if (!double.IsFinite(samples[s])) throw new ArgumentException($"kernel '{_kernels[k].Name}' is not finite at t = {s * dt}");
            _convolutions[k] = new CausalConvolution(samples, time, method);
        }
    }

    /// <summary>A single-feature functional with Li21's defaults (T = 100, dt = 1, x_t ~ dt·N(0,1) unless <paramref name="input"/> is given).</summary>
    public LinearFunctionalDataset(MemoryKernel kernel, int time = 100, double dt = 1, ulong seed = 0,
        IInputProcess? input = null, ConvolutionMethod method = ConvolutionMethod.Auto)
        : this([kernel ?? throw new ArgumentNullException(nameof(kernel))], time, dt, seed, input, method) { }

    /// <inheritdoc />
    public int Time { get; }
    /// <summary>Sampling step dt (ρ is sampled at s·dt).</summary>
    public double Dt { get; }
    /// <inheritdoc />
    public ulong Seed { get; }
    /// <summary>The input process (each feature an independent copy).</summary>
    public IInputProcess Input { get; }
    /// <summary>The kernels ρ_k.</summary>
    public IReadOnlyList<MemoryKernel> Kernels => _kernels;
    /// <inheritdoc />
    public int InputFeatures => _kernels.Length;
    /// <inheritdoc />
    public int OutputFeatures => 1;
    /// <summary>Whether the FFT path is used.</summary>
    public bool UsesFft => _convolutions[0].UsesFft;

    /// <inheritdoc />
    public void FillBatch(long step, SequenceTensor<T> inputs, SequenceTensor<T> targets)
    {
        SequenceDataset.CheckShapes(this, inputs, targets);
        InputProcess.Fill(Input, Seed, step, inputs);
        ComputeTargets(inputs, targets);
    }

    /// <summary>Targets for given inputs (any inputs, e.g. Heaviside probes): y_t = Σ_k (ρ_k * x_{·,k})_t.</summary>
    public void ComputeTargets(SequenceTensor<T> inputs, SequenceTensor<T> targets)
    {
        SequenceDataset.CheckShapes(this, inputs, targets);
        int time = Time, d = InputFeatures, batch = inputs.Batch;
        // six length-T scratch rows from the shared pool: no steady-state allocation per training step
        double[] rented = System.Buffers.ArrayPool<double>.Shared.Rent(6 * time);
        try
        {
            ComputeTargets(inputs, targets, rented.AsSpan(0, 6 * time));
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(rented);
        }
    }

    private void ComputeTargets(SequenceTensor<T> inputs, SequenceTensor<T> targets, Span<double> scratch)
    {
        int time = Time, d = InputFeatures, batch = inputs.Batch;
        var x1 = scratch[..time]; var x2 = scratch.Slice(time, time);
        var y1 = scratch.Slice(2 * time, time); var y2 = scratch.Slice(3 * time, time);
        var acc1 = scratch.Slice(4 * time, time); var acc2 = scratch.Slice(5 * time, time);
        for (int b = 0; b < batch; b += 2)
        {
            bool pair = b + 1 < batch;
            acc1.Clear(); acc2.Clear();
            for (int k = 0; k < d; k++)
            {
                Gather(inputs, b, k, x1);
                if (pair)
                {
                    Gather(inputs, b + 1, k, x2);
                    _convolutions[k].ApplyPair(x1, x2, y1, y2);
                    for (int t = 0; t < time; t++) { acc1[t] += y1[t]; acc2[t] += y2[t]; }
                }
                else
                {
                    _convolutions[k].Apply(x1, y1);
                    for (int t = 0; t < time; t++) acc1[t] += y1[t];
                }
            }
            var o1 = targets.Sequence(b);
            for (int t = 0; t < time; t++) o1[t] = T.CreateTruncating(acc1[t]);
            if (pair)
            {
                var o2 = targets.Sequence(b + 1);
                for (int t = 0; t < time; t++) o2[t] = T.CreateTruncating(acc2[t]);
            }
        }
    }

    private static void Gather(SequenceTensor<T> x, int b, int k, Span<double> dst)
    {
        var seq = x.Sequence(b);
        int f = x.Features;
        for (int t = 0; t < dst.Length; t++) dst[t] = double.CreateTruncating(seq[t * f + k]);
    }

    /// <summary>
    /// The exact expected squared error at step <paramref name="step"/> of a linear model with kernels
    /// <paramref name="model"/> (one per feature) on this dataset's input process:
    /// <c>E[(y_t − ŷ_t)²] = Σ_k Σ_{s,s'≤t} Δ_k(s)Δ_k(s') E[x_{t−s} x_{t−s'}]</c>, Δ_k(s) = ρ_k(s·dt) − ρ̂_k(s·dt).
    /// For white noise of std dt this is dt²·Σ_s Δ(s)² ≈ dt·J with J = ∫(ρ̂−ρ)² the population loss (Li21 §2).
    /// O(t²) per feature.
    /// </summary>
    public double ExpectedSquaredError(IReadOnlyList<MemoryKernel> model, int step)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Count != _kernels.Length) throw new ArgumentException($"model has {model.Count} kernels, the dataset {_kernels.Length}");
        if (step < 0 || step >= Time) throw new ArgumentOutOfRangeException(nameof(step), step, $"step must be in [0, {Time})");
        double total = 0;
        var delta = new double[step + 1];
        for (int k = 0; k < _kernels.Length; k++)
        {
            for (int s = 0; s <= step; s++) delta[s] = _kernels[k].Value(s * Dt) - model[k].Value(s * Dt);
            for (int s = 0; s <= step; s++)
            {
                if (delta[s] == 0) continue;
                double row = 0;
                for (int r = 0; r <= step; r++) row += delta[r] * Input.SecondMoment(step - s, step - r);
                total += delta[s] * row;
            }
        }
        return total;
    }
}
