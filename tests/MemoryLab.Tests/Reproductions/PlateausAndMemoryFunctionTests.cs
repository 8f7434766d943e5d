using MemoryLab.Analysis;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Targets;
using MemoryLab.Theory;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public class PlateausAndMemoryFunctionTests
{
    [Fact]
    public void GradientDescentOnTheExactLinearRnnLossDecreasesItMonotonically()
    {
        var objective = new LinearRnnKernelObjective(PlateausExperiment.ExponentialSumTarget(), 3);
        var theta = PlateausExperiment.RandomLinearRnn(objective, 7);
        var losses = ReproductionTraining.GradientDescent(objective, theta, 200, 0.05);
        Assert.Equal(200, losses.Length);
        for (int i = 1; i < losses.Length; i++) Assert.True(losses[i] <= losses[i - 1] + 1e-12, $"loss rose at step {i}: {losses[i - 1]} → {losses[i]}");
        Assert.True(losses[^1] < 0.1 * losses[0], $"GD barely moved: {losses[0]} → {losses[^1]}");
        Assert.Equal(objective.Evaluate(theta, Span<double>.Empty), losses[^1], 2); // θ holds the final point
    }

    [Fact]
    public void GradientDescentHalvesStepsThatWouldLeaveTheHurwitzSet()
    {
        // A huge rate would make W non-Hurwitz at once; the safeguard keeps every iterate stable and finite.
        var objective = new LinearRnnKernelObjective(MemoryKernel.Exponential(), 2);
        var theta = objective.Pack([-5, 0, 0, -5], [0.1, 0.1], [0.1, 0.1]); // ρ̂ too small and too fast: ∇ pushes W up
        var start = (double[])theta.Clone();
        var gradient = new double[objective.Dimension];
        objective.Evaluate(theta, gradient);
        // The smallest rate 2^k whose plain step leaves the Hurwitz set (the gradient raises W's diagonal).
        double eta = 1;
        while (eta < 1e12 && IsStable(objective, theta.Select((v, i) => v - eta * gradient[i]).ToArray())) eta *= 2;
        Assert.False(IsStable(objective, theta.Select((v, i) => v - eta * gradient[i]).ToArray()));
        var losses = ReproductionTraining.GradientDescent(objective, theta, 20, eta);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(double.IsFinite(objective.Evaluate(theta, Span<double>.Empty)));
        Assert.NotEqual(start, theta);
    }

    private static bool IsStable(LinearRnnKernelObjective objective, double[] theta)
    {
        try { return double.IsFinite(objective.Evaluate(theta, Span<double>.Empty)); }
        catch (UnstableModelException) { return false; }
    }

    [Fact]
    public void LogSpacedStepsStartAtOneEndAtLastAndIncrease()
    {
        var s = ReproductionTraining.LogSpacedSteps(3000, 20);
        Assert.Equal(1, s[0]);
        Assert.Equal(3000, s[^1]);
        for (int i = 1; i < s.Length; i++) Assert.True(s[i] > s[i - 1]);
        Assert.InRange(s.Length, 60, 90); // ≈ 20 per decade over 3.5 decades plus the dense start
    }

    [Fact]
    public void PlateausReportBuildsFigureAndClaimsFromSyntheticCurves()
    {
        string dir = Directory.CreateTempSubdirectory("li21-plateaus-").FullName;
        try
        {
            var curves = new DataTable("panel", "run", "step", "loss");
            var plateaus = new DataTable("panel", "run", "count", "total_steps", "total_fraction", "initial_loss", "final_loss", "first_start", "first_end", "seconds");
            for (int panel = 0; panel < 4; panel++)
                for (int run = 0; run < 3; run++)
                {
                    // Panel 0: smooth exponential decay; the others: a plateau at 1 until step 300, then a drop.
                    var losses = Enumerable.Range(1, 1000).Select(s => panel == 0 ? Math.Exp(-s / 100.0) : s < 300 ? 1.0 : 1e-3 + Math.Exp(-(s - 300) / 20.0)).ToArray();
                    var summary = PlateauDetector.Detect(losses);
                    foreach (long step in ReproductionTraining.LogSpacedSteps(losses.Length))
                        curves.Add(panel, run, step, losses[step - 1]);
                    plateaus.Add(panel, run, summary.Count, summary.TotalSteps, summary.TotalFraction, losses[0], losses[^1], double.NaN, double.NaN, 0.1);
                }
            curves.Save(Path.Combine(dir, "curves.csv"));
            plateaus.Save(Path.Combine(dir, "plateaus.csv"));
            var exp = new PlateausExperiment();
            var section = Specs.Report(exp, dir);
            Assert.Single(section.Figures);
            Assert.Equal(4, section.Claims.Count);
            Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ImpulseResponseOfALinearElmanRnnIsCTimesWToTheSTimesU()
    {
        var rnn = new ElmanRecurrence<double>(1, 3, Activation.Identity);
        var model = new SequenceModel<double>(new LayerStack<double>(["rnn", "readout"], [rnn, new Dense<double>(3, 1)]));
        model.Initialize(3);
        using var pool = new WorkerPool(1);
        var impulse = MemoryFunctionExperiment.ImpulseResponse(model, 12, pool);
        var m = MemoryFunction.Estimate(model, 12, new MemoryFunctionOptions { Amplitudes = [0.5] }, pool).Values;
        for (int t = 0; t < 12; t++) Assert.Equal(Math.Abs(impulse[t]), m[t], 12);
        Assert.Contains(impulse, v => Math.Abs(v) > 1e-3);
        Assert.Equal(0.0, MemoryFunctionExperiment.RelativeL2([1, 0.5], [-1, 0.5]), 15);
        Assert.Equal(0.5 / Math.Sqrt(1.25), MemoryFunctionExperiment.RelativeL2([1, 0], [1, 0.5]), 12);
    }

    [Fact]
    public void MemoryFunctionReportBuildsFigureAndClaimsFromSyntheticData()
    {
        string dir = Directory.CreateTempSubdirectory("memory-function-").FullName;
        try
        {
            var functions = new DataTable("target", "t", "target_abs", "linear_m", "linear_impulse_abs", "tanh_m");
            var summary = new DataTable("target", "linear_final_loss", "tanh_final_loss", "linear_exactness", "linear_rel_l2", "tanh_rel_l2");
            for (int k = 0; k < 2; k++)
            {
                for (int t = 0; t < 20; t++)
                {
                    double r = Math.Pow(0.9, t);
                    functions.Add(k, t, r, r, r, 1.1 * r);
                }
                summary.Add(k, 1e-5, 1e-3, 1e-15, 0.01, 0.3);
            }
            functions.Save(Path.Combine(dir, "memory-functions.csv"));
            summary.Save(Path.Combine(dir, "summary.csv"));
            var exp = new MemoryFunctionExperiment();
            var section = Specs.Report(exp, dir);
            Assert.Single(section.Figures);
            Assert.Equal(6, section.Claims.Count);
            Assert.Equal(4, section.Claims.Count(c => c.Status == ClaimStatus.Holds));
            Assert.Equal(2, section.Claims.Count(c => c.Status == ClaimStatus.Fails)); // the tanh distance 0.3 exceeds 0.25
        }
        finally { Directory.Delete(dir, true); }
    }
}
