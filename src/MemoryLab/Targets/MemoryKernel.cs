using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Targets;

/// <summary>
/// A memory kernel ρ(t), t ≥ 0, of a linear functional <c>H_t(x) = ∫_0^∞ x(t−s) ρ(s) ds</c> (Li21 §2).
/// Besides its values it knows the integrals the exact population loss needs (Li21 §2):
/// <list type="bullet">
/// <item><c>b(z) = ∫_0^∞ e^{−zt} ρ(t) dt</c> (<see cref="Laplace(double)"/>),</item>
/// <item><c>b¹(z) = ∫_0^∞ t e^{−zt} ρ(t) dt = −b'(z)</c> (<see cref="LaplaceMoment(double)"/>),</item>
/// <item><c>‖ρ‖² = ∫_0^∞ ρ(t)² dt</c> (<see cref="SquaredNorm"/>),</item>
/// </list>
/// for real z = w &gt; 0 (reduced model) and complex z with Re z ≥ 0 (general linear RNN, z = −eigenvalue of W).
/// Subclasses with closed forms override the pair methods; otherwise the defaults integrate by adaptive
/// Gauss–Kronrod quadrature (<see cref="Quadrature"/>, relative tolerance 1e−12), guided by
/// <see cref="Breakpoints"/>, <see cref="TimeScale"/> and <see cref="SupportEnd"/>. A user kernel only needs
/// <see cref="Value"/> (and ideally those hints). Kernels are immutable and thread-safe.
/// </summary>
public abstract class MemoryKernel
{
    private double _squaredNorm = double.NaN;

    /// <summary>For subclasses.</summary>
    protected MemoryKernel() { }

    /// <summary>ρ(t).</summary>
    public abstract double Value(double t);

    /// <summary>A short name for reports (e.g. <c>exp</c>, <c>pol</c>, <c>airy</c>).</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Times in (0, ∞) where ρ is not smooth or has a feature (a window edge, a bump centre, the
    /// start of decay): quadrature splits there. Empty by default.</summary>
    public virtual IReadOnlyList<double> Breakpoints => Array.Empty<double>();

    /// <summary>A typical time over which ρ changes (sets the first tail interval of the quadrature). 1 by default.</summary>
    public virtual double TimeScale => 1.0;

    /// <summary>ρ(t) = 0 for t &gt; SupportEnd (∞ by default).</summary>
    public virtual double SupportEnd => double.PositiveInfinity;

    /// <summary>b(w) = ∫_0^∞ e^{−wt} ρ(t) dt. Default: quadrature of this integral alone (so b(0) = ∫ρ works even
    /// where b¹(0) diverges); closed-form kernels override it with <c>LaplacePair(w).Value</c>.</summary>
    public virtual double Laplace(double w)
    {
        CheckArgument(new Complex(w, 0));
        Span<double> r = stackalloc double[1];
        Integrate((t, v) => v[0] = Math.Exp(-w * t) * Value(t), 1, r, double.PositiveInfinity, $"b(w) at w = {w}");
        return r[0];
    }

    /// <summary>b¹(w) = ∫_0^∞ t e^{−wt} ρ(t) dt.</summary>
    public double LaplaceMoment(double w) => LaplacePair(w).Moment;

    /// <summary>b(z) for complex z, Re z ≥ 0. Default: quadrature of this integral alone; closed-form kernels override it.</summary>
    public virtual Complex Laplace(Complex z)
    {
        CheckArgument(z);
        if (z.Imaginary == 0) return Laplace(z.Real);
        Span<double> r = stackalloc double[2];
        double re = z.Real, im = z.Imaginary;
        double maxLength = Math.Max(TimeScale, 16 * Math.PI / Math.Abs(im));
        Integrate((t, v) =>
        {
            double mag = Math.Exp(-re * t) * Value(t);
            (double s, double c) = Math.SinCos(im * t);
            v[0] = mag * c; v[1] = -mag * s;
        }, 2, r, maxLength, $"b(z) at z = {z}");
        return new Complex(r[0], r[1]);
    }

    /// <summary>b¹(z) for complex z, Re z ≥ 0.</summary>
    public Complex LaplaceMoment(Complex z) => LaplacePair(z).Moment;

    /// <summary>(b(w), b¹(w)) together (one quadrature shares the kernel evaluations). Default: quadrature.</summary>
    public virtual (double Value, double Moment) LaplacePair(double w)
    {
        CheckArgument(new Complex(w, 0));
        Span<double> r = stackalloc double[2];
        Integrate((t, v) =>
        {
            double g = Math.Exp(-w * t) * Value(t);
            v[0] = g;
            v[1] = t * g;
        }, 2, r, double.PositiveInfinity, $"b(w) at w = {w}");
        return (r[0], r[1]);
    }

    /// <summary>(b(z), b¹(z)) together for complex z. Default: quadrature of the real and imaginary parts.</summary>
    public virtual (Complex Value, Complex Moment) LaplacePair(Complex z)
    {
        CheckArgument(z);
        if (z.Imaginary == 0)
        {
            var (b, b1) = LaplacePair(z.Real);
            return (b, b1);
        }
        Span<double> r = stackalloc double[4];
        double re = z.Real, im = z.Imaginary;
        // ~8 oscillations per tail interval at most, so long tails of slowly decaying oscillations stay cheap
        double maxLength = Math.Max(TimeScale, 16 * Math.PI / Math.Abs(im));
        Integrate((t, v) =>
        {
            double rho = Value(t);
            double mag = Math.Exp(-re * t) * rho;
            (double s, double c) = Math.SinCos(im * t);
            double gr = mag * c, gi = -mag * s;
            v[0] = gr; v[1] = gi; v[2] = t * gr; v[3] = t * gi;
        }, 4, r, maxLength, $"b(z) at z = {z}");
        return (new Complex(r[0], r[1]), new Complex(r[2], r[3]));
    }

    /// <summary>‖ρ‖² = ∫_0^∞ ρ(t)² dt (+∞ when ρ ∉ L²). Computed once and cached.</summary>
    public double SquaredNorm
    {
        get
        {
            double v = _squaredNorm;
            if (double.IsNaN(v)) _squaredNorm = v = ComputeSquaredNorm();
            return v;
        }
    }

    /// <summary>Computes ‖ρ‖²; default: quadrature of ρ². Override with a closed form where one exists.</summary>
    protected virtual double ComputeSquaredNorm()
    {
        Span<double> r = stackalloc double[1];
        Integrate((t, v) => { double x = Value(t); v[0] = x * x; }, 1, r, double.PositiveInfinity, "‖ρ‖²");
        return r[0];
    }

    /// <summary>A closed form of ⟨this, other⟩ = ∫ρ·ρ_other when one is known (e.g. an exponential sum:
    /// Σ α_k b_other(β_k)); false to fall back to quadrature.</summary>
    protected internal virtual bool TryInnerProduct(MemoryKernel other, out double value)
    {
        value = 0;
        return false;
    }

    /// <summary>⟨a, b⟩ = ∫_0^∞ ρ_a(t) ρ_b(t) dt, closed form where either kernel offers one, else quadrature.</summary>
    public static double InnerProduct(MemoryKernel a, MemoryKernel b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (ReferenceEquals(a, b)) return a.SquaredNorm;
        if (a.TryInnerProduct(b, out double v)) return v;
        if (b.TryInnerProduct(a, out v)) return v;
        var product = FromFunction(t => a.Value(t) * b.Value(t), $"{a.Name}·{b.Name}",
            Math.Min(a.TimeScale, b.TimeScale), a.Breakpoints.Concat(b.Breakpoints).ToArray(),
            Math.Min(a.SupportEnd, b.SupportEnd));
        return product.Laplace(0.0);
    }

    /// <summary>Writes ρ(s·dt), s = 0..values.Length−1 (the sampled kernel of Li21 §2).</summary>
    public void Sample(Span<double> values, double dt)
    {
        if (!(dt > 0) || !double.IsFinite(dt)) throw new ArgumentOutOfRangeException(nameof(dt), dt, "time step must be positive and finite");
        for (int s = 0; s < values.Length; s++) values[s] = Value(s * dt);
    }

    /// <summary>ρ(s·dt) for s = 0..count−1.</summary>
    public double[] Sample(int count, double dt)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "sample count must be non-negative");
        var v = new double[count];
        Sample(v, dt);
        return v;
    }

    /// <summary>Throws unless Re z ≥ 0 and z is finite (the transforms are defined there for L¹-type kernels).</summary>
    protected void CheckArgument(Complex z)
    {
        if (!double.IsFinite(z.Real) || !double.IsFinite(z.Imaginary))
            throw new ArgumentOutOfRangeException(nameof(z), z, $"kernel '{Name}': Laplace argument must be finite");
        if (z.Real < 0)
            throw new ArgumentOutOfRangeException(nameof(z), z, $"kernel '{Name}': Laplace transform is only evaluated for Re z ≥ 0 (got {z.Real}); a decay rate w must be non-negative");
    }

    /// <summary>Integrates a vector integrand over the kernel's support [0, SupportEnd) with the kernel's quadrature
    /// hints; throws <see cref="InvalidOperationException"/> naming <paramref name="what"/> if the result is not
    /// reliable to about 1e−9 relative.</summary>
    protected void Integrate(VectorIntegrand f, int dimension, Span<double> result, double maxIntervalLength, string what)
    {
        Span<double> err = stackalloc double[dimension];
        var bps = Breakpoints;
        Span<double> points = bps.Count <= 64 ? stackalloc double[bps.Count] : new double[bps.Count];
        for (int i = 0; i < bps.Count; i++) points[i] = bps[i];
        bool converged;
        double end = SupportEnd;
        if (double.IsPositiveInfinity(end))
        {
            double scale = TimeScale;
            if (!(scale > 0) || !double.IsFinite(scale)) scale = 1;
            (_, converged) = Quadrature.IntegrateToInfinity(f, dimension, 0, scale, result, err,
                Quadrature.DefaultRelativeTolerance, 0, points, maxIntervalLength);
        }
        else
        {
            Span<double> abs = stackalloc double[dimension];
            (_, converged) = Quadrature.Integrate(f, dimension, 0, end, result, err, abs,
                Quadrature.DefaultRelativeTolerance, 0, points);
        }
        if (converged) return;
        for (int c = 0; c < dimension; c++)
        {
            if (!double.IsFinite(result[c]))
                throw new InvalidOperationException($"kernel '{Name}': {what} is not finite (the integral diverges?)");
            if (err[c] > 1e-9 * Math.Abs(result[c]) && err[c] > 1e-300)
                throw new InvalidOperationException($"kernel '{Name}': quadrature for {what} did not converge (estimate {result[c]:G12} ± {err[c]:G3}); give the kernel breakpoints/time scale, or check that it is integrable");
        }
    }

    /// <summary>A readable description.</summary>
    public override string ToString() => Name;

    // ------------------------------------------------------------------ factories (Li21 §5 and the Curse-of-memory code, src/data/lf_datamodule.py)

    /// <summary><c>ρ(t) = amplitude·e^{−rate·t}</c> (the "exp" target; rate &gt; 0).</summary>
    public static ExponentialSumKernel Exponential(double rate = 1, double amplitude = 1) => new([amplitude], [rate], "exp");

    /// <summary><c>ρ(t) = ratio^t</c>, i.e. rate −ln(ratio) (Wang24's linear target 0.9^t); 0 &lt; ratio &lt; 1.</summary>
    public static ExponentialSumKernel Geometric(double ratio = 0.9)
    {
        if (!(ratio > 0 && ratio < 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "geometric kernel ratio^t needs 0 < ratio < 1");
        return new([1.0], [-Math.Log(ratio)], $"geometric({ratio})");
    }

    /// <summary><c>ρ(t) = Σ_k α_k e^{−β_k t}</c> (short memory; Li21), every β_k &gt; 0.</summary>
    public static ExponentialSumKernel ExponentialSum(double[] amplitudes, double[] rates) => new(amplitudes, rates, "expsum");

    /// <summary><c>ρ(t) = amplitude·(1 + rate·t)^{−exponent}</c>; the group's "pol" target is (1+0.1t)^{−1.1}.</summary>
    public static PowerLawKernel PowerLaw(double exponent = 1.1, double rate = 0.1, double amplitude = 1) => new(exponent, rate, amplitude, "pol");

    /// <summary><c>ρ(t) = 1/(t + shift)^{exponent}</c> (Wang24: 1/(t+1)^{1.1} linear, 1/(t+1)^{1.5} tanh) —
    /// the same family as <see cref="PowerLaw"/> with rate 1/shift and amplitude shift^{−exponent}.</summary>
    public static PowerLawKernel InversePowerLaw(double exponent = 1.1, double shift = 1)
    {
        if (!(shift > 0) || !double.IsFinite(shift)) throw new ArgumentOutOfRangeException(nameof(shift), shift, "inverse power law 1/(t+shift)^p needs shift > 0");
        return new(exponent, 1 / shift, Math.Pow(shift, -exponent), $"1/(t+{shift})^{exponent}");
    }

    /// <summary><c>ρ(t) = Ai(scale·(t − delay))</c>; the group's code uses scale 1, delay 6 (larger delay = longer memory).</summary>
    public static AiryKernel Airy(double scale = 1, double delay = 6) => new(scale, delay);

    /// <summary><c>ρ(t) = height</c> for start &lt; t &lt; end, else 0 (the "shift" target: 9 &lt; t &lt; 11).</summary>
    public static WindowKernel Shift(double start = 9, double end = 11, double height = 1) => new(start, end, height);

    /// <summary><c>ρ(t) = e^{−rate·t} + e^{−(t − centre)²}</c> (the "twoparts" target: rate 1, centre 9).</summary>
    public static SumKernel TwoParts(double rate = 1, double centre = 9) =>
        new([Exponential(rate), GaussianBump(centre, Math.Sqrt(0.5))], "twoparts");

    /// <summary><c>ρ(t) = amplitude·sin(frequency·t)·e^{−decay·t}</c>. The group's "sin" target is sin t (decay 0),
    /// which is not in L²: its exact population loss is infinite (only its sampled, finite-T version makes sense).</summary>
    public static SineKernel Sine(double frequency = 1, double decay = 0, double amplitude = 1) => new(frequency, decay, amplitude);

    /// <summary><c>ρ(t) = amplitude·exp(−(t − centre)²/(2·width²))</c>.</summary>
    public static GaussianBumpKernel GaussianBump(double centre, double width, double amplitude = 1) => new(centre, width, amplitude);

    /// <summary><c>ρ_ω(t) = ρ̄(t) + ρ₀(t − delay)</c>, ρ₀(s) = exp(−s²/(2·width²)) (Li21, JMLR 2022 version, Thm 20):
    /// a fitted short-memory part plus a bump at delay L = 1/ω.</summary>
    public static SumKernel DelayedBump(MemoryKernel baseline, double delay, double width = 0.5)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        if (!(delay >= 0) || !double.IsFinite(delay)) throw new ArgumentOutOfRangeException(nameof(delay), delay, "bump delay L must be finite and ≥ 0");
        return new([baseline, GaussianBump(delay, width)], $"delayed-bump(L={delay})");
    }

    /// <summary>The reproduction's delayed bump: ρ̄ = e^{−baselineRate·t} (0.5), width 0.5, delay L ∈ 8..18.</summary>
    public static SumKernel DelayedBump(double delay, double baselineRate = 0.5, double width = 0.5) =>
        DelayedBump(Exponential(baselineRate), delay, width);

    /// <summary>A sampled kernel: values at increasing times ≥ 0, interpolated (see <see cref="TableKernel"/>).</summary>
    public static TableKernel Table(double[] times, double[] values, TableInterpolation interpolation = TableInterpolation.Linear, string name = "table") =>
        new(times, values, interpolation, name);

    /// <summary>Reads a table kernel from a CSV file of rows <c>t,ρ</c> (optional header, <c>#</c> comments).
    /// Malformed rows throw <see cref="FormatException"/> naming the file and line.</summary>
    public static TableKernel FromCsv(string path, TableInterpolation interpolation = TableInterpolation.Linear) =>
        TableKernel.ReadCsv(path, interpolation);

    /// <summary>A user-supplied kernel ρ(t) = f(t), with optional quadrature hints.</summary>
    public static FunctionKernel FromFunction(Func<double, double> function, string name = "custom", double timeScale = 1,
        double[]? breakpoints = null, double supportEnd = double.PositiveInfinity) =>
        new(function, name, timeScale, breakpoints, supportEnd);

    /// <summary>The sum of kernels (closed forms carry over term by term).</summary>
    public static SumKernel Sum(params MemoryKernel[] kernels) => new(kernels, null);

    /// <summary>The sum of two kernels.</summary>
    public static MemoryKernel operator +(MemoryKernel a, MemoryKernel b) => Sum(a, b);

    /// <summary>The group's named targets with their default constants (Li21 §5 and the Curse-of-memory code, src/data/lf_datamodule.py): exp, pol, shift,
    /// twoparts, airy, sin; plus expsum-free names geometric, pol-wang (1/(t+1)^1.1), pol-tanh (1/(t+1)^1.5).</summary>
    public static MemoryKernel FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "exp" => Exponential(),
            "pol" => PowerLaw(),
            "shift" => Shift(),
            "twoparts" => TwoParts(),
            "airy" => Airy(),
            "sin" or "sine" => Sine(),
            "geometric" => Geometric(),
            "pol-wang" => InversePowerLaw(1.1),
            "pol-tanh" => InversePowerLaw(1.5),
            _ => throw new ArgumentException($"unknown memory kernel '{name}'; known: exp, pol, shift, twoparts, airy, sin, geometric, pol-wang, pol-tanh", nameof(name)),
        };
    }
}
