using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Targets;
using MemoryLab.Theory;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public class PlateauScalingExperimentTests
{
    [Fact]
    public void InitialPointFitsTheBaselineSoTheLossIsTheBumpNorm()
    {
        // ρ̂(θ₀) = e^{−0.5t} = ρ̄, so J(θ₀) = ‖ρ₀‖² = σ√π for a Gaussian bump of width σ (far from t = 0).
        var objective = new ReducedModelObjective(MemoryKernel.DelayedBump(12), 5);
        double j = objective.Evaluate(PlateauScalingExperiment.InitialTheta(5, 0.5, 4.0), new double[10]);
        Assert.Equal(0.5 * Math.Sqrt(Math.PI), j, 9);
        var theta = PlateauScalingExperiment.InitialTheta(5, 0.5, 4.0);
        Assert.Equal(0.5, theta[5], 12);
        Assert.Equal(4.0, theta[9], 12);
    }

    [Fact]
    public void EscapeTimesGrowWithDelayAndTauPrimeComesLater()
    {
        var s = Specs.Settings(new PlateauScalingExperiment());
        var a = PlateauScalingExperiment.EscapeTimes(s, 8, 5, s.RelativeTolerance);
        var b = PlateauScalingExperiment.EscapeTimes(s, 10, 5, s.RelativeTolerance);
        Assert.True(a.Tau0 > 0 && b.Tau0 > a.Tau0, $"τ₀: {a.Tau0} then {b.Tau0}");
        Assert.True(b.Tau0Prime > b.Tau0, $"τ₀′ = {b.Tau0Prime} should exceed τ₀ = {b.Tau0}");
    }

    [Fact]
    public void LineFitRecoversAnExactLine()
    {
        var (slope, icpt, r2) = PlateauScalingExperiment.LineFit([1, 2, 3, 4], [1.5, 2.0, 2.5, 3.0]);
        Assert.Equal(0.5, slope, 12);
        Assert.Equal(1.0, icpt, 12);
        Assert.Equal(1.0, r2, 12);
    }

    [Fact]
    public void ReportBuildsFigureAndClaimsFromSyntheticData()
    {
        string dir = Directory.CreateTempSubdirectory("plateau-scaling-").FullName;
        try
        {
            var t = new DataTable("width", "delay", "tau0", "tau0_prime", "steps", "evaluations", "initial_loss");
            foreach (int m in new[] { 5, 10 })
                foreach (double l in new double[] { 8, 10, 12, 14, 16, 18 })
                    t.Add(m, l, Math.Exp(0.5 * l - 3), Math.Exp(0.6 * l - 2), 10, 60, 0.886);
            t.Save(Path.Combine(dir, "escape-times.csv"));
            new DataTable("width", "delay", "rtol", "tau0", "tau0_prime").Add(5, 18, 1e-9, 403.4, 4914.8).Add(5, 18, 1e-11, 403.4 * (1 + 1e-6), 4914.8).Save(Path.Combine(dir, "tolerance-check.csv"));
            var exp = new PlateauScalingExperiment();
            var section = Specs.Report(exp, dir);
            Assert.Single(section.Figures);
            Assert.Equal(2 * 2 * 2 + 2, section.Claims.Count);
            Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
            var ratio = section.Claims.Single(c => c.Claim.Contains("comparable to w₀"));
            Assert.Equal(1.0, ratio.Measured, 9);
        }
        finally { Directory.Delete(dir, true); }
    }
}
