using MemoryLab.Numerics;
using MemoryLab.Training;

namespace MemoryLab.Tests.Training;

public class OptimiserTests
{
    private static ParameterLayout TwoParameters(string group = "default")
    {
        var layout = new ParameterLayout();
        layout.Add("w", group, 2);
        return layout;
    }

    // Expected values computed by hand from the update rules (Kingma & Ba; PyTorch's Adam/AdamW docs).
    [Theory]
    [InlineData(false, 0.0, 0.8808501989417752, -2.196518186478747)]
    [InlineData(true, 0.1, 0.8619501989217752, -2.155718186578747)]
    [InlineData(false, 0.1, 0.8613529972101512, -1.8407351661168132)]
    public void Adam_and_AdamW_steps_equal_hand_computed_values(bool decoupled, double weightDecay, double w0, double w1)
    {
        var adam = new Adam<double>(TwoParameters(), weightDecay: weightDecay, decoupledWeightDecay: decoupled);
        double[] theta = [1.0, -2.0];
        adam.Step(theta, new double[] { 0.5, 0.1 }, 0.1);
        adam.Step(theta, new double[] { -0.3, 0.2 }, 0.1);
        Assert.Equal(w0, theta[0], 1e-12);
        Assert.Equal(w1, theta[1], 1e-12);
    }

    // Adam's update runs on whole vectors, then the tail one by one; every element must be the scalar rule's bits (float and double,
    // Adam and AdamW, a length with a tail), over several steps so the moments and the bias corrections move.
    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(false, 0.01)]
    [InlineData(true, 0.01)]
    public void Adam_gives_the_scalar_rules_bits_on_every_element(bool decoupled, double weightDecay)
    {
        Check<float>(decoupled, weightDecay);
        Check<double>(decoupled, weightDecay);

        static void Check<T>(bool decoupled, double weightDecay) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            const int n = 53;
            var layout = new ParameterLayout();
            layout.Add("w", "default", n);
            var adam = new Adam<T>(layout, weightDecay: weightDecay, decoupledWeightDecay: decoupled);
            var random = new Random(4);
            T[] theta = Enumerable.Range(0, n).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5)).ToArray();
            T[] expected = (T[])theta.Clone(), m = new T[n], v = new T[n];
            for (int t = 1; t <= 4; t++)
            {
                T[] g = Enumerable.Range(0, n).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5)).ToArray();
                double lr = 0.01 * t;
                adam.Step(theta, (T[])g.Clone(), lr);
                // The rule as written in Adam.Update, one element at a time.
                T b1 = T.CreateTruncating(0.9), b2 = T.CreateTruncating(0.999), c1 = T.One - b1, c2 = T.One - b2;
                T bc1 = T.CreateTruncating(1 - Math.Pow(0.9, t)), sqrtBc2 = T.CreateTruncating(Math.Sqrt(1 - Math.Pow(0.999, t)));
                T tlr = T.CreateTruncating(lr), eps = T.CreateTruncating(1e-8), wd = T.CreateTruncating(weightDecay);
                T stepSize = tlr / bc1, decay = T.One - tlr * wd;
                for (int i = 0; i < n; i++)
                {
                    T gi = g[i];
                    if (decoupled) expected[i] *= decay; else gi += wd * expected[i];
                    m[i] = b1 * m[i] + c1 * gi;
                    v[i] = b2 * v[i] + c2 * gi * gi;
                    expected[i] -= stepSize * m[i] / (T.Sqrt(v[i]) / sqrtBc2 + eps);
                }
                Assert.Equal(expected, theta);
            }
        }
    }

    [Fact]
    public void Parameter_groups_scale_the_learning_rate_and_skip_weight_decay()
    {
        var layout = new ParameterLayout();
        layout.Add("a", "recurrent", 1);
        layout.Add("b", "readout", 1);
        var sgd = new Sgd<double>(layout, weightDecay: 0.5, groups: [new ParameterGroupRule("recurrent", 0.25, 0.0)]);
        double[] theta = [1.0, 1.0];
        sgd.Step(theta, new double[] { 1.0, 1.0 }, 0.1);
        Assert.Equal(1 - 0.025 * 1.0, theta[0], 1e-15);       // lr × 0.25, no decay
        Assert.Equal(1 - 0.1 * (1.0 + 0.5), theta[1], 1e-15); // lr, decay 0.5
    }

    [Fact]
    public void Momentum_follows_the_PyTorch_convention()
    {
        var sgd = new Sgd<double>(TwoParameters(), momentum: 0.9);
        double[] theta = [0.0, 0.0];
        sgd.Step(theta, new double[] { 1.0, 2.0 }, 0.1);  // b = g
        sgd.Step(theta, new double[] { 1.0, 2.0 }, 0.1);  // b = 0.9 g + g
        Assert.Equal(-0.1 * (1 + 1.9), theta[0], 1e-14);
        Assert.Equal(-0.2 * (1 + 1.9), theta[1], 1e-14);
    }

    [Fact]
    public void Global_norm_clipping_rescales_the_gradient()
    {
        var sgd = new Sgd<double>(TwoParameters(), clipNorm: 1.0);
        double[] theta = [0.0, 0.0];
        double[] g = [3.0, 4.0];
        sgd.Step(theta, g, 1.0);
        Assert.Equal(5.0, sgd.LastGradientNorm, 1e-15);
        Assert.Equal(-0.6, theta[0], 1e-15);
        Assert.Equal(-0.8, theta[1], 1e-15);
    }

    [Fact]
    public void Warmup_cosine_hits_start_peak_and_end()
    {
        var s = new WarmupCosineSchedule(1e-7, 1e-2, 1e-6, 100, 1000).Validated();
        Assert.Equal(1e-7, s.At(0), 1e-20);
        Assert.Equal(1e-2, s.At(100), 1e-15);
        Assert.Equal(1e-6, s.At(1000), 1e-15);
        Assert.Equal((1e-2 + 1e-6) / 2, s.At(550), 1e-12);
        Assert.True(s.At(50) > s.At(10) && s.At(900) < s.At(200));
        var noWarmup = new WarmupCosineSchedule(1e-7, 3e-3, 1e-7, 0, 10).Validated();
        Assert.Equal(3e-3, noWarmup.At(0), 1e-15);
        Assert.Throws<ArgumentException>(() => new WarmupCosineSchedule(0, 1, 0, 20, 10).Validated());
    }
}
