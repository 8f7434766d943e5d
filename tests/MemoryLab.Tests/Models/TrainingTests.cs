using System.Diagnostics;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>End to end: a tanh RNN with a linear readout learns a short-memory linear functional.</summary>
public class TrainingTests
{
    /// <summary>Plain Adam (Kingma &amp; Ba 2015), local to this test; the library's optimisers live in Training.</summary>
    private sealed class Adam(int n, float lr)
    {
        private readonly float[] _m = new float[n], _v = new float[n];
        private int _t;

        public void Step(float[] theta, float[] g)
        {
            _t++;
            float c1 = 1 - MathF.Pow(0.9f, _t), c2 = 1 - MathF.Pow(0.999f, _t);
            for (int i = 0; i < theta.Length; i++)
            {
                _m[i] = 0.9f * _m[i] + 0.1f * g[i];
                _v[i] = 0.999f * _v[i] + 0.001f * g[i] * g[i];
                theta[i] -= lr * (_m[i] / c1) / (MathF.Sqrt(_v[i] / c2) + 1e-8f);
            }
        }
    }

    [Fact]
    public void Tanh_rnn_learns_an_exponential_memory_kernel()
    {
        const int batch = 32, time = 24, hidden = 16, steps = 150;
        var model = new SequenceModel<float>(new LayerStack<float>(new ElmanRecurrence<float>(1, hidden), new Dense<float>(hidden, 1)));
        model.Initialize(seed: 4);
        model.Prepare(batch, time, new WorkerPool(2));
        var x = new SequenceTensor<float>(batch, time, 1);
        var y = new SequenceTensor<float>(batch, time, 1);
        var dy = new SequenceTensor<float>(batch, time, 1);
        var adam = new Adam(model.Theta.Length, 0.01f);
        var losses = new List<double>();
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < steps; step++)
        {
            // Fresh data every step; target y_t = Σ_s 0.5^s x_{t−s} (the recurrence y_t = 0.5 y_{t−1} + x_t).
            new CounterRng(9, RandomPurpose.Data, (ulong)step).FillNormal<float>(x.Data);
            for (int b = 0; b < batch; b++)
            {
                float acc = 0;
                for (int t = 0; t < time; t++) y[b, t, 0] = acc = 0.5f * acc + x[b, t, 0];
            }
            var yhat = model.Forward(x);
            // Loss ½·mean over batch and steps of (ŷ − y)² (Zucchet24 §5), gradient (ŷ − y)/N.
            double loss = 0;
            float n = batch * time;
            for (int i = 0; i < dy.Data.Length; i++)
            {
                float e = yhat.Data[i] - y.Data[i];
                loss += 0.5 * e * e / n;
                dy.Data[i] = e / n;
            }
            losses.Add(loss);
            model.Backward(dy);
            adam.Step(model.Theta, model.Gradient);
        }
        double start = losses[0], end = losses.Skip(steps - 20).Average();
        Assert.True(end <= start / 10, $"loss {start:G4} → {end:G4} after {steps} Adam steps ({clock.Elapsed.TotalSeconds:F1} s)");
    }
}
