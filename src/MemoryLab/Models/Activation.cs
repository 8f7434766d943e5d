using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemoryLab.Models;

/// <summary>The pointwise nonlinearity σ of a simple recurrence (Elman, continuous-time).</summary>
public enum Activation
{
    /// <summary><c>tanh(a)</c> (Li21 tanh RNN, Wang24).</summary>
    Tanh,
    /// <summary><c>clamp(a, −1, 1)</c> (PyTorch <c>hardtanh</c>; Wang24 uses it alongside tanh).</summary>
    HardTanh,
    /// <summary><c>a</c>: a linear recurrence.</summary>
    Identity,
}

/// <summary>
/// An <see cref="Activation"/> as an operator struct (the System.Numerics.Tensors pattern, DESIGN.md): a
/// loop written once over <c>TOp</c> is specialised by the JIT for each activation, with no per-element
/// branch. The derivative is written in terms of the <i>output</i> y = σ(a), so a layer keeps only its
/// activations for the backward pass.
/// </summary>
internal interface IActivationOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>σ(a) lane-wise.</summary>
    static abstract Vector<T> Apply(Vector<T> a);
    /// <summary>σ(a).</summary>
    static abstract T Apply(T a);
    /// <summary>σ'(a) from y = σ(a), lane-wise.</summary>
    static abstract Vector<T> DerivativeFromOutput(Vector<T> y);
    /// <summary>σ'(a) from y = σ(a).</summary>
    static abstract T DerivativeFromOutput(T y);
}

/// <summary>tanh, with tanh' = 1 − y².</summary>
internal readonly struct TanhOperator<T> : IActivationOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static Vector<T> Apply(Vector<T> a) => Elementwise.Tanh(a);
    public static T Apply(T a) => Elementwise.Tanh(a);
    public static Vector<T> DerivativeFromOutput(Vector<T> y) => Vector<T>.One - y * y;
    public static T DerivativeFromOutput(T y) => T.One - y * y;
}

/// <summary>hardtanh = clamp(a, −1, 1), with derivative 1 where |y| &lt; 1 and 0 otherwise (PyTorch's strict inequality).</summary>
internal readonly struct HardTanhOperator<T> : IActivationOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static Vector<T> Apply(Vector<T> a) => Vector.Min(Vector.Max(a, -Vector<T>.One), Vector<T>.One);
    public static T Apply(T a) => T.Clamp(a, -T.One, T.One);
    public static Vector<T> DerivativeFromOutput(Vector<T> y) => Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(y), Vector<T>.One), Vector<T>.One, Vector<T>.Zero);
    public static T DerivativeFromOutput(T y) => T.Abs(y) < T.One ? T.One : T.Zero;
}

/// <summary>The identity, with derivative 1.</summary>
internal readonly struct IdentityOperator<T> : IActivationOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static Vector<T> Apply(Vector<T> a) => a;
    public static T Apply(T a) => a;
    public static Vector<T> DerivativeFromOutput(Vector<T> y) => Vector<T>.One;
    public static T DerivativeFromOutput(T y) => T.One;
}

/// <summary>
/// Vectorised elementwise helpers shared by the layers: exp, the logistic sigmoid and tanh (vector and
/// scalar forms with the same formula), bias rows, column sums and transposition.
/// </summary>
internal static class Elementwise
{
    /// <summary>e^x lane-wise (float and double only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException($"vectorised exp supports float and double, not {typeof(T).Name}");
    }

    /// <summary>σ(x) lane-wise: 1/(1+e^{−x}) (saturates cleanly) in float64; ½ + ½·tanh(x/2) with the
    /// rational tanh in float32 (absolute error below 3·10⁻⁷, no exp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Sigmoid<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var half = new Vector<float>(0.5f);
            return (half + half * RationalTanh(half * x.As<T, float>())).As<float, T>();
        }
        return Vector<T>.One / (Vector<T>.One + Exp(-x));
    }

    /// <summary>tanh(x) lane-wise: 1 − 2/(e^{2x}+1) in float64 (exact limits ±1, a few ulp); a rational
    /// minimax form in float32 (absolute error below 4·10⁻⁷, one division, no exp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Tanh<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return RationalTanh(x.As<T, float>()).As<float, T>();
        var two = Vector<T>.One + Vector<T>.One;
        return Vector<T>.One - two / (Exp(x + x) + Vector<T>.One);
    }

    /// <summary>Scalar σ(x), the same formula as the vector form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            float t = RationalTanh(0.5f * float.CreateTruncating(x));
            return T.CreateTruncating(0.5f + 0.5f * t);
        }
        return T.One / (T.One + T.Exp(-x));
    }

    /// <summary>Scalar tanh, the same formula as the vector form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return T.CreateTruncating(RationalTanh(float.CreateTruncating(x)));
        T two = T.One + T.One;
        return T.One - two / (T.Exp(x + x) + T.One);
    }

    // float32 tanh as x·p(x²)/q(x²) on |x| ≤ 7.9053 (where it rounds to ±1): the minimax rational form of
    // Eigen's generic_fast_tanh_float. Seven FMAs and a division instead of an exp (which .NET evaluates
    // in float64 for float32) and a division.
    private const float TanhClamp = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f, A7 = 5.12229709037114e-08f,
        A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> RationalTanh(Vector<float> x)
    {
        var c = new Vector<float>(TanhClamp);
        x = Vector.Min(Vector.Max(x, -c), c);
        var x2 = x * x;
        var p = new Vector<float>(A13);
        p = p * x2 + new Vector<float>(A11);
        p = p * x2 + new Vector<float>(A9);
        p = p * x2 + new Vector<float>(A7);
        p = p * x2 + new Vector<float>(A5);
        p = p * x2 + new Vector<float>(A3);
        p = p * x2 + new Vector<float>(A1);
        var q = new Vector<float>(B6);
        q = q * x2 + new Vector<float>(B4);
        q = q * x2 + new Vector<float>(B2);
        q = q * x2 + new Vector<float>(B0);
        return x * p / q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RationalTanh(float x)
    {
        x = Math.Clamp(x, -TanhClamp, TanhClamp);
        float x2 = x * x;
        float p = ((((((A13 * x2 + A11) * x2 + A9) * x2 + A7) * x2 + A5) * x2 + A3) * x2 + A1);
        float q = ((B6 * x2 + B4) * x2 + B2) * x2 + B0;
        return x * p / q;
    }

    /// <summary>acc ← acc + x (vectorised), used for bias gradients (column sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddInPlace<T>(Span<T> acc, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        System.Numerics.Tensors.TensorPrimitives.Add(acc, x, acc);

    /// <summary>Adds <paramref name="bias"/> to each of <paramref name="rows"/> rows of width bias.Length at stride <paramref name="ld"/>.</summary>
    public static void AddBiasToRows<T>(Span<T> data, int rows, int ld, ReadOnlySpan<T> bias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++) AddInPlace(data.Slice(i * ld, bias.Length), bias);
    }

    /// <summary>acc[j] += Σ_i data[i·ld + j] over <paramref name="rows"/> rows, rows summed in order (deterministic).</summary>
    public static void AddColumnSums<T>(Span<T> acc, ReadOnlySpan<T> data, int rows, int ld) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++) AddInPlace(acc, data.Slice(i * ld, acc.Length));
    }

    /// <summary>Wᵀ <c>[cols, rows]</c> of a row-major <c>[rows, cols]</c> matrix W.</summary>
    public static void Transpose<T>(ReadOnlySpan<T> w, int rows, int cols, Span<T> wT)
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                wT[j * rows + i] = w[i * cols + j];
    }
}
