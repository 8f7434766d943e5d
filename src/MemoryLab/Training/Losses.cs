using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Training;

/// <summary>A loss over a batch of predicted sequences: returns the loss and writes ∂loss/∂prediction.</summary>
public interface ISequenceLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Loss of <paramref name="prediction"/> against <paramref name="target"/>; ∂loss/∂prediction goes to <paramref name="gradient"/> (overwritten).</summary>
    T Evaluate(SequenceTensor<T> prediction, SequenceTensor<T> target, SequenceTensor<T> gradient);
}

/// <summary>
/// Temporally weighted half mean squared error: <c>L = ½ Σ_t w_t · mean_{b,f} (ŷ_{b,t,f} − y_{b,t,f})²</c>.
/// Uniform weights w_t = 1/T give the loss of Zucchet24 §5 in the authors' code (½·mean over batch and all steps);
/// weight 1 on the last step gives the last-step loss. Sums run in float64 in a fixed order.
/// </summary>
public sealed class MeanSquaredError<T> : ISequenceLoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Func<int, double[]> _weights;
    private double[] _w = [];

    private MeanSquaredError(Func<int, double[]> weights, string name)
    {
        _weights = weights;
        Name = name;
    }

    /// <summary>What the loss is (for specs and logs).</summary>
    public string Name { get; }

    /// <summary>½ · mean over batch, steps and features (Zucchet24 §5).</summary>
    public static MeanSquaredError<T> AllSteps() => new(t => Enumerable.Repeat(1.0 / t, t).ToArray(), "all_steps");

    /// <summary>½ · mean over batch and features of the last step only.</summary>
    public static MeanSquaredError<T> LastStep() => new(t => { var w = new double[t]; w[^1] = 1; return w; }, "last_step");

    /// <summary>½ Σ_t w_t mean_{b,f}(ŷ − y)² with user weights; <paramref name="weight"/> maps step t (of T) to w_t ≥ 0.</summary>
    public static MeanSquaredError<T> Weighted(Func<int, int, double> weight) => new(t =>
    {
        var w = new double[t];
        for (int i = 0; i < t; i++)
        {
            w[i] = weight(i, t);
            if (!(w[i] >= 0) || double.IsInfinity(w[i])) throw new ArgumentException($"temporal weight at step {i} must be finite and ≥ 0 (got {w[i]})");
        }
        return w;
    }, "weighted");

    /// <inheritdoc />
    public T Evaluate(SequenceTensor<T> prediction, SequenceTensor<T> target, SequenceTensor<T> gradient)
    {
        if (!target.HasShape(prediction.Batch, prediction.Time, prediction.Features) || !gradient.HasShape(prediction.Batch, prediction.Time, prediction.Features))
            throw new ArgumentException($"loss shapes differ: prediction {prediction}, target {target}, gradient {gradient}");
        int b = prediction.Batch, time = prediction.Time, f = prediction.Features;
        if (_w.Length != time) _w = _weights(time);
        double total = 0, perElement = 1.0 / (b * f);
        var p = prediction.Data; var y = target.Data; var g = gradient.Data;
        for (int s = 0; s < b; s++)
            for (int t = 0; t < time; t++)
            {
                double wt = _w[t] * perElement;
                T scale = T.CreateTruncating(wt);
                int o = (s * time + t) * f;
                for (int j = 0; j < f; j++)
                {
                    T e = p[o + j] - y[o + j];
                    double ed = double.CreateTruncating(e);
                    total += 0.5 * wt * ed * ed;
                    g[o + j] = scale * e;
                }
            }
        return T.CreateTruncating(total);
    }
}
