using MemoryLab.Targets;

namespace MemoryLab.Tests.Targets;

public class Lorenz96Tests
{
    /// <summary>The two-scale equations written out again with 2-D indices (independent of the library's flat layout).</summary>
    private static void ReferenceRhs(double[] x, double[,] y, double[] f, Lorenz96Settings s, double[] dx, double[,] dy)
    {
        int kk = s.K, jj = s.J;
        for (int k = 0; k < kk; k++)
        {
            double mean = 0;
            for (int j = 0; j < jj; j++) mean += y[j, k];
            mean /= jj;
            dx[k] = x[(k - 1 + kk) % kk] * (x[(k + 1) % kk] - x[(k - 2 + kk) % kk]) - x[k] + f[k] + s.Hx * mean;
        }
        // fast ring: y_{j,k} with y_{J,k} = y_{0,k+1} and y_{−1,k} = y_{J−1,k−1}
        double Y(int j, int k)
        {
            while (j >= jj) { j -= jj; k++; }
            while (j < 0) { j += jj; k--; }
            return y[j, ((k % kk) + kk) % kk];
        }
        for (int k = 0; k < kk; k++)
            for (int j = 0; j < jj; j++)
                dy[j, k] = (Y(j + 1, k) * (Y(j - 1, k) - Y(j + 2, k)) - y[j, k] + s.Hy * x[k]) / s.Epsilon;
    }

    [Fact]
    public void Rk4_sample_agrees_with_a_fine_euler_integration()
    {
        var s = new Lorenz96Settings(K: 5, J: 3);
        var sys = new Lorenz96System(s);
        var rng = new MemoryLab.Numerics.CounterRng(1, MemoryLab.Numerics.RandomPurpose.User);
        var state = new double[sys.StateSize];
        for (int i = 0; i < state.Length; i++) state[i] = rng.NextNormal();
        var forcing = new[] { 0.7, 1.1, 0.9, 0.6, 1.2 };
        var x = state[..5].ToArray();
        var y = new double[3, 5];
        for (int k = 0; k < 5; k++) for (int j = 0; j < 3; j++) y[j, k] = state[5 + k * 3 + j];

        // the library's derivative equals the reference right-hand side
        var d = new double[sys.StateSize];
        sys.Derivative(state, forcing, d);
        var dx = new double[5];
        var dy = new double[3, 5];
        ReferenceRhs(x, y, forcing, s, dx, dy);
        for (int k = 0; k < 5; k++) Assert.Equal(dx[k], d[k], 1e-13);
        for (int k = 0; k < 5; k++) for (int j = 0; j < 3; j++) Assert.Equal(dy[j, k], d[5 + k * 3 + j], 1e-13);

        // one sample (10 RK4 steps of 0.01) vs forward Euler with step 1e−6 over the same 0.1 time units
        sys.Advance(state, forcing);
        const double h = 1e-6;
        for (int n = 0; n < 100_000; n++)
        {
            ReferenceRhs(x, y, forcing, s, dx, dy);
            for (int k = 0; k < 5; k++) x[k] += h * dx[k];
            for (int k = 0; k < 5; k++) for (int j = 0; j < 3; j++) y[j, k] += h * dy[j, k];
        }
        for (int k = 0; k < 5; k++) Assert.True(Math.Abs(x[k] - state[k]) < 2e-5, $"x_{k}: RK4 {state[k]} vs Euler {x[k]}");
        for (int k = 0; k < 5; k++) for (int j = 0; j < 3; j++) Assert.True(Math.Abs(y[j, k] - state[5 + k * 3 + j]) < 2e-5);
    }

    [Fact]
    public void Default_system_stays_bounded_over_ten_thousand_steps_and_batches_are_reproducible()
    {
        var data = new Lorenz96Dataset<double>(time: 1000, seed: 3);   // 1000 samples × 10 RK4 steps
        var (f, x) = data.CreateBatch(0, 2);
        Assert.True(x.Data.All(double.IsFinite));
        Assert.True(x.Data.Max(Math.Abs) < 50, $"max |x| = {x.Data.Max(Math.Abs)}");
        Assert.True(f.Data.All(v => v >= 0.6 && v < 1.2));
        // the output moves with the forcing (not a constant)
        Assert.True(x.Data.Max() - x.Data.Min() > 0.05);
        var again = data.CreateBatch(0, 2);
        Assert.Equal(x.Data, again.Targets.Data);

        // a chaotic regime (large forcing, random start) also stays bounded
        var chaotic = new Lorenz96Dataset<double>(time: 1000, seed: 4, new Lorenz96Settings(K: 8, J: 4, ForcingMin: 8, ForcingMax: 10, InitialStd: 1));
        var (_, xc) = chaotic.CreateBatch(0, 1);
        Assert.True(xc.Data.All(double.IsFinite) && xc.Data.Max(Math.Abs) < 100);
    }

    [Fact]
    public void Bad_settings_give_clear_errors()
    {
        Assert.Contains("K ≥ 4", Assert.Throws<ArgumentOutOfRangeException>(() => new Lorenz96System(new Lorenz96Settings(K: 3))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lorenz96System(new Lorenz96Settings(Epsilon: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lorenz96System(new Lorenz96Settings(SubSteps: 0)));
        Assert.Throws<ArgumentException>(() => new Lorenz96Dataset<float>(10, 0, new Lorenz96Settings(ForcingMin: 2, ForcingMax: 1)));
    }
}
