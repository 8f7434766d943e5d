using System.Numerics;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Theory;

namespace MemoryLab.Tests.Theory;

public class TeacherStudentLossTests
{
    [Theory]
    [InlineData(0.6, 0.0, 0.9, 0.0, 0.0, 1.0, false)]
    [InlineData(0.6, 0.0, 0.9, 0.0, 0.7, 0.5, false)]
    [InlineData(0.5, 0.4, 0.8, -0.3, 0.5, 1.0, false)]
    [InlineData(0.5, 0.4, 0.8, -0.3, 0.0, 1.0, true)]
    [InlineData(0.7, 0.0, 0.95, 0.0, 0.4, 2.0, true)]
    public void Loss_matches_monte_carlo_of_the_recurrences(double re, double im, double tre, double tim, double mean, double variance, bool normalised)
    {
        var student = new Complex(re, im);
        var teacher = new Complex(tre, tim);
        var loss = new TeacherStudentLoss(teacher, EigenvalueCoordinates.Cartesian, mean, variance, normalised);
        const int n = 4000, steps = 500;
        var input = InputProcess.WhiteNoise(Math.Sqrt(variance), mean);
        var root = new CounterRng(31, RandomPurpose.MonteCarlo);
        var x = new double[steps];
        double g = normalised ? SignalPropagation.Normalisation(student) : 1, gs = normalised ? SignalPropagation.Normalisation(teacher) : 1;
        var samples = new double[n];
        for (int s = 0; s < n; s++)
        {
            input.Sample(root.Fork((ulong)s), x);
            Complex h = 0, ht = 0;
            for (int t = 0; t < steps; t++) { h = student * h + x[t]; ht = teacher * ht + x[t]; }
            double d = Complex.Abs(g * h - gs * ht);
            samples[s] = 0.5 * d * d;
        }
        double m = samples.Average();
        double se = Math.Sqrt(samples.Sum(v => (v - m) * (v - m)) / (n - 1) / n);
        double exact = loss.Loss(student);
        Assert.True(Math.Abs(m - exact) <= 3 * se, $"MC {m:G6} ± {se:G3} vs closed form {exact:G6}");
        Assert.True(se < 0.05 * exact);
    }

    [Fact]
    public void Normalised_loss_has_its_closed_form_and_vanishes_at_the_teacher()
    {
        var teacher = Complex.FromPolarCoordinates(0.95, 0.3);
        var loss = new TeacherStudentLoss(teacher, EigenvalueCoordinates.Polar, normalised: true);
        foreach (var l in new[] { Complex.FromPolarCoordinates(0.5, -0.4), Complex.FromPolarCoordinates(0.99, 0.31) })
        {
            double g = Math.Sqrt(1 - l.Magnitude * l.Magnitude), gs = Math.Sqrt(1 - 0.95 * 0.95);
            double expected = 1 - (g * gs / (1 - l * Complex.Conjugate(teacher))).Real;
            Assert.Equal(expected, loss.Loss(l), 1e-12);
        }
        var grad = new double[2];
        Assert.Equal(0.0, loss.Evaluate(loss.Coordinates.FromLambda(teacher), grad), 1e-12);
        Assert.True(grad.All(v => Math.Abs(v) < 1e-9));
        var plain = new TeacherStudentLoss(teacher, EigenvalueCoordinates.Cartesian, 0.3, 1.0);
        Assert.Equal(0.0, plain.Loss(teacher), 1e-10);
        Assert.Throws<ArgumentOutOfRangeException>(() => plain.Loss(new Complex(1.0, 0.1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TeacherStudentLoss(1.2, EigenvalueCoordinates.Real));
    }

    public static IEnumerable<object[]> Coordinates() =>
    [
        ["cartesian"], ["polar"], ["lru"], ["optimal"], ["exp-scaled"],
    ];

    private static EigenvalueCoordinates Coords(string name) => name switch
    {
        "cartesian" => EigenvalueCoordinates.Cartesian,
        "polar" => EigenvalueCoordinates.Polar,
        "lru" => EigenvalueCoordinates.Mapped(EigenvalueMap.Lru),
        "optimal" => EigenvalueCoordinates.Mapped(EigenvalueMap.Optimal),
        _ => EigenvalueCoordinates.Mapped(new EigenvalueMap(MagnitudeMap.Exp, PhaseMap.Scaled)),
    };

    [Theory]
    [MemberData(nameof(Coordinates))]
    public void Gradients_pass_finite_difference_checks(string coordinates)
    {
        var coords = Coords(coordinates);
        var teacher = Complex.FromPolarCoordinates(0.9, 0.25);
        foreach (bool normalised in new[] { false, true })
            foreach (double mean in new[] { 0.0, 0.8 })
            {
                var loss = new TeacherStudentLoss(teacher, coords, mean, 1.3, normalised);
                var theta = coords.FromLambda(Complex.FromPolarCoordinates(0.7, 0.9));
                var r = GradientCheck.Check(loss, theta, layout: loss.Layout);
                Assert.True(r.MaxRelativeError < 1e-6, $"{coordinates} normalised={normalised} μ={mean}: {r}");
            }
        var real = new TeacherStudentLoss(0.9, EigenvalueCoordinates.Real, 0.5, 1, false);
        Assert.True(GradientCheck.Check(real, [0.6]).MaxRelativeError < 1e-6);
        var realNorm = new TeacherStudentLoss(0.9, EigenvalueCoordinates.Real, 0, 1, true);
        Assert.True(GradientCheck.Check(realNorm, [-0.4]).MaxRelativeError < 1e-6);
    }
}
