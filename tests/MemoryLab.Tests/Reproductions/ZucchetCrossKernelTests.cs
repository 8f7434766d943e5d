using System.Numerics;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Theory;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

/// <summary>zucchet24-cross-kernel (Zucchet24 Fig. 8): the series, the authors' hand-written formula and the report.</summary>
public sealed class ZucchetCrossKernelTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "memlab-ck-" + Guid.NewGuid().ToString("N"));
    private readonly WorkerPool _pool = new(1);

    public ZucchetCrossKernelTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _pool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void The_notebook_formula_matches_S_at_rho_zero_and_one_and_gives_519_7_at_the_documented_point()
    {
        // Known answers: S(0.9, 0.9; 0.5) = 778.117 (mixed derivative of f, and its series); the notebook's estimate gives 519.66.
        Assert.Equal(778.117, SignalPropagation.CrossKernel(0.9, 0.9, 0.5), 3);
        Assert.Equal(519.66, CrossKernelExperiment.NotebookEstimate(0.9, 0.9, 0.5).Real, 2);
        Assert.Equal(778.117, CrossKernelExperiment.SeriesCrossKernel(0.9, 0.9, 0.5, 2000).Real, 3);
        var l = Complex.FromPolarCoordinates(0.95, 1.1);
        var m = Complex.FromPolarCoordinates(0.99, Math.PI / 4);
        foreach (double rho in new[] { 0.0, 1.0 })
        {
            var s = SignalPropagation.CrossKernel(l, m, rho);
            Assert.True(Complex.Abs(CrossKernelExperiment.NotebookEstimate(l, m, rho) - s) < 1e-10 * Complex.Abs(s));
        }
        // ρ = 1: S factorises into 1/((1−λ)²(1−μ)²).
        Assert.True(Complex.Abs(SignalPropagation.CrossKernel(l, m, 1) - 1 / ((1 - l) * (1 - l) * (1 - m) * (1 - m))) < 1e-9);
    }

    [Fact]
    public void The_report_locates_the_peaks_and_every_claim_holds_on_a_small_grid()
    {
        var e = new CrossKernelExperiment();
        var ctx = Specs.Context(_dir, _pool);
        // A coarser grid than the authors' (the phase grid still contains ±π/4 within 0.02).
        var settings = Specs.Settings(e) with { Magnitudes = 100, Phases = 251, ImagePoints = 21, SeriesTerms = 3000 };
        e.Run(ctx, settings);
        var section = Specs.Report(e, _dir, settings);
        Assert.Single(section.Figures);
        Assert.Equal(6, section.Claims.Count);   // five declared, one instance per ρ ≥ 0.999
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        var summary = DataTable.Load(ctx.File("summary.csv"));
        // White noise: |S(λ̄₀, λ₀)| = |1 + |λ₀|²| / (1 − |λ₀|²)³ = 1.9801 / 0.0199³.
        double expected = (1 + 0.99 * 0.99) / Math.Pow(1 - 0.99 * 0.99, 3);
        Assert.Equal(expected, summary.Where("rho", 0.0).Rows[0]["at_conjugate"], 1e-6 * expected);
    }
}
