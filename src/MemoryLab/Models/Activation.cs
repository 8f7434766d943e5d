using System.Numerics;
using System.Runtime.CompilerServices;
using MemoryLab.Numerics;

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
/// Elementwise helpers shared by the layers: exp, the logistic sigmoid and tanh at <see cref="Vector{T}"/>'s width
/// and for one value (one formula, <see cref="SimdMath"/>), bias rows, column sums and transposition.
/// </summary>
internal static class Elementwise
{
    /// <summary>e^x lane-wise (float and double only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> => SimdVector<T>.Exp(x);

    /// <summary>σ(x) lane-wise (<see cref="SimdMath"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Sigmoid<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        SimdMath.Sigmoid<SimdVector<T>, Vector<T>, T>(x);

    /// <summary>tanh(x) lane-wise (<see cref="SimdMath"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Tanh<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        SimdMath.Tanh<SimdVector<T>, Vector<T>, T>(x);

    /// <summary>Scalar σ(x), the same formula as the vector form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => SimdMath.Sigmoid<Simd1<T>, T, T>(x);

    /// <summary>Scalar tanh, the same formula as the vector form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => SimdMath.Tanh<Simd1<T>, T, T>(x);

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
