using MemoryLab.Analysis;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Analysis;

public class PerturbationAnalysisTests
{
    [Fact]
    public void Default_grid_is_wang24()
    {
        var b = PerturbationAnalysis.Wang24Betas();
        Assert.Equal(22, b.Length);
        Assert.Equal(0, b[0]);
        Assert.Equal(1e-3, b[1]);
        Assert.Equal(1e-3 * Math.Sqrt(2), b[2], 15);
        Assert.Equal(1.024e0, b[^1], 12);
        Assert.Equal(b, new PerturbationOptions().Betas);
    }

    [Fact]
    public void Noise_has_max_norm_exactly_beta()
    {
        var rng = new CounterRng(5, RandomPurpose.Perturbation);
        var noise = new double[37];
        foreach (var beta in new[] { 1e-3, 0.0123456789, 0.7, 3.0 })
            for (int r = 0; r < 20; r++)
            {
                PerturbationAnalysis.DrawNoise(rng, beta, noise);
                Assert.Equal(beta, noise.Max(Math.Abs)); // exact, not approximate
                Assert.True(noise.Count(x => Math.Abs(x) < beta) >= 36);
            }
        // A mask keeps unselected entries at zero.
        var mask = Enumerable.Range(0, 37).Select(i => i % 3 == 0).ToArray();
        PerturbationAnalysis.DrawNoise(rng, 0.5, noise, mask);
        for (int i = 0; i < 37; i++) if (!mask[i]) Assert.Equal(0, noise[i]);
        Assert.Equal(0.5, noise.Max(Math.Abs));
    }

    [Fact]
    public void Error_curve_is_monotone_deterministic_and_passes_every_draw_at_max_norm_beta()
    {
        double[] thetaM = [0.2, -1.0, 0.5, 3.0];
        var options = new PerturbationOptions { Repeats = 5, Seed = 11 };
        var seen = new List<double>();
        // An error that is not monotone in β on its own (oscillates), so the running max matters.
        double Error(ReadOnlySpan<double> theta)
        {
            double d = 0, s = 0;
            for (int i = 0; i < theta.Length; i++) { d = Math.Max(d, Math.Abs(theta[i] - thetaM[i])); s += Math.Sin(40 * theta[i]); }
            seen.Add(d);
            return Math.Abs(Math.Sin(1e3 * s));
        }
        var curve = PerturbationAnalysis.Run(thetaM, Error, options);
        // Every draw moved θ by exactly β in max-norm (1 draw at β = 0, then Repeats per β).
        Assert.Equal(1 + 5 * 21, seen.Count);
        Assert.Equal(0, seen[0]);
        for (int b = 1; b < options.Betas.Length; b++)
            for (int r = 0; r < 5; r++) Assert.Equal(options.Betas[b], seen[1 + (b - 1) * 5 + r], 14);
        for (int b = 1; b < curve.Error.Length; b++)
        {
            Assert.True(curve.Error[b] >= curve.Error[b - 1]);
            Assert.True(curve.Error[b] >= curve.MaxPerBeta[b]);
            Assert.True(curve.MaxPerBeta[b] >= curve.MeanPerBeta[b]);
        }
        Assert.Contains(curve.MaxPerBeta.Zip(curve.MaxPerBeta.Skip(1)), p => p.Second < p.First); // raw maxima do dip
        // Same seed, same curve; another seed, another curve.
        Assert.Equal(curve.Error, PerturbationAnalysis.Run(thetaM, Error, options).Error);
        Assert.NotEqual(curve.Error, PerturbationAnalysis.Run(thetaM, Error, options with { Seed = 12 }).Error);
    }

    [Fact]
    public void Linear_error_gives_the_expected_curve_and_broken_models_count_as_infinite()
    {
        double[] thetaM = [1.0, 2.0];
        // Error = ‖θ − θ_m‖∞ exactly: the curve is β itself.
        var curve = PerturbationAnalysis.Run(thetaM, t => Math.Max(Math.Abs(t[0] - 1), Math.Abs(t[1] - 2)), new PerturbationOptions { Repeats = 3 });
        for (int b = 0; b < curve.Betas.Length; b++) Assert.Equal(curve.Betas[b], curve.Error[b], 14);
        // An error that becomes NaN beyond β = 0.1 (e.g. an unstable recurrence) makes E infinite from there on.
        var broken = PerturbationAnalysis.Run(thetaM, t => Math.Abs(t[0] - 1) + Math.Abs(t[1] - 2) > 0.15 ? double.NaN : 0.0, new PerturbationOptions { Repeats = 3 });
        Assert.True(broken.NonFiniteCount > 0);
        int first = Array.FindIndex(broken.Error, double.IsPositiveInfinity);
        Assert.True(first > 0 && broken.Betas[first] > 0.075 && broken.Betas[first] <= 0.15, $"first infinite at β = {broken.Betas[first]}");
        Assert.All(broken.Error.Skip(first), e => Assert.True(double.IsPositiveInfinity(e)));
    }

    [Fact]
    public void Bad_grids_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => PerturbationAnalysis.Run([1.0], t => 0, new PerturbationOptions { Betas = [0.1, 0.05] }));
        Assert.Throws<ArgumentException>(() => PerturbationAnalysis.Run([1.0], t => 0, new PerturbationOptions { Repeats = 0 }));
        Assert.Throws<ArgumentException>(() => PerturbationAnalysis.Run([1.0], t => 0, new PerturbationOptions { Mask = [false] }));
    }
}
