using MemoryLab.Analysis;
using RateParametrisation = MemoryLab.Numerics.RateParametrisation;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public class ApproximationExperimentsTests
{
    [Fact]
    public void RateMixtureIsContinuousAtZeroAndMatchesItsIntegral()
    {
        // (e^{−0.5t} − e^{−2t})/t = ∫_{0.5}^{2} e^{−wt} dw; check by midpoint quadrature over w.
        foreach (double t in new[] { 1e-7, 0.3, 2.0, 10.0 })
        {
            double s = 0; int n = 20000;
            for (int k = 0; k < n; k++) { double w = 0.5 + 1.5 * (k + 0.5) / n; s += Math.Exp(-w * t) * 1.5 / n; }
            Assert.Equal(s, ApproximationRateExperiment.RateMixture(t), 7);
        }
    }

    [Fact]
    public void NeededWidthIsTheFirstWidthBelowEpsilon()
    {
        Assert.Equal(3, ApproximationRateExperiment.NeededWidth([1, 2, 3, 4], [0.1, 0.01, 1e-3, 1e-4], 1e-3));
        Assert.True(double.IsPositiveInfinity(ApproximationRateExperiment.NeededWidth([1, 2], [0.1, 0.01], 1e-3)));
    }

    [Fact]
    public void ApproximationReportBuildsFigureAndClaimsFromSyntheticData()
    {
        string dir = Directory.CreateTempSubdirectory("approx-rate-").FullName;
        try
        {
            var t = new DataTable("target", "omega", "width", "relative_error", "l1_error", "min_rate", "max_rate");
            var targets = ApproximationRateExperiment.Targets([0.25, 0.5, 1, 2]);
            for (int i = 0; i < targets.Count; i++)
                for (int m = 1; m <= 12; m++)
                {
                    // Exponential memory: geometric down to a floor of 1e−9 from m = 8 on (unresolved, left out); power laws: algebraic.
                    double e = i == 0 ? Math.Max(Math.Exp(-2.0 * m), 1e-9) : Math.Pow(m, -(0.5 + targets[i].Omega)) * 0.1;
                    t.Add(i, targets[i].Omega, m, e, 3 * e, 0.1, 1);
                }
            t.Save(Path.Combine(dir, "approximation-error.csv"));
            var exp = new ApproximationRateExperiment();
            var section = Specs.Report(exp, dir);
            Assert.Single(section.Figures);
            Assert.Equal(4, section.Claims.Count);
            var byId = section.Claims.ToDictionary(c => c.Id!);
            Assert.Equal(ClaimStatus.Holds, byId["exponential-memory-error-falls-fast"].Status); // geometric decay steepens on log-log axes
            Assert.Equal(ClaimStatus.Holds, byId["exponential-memory-geometric"].Status);        // the floor is left out, so ln e is linear
            Assert.Equal(ClaimStatus.Holds, byId["power-law-converges-slower"].Status);
            // L¹ = 0.3·m^{−(0.5+ω)}: ω = 2 reaches 10^−3 at m = 10, ω = 0.25 not by 12 → ratio 13/10 < 3.
            Assert.Equal(ClaimStatus.Fails, byId["power-law-width-grows-as-omega-falls"].Status);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void L1ErrorMatchesClosedForms()
    {
        // Li21's error ∫_0^∞|ρ − ρ̂|: e^{−t} against 0 is 1; against e^{−2t} it is 1 − 1/2; against 2e^{−2t} (sign change at
        // t = ln 2) it is 1/4 + 1/4; (1+t)^{−2} against 0 is 1, 1% of it beyond the horizon T = 100 (the mapped tail).
        var e = KernelQuadrature.FromFunction(t => Math.Exp(-t), 100);
        Assert.Equal(1.0, ApproximationRateExperiment.L1Error(e, [0.0], [1.0]), 8);
        Assert.Equal(0.5, ApproximationRateExperiment.L1Error(e, [1.0], [2.0]), 8);
        Assert.Equal(0.5, ApproximationRateExperiment.L1Error(e, [2.0], [2.0]), 3);
        var pol = KernelQuadrature.FromFunction(t => Math.Pow(1 + t, -2), 100);
        Assert.Equal(1.0, ApproximationRateExperiment.L1Error(pol, [0.0], [1.0]), 6);
        Assert.Equal(Math.Exp(-2), ApproximationRateExperiment.MeanRatio([1, Math.Exp(-1), Math.Exp(-4)]), 12);
    }

    [Fact]
    public void PerturbationErrorIsZeroAtAnExactModel()
    {
        // ρ(k) = 2·0.5^k − 0.3^k is a width-2 residual RNN exactly: λ = 1 − r(v) ∈ {0.5, 0.3}, u·c = (2, −1).
        var map = RateParametrisation.Softplus;
        var o = new ResidualRnnKernelObjective(k => 2 * Math.Pow(0.5, k) - Math.Pow(0.3, k), 2, 100, map, training: false);
        double[] theta = [1, 1, 2, -1, map.Inverse(0.5), map.Inverse(0.7)];
        Assert.True(o.Evaluate(theta, Span<double>.Empty) < 1e-28);
        theta[4] += 1e-3;
        Assert.True(o.Evaluate(theta, Span<double>.Empty) > 1e-10);
    }

    [Fact]
    public void CrossingPointOfTwoKnownCurves()
    {
        // E_narrow = 0.1 + β², E_wide = 0.01 + 10β²: equal at β² = 0.09/9, β = 0.1, on Wang24's grid (steps of √2).
        var betas = PerturbationAnalysis.Wang24Betas();
        var narrow = betas.Select(b => 0.1 + b * b).ToArray();
        var wide = betas.Select(b => 0.01 + 10 * b * b).ToArray();
        Assert.Equal(0.1, StableApproximationExperiment.CrossingPoint(betas, narrow, wide), 0.1 * 0.1);
        // A wider model that stays more accurate never crosses; one no better at β = 0 has no crossing.
        Assert.True(double.IsPositiveInfinity(StableApproximationExperiment.CrossingPoint(betas, narrow, narrow.Select(x => 0.5 * x).ToArray())));
        Assert.True(double.IsNaN(StableApproximationExperiment.CrossingPoint(betas, narrow, narrow)));
        Assert.True(double.IsNaN(StableApproximationExperiment.CrossingPoint(betas, betas.Select(_ => 0.0).ToArray(), betas.Select(_ => 0.0).ToArray())));
    }

    [Fact]
    public void StableApproximationReportBuildsFigureAndClaimsFromSyntheticData()
    {
        string dir = Directory.CreateTempSubdirectory("wang24-").FullName;
        try
        {
            var t = new DataTable("target", "map", "width", "beta", "error", "min_rate", "max_abs_amplitude");
            var betas = PerturbationAnalysis.Wang24Betas();
            for (int i = 0; i < 2; i++)
                for (int p = 0; p < 3; p++)
                    foreach (int m in new[] { 2, 4, 8, 16 })
                        foreach (double b in betas)
                        {
                            // E_m(β) = 0.1/m + c_m β²: widths m and 2m cross at β² = 0.05/(m(c_2m − c_m)). c_m = 1 − 1/m keeps
                            // every crossing at β = √0.1; c_m = m⁴ (power law, direct) moves them left as m^{−5/2}.
                            double c = i == 1 && p == 0 ? Math.Pow(m, 4) : 1 - 1.0 / m;
                            t.Add(i, p, m, b, 0.1 / m + c * b * b, 0.1, 1);
                        }
            t.Save(Path.Combine(dir, "perturbation-error.csv"));
            var exp = new StableApproximationExperiment();
            var section = Specs.Report(exp, dir);
            Assert.Single(section.Figures);
            Assert.Equal(8, section.Claims.Count); // 2 approximant checks, 3 + 1 + 2 crossing claims
            Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void StableApproximationReportLeavesOutUntrainedWidthsAndReadsTheCrossingsThatExist()
    {
        // As the synthetic data above, but the exponential target's direct width m = 4 "diverged" (E_4 = 10^100 ≥ the zero
        // model's 2): it is left out, and m = 2 is paired with m = 8 (crossing at β² = 0.0375/0.375, again √0.1, so the row holds).
        // Power law, softplus: E_2 = 1 + β stays above E_4 on the whole grid (∞), which marks no crossing; the drift is read
        // from the two crossings that exist (4/8 and 8/16, both at √0.1).
        string dir = Directory.CreateTempSubdirectory("wang24-").FullName;
        try
        {
            var t = new DataTable("target", "map", "width", "beta", "error", "loss", "epochs", "reached", "min_rate", "zero_model_loss");
            var betas = PerturbationAnalysis.Wang24Betas();
            for (int i = 0; i < 2; i++)
                for (int p = 0; p < 3; p++)
                    foreach (int m in new[] { 2, 4, 8, 16 })
                        foreach (double b in betas)
                        {
                            double c = i == 1 && p == 0 ? Math.Pow(m, 4) : 1 - 1.0 / m;
                            double e = 0.1 / m + c * b * b;
                            if (i == 0 && p == 0 && m == 4) e = 1e100;
                            if (i == 1 && p == 2 && m == 2) e = 1 + b; // worse than every wider width everywhere: m = 2/4 is ∞
                            t.Add(i, p, m, b, e, e, 2, 1, 0.1, 2);
                        }
            t.Save(Path.Combine(dir, "perturbation-error.csv"));
            var section = Specs.Report(new StableApproximationExperiment(), dir);
            var direct = section.Claims.Single(c => c.Id == "exponential-memory-crossings-stay[map=direct]");
            Assert.Contains("not trained, left out: m=4 (E_m(0) =", direct.MeasuredText);
            Assert.Contains("m=2/8", direct.MeasuredText);
            Assert.DoesNotContain("m=4/8", direct.MeasuredText);
            Assert.Equal(ClaimStatus.Holds, direct.Status);
            var softplus = section.Claims.Single(c => c.Id == "power-law-stable-parametrisation-crossings-stay[map=softplus]");
            Assert.Contains("m=2/4: ∞", softplus.MeasuredText);
            Assert.Equal(ClaimStatus.Holds, softplus.Status);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void StableApproximationReportReadsEachReplicateAndReportsTheMedianCrossing()
    {
        // Three replicates of the power law under the direct map; replicate r's curves E_m(β) = 0.1/m + c_r m⁴ β² cross (m, 2m)
        // at β² = 0.05/(c_r m⁵ · 15), so each crossing scales as c_r^{−1/2}: c = 0.01, 1, 100 put replicate 0's crossings 10×
        // right of replicate 1's and replicate 2's 10× left (on or below the grid's first point). The median crossing of each
        // pair is replicate 1's, which the test pins.
        string dir = Directory.CreateTempSubdirectory("wang24-").FullName;
        try
        {
            var t = new DataTable("target", "map", "width", "beta", "error", "loss", "epochs", "reached", "min_rate", "zero_model_loss", "replicate");
            var betas = PerturbationAnalysis.Wang24Betas();
            double[] scale = [0.01, 1, 100];
            for (int r = 0; r < 3; r++)
                for (int i = 0; i < 2; i++)
                    for (int p = 0; p < 3; p++)
                        foreach (int m in new[] { 2, 4, 8, 16 })
                            foreach (double b in betas)
                            {
                                double c = i == 1 && p == 0 ? scale[r] * Math.Pow(m, 4) : 1 - 1.0 / m;
                                double e = 0.1 / m + c * b * b;
                                t.Add(i, p, m, b, e, e, 2, 1, 0.1, 2, r);
                            }
            t.Save(Path.Combine(dir, "perturbation-error.csv"));
            var section = Specs.Report(new StableApproximationExperiment(), dir);
            var drift = section.Claims.Single(c => c.Id == "power-law-direct-crossings-drift-left");
            Assert.Contains("medians over 3 seeds", drift.MeasuredText);
            Assert.True(drift.Status == ClaimStatus.Holds, drift.MeasuredText);
            var crossing = StableApproximationExperiment.CrossingPoint(betas,
                betas.Select(b => 0.1 / 2 + 16 * b * b).ToArray(), betas.Select(b => 0.1 / 4 + 256 * b * b).ToArray());
            Assert.Contains($"m=2/4: {ClaimCheck.Format(crossing)}", drift.MeasuredText);
            // Replicate 0 alone would put that crossing 10× further right.
            var alone = StableApproximationExperiment.CrossingPoint(betas,
                betas.Select(b => 0.1 / 2 + 0.16 * b * b).ToArray(), betas.Select(b => 0.1 / 4 + 2.56 * b * b).ToArray());
            Assert.True(alone > 5 * crossing);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void DirectBasisSettingGivesTheDirectModelTheTrainableBasis()
    {
        var s = new StableApproximationExperiment.Settings([2, 4], 100, 1, 1, 1.1, 0.1, false, true, new ApproximantTrainingOptions(), 0.01, 2);
        Assert.False(StableApproximationExperiment.Rotated(MemoryLab.Numerics.RateParametrisation.Direct, s));
        Assert.True(StableApproximationExperiment.Rotated(MemoryLab.Numerics.RateParametrisation.Direct, s with { DirectBasis = true }));
        Assert.False(StableApproximationExperiment.Rotated(MemoryLab.Numerics.RateParametrisation.Softplus, s with { DirectBasis = true }));
        Assert.True(StableApproximationExperiment.Rotated(MemoryLab.Numerics.RateParametrisation.Softplus, s with { SoftplusBasis = true }));
    }
}
