using MemoryLab.Analysis;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Analysis;

public class PlateauDetectorTests
{
    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    // Two drops in log-step (at s = 10² and 10⁴) then a converged tail: plateaus at the start and in the middle.
    private static double TwoDrops(double s)
    {
        double u = Math.Log10(s);
        return 1e-3 + 0.05 * Sigmoid((4 - u) / 0.08) + 1.0 * Sigmoid((2 - u) / 0.08);
    }

    // Where the exact curve's centred log-log slope crosses the flatness bound, searched on [a, b].
    private static double SlopeCrossing(Func<double, double> loss, double a, double b, bool rising)
    {
        double h = new PlateauDetectorOptions().SlopeHalfWidthDecades, bound = -Math.Log10(0.9);
        double Slope(double u) => (Math.Log10(loss(Math.Pow(10, u - h))) - Math.Log10(loss(Math.Pow(10, u + h)))) / (2 * h);
        for (int i = 0; i < 100; i++)
        {
            double c = 0.5 * (a + b);
            if ((Slope(c) > bound) == rising) b = c; else a = c;
        }
        return 0.5 * (a + b);
    }

    private static double[] Curve(Func<double, double> loss, int n, double noise = 0, ulong seed = 1)
    {
        var rng = new CounterRng(seed, RandomPurpose.User);
        return Enumerable.Range(1, n).Select(s => loss(s) * Math.Pow(10, noise * rng.NextNormal())).ToArray();
    }

    [Theory]
    [InlineData(0.0, 0.03)]
    // Noise widens the flat bound (σ_max + 2 SE), which moves the ends a little into the drops.
    [InlineData(0.02, 0.2)] // ≈5% multiplicative noise per step
    [InlineData(0.05, 0.25)] // ≈12%
    public void Finds_the_plateaus_of_a_sum_of_sigmoids_with_the_right_bounds(double noise, double tolDecades)
    {
        var losses = Curve(TwoDrops, 100_000, noise);
        var r = PlateauDetector.Detect(losses);
        Assert.Equal(2, r.Count);
        double end1 = SlopeCrossing(TwoDrops, 1.0, 2.0, rising: true);
        double start2 = SlopeCrossing(TwoDrops, 2.0, 3.0, rising: false);
        double end2 = SlopeCrossing(TwoDrops, 3.0, 4.0, rising: true);
        var (p1, p2) = (r.Plateaus[0], r.Plateaus[1]);
        // The first plateau starts where the analysed range does (the median step of the first window).
        Assert.Equal(r.GridSteps[0], p1.StartStep);
        Assert.InRange(p1.StartStep, 3, 7);
        Assert.InRange(Math.Log10(p1.EndStep), end1 - tolDecades, end1 + tolDecades);
        Assert.InRange(Math.Log10(p2.StartStep), start2 - tolDecades, start2 + tolDecades);
        Assert.InRange(Math.Log10(p2.EndStep), end2 - tolDecades, end2 + tolDecades);
        // Levels and exits: ≈1.05 then ≈0.051; each exit lies inside the following drop.
        Assert.InRange(p1.LossLevel, 1.0, 1.1);
        Assert.InRange(p2.LossLevel, 0.048, 0.054);
        Assert.InRange(Math.Log10(p1.ExitStep), 1.8, 2.1);
        Assert.InRange(Math.Log10(p2.ExitStep), 3.8, 4.1);
        Assert.Equal(p1.Decades + p2.Decades, r.TotalDecades, 12);
        Assert.Equal(p1.Steps + p2.Steps, r.TotalSteps, 9);
    }

    public static TheoryData<string> SmoothDecays() => new() { "exp-fast", "exp-mid", "exp-slow", "power", "shifted-power", "constant", "slow-power" };

    [Theory]
    [MemberData(nameof(SmoothDecays))]
    public void Finds_no_plateau_in_a_smooth_decay(string kind)
    {
        Func<double, double> loss = kind switch
        {
            "exp-fast" => s => Math.Exp(-s / 300),
            "exp-mid" => s => Math.Exp(-s / 3000),
            "exp-slow" => s => Math.Exp(-s / 30_000), // flat for three decades on a log axis, but it never accelerates
            "power" => s => Math.Pow(s, -0.5),
            "shifted-power" => s => Math.Pow(1 + 0.1 * s, -1.1), // Li21's power-law kernel shape
            "constant" => _ => 0.3, // a converged run: flat, never followed by a drop
            _ => s => Math.Pow(s, -0.03), // falls ~7% per decade: flat, but no drop follows
        };
        foreach (var noise in new[] { 0.0, 0.02, 0.05 })
        {
            var r = PlateauDetector.Detect(Curve(loss, 100_000, noise, seed: 3));
            Assert.True(r.Count == 0, $"{kind}, noise {noise}: found {string.Join("; ", r.Plateaus)}");
        }
    }

    [Fact]
    public void Works_on_irregular_steps_and_ignores_unusable_points()
    {
        // Log-spaced records (as a gradient flow produces) with a τ = 0 point and a NaN.
        var steps = new List<double> { 0 };
        for (double u = -1; u <= 4; u += 0.01) steps.Add(Math.Pow(10, u));
        var losses = steps.Select(s => s == 0 ? 2.0 : 0.01 + Sigmoid((2 - Math.Log10(s)) / 0.05)).ToArray();
        losses[100] = double.NaN;
        var r = PlateauDetector.Detect(steps.ToArray(), losses);
        var p = Assert.Single(r.Plateaus);
        Assert.Equal(r.GridSteps[0], p.StartStep);
        Assert.InRange(p.StartStep, 0.1, 0.12); // the first window's median step
        Assert.InRange(Math.Log10(p.EndStep), 1.6, 1.95);
        Assert.InRange(Math.Log10(p.ExitStep), 1.9, 2.1);
    }

    [Fact]
    public void Settings_control_the_definition()
    {
        var losses = Curve(TwoDrops, 100_000);
        // A length bound between the two plateaus' lengths keeps only the longer one; the first drop is 95%, the second 98%.
        var all = PlateauDetector.Detect(losses);
        Assert.Equal(2, all.Count);
        var (shorter, longer) = all.Plateaus[0].Decades < all.Plateaus[1].Decades ? (all.Plateaus[0], all.Plateaus[1]) : (all.Plateaus[1], all.Plateaus[0]);
        Assert.True(longer.Decades - shorter.Decades > 0.02, $"{shorter.Decades} vs {longer.Decades}");
        var longOnly = PlateauDetector.Detect(losses, new PlateauDetectorOptions { MinLengthDecades = 0.5 * (shorter.Decades + longer.Decades) });
        Assert.Equal(longer, Assert.Single(longOnly.Plateaus));
        var bigDrop = PlateauDetector.Detect(losses, new PlateauDetectorOptions { MinDropAfter = 0.97 });
        var kept = Assert.Single(bigDrop.Plateaus);
        Assert.Equal((all.Plateaus[1].StartStep, all.Plateaus[1].EndStep), (kept.StartStep, kept.EndStep));
        Assert.True(kept.ExitStep > all.Plateaus[1].ExitStep); // a deeper drop is reached later
        // The first plateau is dropped although the loss does fall 97% eventually: not before the next plateau.
        Assert.Throws<ArgumentException>(() => PlateauDetector.Detect(losses, new PlateauDetectorOptions { MaxDecreasePerDecade = 1.5 }));
        Assert.Throws<ArgumentException>(() => PlateauDetector.Detect([1.0, 2.0], [1.0]));
        Assert.Throws<ArgumentException>(() => PlateauDetector.Detect([2.0, 1.0], [1.0, 1.0]));
    }
}
