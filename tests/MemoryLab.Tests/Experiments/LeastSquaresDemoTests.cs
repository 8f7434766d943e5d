using MemoryLab.Experiments;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Experiments;

public class LeastSquaresDemoTests
{
    private static (double[] A, double[] B) Problem(int rows, int cols)
    {
        var a = new double[rows * cols];
        var b = new double[rows];
        new CounterRng(11, RandomPurpose.Data).FillNormal<double>(a);
        new CounterRng(11, RandomPurpose.Teacher).FillNormal<double>(b);
        return (a, b);
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        var (a, b) = Problem(150, 7); // 3 chunks, the last one partial
        var pool = new WorkerPool(1);
        var objective = new LeastSquaresObjective(a, b, 150, 7, pool);
        var theta = new double[7];
        new CounterRng(12, RandomPurpose.Init).FillNormal<double>(theta);
        var result = GradientCheck.Check(objective, theta);
        Assert.True(result.MaxRelativeError <= 1e-6, result.ToString());
        Assert.Equal(7, result.Checked);
    }

    [Fact]
    public void LossAndGradientHaveTheSameBitsOnAnyThreadCount()
    {
        var (a, b) = Problem(700, 13);
        var theta = Enumerable.Range(0, 13).Select(i => Math.Sin(i)).ToArray();
        double[] Eval(int threads, out double loss)
        {
            var pool = new WorkerPool(threads);
            var g = new double[13];
            loss = new LeastSquaresObjective(a, b, 700, 13, pool).Evaluate(theta, g);
            if (threads > 1) pool.Dispose(); // (disposing a one-thread pool throws: see the report)
            return g;
        }
        var g1 = Eval(1, out double l1);
        var g3 = Eval(3, out double l3);
        Assert.Equal(BitConverter.DoubleToInt64Bits(l1), BitConverter.DoubleToInt64Bits(l3));
        Assert.Equal(g1.Select(BitConverter.DoubleToInt64Bits), g3.Select(BitConverter.DoubleToInt64Bits));
        // Matches the definition ½/m ‖Ax − b‖² computed directly.
        double direct = 0;
        for (int i = 0; i < 700; i++)
        {
            double r = -b[i];
            for (int j = 0; j < 13; j++) r += a[i * 13 + j] * theta[j];
            direct += r * r;
        }
        Assert.Equal(0.5 * direct / 700, l1, 1e-12);
    }

    [Fact]
    public void GradientDescentReachesTheLeastSquaresOptimumOrDiverges()
    {
        var kind = new LeastSquaresDemoExperiment();
        RunSummary Run(double lr)
        {
            var spec = SpecParser.ParseText($"kind: least-squares-demo\nseed: 2\nproblem: {{rows: 200, cols: 10, noise: 0.1}}\noptimizer: {{lr: {lr}, steps: 300}}\ncheckpoint: true\n", "t.yaml");
            new ExperimentRegistry().Register(kind).Resolve(spec, out ulong seed);
            using var dir = new TempDirectory();
            using var sink = new CsvMetricSink(Path.Combine(dir.Path, "m.csv"));
            var summary = kind.Run(spec, new RunContext("test", dir.Path, seed, sink, new WorkerPool(1)));
            if (summary.Status == RunStatus.Completed)
            {
                var layout = new ParameterLayout();
                layout.Add("x", "weights", 10);
                Assert.Equal(10, SafeTensors.Restore<double>(Path.Combine(dir.Path, ResultsStore.CheckpointFileName), layout).Length);
            }
            return summary;
        }
        var good = Run(0.5);
        Assert.Equal(RunStatus.Completed, good.Status);
        // Excess loss over the normal-equations optimum is tiny, and the noise floor ≈ σ²(m − n)/(2m).
        Assert.InRange(good.Metrics["excess_loss"], -1e-12, 1e-9);
        Assert.InRange(good.Metrics["final_loss"], 0.5 * 0.01 * 190 / 200 * 0.6, 0.5 * 0.01 * 190 / 200 * 1.4);
        Assert.True(good.Metrics["grad_norm"] < 1e-6);
        Assert.True(good.Metrics["initial_loss"] > 100 * good.Metrics["final_loss"]);
        var bad = Run(4.0);
        Assert.Equal(RunStatus.Diverged, bad.Status);
        Assert.Contains("lr 4", bad.Message);
    }
}
