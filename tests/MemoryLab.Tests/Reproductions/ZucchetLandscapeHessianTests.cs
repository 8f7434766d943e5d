using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Theory;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

public sealed class ZucchetLandscapeHessianTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "memlab-z1-" + Guid.NewGuid().ToString("N"));
    private readonly WorkerPool _pool = new(1);

    public ZucchetLandscapeHessianTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _pool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ReproductionContext Context(string sub)
    {
        var d = Path.Combine(_dir, sub);
        Directory.CreateDirectory(d);
        return Specs.Context(d, _pool);
    }

    [Fact]
    public void LandscapesReportBuildsFiguresAndTheCubicSlopeHolds()
    {
        var e = new LandscapesExperiment();
        var ctx = Context("landscapes");
        e.Run(ctx, Specs.Settings(e));
        var section = Specs.Report(e, ctx.Directory);
        Assert.Equal(3, section.Figures.Count);
        Assert.Equal(3, section.Claims.Count);
        Assert.Equal(ClaimStatus.Holds, section.Claims[0].Status);   // slope ≈ −3 from the exact loss
        Assert.Equal(ClaimStatus.Holds, section.Claims[2].Status);   // finite-difference curvature = closed form
    }

    [Fact]
    public void SecondDerivativeOfThePlainLossAtTheTeacherIsTheSensitivity()
    {
        // L''(λ*) = E[(dh/dλ)²] = (1+λ²)/(1−λ²)³ for white noise (Zucchet24 §3).
        var loss = new TeacherStudentLoss(new Complex(0.9, 0), EigenvalueCoordinates.Real);
        double c = LandscapesExperiment.SecondDerivative(loss, [0.9], 0);
        Assert.Equal(SignalPropagation.SensitivityVariance(0.9, 0), c, 1e-5 * c);
    }

    [Fact]
    public void LearnThetaReportReadsItsFiles()
    {
        var e = new LearnThetaExperiment();
        var ctx = Context("theta");
        var settings = Specs.Settings(e) with { Steps = 3000, ContourPoints = 12, RecordEvery = 50 };
        e.Run(ctx, settings);
        var section = Specs.Report(e, ctx.Directory, settings);
        Assert.Single(section.Figures);
        Assert.Single(section.Claims);
        Assert.Contains("direct", section.Claims[0].MeasuredText);
        Assert.NotEqual(ClaimStatus.Inconclusive, section.Claims[0].Status);
    }

    [Fact]
    public void HessianTeacherHasTheRequestedSpectrumAndTheReportBuilds()
    {
        var teacher = HessianExperiment.BuildTeacher(42);
        var a = teacher.Layout["A"].Of(teacher.Theta).ToArray();
        var eig = SpectralInit.Eigenvalues(a, 4);
        foreach (var l in eig) Assert.InRange(l.Magnitude, 0.99 - 1e-9, 0.993 + 1e-9);
        Assert.Equal(0, eig.Sum(l => l.Imaginary), 1e-9);   // two conjugate pairs

        var e = new HessianExperiment();
        var ctx = Context("hessian");
        var settings = Specs.Settings(e) with { Hidden = 4, Batch = 4, Steps = 12 };
        e.Run(ctx, settings);
        var section = Specs.Report(e, ctx.Directory, settings);
        Assert.Equal(2, section.Figures.Count);
        Assert.Equal(4, section.Claims.Count);
        Assert.Equal(ClaimStatus.Holds, section.Claims[3].Status);   // loss 0 at the teacher for both models
    }
}
