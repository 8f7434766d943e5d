using MemoryLab.Experiments;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

/// <summary>The reproductions whose one run spreads its independent pieces (ParallelWork) give the same files on one worker
/// as on three, where the idle workers take part of the run's loops.</summary>
public class SpreadRunsTests
{
    private static readonly string[] Tiny =
    [
        "li21-approximation-rate.omegas=[1, 2]", "li21-approximation-rate.max_width=3", "li21-approximation-rate.exponential_max_width=2",
        "li21-approximation-rate.max_iterations=10",
        "li21-plateaus.runs=2", "li21-plateaus.linear_steps=60", "li21-plateaus.airy_tanh_steps=30", "li21-plateaus.lorenz_steps=12",
        "li21-plateaus.lorenz_time=10", "li21-plateaus.airy_time=20",
        "wang24-stable-approximation.widths=[2, 3]", "wang24-stable-approximation.seeds=2", "wang24-stable-approximation.train_size=1024",
        "wang24-stable-approximation.validation_size=512", "wang24-stable-approximation.test_size=512", "wang24-stable-approximation.batch_size=256",
        "wang24-stable-approximation.max_epochs=3", "wang24-stable-approximation.repeats=2",
        "zucchet24-signal-propagation.ks=[0.5, 1]", "zucchet24-signal-propagation.rhos=[0, 1]", "zucchet24-signal-propagation.repeats=2",
        "zucchet24-signal-propagation.max_time=200", "zucchet24-signal-propagation.neurons=4",
    ];

    [Fact]
    public void One_worker_and_three_give_the_same_data_files()
    {
        using var dir = new TempDirectory();
        var selected = Specs.Reproductions.Select(["li21-approximation-rate", "li21-plateaus", "wang24-stable-approximation", "zucchet24-signal-propagation"]);
        var plans = ReproductionPlan.Create(selected, ReproductionScale.Quick, Specs.Kinds, null, Tiny);
        string one = Path.Combine(dir.Path, "one"), three = Path.Combine(dir.Path, "three");
        Reproducer.Run(plans, one, Specs.Kinds, new SweepOptions { Workers = 1 });
        var outcomes = Reproducer.Run(plans, three, Specs.Kinds, new SweepOptions { Workers = 3 });
        Assert.All(outcomes, o => Assert.Equal(0, o.Failed));
        int compared = 0;
        foreach (var plan in plans)
            foreach (var run in plan.Sweep.Runs)
            {
                string a = Path.Combine(one, plan.Reproduction.Name, run.Id), b = Path.Combine(three, plan.Reproduction.Name, run.Id);
                foreach (string file in Directory.GetFiles(a, "*.csv").Where(f => !Path.GetFileName(f).StartsWith("metrics", StringComparison.Ordinal)))
                {
                    var left = File.ReadAllLines(file);
                    var right = File.ReadAllLines(Path.Combine(b, Path.GetFileName(file)));
                    // plateaus.csv ends with each training's wall time in seconds; every other column must match.
                    if (Path.GetFileName(file) == "plateaus.csv") (left, right) = (WithoutLastColumn(left), WithoutLastColumn(right));
                    Assert.Equal(left, right);
                    compared++;
                }
            }
        Assert.Equal(6, compared);   // approximation-error, curves, plateaus, perturbation-error, signal, reparametrised
    }

    private static string[] WithoutLastColumn(string[] lines) => [.. lines.Select(l => l[..l.LastIndexOf(',')])];
}
