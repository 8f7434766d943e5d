using System.Numerics;
using System.Runtime.InteropServices;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>Which form of GELU to compute.</summary>
public enum GeluApproximation
{
    /// <summary>The exact form <c>x·Φ(x)</c>, Φ the standard normal CDF via erf (PyTorch's default, <c>approximate='none'</c>).</summary>
    None,
    /// <summary><c>½x(1 + tanh(√(2/π)(x + 0.044715x³)))</c> (PyTorch <c>approximate='tanh'</c>; JAX/Flax <c>nn.gelu</c>'s default).</summary>
    Tanh,
}

/// <summary>
/// The Gaussian error linear unit, elementwise (Hendrycks &amp; Gimpel 2016): <c>GELU(x) = x·Φ(x)</c>,
/// <c>∂GELU/∂x = Φ(x) + x·φ(x)</c>; used in the deep block (Zucchet24 §5). No parameters.
/// </summary>
/// <remarks>Exact form: in float64, Φ(x) = ½·erfc(−x/√2) from MathNet (accurate to rounding, so the
/// float64 gradient checks are exact); in float32, a vectorised erfc with absolute error below 1.5·10⁻⁷
/// (Abramowitz &amp; Stegun 7.1.26), about float32 rounding. The input is kept by reference for the backward pass.</remarks>
public sealed class Gelu<T> : ISequenceLayer<T>, IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double InvSqrt2 = 0.70710678118654752440, InvSqrt2Pi = 0.39894228040143267794, SqrtTwoOverPi = 0.79788456080286535588, Cubic = 0.044715;
    // Abramowitz & Stegun 7.1.26: erfc(a) ≈ t(a1 + t(a2 + t(a3 + t(a4 + t a5)))) e^{−a²}, t = 1/(1 + p a), a ≥ 0.
    private const double P = 0.3275911, A1 = 0.254829592, A2 = -0.284496736, A3 = 1.421413741, A4 = -1.453152027, A5 = 1.061405429;

    private WorkerPool? _pool;
    private int _batch, _time;
    private bool _backward;
    private SequenceTensor<T> _input = null!, _output = null!, _outputGradient = null!, _inputGradient = null!;

    /// <summary>GELU over <paramref name="features"/> features per step.</summary>
    public Gelu(int features, GeluApproximation approximation = GeluApproximation.None)
    {
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, "features must be positive");
        if (!Enum.IsDefined(approximation)) throw new ArgumentOutOfRangeException(nameof(approximation), approximation, "unknown GELU form");
        InputSize = features;
        Approximation = approximation;
    }

    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public int OutputSize => InputSize;
    /// <summary>Exact (erf) or tanh form.</summary>
    public GeluApproximation Approximation { get; }

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix) { }

    /// <inheritdoc />
    public void Initialize(Span<T> theta, CounterRng rng) { }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        (_batch, _time, _pool) = (batch, time, pool);
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Forward");
        Partition.CheckShape(input, _batch, _time, InputSize, nameof(input), this);
        Partition.CheckShape(output, _batch, _time, InputSize, nameof(output), this);
        (_input, _output, _backward) = (input, output, false);
        pool.Run(this, Partition.RowChunks(_batch * _time));
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        var pool = _pool ?? throw new InvalidOperationException("call Prepare before Backward");
        if (_input is null) throw new InvalidOperationException("call Forward before Backward");
        if (inputGradient is null) return; // no parameters: nothing else to compute
        Partition.CheckShape(outputGradient, _batch, _time, InputSize, nameof(outputGradient), this);
        Partition.CheckShape(inputGradient, _batch, _time, InputSize, nameof(inputGradient), this);
        (_outputGradient, _inputGradient, _backward) = (outputGradient, inputGradient, true);
        pool.Run(this, Partition.RowChunks(_batch * _time));
    }

    /// <inheritdoc />
    public void Execute(int chunk)
    {
        var (r0, rows) = Partition.RowChunk(chunk, _batch * _time);
        int start = r0 * InputSize, count = rows * InputSize;
        var x = _input.Data.AsSpan(start, count);
        if (_backward) Derivative(x, _outputGradient.Data.AsSpan(start, count), _inputGradient.Data.AsSpan(start, count));
        else Value(x, _output.Data.AsSpan(start, count));
    }

    /// <summary>y = GELU(x).</summary>
    private void Value(ReadOnlySpan<T> x, Span<T> y)
    {
        int i = 0, w = Vector<T>.Count;
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
        var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
        if (Approximation == GeluApproximation.Tanh)
        {
            for (int k = 0; k < vx.Length; k++, i += w)
            {
                vy[k] = Half(vx[k] * (Vector<T>.One + TanhForm(vx[k])));
            }
            for (; i < x.Length; i++) y[i] = ScalarTanhValue(x[i]);
        }
        else if (typeof(T) == typeof(double))
            for (; i < x.Length; i++) y[i] = x[i] * T.CreateTruncating(NormalCdf(double.CreateTruncating(x[i])));
        else
        {
            for (int k = 0; k < vx.Length; k++, i += w) vy[k] = vx[k] * NormalCdf(vx[k]);
            for (; i < x.Length; i++) y[i] = x[i] * T.CreateTruncating(NormalCdfApprox(double.CreateTruncating(x[i])));
        }
    }

    /// <summary>dx = dy ⊙ GELU'(x).</summary>
    private void Derivative(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
    {
        int i = 0, w = Vector<T>.Count;
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
        var vdy = MemoryMarshal.Cast<T, Vector<T>>(dy);
        var vdx = MemoryMarshal.Cast<T, Vector<T>>(dx);
        var invSqrt2Pi = new Vector<T>(T.CreateTruncating(InvSqrt2Pi));
        if (Approximation == GeluApproximation.Tanh)
        {
            var slope = new Vector<T>(T.CreateTruncating(SqrtTwoOverPi));
            var cubic3 = new Vector<T>(T.CreateTruncating(3 * Cubic));
            for (int k = 0; k < vx.Length; k++, i += w)
            {
                var v = vx[k];
                var t = TanhForm(v);
                var du = slope * (Vector<T>.One + cubic3 * v * v);
                vdx[k] = vdy[k] * Half(Vector<T>.One + t + v * (Vector<T>.One - t * t) * du);
            }
            for (; i < x.Length; i++) dx[i] = dy[i] * ScalarTanhDerivative(x[i]);
        }
        else if (typeof(T) == typeof(double))
        {
            for (; i < x.Length; i++)
            {
                double v = double.CreateTruncating(x[i]);
                dx[i] = dy[i] * T.CreateTruncating(NormalCdf(v) + v * InvSqrt2Pi * Math.Exp(-0.5 * v * v));
            }
        }
        else
        {
            var minusHalf = new Vector<T>(T.CreateTruncating(-0.5));
            for (int k = 0; k < vx.Length; k++, i += w)
            {
                var v = vx[k];
                vdx[k] = vdy[k] * (NormalCdf(v) + v * invSqrt2Pi * Elementwise.Exp(minusHalf * v * v));
            }
            for (; i < x.Length; i++)
            {
                double v = double.CreateTruncating(x[i]);
                dx[i] = dy[i] * T.CreateTruncating(NormalCdfApprox(v) + v * InvSqrt2Pi * Math.Exp(-0.5 * v * v));
            }
        }
    }

    /// <summary>Φ(x) = ½ erfc(−x/√2), accurate to rounding (MathNet).</summary>
    private static double NormalCdf(double x) => 0.5 * MathNet.Numerics.SpecialFunctions.Erfc(-x * InvSqrt2);

    /// <summary>Φ(x) from the A&amp;S erfc, scalar (the vector form's tail).</summary>
    private static double NormalCdfApprox(double x)
    {
        double a = Math.Abs(x) * InvSqrt2, t = 1 / (1 + P * a);
        double q = 0.5 * t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5)))) * Math.Exp(-a * a);
        return x >= 0 ? 1 - q : q;
    }

    /// <summary>Φ(x) lane-wise from the A&amp;S erfc: q = ½erfc(|x|/√2) has no cancellation in the lower tail.</summary>
    private static Vector<T> NormalCdf(Vector<T> x)
    {
        var a = Vector.Abs(x) * new Vector<T>(T.CreateTruncating(InvSqrt2));
        var t = Vector<T>.One / (Vector<T>.One + new Vector<T>(T.CreateTruncating(P)) * a);
        var poly = new Vector<T>(T.CreateTruncating(A5));
        poly = poly * t + new Vector<T>(T.CreateTruncating(A4));
        poly = poly * t + new Vector<T>(T.CreateTruncating(A3));
        poly = poly * t + new Vector<T>(T.CreateTruncating(A2));
        poly = poly * t + new Vector<T>(T.CreateTruncating(A1));
        var q = Half(poly * t * Elementwise.Exp(-(a * a)));
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<T>.Zero), Vector<T>.One - q, q);
    }

    /// <summary>tanh(√(2/π)(x + 0.044715x³)) lane-wise.</summary>
    private static Vector<T> TanhForm(Vector<T> x) =>
        Elementwise.Tanh(new Vector<T>(T.CreateTruncating(SqrtTwoOverPi)) * (x + new Vector<T>(T.CreateTruncating(Cubic)) * x * x * x));

    private static T ScalarTanhValue(T x)
    {
        T t = Elementwise.Tanh(T.CreateTruncating(SqrtTwoOverPi) * (x + T.CreateTruncating(Cubic) * x * x * x));
        return T.CreateTruncating(0.5) * x * (T.One + t);
    }

    private static T ScalarTanhDerivative(T x)
    {
        T t = Elementwise.Tanh(T.CreateTruncating(SqrtTwoOverPi) * (x + T.CreateTruncating(Cubic) * x * x * x));
        T du = T.CreateTruncating(SqrtTwoOverPi) * (T.One + T.CreateTruncating(3 * Cubic) * x * x);
        return T.CreateTruncating(0.5) * (T.One + t + x * (T.One - t * t) * du);
    }

    private static Vector<T> Half(Vector<T> v) => v * new Vector<T>(T.CreateTruncating(0.5));
}
