using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// Float64 finite-difference check of a layer's backward pass: every parameter and every input entry.
/// The scalar checked is <c>Σ w ⊙ layer(x; θ)</c> with fixed random weights w, so every output entry
/// contributes. Public, so users can check layers of their own.
/// </summary>
public static class LayerGradientCheck
{
    /// <summary>Checks <paramref name="layer"/> on a random batch. θ is initialised by the layer from
    /// <paramref name="seed"/> and then (when <paramref name="jitter"/> &gt; 0) perturbed, so that no
    /// parameter sits at a special value (zeros, identical entries).</summary>
    /// <param name="layer">The layer under test (declared, initialised and prepared here).</param>
    /// <param name="batch">Sequences in the random batch.</param>
    /// <param name="time">Steps per sequence.</param>
    /// <param name="seed">Seed of θ, the input and the output weights w.</param>
    /// <param name="jitter">Standard deviation of the Gaussian noise added to every entry of the initial θ.</param>
    /// <param name="inputScale">Standard deviation of the random input.</param>
    /// <param name="step">Central-difference step h.</param>
    /// <param name="training">Passed to <see cref="ISequenceLayer{T}.Forward"/> (batch statistics in normalisation layers).</param>
    /// <param name="floor">Smallest denominator of the relative error: entries smaller than it are compared in absolute terms.</param>
    /// <returns>Separate results for the parameters and for the input gradient.</returns>
    public static (GradientCheckResult Parameters, GradientCheckResult Input) Check(
        ISequenceLayer<double> layer, int batch = 2, int time = 5, ulong seed = 7, double jitter = 0.05,
        double inputScale = 1.0, double step = 1e-5, bool training = true, double floor = 1e-8)
    {
        var layout = new ParameterLayout();
        layer.Declare(layout, "layer");
        var theta = new double[layout.Count];
        layer.Initialize(theta, new CounterRng(seed, RandomPurpose.Init));
        var noise = new CounterRng(seed, RandomPurpose.Perturbation);
        for (int i = 0; i < theta.Length; i++) theta[i] += jitter * noise.NextNormal();
        layer.Prepare(batch, time, new WorkerPool(1));
        var x = new SequenceTensor<double>(batch, time, layer.InputSize);
        var data = new CounterRng(seed, RandomPurpose.Data);
        data.FillNormal<double>(x.Data, 0, inputScale);
        var w = new double[batch * time * layer.OutputSize];
        data.FillNormal<double>(w);

        var objective = new WeightedOutput(layer, x, w, theta.Length, training);
        var full = new double[theta.Length + x.Data.Length];
        theta.CopyTo(full, 0);
        x.Data.CopyTo(full, theta.Length);
        var param = CheckRange(objective, full, 0, theta.Length, step, floor, layout);
        var input = CheckRange(objective, full, theta.Length, x.Data.Length, step, floor, null);
        return (param, input);
    }

    private static GradientCheckResult CheckRange(IObjective<double> f, double[] full, int start, int count, double step, double floor, ParameterLayout? layout)
    {
        var sub = new SubObjective(f, full, start, count);
        return GradientCheck.Check(sub, full.AsSpan(start, count), step, floor, layout: layout);
    }

    private sealed class SubObjective(IObjective<double> inner, double[] baseline, int start, int count) : IObjective<double>
    {
        private readonly double[] _x = (double[])baseline.Clone();
        private readonly double[] _g = new double[baseline.Length];
        public int Dimension => count;
        public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
        {
            theta.CopyTo(_x.AsSpan(start, count));
            double v = inner.Evaluate(_x, _g);
            _g.AsSpan(start, count).CopyTo(gradient);
            return v;
        }
    }

    private sealed class WeightedOutput : IObjective<double>
    {
        private readonly ISequenceLayer<double> _layer;
        private readonly SequenceTensor<double> _x, _y, _dy, _dx;
        private readonly double[] _w, _theta, _grad;
        private readonly bool _training;

        public WeightedOutput(ISequenceLayer<double> layer, SequenceTensor<double> x, double[] w, int parameterCount, bool training)
        {
            _layer = layer;
            _x = new SequenceTensor<double>(x.Batch, x.Time, x.Features);
            _y = new SequenceTensor<double>(x.Batch, x.Time, layer.OutputSize);
            _dy = new SequenceTensor<double>(w, x.Batch, x.Time, layer.OutputSize);
            _dx = new SequenceTensor<double>(x.Batch, x.Time, x.Features);
            _w = w;
            _theta = new double[parameterCount];
            _grad = new double[parameterCount];
            _training = training;
            Dimension = parameterCount + x.Data.Length;
        }

        public int Dimension { get; }

        public double Evaluate(ReadOnlySpan<double> v, Span<double> gradient)
        {
            int p = _theta.Length;
            v[..p].CopyTo(_theta);
            v[p..].CopyTo(_x.Data);
            _layer.Forward(_theta, _x, _y, _training);
            double s = 0;
            for (int i = 0; i < _w.Length; i++) s += _w[i] * _y.Data[i];
            Array.Clear(_grad);
            _layer.Backward(_theta, _dy, _dx, _grad);
            _grad.CopyTo(gradient[..p]);
            _dx.Data.CopyTo(gradient[p..]);
            return s;
        }
    }
}
