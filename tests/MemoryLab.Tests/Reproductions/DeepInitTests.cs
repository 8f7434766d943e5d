using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public class DeepInitTests
{
    private static readonly DeepInitExperiment.Sizes Tiny = new(6, 8, 4, 200, 1);

    [Fact]
    public void ComplexDiagonalGradientsGrowWithMemoryWhileTheLruStaysBounded()
    {
        using var pool = new WorkerPool(1);
        var c1 = DeepInitExperiment.Measure("crnn", NormKind.None, 1, Tiny, 0, pool);
        var c100 = DeepInitExperiment.Measure("crnn", NormKind.None, 100, Tiny, 0, pool);
        var l10 = DeepInitExperiment.Measure("lru", NormKind.None, 10, Tiny, 0, pool);
        var l100 = DeepInitExperiment.Measure("lru", NormKind.None, 100, Tiny, 0, pool);
        foreach (var m in new[] { c1, c100, l10, l100 })
            Assert.True(m.X2Block1 > 0 && m.X2Block4 > 0 && m.G2Recurrent > 0 && m.G2Rest > 0 && double.IsFinite(m.G2Recurrent));
        // (1−λ)^−3 sensitivity: from T = 1 to T = 100 the cRNN's eigenvalue gradients grow by many decades.
        Assert.True(c100.G2Recurrent > 1e4 * c1.G2Recurrent, $"cRNN: {c1.G2Recurrent} → {c100.G2Recurrent}");
        Assert.True(c100.X2Block4 > 10 * c1.X2Block4, $"cRNN variance: {c1.X2Block4} → {c100.X2Block4}");
        // The LRU's normalisation + exp map keep the T = 10 → 100 change small.
        Assert.InRange(l100.G2Recurrent / l10.G2Recurrent, 0.1, 10);
        Assert.InRange(l100.X2Block4 / l10.X2Block4, 0.5, 2);
    }

    [Fact]
    public void MeasureRejectsBadSettings()
    {
        using var pool = new WorkerPool(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => DeepInitExperiment.Measure("lru", NormKind.None, 0.5, Tiny, 0, pool));
        Assert.Throws<ArgumentException>(() => DeepInitExperiment.RecurrentLayer("lstm", 4, 10));
    }

    [Fact]
    public void TheLruGradientIsReportedPerParameterAndOnlyTheAngleGrowsWithMemory()
    {
        using var pool = new WorkerPool(1);
        var c = DeepInitExperiment.Measure("crnn", NormKind.None, 10, Tiny, 0, pool);
        Assert.True(double.IsNaN(c.G2NuLog) && double.IsNaN(c.G2ThetaLog) && double.IsNaN(c.G2GammaLog), "the cRNN has no ν_log, θ_log, γ_log");
        var l1 = DeepInitExperiment.Measure("lru", NormKind.None, 1, Tiny, 0, pool);
        var l100 = DeepInitExperiment.Measure("lru", NormKind.None, 100, Tiny, 0, pool);
        foreach (var m in new[] { l1, l100 })
        {
            Assert.True(m.G2NuLog > 0 && m.G2ThetaLog > 0 && m.G2GammaLog > 0);
            // The lumped recurrent group is the parameter-count-weighted mean of the three (each has one entry per neuron).
            Assert.Equal((m.G2NuLog + m.G2ThetaLog + m.G2GammaLog) / 3, m.G2Recurrent, 1e-6 * m.G2Recurrent);
        }
        // Zucchet24 §5: in the LRU only the angle's gradients explode.
        Assert.True(l100.G2ThetaLog / l1.G2ThetaLog > 30 * (l100.G2NuLog / l1.G2NuLog),
            $"θ_log ×{l100.G2ThetaLog / l1.G2ThetaLog}, ν_log ×{l100.G2NuLog / l1.G2NuLog}");
    }

    private static DataTable Synthetic(Func<int, double, double> thetaGradient, Func<int, double, double> nuGradient)
    {
        var t = new DataTable("config", "memory", "repeat", "x2_block1", "x2_block4", "g2_recurrent", "g2_rest", "g2_nu_log", "g2_theta_log", "g2_gamma_log");
        for (int c = 0; c < DeepInitExperiment.Configs.Length; c++)
            foreach (double T in Specs.Settings(new DeepInitExperiment()).Memories)
            {
                bool explodes = c == 0;
                double x = explodes ? T * T : 1, g = c is 0 or 3 or 4 ? Math.Pow(T, 3) : 1 + 0.01 * T;
                bool lru = DeepInitExperiment.Configs[c].Layer == "lru";
                t.Add(c, T, 0, x, x, g, 1e-6, lru ? nuGradient(c, T) : double.NaN, lru ? thetaGradient(c, T) : double.NaN, lru ? 1e-6 : double.NaN);
            }
        return t;
    }

    private static ReportSection ReportOf(DataTable t)
    {
        using var dir = new TempDirectory();
        t.Save(Path.Combine(dir.Path, "deep-init.csv"));
        return Specs.Report(new DeepInitExperiment(), dir.Path);
    }

    [Fact]
    public void ReportBuildsTheFigureAndChecksTheClaimsFromTheFile()
    {
        var section = ReportOf(Synthetic((_, T) => 1e-6 * T * T, (_, T) => 1e-7 * (1 + 0.01 * T)));
        Assert.Single(section.Figures);
        Assert.Equal(8, section.Claims.Count);
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));

        // The lumped recurrent group would hide which LRU parameter explodes: each claim reads its own column.
        var nuExplodes = ReportOf(Synthetic((_, T) => 1e-6, (_, T) => 1e-7 * T * T));
        Assert.Equal(ClaimStatus.Fails, nuExplodes.Claims.Single(c => c.Id == "lru-nu-gradient-roughly-flat").Status);
        Assert.Equal(ClaimStatus.Fails, nuExplodes.Claims.Single(c => c.Id == "lru-theta-gradient-explodes").Status);
    }

    /// <summary>Bytes <paramref name="build"/> allocates on this thread (Prepare allocates on the calling thread).</summary>
    private static long Allocated(Func<object> build)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(build());
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void AStackKeepsTwoGradientBuffersPerShapeWhateverItsDepth()
    {
        using var pool = new WorkerPool(1);
        const int batch = 4, time = 64, d = 16;
        long Stack(int layers) => Allocated(() =>
        {
            var s = new LayerStack<float>(Enumerable.Range(0, layers).Select(_ => (ISequenceLayer<float>)new Gelu<float>(d)).ToArray());
            s.Prepare(batch, time, pool);
            return s;
        });
        // Six more layers keep six more activations (the backward pass reads them), but no more gradient buffers.
        double tensors = (Stack(9) - Stack(3)) / (batch * time * d * 4.0);
        Assert.InRange(tensors, 5.9, 6.5);
    }

    [Fact]
    public void TheBlocksOfADeepStackShareTheirGradientBuffers()
    {
        // Zucchet24's network at paper scale is 128 × 512 × 256 floats (64 MiB) per buffer; every buffer a block keeps costs that.
        using var pool = new WorkerPool(1);
        const int batch = 4, time = 512, d = 16;
        long Deep(int blocks) => Allocated(() =>
        {
            var s = new DeepStack<float>(d, d, d, blocks, _ => DeepInitExperiment.RecurrentLayer("crnn", d, 10));
            s.Declare(new ParameterLayout(), ""); // a layer's weights are laid out before its kernel is prepared
            s.Prepare(batch, time, pool);
            return s;
        });
        // What a cRNN block must keep for the backward pass: its output, the RNN's and the GELU's outputs, the states h (real,
        // imaginary), the GLU's two halves: 7 buffers. Gradients between layers and of the GLU's halves live only inside a
        // block's backward pass and are shared (with them a block cost ≈ 14 buffers). The recurrence's adjoint states g and its
        // kernel's scratch are still its own (the diagonal kernels own their buffers): ≈ 2 buffers more.
        double perBlock = (Deep(6) - Deep(2)) / 4.0 / (batch * time * d * 4.0);
        Assert.InRange(perBlock, 8.5, 9.5);
    }

    [Fact]
    public void ASweepThatCannotFitFailsBeforeItRuns()
    {
        using var pool = new WorkerPool(1);
        // One measurement at these sizes needs hundreds of GiB (about 60 buffers of 30,000 × 512 × 64 floats): a clear error, not the OOM killer.
        var huge = new DeepInitExperiment.Sizes(64, 64, 30_000, 512, 1);
        var e = Assert.Throws<InvalidOperationException>(() => DeepInitExperiment.CheckFits(huge, pool));
        Assert.Contains("cannot fit", e.Message);
        Assert.Contains("GiB", e.Message);
        DeepInitExperiment.CheckFits(Tiny, pool);
        // The estimate is what a measurement allocates.
        long measured = Allocated(() => DeepInitExperiment.Measure("gru", NormKind.Layer, 10, Tiny, 0, pool));
        double estimate = DeepInitExperiment.BytesPerMeasurement("gru", NormKind.Layer, Tiny, pool);
        Assert.InRange(estimate / measured, 0.9, 1.1);
    }
}
