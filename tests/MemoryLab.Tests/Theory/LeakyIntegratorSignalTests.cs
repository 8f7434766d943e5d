using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Theory;
using Xunit;

namespace MemoryLab.Tests.Theory;

public class LeakyIntegratorSignalTests
{
    [Theory]
    [InlineData(0.3, 0.7, 0.0)]
    [InlineData(0.9, 0.95, 0.8)]
    [InlineData(0.5, 0.5, 0.997)]
    public void CorrelationEqualsTheExactSeriesOfTheArFilter(double alpha, double beta, double rho)
    {
        // h(α) = (1−α) Σ_k α^k n_{−k}: E[h(α)h(β)] = ρ₀(1−α)(1−β) Σ_{k,l} α^k β^l ρ^{|k−l|}, summed directly.
        const double variance = 0.7;
        double sum = 0;
        for (int k = 0; k < 4000; k++)
            for (int l = 0; l < 4000; l++)
            {
                double term = Math.Pow(alpha, k) * Math.Pow(beta, l) * Math.Pow(rho, Math.Abs(k - l));
                sum += term;
                if (term < 1e-18 && l > k) break;
            }
        double series = variance * (1 - alpha) * (1 - beta) * sum;
        Assert.Equal(series, LeakyIntegratorSignal.Correlation(alpha, beta, variance, rho), 1e-9 * series);
    }

    [Theory]
    [InlineData(0.4, 0.6, 0.0)]
    [InlineData(0.9, 0.8, 0.997)]
    public void CrossSensitivityIsTheMixedPartialOfTheCorrelation(double alpha, double beta, double rho)
    {
        const double e = 1e-4, variance = 1.3;
        double F(double a, double b) => LeakyIntegratorSignal.Correlation(a, b, variance, rho);
        double fd = (F(alpha + e, beta + e) - F(alpha + e, beta - e) - F(alpha - e, beta + e) + F(alpha - e, beta - e)) / (4 * e * e);
        double exact = LeakyIntegratorSignal.CrossSensitivity(alpha, beta, variance, rho);
        Assert.Equal(exact, fd, 1e-5 * Math.Abs(exact));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void MomentsMatchADirectSimulationOfTheFilterAndItsDerivative(double alpha)
    {
        // h_t = α h_{t−1} + (1−α) x_t and d_t = ∂h_t/∂α = α d_{t−1} + h_{t−1} − x_t, driven by a white + AR(1) mixture
        // (a fast AR part so one long run mixes); time averages after a burn-in of 50/(1−α) steps.
        var input = InputProcess.Mixture(0.5, 0.3, 0.8);
        const double gain = 2;
        const int runs = 4, length = 100_000;
        int burn = (int)(50 / (1 - alpha));
        var x = new double[length];
        double h2 = 0, d2 = 0;
        long n = 0;
        for (int r = 0; r < runs; r++)
        {
            input.Sample(new CounterRng(7, RandomPurpose.MonteCarlo, (ulong)r), x);
            double h = 0, d = 0;
            for (int t = 0; t < length; t++)
            {
                double xt = Math.Sqrt(gain) * x[t];
                d = alpha * d + h - xt;
                h = alpha * h + (1 - alpha) * xt;
                if (t >= burn) { h2 += h * h; d2 += d * d; n++; }
            }
        }
        h2 /= n; d2 /= n;
        double th = LeakyIntegratorSignal.StateSecondMoment(alpha, input, gain);
        double td = LeakyIntegratorSignal.DecaySensitivitySecondMoment(alpha, input, gain);
        Assert.InRange(h2 / th, 0.95, 1.05);
        Assert.InRange(d2 / td, 0.93, 1.07);
        double s = alpha * (1 - alpha);
        Assert.Equal(s * s * td, LeakyIntegratorSignal.GateBiasSensitivitySecondMoment(alpha, input, gain), 1e-12 * td);
    }

    [Fact]
    public void WhiteNoiseLimitsAndBadInput()
    {
        // White part: E[h²] = (1−α)/(1+α) = 1/(2T − 1).
        var white = InputProcess.Mixture(1, 0, 0.5);
        Assert.Equal(1 / (2 * 10.0 - 1), LeakyIntegratorSignal.StateSecondMoment(LeakyIntegratorSignal.DecayOfMemory(10), white), 1e-12);
        Assert.Throws<ArgumentOutOfRangeException>(() => LeakyIntegratorSignal.Correlation(1, 0.5, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LeakyIntegratorSignal.DecayOfMemory(0.5));
    }
}
