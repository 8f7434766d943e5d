using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>GRU and LSTM outputs against PyTorch's documented equations, evaluated here by plain loops over
/// PyTorch's weight layout (torch.nn.GRU / torch.nn.LSTM docs), independent of the layers' fused kernels.</summary>
public class GateEquationTests
{
    private const int In = 2, Hidden = 3, Steps = 4, Batch = 2;

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Distinct, irregular parameter values (no initialiser involved).</summary>
    private static double[] Parameters(int count) => Enumerable.Range(0, count).Select(i => 0.6 * Math.Sin(1.7 * i + 0.3) + 0.05 * (i % 3)).ToArray();

    private static SequenceTensor<double> Inputs()
    {
        var x = new SequenceTensor<double>(Batch, Steps, In);
        for (int i = 0; i < x.Data.Length; i++) x.Data[i] = Math.Cos(0.9 * i) - 0.2;
        return x;
    }

    /// <summary>Row <paramref name="row"/> of a [rows, cols] matrix stored in θ at <paramref name="offset"/> dotted with v.</summary>
    private static double RowDot(double[] theta, int offset, int cols, int row, double[] v)
    {
        double s = 0;
        for (int k = 0; k < cols; k++) s += theta[offset + row * cols + k] * v[k];
        return s;
    }

    private static (double[] Theta, SequenceTensor<double> Output) Run(ISequenceLayer<double> layer, SequenceTensor<double> x, out ParameterLayout layout)
    {
        layout = new ParameterLayout();
        layer.Declare(layout, "");
        var theta = Parameters(layout.Count);
        layer.Prepare(Batch, Steps, new WorkerPool(1));
        var y = new SequenceTensor<double>(Batch, Steps, Hidden);
        layer.Forward(theta, x, y, training: true);
        return (theta, y);
    }

    [Fact]
    public void Gru_follows_pytorch_equations()
    {
        var x = Inputs();
        var (theta, y) = Run(new GatedRecurrentUnit<double>(In, Hidden, chunkSize: 1), x, out var layout);
        int wih = layout["weight_ih"].Offset, whh = layout["weight_hh"].Offset, bih = layout["bias_ih"].Offset, bhh = layout["bias_hh"].Offset;
        Assert.Equal([3 * Hidden, In], layout["weight_ih"].Shape);
        for (int b = 0; b < Batch; b++)
        {
            var h = new double[Hidden];
            for (int t = 0; t < Steps; t++)
            {
                var xt = new[] { x[b, t, 0], x[b, t, 1] };
                var next = new double[Hidden];
                for (int j = 0; j < Hidden; j++)
                {
                    // Gate rows: r = 0..H−1, z = H..2H−1, n = 2H..3H−1.
                    double r = Sigmoid(RowDot(theta, wih, In, j, xt) + theta[bih + j] + RowDot(theta, whh, Hidden, j, h) + theta[bhh + j]);
                    double z = Sigmoid(RowDot(theta, wih, In, Hidden + j, xt) + theta[bih + Hidden + j] + RowDot(theta, whh, Hidden, Hidden + j, h) + theta[bhh + Hidden + j]);
                    double n = Math.Tanh(RowDot(theta, wih, In, 2 * Hidden + j, xt) + theta[bih + 2 * Hidden + j]
                                         + r * (RowDot(theta, whh, Hidden, 2 * Hidden + j, h) + theta[bhh + 2 * Hidden + j]));
                    next[j] = (1 - z) * n + z * h[j];
                }
                h = next;
                for (int j = 0; j < Hidden; j++) Assert.Equal(h[j], y[b, t, j], 1e-13);
            }
        }
    }

    [Fact]
    public void Lstm_follows_pytorch_equations()
    {
        var x = Inputs();
        var (theta, y) = Run(new LongShortTermMemory<double>(In, Hidden, chunkSize: 1), x, out var layout);
        int wih = layout["weight_ih"].Offset, whh = layout["weight_hh"].Offset, bih = layout["bias_ih"].Offset, bhh = layout["bias_hh"].Offset;
        Assert.Equal([4 * Hidden, Hidden], layout["weight_hh"].Shape);
        for (int b = 0; b < Batch; b++)
        {
            var h = new double[Hidden];
            var c = new double[Hidden];
            for (int t = 0; t < Steps; t++)
            {
                var xt = new[] { x[b, t, 0], x[b, t, 1] };
                var hNext = new double[Hidden];
                for (int j = 0; j < Hidden; j++)
                {
                    double Pre(int gate) => RowDot(theta, wih, In, gate * Hidden + j, xt) + theta[bih + gate * Hidden + j]
                                            + RowDot(theta, whh, Hidden, gate * Hidden + j, h) + theta[bhh + gate * Hidden + j];
                    double i = Sigmoid(Pre(0)), f = Sigmoid(Pre(1)), g = Math.Tanh(Pre(2)), o = Sigmoid(Pre(3));
                    c[j] = f * c[j] + i * g;
                    hNext[j] = o * Math.Tanh(c[j]);
                }
                h = hNext;
                for (int j = 0; j < Hidden; j++) Assert.Equal(h[j], y[b, t, j], 1e-13);
            }
        }
    }

    [Fact]
    public void Gru_single_unit_step_by_hand()
    {
        // One unit, one input, one step from h = 0, then a second step; every number written out.
        var layer = new GatedRecurrentUnit<double>(1, 1);
        var layout = new ParameterLayout();
        layer.Declare(layout, "");
        // weight_ih = [0.5, -0.4, 0.3], weight_hh = [0.2, 0.7, -0.6], bias_ih = [0.1, 0.2, -0.1], bias_hh = [0.05, -0.3, 0.4]
        double[] theta = [0.5, -0.4, 0.3, 0.2, 0.7, -0.6, 0.1, 0.2, -0.1, 0.05, -0.3, 0.4];
        layer.Prepare(1, 2, new WorkerPool(1));
        var x = new SequenceTensor<double>([2.0, -1.0], 1, 2, 1);
        var y = new SequenceTensor<double>(1, 2, 1);
        layer.Forward(theta, x, y, true);
        // Step 1, x = 2, h = 0: r = σ(1.0 + 0.1 + 0.05) = σ(1.15), z = σ(−0.8 + 0.2 − 0.3) = σ(−0.9),
        // n = tanh(0.6 − 0.1 + r·0.4), h1 = (1 − z)·n.
        double r1 = Sigmoid(1.15), z1 = Sigmoid(-0.9), n1 = Math.Tanh(0.5 + r1 * 0.4), h1 = (1 - z1) * n1;
        Assert.Equal(h1, y[0, 0, 0], 1e-14);
        // Step 2, x = −1: r = σ(−0.5 + 0.1 + 0.2h1 + 0.05), z = σ(0.4 + 0.2 + 0.7h1 − 0.3), n = tanh(−0.3 − 0.1 + r(−0.6h1 + 0.4)).
        double r2 = Sigmoid(-0.35 + 0.2 * h1), z2 = Sigmoid(0.3 + 0.7 * h1), n2 = Math.Tanh(-0.4 + r2 * (-0.6 * h1 + 0.4));
        Assert.Equal((1 - z2) * n2 + z2 * h1, y[0, 1, 0], 1e-14);
    }

    [Fact]
    public void Chrono_init_sets_memory_times_in_range_with_long_memory_sign()
    {
        var gru = new GatedRecurrentUnit<double>(3, 32, GruInitialization.Chrono, chronoMin: 10, chronoMax: 20);
        var layout = new ParameterLayout();
        gru.Declare(layout, "");
        var theta = new double[layout.Count];
        gru.Initialize(theta, new CounterRng(5, RandomPurpose.Init));
        var bih = gru.InputBias.Of(theta);
        var bhh = gru.RecurrentBias.Of(theta);
        for (int j = 0; j < 32; j++)
        {
            double bz = bih[32 + j] + bhh[32 + j];
            Assert.InRange(bz, Math.Log(10), Math.Log(20));
            // z = σ(b_z) multiplies the old state: T = 1/(1 − σ(b_z)) = 1 + u with u ∈ [T_min, T_max].
            Assert.InRange(1 / (1 - Sigmoid(bz)), 11 - 1e-9, 21 + 1e-9);
            Assert.Equal(1 / (1 - Sigmoid(bz)), GatedRecurrentUnit<double>.MemoryTime(bz), 1e-9);
            Assert.Equal(0.0, bih[j]);
            Assert.Equal(0.0, bih[64 + j]);
        }
        // Each recurrent gate block is orthogonal: QᵀQ = I.
        var whh = gru.RecurrentWeights.Of(theta);
        for (int gate = 0; gate < 3; gate++)
            for (int a = 0; a < 32; a++)
                for (int c = 0; c < 32; c++)
                {
                    double dot = 0;
                    for (int k = 0; k < 32; k++) dot += whh[gate * 1024 + k * 32 + a] * whh[gate * 1024 + k * 32 + c];
                    Assert.Equal(a == c ? 1.0 : 0.0, dot, 1e-12);
                }
        // Input weights have variance 2/fan_in = 2/3.
        var wih = gru.InputWeights.Of(theta).ToArray();
        double variance = wih.Select(v => v * v).Average();
        Assert.InRange(variance, 2.0 / 3 * 0.75, 2.0 / 3 * 1.25);
    }
}
