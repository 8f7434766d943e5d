using System.Globalization;
using System.Numerics;
using MathNet.Numerics;

namespace MemoryLab.Targets;

/// <summary><c>ρ(t) = Σ_k α_k e^{−β_k t}</c>, β_k &gt; 0 (Li21 "exponential sum"; also the reduced model's own kernel
/// ρ̂ = Σ a_i e^{−w_i t}). Closed forms: b(z) = Σ α_k/(z+β_k), b¹(z) = Σ α_k/(z+β_k)², ‖ρ‖² = Σ α_jα_k/(β_j+β_k),
/// ⟨ρ, g⟩ = Σ α_k b_g(β_k).</summary>
public sealed class ExponentialSumKernel : MemoryKernel
{
    private readonly double[] _alpha, _beta;
    private readonly string _name;

    /// <summary>Builds Σ α_k e^{−β_k t}; throws on mismatched lengths, non-finite values or β_k ≤ 0.</summary>
    public ExponentialSumKernel(double[] amplitudes, double[] rates, string name = "expsum")
    {
        ArgumentNullException.ThrowIfNull(amplitudes);
        ArgumentNullException.ThrowIfNull(rates);
        if (amplitudes.Length == 0 || amplitudes.Length != rates.Length)
            throw new ArgumentException($"exponential sum needs as many amplitudes as rates (≥ 1), got {amplitudes.Length} and {rates.Length}");
        for (int k = 0; k < rates.Length; k++)
        {
            if (!double.IsFinite(amplitudes[k])) throw new ArgumentException($"amplitude α[{k}] = {amplitudes[k]} is not finite", nameof(amplitudes));
            if (!(rates[k] > 0) || !double.IsFinite(rates[k]))
                throw new ArgumentOutOfRangeException(nameof(rates), rates[k], $"decay rate β[{k}] = {rates[k]} must be positive and finite (a negative or zero decay is not a memory kernel in L¹)");
        }
        _alpha = (double[])amplitudes.Clone();
        _beta = (double[])rates.Clone();
        _name = name;
    }

    /// <summary>α_k.</summary>
    public IReadOnlyList<double> Amplitudes => _alpha;

    /// <summary>β_k.</summary>
    public IReadOnlyList<double> Rates => _beta;

    /// <inheritdoc />
    public override string Name => _name;

    /// <inheritdoc />
    public override double TimeScale => 1 / _beta.Max();

    /// <inheritdoc />
    public override double Value(double t)
    {
        double s = 0;
        for (int k = 0; k < _alpha.Length; k++) s += _alpha[k] * Math.Exp(-_beta[k] * t);
        return s;
    }

    /// <inheritdoc />
    public override double Laplace(double w) => LaplacePair(w).Value;

    /// <inheritdoc />
    public override Complex Laplace(Complex z) => LaplacePair(z).Value;

    /// <inheritdoc />
    public override (double Value, double Moment) LaplacePair(double w)
    {
        CheckArgument(w);
        double b = 0, b1 = 0;
        for (int k = 0; k < _alpha.Length; k++)
        {
            double inv = 1 / (w + _beta[k]);
            b += _alpha[k] * inv;
            b1 += _alpha[k] * inv * inv;
        }
        return (b, b1);
    }

    /// <inheritdoc />
    public override (Complex Value, Complex Moment) LaplacePair(Complex z)
    {
        CheckArgument(z);
        Complex b = 0, b1 = 0;
        for (int k = 0; k < _alpha.Length; k++)
        {
            Complex inv = 1 / (z + _beta[k]);
            b += _alpha[k] * inv;
            b1 += _alpha[k] * inv * inv;
        }
        return (b, b1);
    }

    /// <inheritdoc />
    protected override double ComputeSquaredNorm()
    {
        double s = 0;
        for (int j = 0; j < _alpha.Length; j++)
            for (int k = 0; k < _alpha.Length; k++) s += _alpha[j] * _alpha[k] / (_beta[j] + _beta[k]);
        return s;
    }

    /// <inheritdoc />
    protected internal override bool TryInnerProduct(MemoryKernel other, out double value)
    {
        double s = 0;
        for (int k = 0; k < _alpha.Length; k++) s += _alpha[k] * other.Laplace(_beta[k]);
        value = s;
        return true;
    }
}

/// <summary><c>ρ(t) = A·(1 + c·t)^{−p}</c>, c &gt; 0, p &gt; 0 (the "pol" target (1+0.1t)^{−1.1}; Wang24's 1/(t+1)^p).
/// Power-law memory ~ t^{−p} is the curse-of-memory case (Li21 §3). ‖ρ‖² = A²/(c(2p−1)) for
/// p &gt; 1/2 (∞ otherwise); b, b¹ by quadrature (the tail integrator follows the t^{−p} decay).</summary>
public sealed class PowerLawKernel : MemoryKernel
{
    private readonly string _name;

    /// <summary>Builds A(1+ct)^{−p}; throws unless p &gt; 0, c &gt; 0 and A finite.</summary>
    public PowerLawKernel(double exponent, double rate, double amplitude = 1, string name = "pol")
    {
        if (!(exponent > 0) || !double.IsFinite(exponent)) throw new ArgumentOutOfRangeException(nameof(exponent), exponent, "power-law exponent p must be positive and finite");
        if (!(rate > 0) || !double.IsFinite(rate)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "power-law rate c in (1+ct)^(−p) must be positive and finite");
        if (!double.IsFinite(amplitude)) throw new ArgumentOutOfRangeException(nameof(amplitude), amplitude, "amplitude must be finite");
        Exponent = exponent;
        Rate = rate;
        Amplitude = amplitude;
        _name = name;
    }

    /// <summary>p.</summary>
    public double Exponent { get; }
    /// <summary>c.</summary>
    public double Rate { get; }
    /// <summary>A.</summary>
    public double Amplitude { get; }

    /// <inheritdoc />
    public override string Name => _name;

    /// <inheritdoc />
    public override double TimeScale => 1 / Rate;

    /// <inheritdoc />
    public override double Value(double t) => Amplitude * Math.Pow(1 + Rate * t, -Exponent);

    /// <inheritdoc />
    protected override double ComputeSquaredNorm() =>
        Exponent > 0.5 ? Amplitude * Amplitude / (Rate * (2 * Exponent - 1)) : double.PositiveInfinity;
}

/// <summary><c>ρ(t) = Ai(s₀·(t − t₀))</c> (the "airy" target, s₀ = 1, t₀ = 6): oscillates for t &lt; t₀, then decays
/// like exp(−⅔(s₀(t−t₀))^{3/2}); a larger t₀ means longer memory and longer plateaus (Li21 Fig. 1).
/// Integrals by quadrature, split at t₀. Ai from MathNet.Numerics (Amos), read through a precomputed Chebyshev table.</summary>
public sealed class AiryKernel : MemoryKernel
{
    /// <summary>Builds Ai(s₀(t − t₀)); throws unless s₀ &gt; 0 and 0 ≤ t₀ ≤ 1000 (beyond that Ai(−s₀t₀) oscillates too fast to be a sensible target).</summary>
    public AiryKernel(double scale, double delay)
    {
        if (!(scale > 0) || !double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "Airy scale s0 must be positive and finite");
        if (!(delay >= 0) || !(delay <= 1000)) throw new ArgumentOutOfRangeException(nameof(delay), delay, "Airy delay t0 must lie in [0, 1000]");
        Scale = scale;
        Delay = delay;
    }

    /// <summary>s₀.</summary>
    public double Scale { get; }
    /// <summary>t₀.</summary>
    public double Delay { get; }

    /// <inheritdoc />
    public override string Name => Delay == 6 && Scale == 1 ? "airy" : $"airy(s0={Scale},t0={Delay})";

    /// <inheritdoc />
    public override IReadOnlyList<double> Breakpoints => Delay > 0 ? [Delay] : [];

    /// <inheritdoc />
    public override double TimeScale => 1 / Scale;

    // MathNet's AiryAi costs ~2 µs; quadrature needs hundreds of values per b(w), so the kernel interpolates a
    // piecewise-Chebyshev table of it (degree 24 on panels of 0.25 in the argument; within ~1e−14 of MathNet's Ai for
    // delays up to ~100, ~1e−12 at t0 = 1000 where Ai oscillates fastest).
    // Beyond argument 105, Ai underflows to 0 in double precision.
    private const double ZeroBeyond = 105;
    private PiecewiseChebyshev? _table;

    private PiecewiseChebyshev Interpolant => _table ??= new PiecewiseChebyshev(SpecialFunctions.AiryAi, -Scale * Delay, ZeroBeyond, 0.25, 24);

    /// <inheritdoc />
    public override double Value(double t)
    {
        double x = Scale * (t - Delay);
        if (x > ZeroBeyond) return 0;
        var table = Interpolant;
        return x >= table.Low ? table.Evaluate(x) : SpecialFunctions.AiryAi(x);
    }

}

/// <summary><c>ρ(t) = h</c> for a &lt; t &lt; b, else 0 (the "shift" target: a = 9, b = 11): pure delayed memory.
/// Closed forms b(z) = h∫_a^b e^{−zt}dt etc. (series near z = 0, no cancellation).</summary>
public sealed class WindowKernel : MemoryKernel
{
    /// <summary>Builds the window; throws unless 0 ≤ a &lt; b &lt; ∞ and h finite.</summary>
    public WindowKernel(double start, double end, double height = 1)
    {
        if (!(start >= 0) || !double.IsFinite(start)) throw new ArgumentOutOfRangeException(nameof(start), start, "window start must be finite and ≥ 0");
        if (!(end > start) || !double.IsFinite(end)) throw new ArgumentOutOfRangeException(nameof(end), end, $"window end must be finite and greater than its start {start}");
        if (!double.IsFinite(height)) throw new ArgumentOutOfRangeException(nameof(height), height, "window height must be finite");
        Start = start;
        End = end;
        Height = height;
    }

    /// <summary>a.</summary>
    public double Start { get; }
    /// <summary>b.</summary>
    public double End { get; }
    /// <summary>h.</summary>
    public double Height { get; }

    /// <inheritdoc />
    public override string Name => Start == 9 && End == 11 && Height == 1 ? "shift" : $"window({Start},{End})";

    /// <inheritdoc />
    public override IReadOnlyList<double> Breakpoints => Start > 0 ? [Start, End] : [End];

    /// <inheritdoc />
    public override double TimeScale => End - Start;

    /// <inheritdoc />
    public override double SupportEnd => End;

    /// <inheritdoc />
    public override double Value(double t) => t > Start && t < End ? Height : 0;

    /// <inheritdoc />
    public override double Laplace(double w) => LaplacePair(w).Value;

    /// <inheritdoc />
    public override Complex Laplace(Complex z) => LaplacePair(z).Value;

    /// <inheritdoc />
    public override (double Value, double Moment) LaplacePair(double w)
    {
        var (b, b1) = LaplacePair(new Complex(w, 0));
        return (b.Real, b1.Real);
    }

    /// <inheritdoc />
    public override (Complex Value, Complex Moment) LaplacePair(Complex z)
    {
        CheckArgument(z);
        return KernelMath.LinearSegment(z, Start, End - Start, Height, 0);
    }

    /// <inheritdoc />
    protected override double ComputeSquaredNorm() => Height * Height * (End - Start);
}

/// <summary><c>ρ(t) = A·sin(ωt)·e^{−λt}</c>, ω &gt; 0, λ ≥ 0 (the group's "sin" target is λ = 0).
/// b(z) = Aω/((z+λ)² + ω²), b¹(z) = 2Aω(z+λ)/((z+λ)² + ω²)², ‖ρ‖² = A²ω²/(4λ(λ² + ω²)) (∞ for λ = 0).</summary>
public sealed class SineKernel : MemoryKernel
{
    /// <summary>Builds the damped sine; throws unless ω &gt; 0, λ ≥ 0, A finite.</summary>
    public SineKernel(double frequency, double decay, double amplitude = 1)
    {
        if (!(frequency > 0) || !double.IsFinite(frequency)) throw new ArgumentOutOfRangeException(nameof(frequency), frequency, "sine frequency must be positive and finite");
        if (!(decay >= 0) || !double.IsFinite(decay)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "sine decay must be finite and ≥ 0 (a negative decay grows without bound)");
        if (!double.IsFinite(amplitude)) throw new ArgumentOutOfRangeException(nameof(amplitude), amplitude, "amplitude must be finite");
        Frequency = frequency;
        Decay = decay;
        Amplitude = amplitude;
    }

    /// <summary>ω.</summary>
    public double Frequency { get; }
    /// <summary>λ.</summary>
    public double Decay { get; }
    /// <summary>A.</summary>
    public double Amplitude { get; }

    /// <inheritdoc />
    public override string Name => Decay == 0 && Frequency == 1 && Amplitude == 1 ? "sin" : $"sin(ω={Frequency},λ={Decay})";

    /// <inheritdoc />
    public override double TimeScale => 1 / Frequency;

    /// <inheritdoc />
    public override double Value(double t) => Amplitude * Math.Sin(Frequency * t) * Math.Exp(-Decay * t);

    /// <inheritdoc />
    public override double Laplace(double w) => LaplacePair(w).Value;

    /// <inheritdoc />
    public override Complex Laplace(Complex z) => LaplacePair(z).Value;

    /// <inheritdoc />
    public override (double Value, double Moment) LaplacePair(double w)
    {
        var (b, b1) = LaplacePair(new Complex(w, 0));
        return (b.Real, b1.Real);
    }

    /// <inheritdoc />
    public override (Complex Value, Complex Moment) LaplacePair(Complex z)
    {
        CheckArgument(z);
        Complex s = z + Decay;
        if (s.Real <= 0) throw new ArgumentOutOfRangeException(nameof(z), z, "the undamped sine kernel's Laplace transform needs Re z > 0");
        Complex d = s * s + Frequency * Frequency;
        return (Amplitude * Frequency / d, 2 * Amplitude * Frequency * s / (d * d));
    }

    /// <inheritdoc />
    protected override double ComputeSquaredNorm() =>
        Decay > 0 ? Amplitude * Amplitude * Frequency * Frequency / (4 * Decay * (Decay * Decay + Frequency * Frequency)) : double.PositiveInfinity;
}

/// <summary><c>ρ(t) = A·exp(−(t − L)²/(2σ²))</c> on t ≥ 0 (the bump ρ₀ of the delayed-bump target, Li21 JMLR Thm 20).
/// Real closed forms: with x = (wσ² − L)/(σ√2), b(w) = Aσ√(π/2)·e^{w²σ²/2 − wL}·erfc(x) and
/// b¹(w) = (L − wσ²)·b(w) + Aσ²e^{−L²/(2σ²)} (written with erfcx and its continued fraction for x &gt; 2, so neither
/// overflow nor cancellation appears); ‖ρ‖² = A²σ(√π/2)·erfc(−L/σ). Complex z by quadrature.</summary>
public sealed class GaussianBumpKernel : MemoryKernel
{
    /// <summary>Builds the bump; throws unless σ &gt; 0 and L, A finite.</summary>
    public GaussianBumpKernel(double centre, double width, double amplitude = 1)
    {
        if (!double.IsFinite(centre)) throw new ArgumentOutOfRangeException(nameof(centre), centre, "bump centre must be finite");
        if (!(width > 0) || !double.IsFinite(width)) throw new ArgumentOutOfRangeException(nameof(width), width, "bump width must be positive and finite");
        if (!double.IsFinite(amplitude)) throw new ArgumentOutOfRangeException(nameof(amplitude), amplitude, "amplitude must be finite");
        Centre = centre;
        Width = width;
        Amplitude = amplitude;
    }

    /// <summary>L.</summary>
    public double Centre { get; }
    /// <summary>σ.</summary>
    public double Width { get; }
    /// <summary>A.</summary>
    public double Amplitude { get; }

    /// <inheritdoc />
    public override string Name => $"bump(L={Centre},σ={Width})";

    /// <inheritdoc />
    public override IReadOnlyList<double> Breakpoints => Centre > 0 ? [Centre] : [];

    /// <inheritdoc />
    public override double TimeScale => Width;

    /// <inheritdoc />
    public override double Value(double t)
    {
        double u = (t - Centre) / Width;
        return Amplitude * Math.Exp(-0.5 * u * u);
    }

    /// <inheritdoc />
    public override double Laplace(double w) => LaplacePair(w).Value;

    /// <inheritdoc />
    public override (double Value, double Moment) LaplacePair(double w)
    {
        CheckArgument(w);
        double s = Width, l = Centre;
        double x = (w * s * s - l) / (s * Math.Sqrt(2));
        double pre = Amplitude * s * Math.Sqrt(Math.PI / 2);
        double gauss0 = Math.Exp(-l * l / (2 * s * s));
        if (x <= 2)
        {
            double b = pre * Math.Exp(w * (0.5 * w * s * s - l)) * SpecialFunctions.Erfc(x);
            double b1 = (l - w * s * s) * b + Amplitude * s * s * gauss0;
            return (b, b1);
        }
        // x > 2: √π·erfcx(x) = 1/(x + K), so b = pre·e^{−L²/2σ²}/(√π(x+K)) and b¹ = Aσ²e^{−L²/2σ²}·K/(x+K)
        double k = KernelMath.ErfcxTail(x);
        double bb = pre * gauss0 / (Math.Sqrt(Math.PI) * (x + k));
        double bm = Amplitude * s * s * gauss0 * k / (x + k);
        return (bb, bm);
    }

    /// <inheritdoc />
    protected override double ComputeSquaredNorm() =>
        Amplitude * Amplitude * Width * Math.Sqrt(Math.PI) / 2 * SpecialFunctions.Erfc(-Centre / Width);
}

/// <summary>How a <see cref="TableKernel"/> interpolates between its knots.</summary>
public enum TableInterpolation
{
    /// <summary>Piecewise linear (closed-form integrals).</summary>
    Linear,
    /// <summary>Natural cubic spline (MathNet.Numerics; integrals by quadrature split at the knots).</summary>
    CubicSpline,
}

/// <summary>A sampled kernel ("custom" target, Li21 §5 and the Curse-of-memory code, src/data/lf_datamodule.py): knots t_0 &lt; … &lt; t_{n−1} (t_0 ≥ 0) with values,
/// interpolated between knots, held at the first value on [0, t_0), and zero after the last knot.
/// Linear interpolation has exact closed-form integrals (segment by segment).</summary>
public sealed class TableKernel : MemoryKernel
{
    private readonly double[] _t, _v;
    private readonly MathNet.Numerics.Interpolation.CubicSpline? _spline;
    private readonly string _name;

    /// <summary>Builds the table; throws on fewer than 2 knots, non-finite entries, negative or non-increasing times.</summary>
    public TableKernel(double[] times, double[] values, TableInterpolation interpolation = TableInterpolation.Linear, string name = "table")
    {
        ArgumentNullException.ThrowIfNull(times);
        ArgumentNullException.ThrowIfNull(values);
        if (times.Length != values.Length) throw new ArgumentException($"table kernel has {times.Length} times but {values.Length} values");
        if (times.Length < 2) throw new ArgumentException($"table kernel needs at least 2 knots, got {times.Length}");
        for (int i = 0; i < times.Length; i++)
        {
            if (!double.IsFinite(times[i]) || !double.IsFinite(values[i])) throw new ArgumentException($"table kernel knot {i} (t = {times[i]}, ρ = {values[i]}) is not finite");
            if (times[i] < 0) throw new ArgumentException($"table kernel knot {i} has negative time {times[i]}");
            if (i > 0 && !(times[i] > times[i - 1])) throw new ArgumentException($"table kernel times must increase strictly: knot {i} (t = {times[i]}) follows t = {times[i - 1]}");
        }
        _t = (double[])times.Clone();
        _v = (double[])values.Clone();
        Interpolation = interpolation;
        if (interpolation == TableInterpolation.CubicSpline)
            _spline = MathNet.Numerics.Interpolation.CubicSpline.InterpolateNatural(_t, _v);
        else if (interpolation != TableInterpolation.Linear)
            throw new ArgumentOutOfRangeException(nameof(interpolation), interpolation, "unknown interpolation");
        _name = name;
    }

    /// <summary>Knot times.</summary>
    public IReadOnlyList<double> Times => _t;
    /// <summary>Knot values.</summary>
    public IReadOnlyList<double> Values => _v;
    /// <summary>Interpolation between knots.</summary>
    public TableInterpolation Interpolation { get; }

    /// <inheritdoc />
    public override string Name => _name;

    /// <inheritdoc />
    public override IReadOnlyList<double> Breakpoints => _t;

    /// <inheritdoc />
    public override double TimeScale => (_t[^1] - _t[0]) / (_t.Length - 1);

    /// <inheritdoc />
    public override double SupportEnd => _t[^1];

    /// <inheritdoc />
    public override double Value(double t)
    {
        if (t < _t[0]) return _v[0];
        if (t > _t[^1]) return 0;
        if (_spline != null) return _spline.Interpolate(t);
        int i = Array.BinarySearch(_t, t);
        if (i >= 0) return _v[i];
        i = ~i;   // _t[i−1] < t < _t[i]
        double u = (t - _t[i - 1]) / (_t[i] - _t[i - 1]);
        return _v[i - 1] + u * (_v[i] - _v[i - 1]);
    }

    /// <inheritdoc />
    public override double Laplace(double w) => _spline != null ? base.Laplace(w) : LaplacePair(w).Value;

    /// <inheritdoc />
    public override Complex Laplace(Complex z) => _spline != null ? base.Laplace(z) : LaplacePair(z).Value;

    /// <inheritdoc />
    public override (double Value, double Moment) LaplacePair(double w)
    {
        if (_spline != null) return base.LaplacePair(w);
        var (b, b1) = LaplacePair(new Complex(w, 0));
        return (b.Real, b1.Real);
    }

    /// <inheritdoc />
    public override (Complex Value, Complex Moment) LaplacePair(Complex z)
    {
        if (_spline != null) return base.LaplacePair(z);
        CheckArgument(z);
        Complex b = 0, b1 = 0;
        if (_t[0] > 0)
        {
            var (s0, s1) = KernelMath.LinearSegment(z, 0, _t[0], _v[0], 0);
            b += s0; b1 += s1;
        }
        for (int i = 0; i + 1 < _t.Length; i++)
        {
            double len = _t[i + 1] - _t[i];
            var (s0, s1) = KernelMath.LinearSegment(z, _t[i], len, _v[i], (_v[i + 1] - _v[i]) / len);
            b += s0; b1 += s1;
        }
        return (b, b1);
    }

    /// <inheritdoc />
    protected override double ComputeSquaredNorm()
    {
        if (_spline != null) return base.ComputeSquaredNorm();
        double s = _t[0] * _v[0] * _v[0];
        for (int i = 0; i + 1 < _t.Length; i++)
        {
            double v0 = _v[i], d = _v[i + 1] - _v[i];
            s += (_t[i + 1] - _t[i]) * (v0 * v0 + v0 * d + d * d / 3);
        }
        return s;
    }

    /// <summary>Reads rows <c>t,ρ</c> (comma, semicolon, tab or space separated; invariant culture). A first row that
    /// does not parse is taken as a header; blank lines and lines starting with <c>#</c> are skipped.</summary>
    public static TableKernel ReadCsv(string path, TableInterpolation interpolation = TableInterpolation.Linear)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"memory-kernel table '{path}' does not exist", path);
        return Parse(File.ReadAllLines(path), path, interpolation);
    }

    /// <summary>Parses CSV text (see <see cref="ReadCsv"/>); <paramref name="source"/> names it in error messages.</summary>
    public static TableKernel ParseCsv(string text, string source = "<text>", TableInterpolation interpolation = TableInterpolation.Linear)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Parse(text.Split('\n'), source, interpolation);
    }

    private static TableKernel Parse(string[] lines, string source, TableInterpolation interpolation)
    {
        var times = new List<double>();
        var values = new List<double>();
        bool firstDataLine = true;
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] parts = line.Split([',', ';', '\t', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            double t = 0, v = 0;
            bool okT = parts.Length >= 1 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out t);
            bool okV = parts.Length >= 2 && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out v);
            if (parts.Length != 2 || !okT || !okV)
            {
                // a first row of two non-numbers is a header ("t,rho"); anything else is an error
                if (firstDataLine && parts.Length == 2 && !okT && !okV) { firstDataLine = false; continue; }
                throw new FormatException($"{source}, line {n + 1}: expected two numbers 't,rho', got '{line}'");
            }
            firstDataLine = false;
            if (!double.IsFinite(t) || !double.IsFinite(v)) throw new FormatException($"{source}, line {n + 1}: values must be finite, got '{line}'");
            if (t < 0) throw new FormatException($"{source}, line {n + 1}: time {t} is negative");
            if (times.Count > 0 && !(t > times[^1])) throw new FormatException($"{source}, line {n + 1}: time {t} does not increase (previous {times[^1]})");
            times.Add(t);
            values.Add(v);
        }
        if (times.Count < 2) throw new FormatException($"{source}: a kernel table needs at least 2 rows 't,rho', found {times.Count}");
        return new TableKernel(times.ToArray(), values.ToArray(), interpolation, Path.GetFileNameWithoutExtension(source));
    }
}

/// <summary>A user-supplied kernel ρ(t) = f(t) ("custom", Li21 §5 and the Curse-of-memory code, src/data/lf_datamodule.py). Integrals by quadrature, using the
/// hints given (time scale, breakpoints, support end). f must be thread-safe if the kernel is shared.</summary>
public sealed class FunctionKernel : MemoryKernel
{
    private readonly Func<double, double> _f;
    private readonly double[] _breakpoints;
    private readonly string _name;
    private readonly double _scale, _end;

    /// <summary>Wraps <paramref name="function"/>; throws on a non-positive time scale or support end.</summary>
    public FunctionKernel(Func<double, double> function, string name = "custom", double timeScale = 1,
        double[]? breakpoints = null, double supportEnd = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (!(timeScale > 0) || !double.IsFinite(timeScale)) throw new ArgumentOutOfRangeException(nameof(timeScale), timeScale, "time scale must be positive and finite");
        if (!(supportEnd > 0)) throw new ArgumentOutOfRangeException(nameof(supportEnd), supportEnd, "support end must be positive");
        _f = function;
        _name = name;
        _scale = timeScale;
        _end = supportEnd;
        _breakpoints = (breakpoints ?? []).Where(p => p > 0 && double.IsFinite(p) && p < supportEnd).Distinct().Order().ToArray();
    }

    /// <inheritdoc />
    public override string Name => _name;
    /// <inheritdoc />
    public override IReadOnlyList<double> Breakpoints => _breakpoints;
    /// <inheritdoc />
    public override double TimeScale => _scale;
    /// <inheritdoc />
    public override double SupportEnd => _end;
    /// <inheritdoc />
    public override double Value(double t) => t > _end ? 0 : _f(t);
}

/// <summary>A sum of kernels Σ_j ρ_j: values, transforms and hints combine term by term; ‖Σρ_j‖² = Σ_jk ⟨ρ_j, ρ_k⟩
/// uses closed-form inner products where a term has one (e.g. exponential × bump = bump's b(β)).</summary>
public sealed class SumKernel : MemoryKernel
{
    private readonly MemoryKernel[] _terms;
    private readonly string _name;
    private readonly double[] _breakpoints;

    /// <summary>Builds the sum; throws on an empty list or null terms.</summary>
    public SumKernel(MemoryKernel[] terms, string? name)
    {
        ArgumentNullException.ThrowIfNull(terms);
        if (terms.Length == 0) throw new ArgumentException("a kernel sum needs at least one term");
        foreach (var k in terms) ArgumentNullException.ThrowIfNull(k, nameof(terms));
        _terms = (MemoryKernel[])terms.Clone();
        _name = name ?? string.Join("+", terms.Select(k => k.Name));
        _breakpoints = terms.SelectMany(k => k.Breakpoints).Distinct().Order().ToArray();
    }

    /// <summary>The terms.</summary>
    public IReadOnlyList<MemoryKernel> Terms => _terms;

    /// <inheritdoc />
    public override string Name => _name;
    /// <inheritdoc />
    public override IReadOnlyList<double> Breakpoints => _breakpoints;
    /// <inheritdoc />
    public override double TimeScale => _terms.Min(k => k.TimeScale);
    /// <inheritdoc />
    public override double SupportEnd => _terms.Max(k => k.SupportEnd);

    /// <inheritdoc />
    public override double Value(double t)
    {
        double s = 0;
        foreach (var k in _terms) s += k.Value(t);
        return s;
    }

    /// <inheritdoc />
    public override double Laplace(double w) => _terms.Sum(k => k.Laplace(w));

    /// <inheritdoc />
    public override Complex Laplace(Complex z)
    {
        Complex b = 0;
        foreach (var k in _terms) b += k.Laplace(z);
        return b;
    }

    /// <inheritdoc />
    public override (double Value, double Moment) LaplacePair(double w)
    {
        double b = 0, b1 = 0;
        foreach (var k in _terms)
        {
            var (x, y) = k.LaplacePair(w);
            b += x; b1 += y;
        }
        return (b, b1);
    }

    /// <inheritdoc />
    public override (Complex Value, Complex Moment) LaplacePair(Complex z)
    {
        Complex b = 0, b1 = 0;
        foreach (var k in _terms)
        {
            var (x, y) = k.LaplacePair(z);
            b += x; b1 += y;
        }
        return (b, b1);
    }

    /// <inheritdoc />
    protected override double ComputeSquaredNorm()
    {
        double s = 0;
        for (int j = 0; j < _terms.Length; j++)
        {
            s += _terms[j].SquaredNorm;
            for (int k = j + 1; k < _terms.Length; k++) s += 2 * InnerProduct(_terms[j], _terms[k]);
        }
        return s;
    }

    /// <inheritdoc />
    protected internal override bool TryInnerProduct(MemoryKernel other, out double value)
    {
        double s = 0;
        foreach (var k in _terms) s += InnerProduct(k, other);
        value = s;
        return true;
    }
}
