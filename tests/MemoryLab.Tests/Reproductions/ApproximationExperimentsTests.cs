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
            var t = new DataTable("target", "omega", "width", "relative_error", "min_rate", "max_rate");
            var targets = ApproximationRateExperiment.Targets([0.25, 0.5, 1, 2]);
            for (int i = 0; i < targets.Count; i++)
                for (int m = 1; m <= 8; m++)
                {
                    double e = i == 0 ? Math.Exp(-2.0 * m) : Math.Pow(m, -(0.5 + targets[i].Omega)) * 0.1;
                    t.Add(i, targets[i].Omega, m, e, 0.1, 1);
                }
            t.Save(Path.Combine(dir, "approximation-error.csv"));
            var exp = new ApproximationRateExperiment();
            var section = Specs.Report(exp, dir);
            Assert.Single(section.Figures);
            Assert.Equal(3, section.Claims.Count);
            Assert.Equal(ClaimStatus.Holds, section.Claims[0].Status); // geometric decay steepens on log-log axes
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void PerturbationErrorIsZeroAtAnExactFitAndBreakingPointIsFirstCrossing()
    {
        var k = KernelQuadrature.FromFunction(t => 2 * Math.Exp(-0.5 * t) - Math.Exp(-3 * t), 100, new KernelQuadratureOptions { Tail = KernelTail.Truncate });
        var map = RateParametrisation.Exp;
        double[] theta = [2, -1, map.Inverse(0.5), map.Inverse(3.0)];
        Assert.True(StableApproximationExperiment.RelativeError(k, map, theta) < 1e-20);
        Assert.Equal(0.2, StableApproximationExperiment.BreakingPoint([0, 0.1, 0.2, 0.4], [0.5, 0.01, 0.2, 0.5], 0.1));
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
                            double scale = i == 1 && p == 0 ? m : 1; // only pol/direct drifts left
                            t.Add(i, p, m, b, 1e-4 + b * b * scale * 10, 0.1, 1);
                        }
            t.Save(Path.Combine(dir, "perturbation-error.csv"));
            var exp = new StableApproximationExperiment();
            var section = Specs.Report(exp, dir);
            Assert.Single(section.Figures);
            Assert.Equal(7, section.Claims.Count);
            Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        }
        finally { Directory.Delete(dir, true); }
    }
}
