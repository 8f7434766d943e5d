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

    /// <summary>σ(x) = 1/(1+e^{−x}) lane-wise; saturates cleanly (e^{−x} = ∞ gives 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Sigmoid<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector<T>.One / (Vector<T>.One + Exp(-x));

    /// <summary>tanh(x) = 1 − 2/(e^{2x}+1) lane-wise: exact limits ±1, absolute error of a few ulp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Tanh<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var two = Vector<T>.One + Vector<T>.One;
        return Vector<T>.One - two / (Exp(x + x) + Vector<T>.One);
    }

    /// <summary>Scalar σ(x), the same formula as the vector form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    /// <summary>Scalar tanh, the same formula as the vector form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T two = T.One + T.One;
        return T.One - two / (T.Exp(x + x) + T.One);
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
