using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using MemoryLab.Training;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public class HeadsTests
{
    [Fact]
    public void TheUnitGradientProbeEqualsHandComputedAdamSteps()
    {
        var layout = new ParameterLayout();
        layout.Add("w", "recurrent", 3);
        var adam = new Adam<double>(layout);
        // Fresh state: m' = 1 − β₁, v' = 1 − β₂ at t' = 1, so the bias-corrected moments are 1 and the step is lr / (1 + ε).
        Assert.Equal(0.01 / (1 + 1e-8), adam.UnitGradientStep(0, 0.01), 1e-15);
        double[] theta = [0, 0, 0];
        adam.Step(theta, new double[] { 1, -1, 0 }, 0.001);
        // After one unit gradient the probe's moments are again 1: lr / (1 + ε).
        Assert.Equal(0.01 / (1 + 1e-8), adam.UnitGradientStep(0, 0.01), 1e-15);
        // After g = −1: m' = (1 − β₁)², m̂' = (1 − β₁)/(1 + β₁); v̂' = 1.
        Assert.Equal(0.01 * (0.1 / 1.9) / (1 + 1e-8), adam.UnitGradientStep(1, 0.01), 1e-15);
        // After g = 0: m̂' = (1 − β₁)/(1 − β₁²) = 1/(1 + β₁), v̂' = 1/(1 + β₂).
        Assert.Equal(0.01 / 1.9 / (Math.Sqrt(1 / 1.999) + 1e-8), adam.UnitGradientStep(2, 0.01), 1e-15);
        var all = new double[3];
        adam.UnitGradientSteps([0, 1, 2], 0.01, all);
        Assert.Equal([adam.UnitGradientStep(0, 0.01), adam.UnitGradientStep(1, 0.01), adam.UnitGradientStep(2, 0.01)], all);
    }

    private static SpecNode TrainSpec(string extra)
    {
        var spec = SpecParser.ParseText($$"""
            kind: train
            data: {kind: teacher, time: 20, state_size: 4, nu0: 0.5}
            model: {kind: linear_rnn, hidden: 4, heads: 2}
            {{extra}}
            """, "t.yaml");
        spec.GetString("kind");
        return spec;
    }

    [Theory]
    [InlineData("effective_lr: [recurrnt]", "t.yaml:4: key 'effective_lr': the model has no parameter group 'recurrnt' (groups: recurrent, input, readout, skip)")]
    [InlineData("effective_lr: [recurrent]\noptimizer: {kind: sgd}", "t.yaml:4: key 'effective_lr': needs an Adam optimiser")]
    public void AnEffectiveRateOfAnUnknownGroupOrWithoutAdamIsASpecError(string extra, string expected)
    {
        var e = Assert.Throws<SpecException>(() => new TrainExperiment().BindStrict(TrainSpec(extra)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void PaperScaleSpecIsTheAuthorsScan()
    {
        var plan = Specs.Plan(new HeadsExperiment(), ReproductionScale.Paper);
        Assert.Equal(6 * 5 * 10, plan.Runs.Count); // heads × lr_base × jax_seed of scans/varying_number_heads.yaml
        Assert.Equal(["model.heads"], plan.Selection!.Per);
        foreach (var run in plan.Runs)
        {
            var flat = run.Spec.Flatten().ToDictionary(p => p.Key, p => p.Value);
            Assert.Equal("0.99", flat["data.nu0"]);
            Assert.Equal("64", flat["model.hidden"]);
            Assert.Equal("10000", flat["steps"]);
            Assert.Equal("128", flat["batch"]);
        }
    }

    [Fact]
    public void TinyQuickRunsLogTheEffectiveRateAndTheReportChecksBothClaims()
    {
        using var dir = new TempDirectory();
        var selected = Specs.Reproductions.Select(["zucchet24-heads"]);
        string[] tiny = ["zucchet24-heads.steps=30", "zucchet24-heads.batch=2", "zucchet24-heads.data.time=5"];
        var plans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, tiny);
        var outcomes = Reproducer.Run(plans, dir.Path, Specs.Kinds, new SweepOptions { Workers = 2 });
        Assert.Equal(6 * 4 * 2, outcomes[0].Ran);
        var run = plans[0].Sweep.Runs[0];
        var (steps, rates) = HeadsExperiment.ReadCurve(Path.Combine(dir.Path, "zucchet24-heads", run.Id, ResultsStore.MetricsCsvFileName), HeadsExperiment.RateMetric);
        Assert.Equal([0, 10, 20, 29], steps);   // log_every 10 and the last step
        Assert.All(rates, r => Assert.True(r > 0 && double.IsFinite(r)));
        var doc = Reproducer.WriteReport(Specs.Reproductions, Specs.Kinds, [dir.Path], dir.Path);
        var section = Assert.Single(doc.Sections);
        Assert.Single(section.Figures);
        Assert.Equal(["heads-lower-the-loss", "heads-raise-the-effective-learning-rate"], section.Claims.Select(c => c.Id));
        Assert.All(section.Claims, c => Assert.NotEqual(ClaimStatus.Inconclusive, c.Status));
    }

    private static HeadsPoint Point(int heads, double loss, double rate) =>
        new(heads, 1e-3, new MetricStats(2, loss, loss / 10, loss, loss), [0, 10, 20], [rate / 2, rate, rate * 3]);

    private static ReportSection ReportOf(IReadOnlyList<HeadsPoint> points)
    {
        var section = new ReportSection("heads");
        var claims = Specs.Claims(new HeadsExperiment(), section);
        HeadsExperiment.Report(points, section, claims);
        claims.Finish();
        return section;
    }

    [Fact]
    public void ReportComparesOneHeadWithThirtyTwo()
    {
        int[] heads = [1, 2, 4, 8, 16, 32];
        var good = heads.Select(h => Point(h, 0.6 / Math.Pow(h, 3), 1e-6 * h * h)).ToList();
        Assert.Equal(1e-6 * 32 * 32, good[^1].MedianRate, 1e-15);
        Assert.All(ReportOf(good).Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        var flat = heads.Select(h => Point(h, 0.6 / h, 1e-6 * h)).ToList();   // 32× lower loss, 32× higher rate: under two decades
        Assert.All(ReportOf(flat).Claims, c => Assert.Equal(ClaimStatus.Fails, c.Status));
        var noThirtyTwo = good.Where(p => p.Heads < 32).ToList();
        Assert.All(ReportOf(noThirtyTwo).Claims, c => Assert.Equal(ClaimStatus.Inconclusive, c.Status));
    }
}
