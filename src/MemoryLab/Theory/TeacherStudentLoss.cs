using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Theory;

/// <summary>Which real coordinates θ describe the student eigenvalue λ of a 1-D teacher–student loss.</summary>
public abstract class EigenvalueCoordinates
{
    private protected EigenvalueCoordinates() { }

    /// <summary>Number of real coordinates.</summary>
    public abstract int Dimension { get; }

    /// <summary>Coordinate names (for the parameter layout).</summary>
    public abstract IReadOnlyList<string> Names { get; }

    /// <summary>λ(θ), writing ∂λ/∂θ_k into <paramref name="derivatives"/>.</summary>
    public abstract Complex Lambda(ReadOnlySpan<double> theta, Span<Complex> derivatives);

    /// <summary>Coordinates θ of a given λ.</summary>
    public abstract double[] FromLambda(Complex lambda);

    /// <summary>Real λ = θ₀ (one coordinate).</summary>
    public static EigenvalueCoordinates Real { get; } = new RealCoordinates();

    /// <summary>λ = θ₀ + iθ₁ (Re λ, Im λ).</summary>
    public static EigenvalueCoordinates Cartesian { get; } = new CartesianCoordinates();

    /// <summary>λ = ν e^{iθ} with (ν, θ) as coordinates.</summary>
    public static EigenvalueCoordinates Polar { get; } = new MappedCoordinates(EigenvalueMap.Polar);

    /// <summary>λ = ν(ω_ν) e^{iθ(ω_θ)} under a reparametrisation (exp/LRU, tanh/"opt", scaled phase).</summary>
    public static EigenvalueCoordinates Mapped(EigenvalueMap map) => new MappedCoordinates(map);

    private sealed class RealCoordinates : EigenvalueCoordinates
    {
        public override int Dimension => 1;
        public override IReadOnlyList<string> Names { get; } = ["lambda"];
        public override Complex Lambda(ReadOnlySpan<double> theta, Span<Complex> derivatives)
        {
            derivatives[0] = Complex.One;
            return new Complex(theta[0], 0);
        }
        public override double[] FromLambda(Complex lambda)
        {
            if (lambda.Imaginary != 0) throw new ArgumentException($"real coordinates cannot represent complex λ = {lambda}");
            return [lambda.Real];
        }
    }

    private sealed class CartesianCoordinates : EigenvalueCoordinates
    {
        public override int Dimension => 2;
        public override IReadOnlyList<string> Names { get; } = ["re_lambda", "im_lambda"];
        public override Complex Lambda(ReadOnlySpan<double> theta, Span<Complex> derivatives)
        {
            derivatives[0] = Complex.One;
            derivatives[1] = Complex.ImaginaryOne;
            return new Complex(theta[0], theta[1]);
        }
        public override double[] FromLambda(Complex lambda) => [lambda.Real, lambda.Imaginary];
    }

    private sealed class MappedCoordinates(EigenvalueMap map) : EigenvalueCoordinates
    {
        public override int Dimension => 2;
        public override IReadOnlyList<string> Names { get; } = ["omega_nu", "omega_theta"];
        public override Complex Lambda(ReadOnlySpan<double> theta, Span<Complex> derivatives)
        {
            var p = map.Evaluate(theta[0], theta[1]);
            derivatives[0] = p.DLambdaDOmegaNu;
            derivatives[1] = p.DLambdaDOmegaTheta;
            return p.Lambda;
        }
        public override double[] FromLambda(Complex lambda)
        {
            var (a, b) = map.Inverse(lambda.Magnitude, lambda.Phase);
            return [a, b];
        }
        public override string ToString() => map.ToString();
    }
}

/// <summary>
/// The exact 1-D teacher–student loss of a linear recurrence (Zucchet24 §3, Fig. 1): student h(λ), teacher h(λ*),
/// inputs with mean μ and white-noise variance σ², loss ½E|u(λ) − u(λ*)|² with u = g·h:
/// <c>L(λ) = ½[μ²|g/(1−λ) − g*/(1−λ*)|² + σ²(g²/(1−|λ|²) + g*²/(1−|λ*|²) − 2gg*·Re 1/(1−λλ̄*))]</c>,
/// g = 1 (plain) or g = γ(λ) = √(1−|λ|²) (normalised: for μ = 0, σ = 1 this is 1 − Re(γγ*/(1−λλ̄*))).
/// θ ↦ (L, ∇L) in the chosen <see cref="EigenvalueCoordinates"/>. |λ| ≥ 1 throws (the loss is infinite there).
/// </summary>
public sealed class TeacherStudentLoss : IObjective<double>
{
    /// <summary>A loss with teacher λ*, coordinates, input mean μ and variance σ², plain or normalised.</summary>
    public TeacherStudentLoss(Complex teacher, EigenvalueCoordinates coordinates, double inputMean = 0, double inputVariance = 1, bool normalised = false)
    {
        ArgumentNullException.ThrowIfNull(coordinates);
        if (!(Complex.Abs(teacher) < 1)) throw new ArgumentOutOfRangeException(nameof(teacher), teacher, "teacher eigenvalue must satisfy |λ*| < 1");
        if (!double.IsFinite(inputMean)) throw new ArgumentOutOfRangeException(nameof(inputMean), inputMean, "input mean must be finite");
        if (!(inputVariance >= 0) || !double.IsFinite(inputVariance)) throw new ArgumentOutOfRangeException(nameof(inputVariance), inputVariance, "input variance must be finite and ≥ 0");
        Teacher = teacher;
        Coordinates = coordinates;
        InputMean = inputMean;
        InputVariance = inputVariance;
        Normalised = normalised;
        Layout = new ParameterLayout();
        foreach (var n in coordinates.Names) Layout.Add(n, "recurrent", 1);
    }

    /// <summary>λ*.</summary>
    public Complex Teacher { get; }
    /// <summary>The coordinates of θ.</summary>
    public EigenvalueCoordinates Coordinates { get; }
    /// <summary>μ.</summary>
    public double InputMean { get; }
    /// <summary>σ².</summary>
    public double InputVariance { get; }
    /// <summary>Whether inputs are normalised by γ(λ).</summary>
    public bool Normalised { get; }
    /// <summary>θ layout: one scalar per coordinate.</summary>
    public ParameterLayout Layout { get; }
    /// <inheritdoc />
    public int Dimension => Coordinates.Dimension;

    /// <summary>L(λ) directly.</summary>
    public double Loss(Complex lambda)
    {
        Span<double> none = stackalloc double[1];
        return Compute(lambda, ReadOnlySpan<Complex>.Empty, none[..0]);
    }

    /// <inheritdoc />
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        if (theta.Length != Dimension) throw new ArgumentException($"θ has {theta.Length} entries, the teacher–student loss expects {Dimension}");
        Span<Complex> d = stackalloc Complex[Dimension];
        Complex lambda = Coordinates.Lambda(theta, d);
        return Compute(lambda, d, gradient);
    }

    private double Compute(Complex lambda, ReadOnlySpan<Complex> dLambda, Span<double> gradient)
    {
        double m2 = lambda.Real * lambda.Real + lambda.Imaginary * lambda.Imaginary;
        if (!(m2 < 1)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "student eigenvalue left the unit disc (|λ| ≥ 1): the loss is infinite");
        Complex ts = Teacher;
        double t2 = ts.Real * ts.Real + ts.Imaginary * ts.Imaginary;
        double g = Normalised ? Math.Sqrt(1 - m2) : 1, gs = Normalised ? Math.Sqrt(1 - t2) : 1;
        Complex a = 1 / (1 - lambda), aS = 1 / (1 - ts);
        double b = 1 / (1 - m2), bS = 1 / (1 - t2);
        Complex cb = Complex.Conjugate(ts);
        Complex c = 1 / (1 - lambda * cb);
        Complex diff = g * a - gs * aS;
        double mu2 = InputMean * InputMean, s2 = InputVariance;
        double meanPart = diff.Real * diff.Real + diff.Imaginary * diff.Imaginary;
        double varPart = g * g * b + gs * gs * bS - 2 * g * gs * c.Real;
        double loss = 0.5 * (mu2 * meanPart + s2 * varPart);
        for (int k = 0; k < gradient.Length; k++)
        {
            Complex lp = dLambda[k];
            double dm2 = 2 * (Complex.Conjugate(lambda) * lp).Real;   // ∂|λ|²/∂θ_k
            double gp = Normalised ? -0.5 * dm2 / g : 0;
            Complex dDiff = gp * a + g * a * a * lp;
            double dMean = 2 * (Complex.Conjugate(diff) * dDiff).Real;
            double dVar = 2 * g * gp * b + g * g * b * b * dm2 - 2 * gp * gs * c.Real - 2 * g * gs * (c * c * cb * lp).Real;
            gradient[k] = 0.5 * (mu2 * dMean + s2 * dVar);
        }
        return loss;
    }
}
