using MemoryLab.Analysis;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Analysis;

// Known-answer tests of the linear-step-axis plateau definition on synthetic curves whose plateaus are known.
public class PlateauDetectorTests
{
    private static double[] Curve(Func<double, double> loss, int n, double noise = 0, ulong seed = 1)
    {
        var rng = new CounterRng(seed, RandomPurpose.User);
        return Enumerable.Range(1, n).Select(s => loss(s) * Math.Pow(10, noise * rng.NextNormal())).ToArray();
    }

    // A fast initial fall to 0.5 (time constant 50 steps), flat at 0.5 until step 3000, then an exponential escape
    // (time constant 150 steps) to a floor of 1e−4: one plateau from ≈ step 200 to step 3000 of 8000.
    private static double OnePlateau(double s) =>
        s < 3000 ? 0.5 + 0.5 * Math.Exp(-s / 50) : 1e-4 + 0.5 * Math.Exp(-(s - 3000) / 150);

    [Fact]
    public void FindsAKnownPlateauInTheMiddleOfTheRun()
    {
        var r = PlateauDetector.Detect(Curve(OnePlateau, 8000));
        var p = Assert.Single(r.Plateaus);
        Assert.InRange(p.StartStep, 50, 400);                 // where the initial fall has settled within 5% of 0.5
        Assert.InRange(p.EndStep, 2900, 3060);                // the escape starts at 3000
        Assert.InRange(p.LossLevel, 0.49, 0.56);
        Assert.InRange(p.ExitStep, 3000, 3000 + 150 * Math.Log(1 / 0.7) + 100); // 30% below 0.5, smoothing allowed
        Assert.InRange(p.Fraction, 0.3, 0.37);
    }

    [Fact]
    public void FindsTheSamePlateauUnderMultiplicativeNoise()
    {
        // 10^{0.05·N(0,1)}: about ±12% per step, like a minibatch loss.
        var r = PlateauDetector.Detect(Curve(OnePlateau, 8000, noise: 0.05, seed: 7));
        var p = Assert.Single(r.Plateaus);
        Assert.InRange(p.EndStep, 2800, 3100);
    }

    [Fact]
    public void FindsTwoPlateaus()
    {
        // Flat at 1 until 2000, escape to a second plateau at 0.1 until 5000, escape to 1e−4.
        static double Two(double s) => s < 2000 ? 1 : s < 5000 ? 0.1 + 0.9 * Math.Exp(-(s - 2000) / 100) : 1e-4 + 0.1 * Math.Exp(-(s - 5000) / 100);
        var r = PlateauDetector.Detect(Curve(Two, 8000));
        Assert.Equal(2, r.Count);
        Assert.InRange(r.Plateaus[0].EndStep, 1900, 2050);
        Assert.InRange(r.Plateaus[1].StartStep, 2000, 2700);
        Assert.InRange(r.Plateaus[1].EndStep, 4900, 5050);
    }

    [Theory]
    [InlineData(0)] // slow exponential decay: constant rate per step, no acceleration
    [InlineData(1)] // power-law decay: slows down
    [InlineData(2)] // fast fall to a converged floor: the flat tail has no exit
    [InlineData(3)] // constant loss: never leaves
    public void SmoothCurvesHaveNoPlateau(int kind)
    {
        Func<double, double> loss = kind switch
        {
            0 => s => Math.Exp(-s / 5000),
            1 => s => Math.Pow(1 + s / 10, -1),
            2 => s => 1e-3 + Math.Exp(-s / 100),
            _ => _ => 0.3,
        };
        Assert.Equal(0, PlateauDetector.Detect(Curve(loss, 8000)).Count);
    }

    [Fact]
    public void AShortPauseIsNotAPlateau()
    {
        // Flat for 200 of 8000 steps (2.5% < 5%), then falls.
        static double Short(double s) => s < 200 ? 1 : 1e-4 + Math.Exp(-(s - 200) / 100);
        Assert.Equal(0, PlateauDetector.Detect(Curve(Short, 8000)).Count);
        // The same pause counts when the length threshold allows it.
        Assert.Equal(1, PlateauDetector.Detect(Curve(Short, 8000), new PlateauDetectorOptions { MinLengthFraction = 0.015 }).Count);
    }

    [Fact]
    public void RejectsBadSettingsAndShortCurves()
    {
        var losses = Curve(OnePlateau, 100);
        Assert.Throws<ArgumentException>(() => PlateauDetector.Detect(losses, new PlateauDetectorOptions { MaxFall = 1.5 }));
        Assert.Throws<ArgumentException>(() => PlateauDetector.Detect(losses, new PlateauDetectorOptions { MinAcceleration = 0.5 }));
        Assert.Throws<ArgumentException>(() => PlateauDetector.Detect([1.0, 0.5]));
    }
}
