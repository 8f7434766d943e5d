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
/// Vectorised elementwise maps shared by the layers: the activations and their derivatives, the
/// logistic sigmoid. Every derivative here is written in terms of the function's <i>output</i>, so a
/// layer keeps only its activations for the backward pass.
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

    /// <summary>x ← σ(x) in place for an <see cref="Activation"/>.</summary>
    public static void Apply<T>(Activation activation, Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (activation)
        {
            case Activation.Tanh: TanhInPlace(x); break;
            case Activation.HardTanh: HardTanhInPlace(x); break;
            case Activation.Identity: break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
        }
    }

    /// <summary>g ← g ⊙ σ'(a), with σ'(a) read from the output y = σ(a):
    /// tanh' = 1 − y², hardtanh' = 1 where |y| &lt; 1 else 0 (PyTorch's strict inequality), identity' = 1.</summary>
    public static void MultiplyByDerivative<T>(Activation activation, ReadOnlySpan<T> y, Span<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length != g.Length) throw new ArgumentException("activation derivative: lengths differ");
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rg = ref MemoryMarshal.GetReference(g);
        int n = g.Length, i = 0, w = Vector<T>.Count;
        switch (activation)
        {
            case Activation.Tanh:
                for (; i <= n - w; i += w)
                {
                    var v = Vector.LoadUnsafe(ref ry, (nuint)i);
                    (Vector.LoadUnsafe(ref rg, (nuint)i) * (Vector<T>.One - v * v)).StoreUnsafe(ref rg, (nuint)i);
                }
                for (; i < n; i++) Unsafe.Add(ref rg, i) *= T.One - Unsafe.Add(ref ry, i) * Unsafe.Add(ref ry, i);
                break;
            case Activation.HardTanh:
                for (; i <= n - w; i += w)
                {
                    var inside = Vector.LessThan(Vector.Abs(Vector.LoadUnsafe(ref ry, (nuint)i)), Vector<T>.One);
                    Vector.ConditionalSelect(inside, Vector.LoadUnsafe(ref rg, (nuint)i), Vector<T>.Zero).StoreUnsafe(ref rg, (nuint)i);
                }
                for (; i < n; i++) if (!(T.Abs(Unsafe.Add(ref ry, i)) < T.One)) Unsafe.Add(ref rg, i) = T.Zero;
                break;
            case Activation.Identity: break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
        }
    }

    /// <summary>x ← tanh(x) in place.</summary>
    public static void TanhInPlace<T>(Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0, w = Vector<T>.Count;
        for (; i <= n - w; i += w) Tanh(Vector.LoadUnsafe(ref r, (nuint)i)).StoreUnsafe(ref r, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref r, i) = Tanh(Unsafe.Add(ref r, i));
    }

    /// <summary>x ← clamp(x, −1, 1) in place.</summary>
    public static void HardTanhInPlace<T>(Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0, w = Vector<T>.Count;
        for (; i <= n - w; i += w)
            Vector.Min(Vector.Max(Vector.LoadUnsafe(ref r, (nuint)i), -Vector<T>.One), Vector<T>.One).StoreUnsafe(ref r, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref r, i) = T.Clamp(Unsafe.Add(ref r, i), -T.One, T.One);
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
