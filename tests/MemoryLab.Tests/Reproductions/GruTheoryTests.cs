using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public class GruTheoryTests
{
    [Fact]
    public void MeasureGivesPerUnitMomentsNearTheTheory()
    {
        using var pool = new WorkerPool(1);
        var sizes = new GruTheoryExperiment.Sizes(8, 2, 24, 3, 200, 256);
        var m = GruTheoryExperiment.Measure(4, sizes, 0, pool);
        Assert.Equal(24, m.H2.Length);
        Assert.All(m.H2, v => Assert.True(v > 0 && double.IsFinite(v)));
        Assert.All(m.G2, v => Assert.True(v > 0 && double.IsFinite(v)));
        // A loose order-of-magnitude check against the linear theory (the tanh and gate noise make the GRU smaller).
        Assert.InRange(m.H2.Average() / GruTheoryExperiment.TheoryState(4), 0.1, 3);
        Assert.InRange(m.G2.Average() / GruTheoryExperiment.TheorySensitivity(4), 0.1, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => GruTheoryExperiment.Measure(1, sizes, 0, pool));
    }

    [Fact]
    public void SummedBiasGradientIsEachUnitsOwnDerivative()
    {
        // With W_hh = 0 the units are independent: ∂(Σ_i h_T,i)/∂b_z,j must equal ∂h_T,j/∂b_z,j (central differences on one unit).
        using var pool = new WorkerPool(1);
        const int units = 4, time = 60, inputs = 3;
        var (gru, layout, theta) = GruTheoryExperiment.Build(6, inputs, units, 1);
        gru.Prepare(1, time, pool);
        var x = new SequenceTensor<double>(1, time, inputs);
        MemoryLab.Targets.InputProcess.Fill(MemoryLab.Targets.InputProcess.BertLike(), 3, 0, x);
        var y = new SequenceTensor<double>(1, time, units);
        var dy = new SequenceTensor<double>(1, time, units);
        dy.Sequence(0).Slice((time - 1) * units, units).Fill(1);
        var gradient = new double[layout.Count];
        gru.Forward(theta, x, y, training: true);
        gru.Backward(theta, dy, null, gradient);
        var gz = gru.InputBias.Of(gradient).Slice(units, units).ToArray();
        int bz = gru.InputBias.Offset + units;
        double Last(int j, double shift)
        {
            var t = (double[])theta.Clone();
            t[bz + j] += shift;
            gru.Forward(t, x, y, training: false);
            return y[0, time - 1, j];
        }
        for (int j = 0; j < units; j++)
        {
            const double e = 1e-5;
            double fd = (Last(j, e) - Last(j, -e)) / (2 * e);
            Assert.Equal(fd, gz[j], 1e-7 + 1e-6 * Math.Abs(fd));
        }
        Assert.All(gz, g => Assert.NotEqual(0, g));
    }

    [Fact]
    public void ReportBuildsTheFigureAndChecksTheClaimsFromTheFile()
    {
        using var dir = new TempDirectory();
        void Write(double stateFactor, double sensitivityFactor)
        {
            var t = new DataTable("memory", "unit", "h2", "g2");
            foreach (double T in GruTheoryExperiment.MemoryGrid(6, 256))
                for (int u = 0; u < 3; u++)
                    t.Add(T, u, stateFactor * GruTheoryExperiment.TheoryState(T) * (1 + 0.01 * u), sensitivityFactor * GruTheoryExperiment.TheorySensitivity(T));
            t.Save(Path.Combine(dir.Path, "gru-theory.csv"));
        }
        Write(0.8, 1.5);
        var section = Specs.Report(new GruTheoryExperiment(), dir.Path);
        Assert.Single(section.Figures);
        Assert.Equal(4, section.Claims.Count);
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));

        // Off by ×5 everywhere: the factor-3 claim on the sensitivity fails, its slope claim still holds.
        Write(1, 5);
        var off = Specs.Report(new GruTheoryExperiment(), dir.Path);
        Assert.Equal(ClaimStatus.Holds, off.Claims[0].Status);
        Assert.NotEqual(ClaimStatus.Holds, off.Claims[2].Status);
        Assert.Equal(ClaimStatus.Holds, off.Claims[3].Status);
    }

    [Fact]
    public void MemoryGridAndSlope()
    {
        var grid = GruTheoryExperiment.MemoryGrid(8, 256);
        Assert.Equal(2, grid[0], 1e-12);
        Assert.Equal(256, grid[^1], 1e-9);
        Assert.Equal(-1.5, GruTheoryExperiment.LogLogSlope(grid, grid.Select(T => 3 * Math.Pow(T, -1.5)).ToArray()), 1e-12);
    }
}
