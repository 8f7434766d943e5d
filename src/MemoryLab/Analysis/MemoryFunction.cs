using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Analysis;

/// <summary>Settings of <see cref="MemoryFunction.Estimate{T}"/>.</summary>
public sealed record MemoryFunctionOptions
{
    /// <summary>Input amplitudes |x|∞ of the Heaviside probes (a nonlinear model's response depends on them).</summary>
    public double[] Amplitudes { get; init; } = [0.1, 0.5, 1.0];
    /// <summary>Random directions per amplitude: Gaussian vectors rescaled to max-norm 1.</summary>
    public int RandomDirections { get; init; } = 8;
    /// <summary>Also probe every sign vector (±1, …, ±1) when the input has at most this many features (2^d
    /// directions). For a linear model the supremum over the max-norm ball is attained at such a vertex, so the
    /// estimate is then exact.</summary>
    public int MaxVertexDimension { get; init; } = 6;
    /// <summary>Seed of the random directions (<see cref="RandomPurpose.Evaluation"/> stream).</summary>
    public ulong Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Amplitudes is null || Amplitudes.Length == 0) throw new ArgumentException("need at least one amplitude");
        foreach (var a in Amplitudes)
            if (!(a > 0) || double.IsInfinity(a)) throw new ArgumentException($"amplitude {a} must be positive and finite");
        if (RandomDirections < 0) throw new ArgumentException($"random directions must be ≥ 0 (got {RandomDirections})");
        if (MaxVertexDimension < 0 || MaxVertexDimension > 16) throw new ArgumentException($"max vertex dimension must lie in [0, 16] (got {MaxVertexDimension})");
    }
}

/// <summary>An estimated memory function.</summary>
/// <param name="Values">M(t), t = 0..T−1: the largest normalised output change over the probes.</param>
/// <param name="MeanValues">The mean over probes of the same ratio (how typical the worst probe is).</param>
/// <param name="Probes">Number of Heaviside probes (amplitude × direction).</param>
public sealed record MemoryFunctionResult(double[] Values, double[] MeanValues, int Probes);

/// <summary>
/// Memory function of any sequence model (Wang24 §5): M(H)(t) = sup_x |d/dt H_t(x·1_{[0,∞)})| / |x|∞,
/// estimated with Heaviside inputs x_s = x for all s ≥ 0 over a set of amplitudes and directions. Discrete time:
/// d/dt is the backward difference, with the model's response to zero input subtracted first (so biases and the
/// free transient from h = 0 do not count), i.e. Δ_t = [y_t(x) − y_t(0)] − [y_{t−1}(x) − y_{t−1}(0)], y_{−1} ≡ 0;
/// a vector output is measured in max-norm. For a linear time-invariant layer with kernel K_s (K_0 = D + CB,
/// K_s = C A^s B) the step response is Σ_{s≤t} K_s x, so Δ_t = K_t x and M(t) = ‖K_t‖_{∞→∞}, |ρ(t)| for scalar
/// input and output.
/// </summary>
public static class MemoryFunction
{
    /// <summary>Estimates M(t) for t = 0..<paramref name="time"/>−1. Re-prepares <paramref name="model"/> for a batch of
    /// all probes at once (call <see cref="SequenceModel{T}.Prepare"/> again before training it).</summary>
    public static MemoryFunctionResult Estimate<T>(SequenceModel<T> model, int time, MemoryFunctionOptions? options = null, WorkerPool? pool = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        if (time <= 0) throw new ArgumentException($"time must be positive (got {time})", nameof(time));
        var o = options ?? new MemoryFunctionOptions();
        o.Validate();
        int d = model.Root.InputSize, dout = model.Root.OutputSize;
        var directions = Directions(d, o);
        int probes = directions.Count * o.Amplitudes.Length;
        int batch = probes + 1; // the last sequence is the zero-input baseline
        model.Prepare(batch, time, pool ?? WorkerPool.Shared);
        var x = new SequenceTensor<T>(batch, time, d);
        int b = 0;
        foreach (var amp in o.Amplitudes)
            foreach (var u in directions)
            {
                for (int t = 0; t < time; t++)
                    for (int f = 0; f < d; f++) x[b, t, f] = T.CreateTruncating(amp * u[f]);
                b++;
            }
        var y = model.Forward(x, training: false);
        var max = new double[time];
        var mean = new double[time];
        b = 0;
        foreach (var amp in o.Amplitudes)
            foreach (var _ in directions)
            {
                for (int t = 0; t < time; t++)
                {
                    double worst = 0;
                    for (int f = 0; f < dout; f++)
                    {
                        double now = double.CreateTruncating(y[b, t, f]) - double.CreateTruncating(y[probes, t, f]);
                        double before = t == 0 ? 0 : double.CreateTruncating(y[b, t - 1, f]) - double.CreateTruncating(y[probes, t - 1, f]);
                        worst = Math.Max(worst, Math.Abs(now - before));
                    }
                    double ratio = worst / amp; // every direction has max-norm 1
                    max[t] = Math.Max(max[t], ratio);
                    mean[t] += ratio / probes;
                }
                b++;
            }
        return new MemoryFunctionResult(max, mean, probes);
    }

    // Unit max-norm directions: all sign vectors when d is small, plus Gaussian directions rescaled to max-norm 1.
    private static List<double[]> Directions(int d, MemoryFunctionOptions o)
    {
        var list = new List<double[]>();
        if (d <= o.MaxVertexDimension)
            for (int mask = 0; mask < 1 << d; mask++)
                list.Add(Enumerable.Range(0, d).Select(f => (mask >> f & 1) == 0 ? 1.0 : -1.0).ToArray());
        var rng = new CounterRng(o.Seed, RandomPurpose.Evaluation);
        for (int r = 0; r < o.RandomDirections; r++)
        {
            var u = new double[d];
            rng.FillNormal<double>(u);
            double m = u.Max(Math.Abs);
            if (m == 0) { u[0] = 1; m = 1; }
            for (int f = 0; f < d; f++) u[f] /= m;
            list.Add(u);
        }
        if (list.Count == 0) throw new ArgumentException("no probe directions: raise RandomDirections or MaxVertexDimension");
        return list;
    }
}
