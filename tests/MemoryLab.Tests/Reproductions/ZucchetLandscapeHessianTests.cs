using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Theory;
using MemoryLab.Training;
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
        Assert.Equal(8, section.Claims.Count);
        // Every claim of the exact landscapes holds: slopes −3 and −2, exp bounded by 1/4, opt exactly 1, closed forms.
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        var side = section.Claims.Single(c => c.Id == "omega-theta-held-adds-phase-term");
        Assert.Contains("20.5", side.MeasuredText);
    }

    [Fact]
    public void OmegaNuCurvatureOfTheOptMapIsOneWithThetaFixedAndPicksUpThePhaseWithOmegaThetaHeld()
    {
        // Zucchet24 Fig. 6 holds θ fixed: the tanh magnitude map's normalised curvature is exactly 1 for white noise.
        double nu = 0.99, theta = Math.PI / 100;
        var fixedTheta = EigenvalueCoordinates.Mapped(new EigenvalueMap(MagnitudeMap.Tanh, PhaseMap.Direct));
        var real = new TeacherStudentLoss(new Complex(nu, 0), fixedTheta, normalised: true);
        Assert.Equal(1.0, LandscapesExperiment.SecondDerivative(real, fixedTheta.FromLambda(new Complex(nu, 0)), 0), 1e-6);
        // With ω_θ held the scaled phase moves: the exact loss's curvature is the known extra term (≈ 20.5 at ν = 0.99).
        var opt = EigenvalueCoordinates.Mapped(EigenvalueMap.Optimal);
        var teacher = Complex.FromPolarCoordinates(nu, theta);
        var loss = new TeacherStudentLoss(teacher, opt, normalised: true);
        double measured = LandscapesExperiment.SecondDerivative(loss, opt.FromLambda(teacher), 0);
        double predicted = LandscapesExperiment.OmegaThetaHeldCurvature(nu, theta);
        Assert.Equal(predicted, measured, 1e-5 * predicted);
        Assert.InRange(predicted, 20, 21);
    }

    [Fact]
    public void SecondDerivativeOfThePlainLossAtTheTeacherIsTheSensitivity()
    {
        // L''(λ*) = E[(dh/dλ)²] = (1+λ²)/(1−λ²)³ for white noise (Zucchet24 §2.2).
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
        Assert.Equal(3, section.Claims.Count);
        Assert.Contains("direct", section.Claims[2].MeasuredText);
        Assert.All(section.Claims, c => Assert.NotEqual(ClaimStatus.Inconclusive, c.Status));
    }

    [Fact]
    public void LearnThetaWithAdamStateDiscardedTakesSignSteps()
    {
        // The authors' figures/learn_theta.ipynb discards Adam's state each step: every update is −lr·g/(|g| + ε), a step of
        // exactly lr per coordinate (|g| ≫ ε). The trajectory's first recorded steps must move each coordinate by lr per step.
        var e = new LearnThetaExperiment();
        var ctx = Context("theta-sign");
        var settings = Specs.Settings(e) with { Steps = 40, ContourPoints = 3, RecordEvery = 1 };
        Assert.False(settings.KeepAdamState);
        Assert.False(settings.Normalised);
        e.Run(ctx, settings);
        var traj = DataTable.Load(ctx.File("trajectories.csv")).Where("map", 0);
        for (int i = 1; i < 40; i++)
        {
            Assert.Equal(settings.LearningRate, Math.Abs(traj.Rows[i]["omega_nu"] - traj.Rows[i - 1]["omega_nu"]), 1e-9);
            Assert.Equal(settings.LearningRate, Math.Abs(traj.Rows[i]["omega_theta"] - traj.Rows[i - 1]["omega_theta"]), 1e-9);
        }
        // Ordinary Adam's steps shrink once its moments average opposite gradients; its first step is also lr.
        var kept = Context("theta-kept");
        e.Run(kept, settings with { KeepAdamState = true });
        var k = DataTable.Load(kept.File("trajectories.csv")).Where("map", 0);
        Assert.Equal(settings.LearningRate, Math.Abs(k.Rows[1]["omega_theta"] - k.Rows[0]["omega_theta"]), 1e-9);
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

    [Fact]
    public void AuthorsEffectiveRateIsTheUnitGradientStepOfAdamAndItsFlooredGeometricMean()
    {
        // Known answers. Before any step, Adam's step for a unit gradient is lr·1/(1 + ε) (m̂ = v̂ = 1).
        var layout = new ParameterLayout();
        layout.Add("w", "weights", 3);
        var adam = new Adam<double>(layout);
        Assert.Equal(1e-3 / (1 + 1e-8), adam.UnitGradientStep(0, 1e-3), 15);
        // After one step with gradient g = (−2, 0.5, 0): m = 0.1g, v = 0.001g², t = 1; the next unit-gradient step at t = 2 is
        // lr·m̂/(√v̂ + ε), m̂ = (0.09g + 0.1)/(1 − 0.81), v̂ = (0.000999g² + 0.001)/(1 − 0.998001).
        var theta = new double[3];
        double[] g = [-2, 0.5, 0];
        adam.Step(theta, g, 1e-3);
        for (int i = 0; i < 3; i++)
        {
            double mhat = (0.09 * g[i] + 0.1) / (1 - 0.81), vhat = (0.999 * 0.001 * g[i] * g[i] + 0.001) / (1 - 0.999 * 0.999);
            Assert.Equal(1e-3 * mhat / (Math.Sqrt(vhat) + 1e-8), adam.UnitGradientStep(i, 1e-3), 12);
        }
        Assert.True(adam.UnitGradientStep(0, 1e-3) < 0);   // the accumulated gradient points the other way: a negative step
        // The authors' summary: a geometric mean in which negative steps count as 10⁻⁸.
        Assert.Equal(Math.Sqrt((1e-3 + 1e-8) * 1e-8), HessianExperiment.AuthorsEffectiveRate([1e-3, -5e-4]), 15);
        Assert.Equal(1e-4 + 1e-8, HessianExperiment.AuthorsEffectiveRate([1e-4]), 15);
    }
}
