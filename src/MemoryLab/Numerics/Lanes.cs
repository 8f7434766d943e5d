using System.Numerics;
using System.Runtime.CompilerServices;

namespace MemoryLab.Numerics;

/// <summary>
/// A vector of <typeparamref name="TS"/>'s width with arithmetic operators, so an elementwise kernel written
/// once over <see cref="ISimd{TV, T}"/> reads as its formula (<c>g * (one − z)</c>). Each operator is one
/// <typeparamref name="TS"/> operation, evaluated in the order written: the vector body and the scalar tail
/// round alike, lane by lane. The JIT erases the wrapper.
/// </summary>
internal readonly struct Lane<TS, TV, T>(TV value) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The raw vector.</summary>
    public readonly TV Value = value;

    public static Lane<TS, TV, T> Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(TS.Zero);
    }

    public static Lane<TS, TV, T> One
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(TS.One);
    }

    /// <summary>The lanes at <c>p + offset</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> Load(ref T p, nuint offset) => new(TS.Load(ref p, offset));
    /// <summary>Stores these lanes at <c>p + offset</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref T p, nuint offset) => TS.Store(Value, ref p, offset);
    /// <summary>Every lane <paramref name="s"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> Splat(T s) => new(TS.Splat(s));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> operator +(Lane<TS, TV, T> a, Lane<TS, TV, T> b) => new(TS.Add(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> operator -(Lane<TS, TV, T> a, Lane<TS, TV, T> b) => new(TS.Sub(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> operator *(Lane<TS, TV, T> a, Lane<TS, TV, T> b) => new(TS.Mul(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> operator /(Lane<TS, TV, T> a, Lane<TS, TV, T> b) => new(TS.Div(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> operator -(Lane<TS, TV, T> a) => new(TS.Neg(a.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> Min(Lane<TS, TV, T> a, Lane<TS, TV, T> b) => new(TS.Min(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> Max(Lane<TS, TV, T> a, Lane<TS, TV, T> b) => new(TS.Max(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> Abs(Lane<TS, TV, T> a) => new(TS.Abs(a.Value));
    /// <summary><c>a &lt; b ? ifLess : otherwise</c> lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> WhereLess(Lane<TS, TV, T> a, Lane<TS, TV, T> b, Lane<TS, TV, T> ifLess, Lane<TS, TV, T> otherwise) =>
        new(TS.WhereLess(a.Value, b.Value, ifLess.Value, otherwise.Value));
    /// <summary>e^a: the vector exp at a vector width, <c>T.Exp</c> at one lane (float and double only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane<TS, TV, T> Exp(Lane<TS, TV, T> a) => new(TS.Exp(a.Value));
}

/// <summary>An elementwise kernel over a row: <see cref="Run{TS, TV}"/> computes lanes <c>from … to − 1</c> in blocks
/// of <c>TS.Count</c>, written once for every width (<see cref="Lanes.ForEach{TKernel, T}"/> runs it). Mark the
/// implementation <c>NoInlining</c> when it evaluates several sigmoids or tanhs: as its own JIT root it has the
/// inlining budget to inline them all (inlined into a caller, the budget runs out and they become calls).</summary>
internal interface ILaneKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lanes <paramref name="from"/> to <paramref name="to"/> − 1; <c>to − from</c> is a multiple of <c>TS.Count</c>.</summary>
    void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct;
}

/// <summary>Runs elementwise row kernels: the vector body at <see cref="Vector{T}"/>'s width, then the tail one
/// lane at a time, both from the kernel's one generic <see cref="ILaneKernel{T}.Run{TS, TV}"/>.</summary>
internal static class Lanes
{
    /// <summary>Lanes 0 … <paramref name="n"/> − 1 of <paramref name="kernel"/>: blocks of <see cref="Vector{T}.Count"/>,
    /// then single lanes. A lane's bits do not depend on which of the two computed it, except through
    /// <see cref="Lane{TS, TV, T}.Exp"/> (float64 sigmoid and tanh) and where a kernel keeps a width's own summation
    /// order on purpose (the complex scans of <see cref="Kernels"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ForEach<TKernel, T>(ref TKernel kernel, int n) where TKernel : ILaneKernel<T>, allows ref struct
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int vectorEnd = n - n % Vector<T>.Count;
        if (vectorEnd > 0) kernel.Run<SimdVector<T>, Vector<T>>(0, (nuint)vectorEnd);
        if (vectorEnd < n) kernel.Run<Simd1<T>, T>((nuint)vectorEnd, (nuint)n);
    }
}

/// <summary>The logistic sigmoid and tanh over any width, one formula for vector lanes and scalars. Written on the
/// raw <see cref="ISimd{TV, T}"/> operations (not <see cref="Lane{TS, TV, T}"/>'s operators) to keep the JIT's
/// inlining budget for the kernels that call them: a cell evaluates five of these per lane block.</summary>
internal static class SimdMath
{
    /// <summary>σ(x) = 1/(1+e^{−x}) (saturates cleanly) in float64; ½ + ½·tanh(x/2) with the rational tanh in
    /// float32 (absolute error below 3·10⁻⁷, no exp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> Sigmoid<TS, TV, T>(Lane<TS, TV, T> x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        new(Sigmoid<TS, TV, T>(x.Value));

    /// <summary>tanh(x) = 1 − 2/(e^{2x}+1) in float64 (exact limits ±1, a few ulp); a rational minimax form in
    /// float32 (absolute error below 4·10⁻⁷, one division, no exp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> Tanh<TS, TV, T>(Lane<TS, TV, T> x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        new(Tanh<TS, TV, T>(x.Value));

    /// <summary>σ(x) lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var half = TS.Splat(T.CreateTruncating(0.5f));
            return TS.Add(half, TS.Mul(half, RationalTanh<TS, TV, T>(TS.Mul(half, x))));
        }
        return TS.Div(TS.One, TS.Add(TS.One, TS.Exp(TS.Neg(x))));
    }

    /// <summary>tanh(x) lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return RationalTanh<TS, TV, T>(x);
        var one = TS.One;
        return TS.Sub(one, TS.Div(TS.Add(one, one), TS.Add(TS.Exp(TS.Add(x, x)), one)));
    }

    // float32 tanh as x·p(x²)/q(x²) on |x| ≤ 7.9053 (where it rounds to ±1): the minimax rational form of
    // Eigen's generic_fast_tanh_float. Seven multiply-adds and a division instead of an exp (which .NET
    // evaluates in float64 for float32) and a division.
    private const float TanhClamp = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f, A7 = 5.12229709037114e-08f,
        A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV RationalTanh<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        var c = TS.Splat(T.CreateTruncating(TanhClamp));
        x = TS.Min(TS.Max(x, TS.Neg(c)), c);
        var x2 = TS.Mul(x, x);
        // p·x² + a, multiply then add (two roundings, as the scalar form).
        var p = TS.Splat(T.CreateTruncating(A13));
        p = TS.Add(TS.Mul(p, x2), TS.Splat(T.CreateTruncating(A11)));
        p = TS.Add(TS.Mul(p, x2), TS.Splat(T.CreateTruncating(A9)));
        p = TS.Add(TS.Mul(p, x2), TS.Splat(T.CreateTruncating(A7)));
        p = TS.Add(TS.Mul(p, x2), TS.Splat(T.CreateTruncating(A5)));
        p = TS.Add(TS.Mul(p, x2), TS.Splat(T.CreateTruncating(A3)));
        p = TS.Add(TS.Mul(p, x2), TS.Splat(T.CreateTruncating(A1)));
        var q = TS.Splat(T.CreateTruncating(B6));
        q = TS.Add(TS.Mul(q, x2), TS.Splat(T.CreateTruncating(B4)));
        q = TS.Add(TS.Mul(q, x2), TS.Splat(T.CreateTruncating(B2)));
        q = TS.Add(TS.Mul(q, x2), TS.Splat(T.CreateTruncating(B0)));
        return TS.Div(TS.Mul(x, p), q);
    }
}

/// <summary>
/// A pointwise nonlinearity σ as an operator struct over <see cref="ISimd{TV, T}"/>: a loop written once over
/// <c>TAct</c> is specialised by the JIT for each activation and each width, with no per-element branch. The
/// derivative is written in terms of the <i>output</i> y = σ(a), so a layer keeps only its activations for the
/// backward pass.
/// </summary>
internal interface IActivation
{
    /// <summary>σ(a).</summary>
    static abstract Lane<TS, TV, T> Apply<TS, TV, T>(Lane<TS, TV, T> a) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>;
    /// <summary>σ'(a) from y = σ(a).</summary>
    static abstract Lane<TS, TV, T> DerivativeFromOutput<TS, TV, T>(Lane<TS, TV, T> y) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>tanh, with tanh' = 1 − y².</summary>
internal readonly struct TanhActivation : IActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> Apply<TS, TV, T>(Lane<TS, TV, T> a) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        SimdMath.Tanh(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> DerivativeFromOutput<TS, TV, T>(Lane<TS, TV, T> y) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        Lane<TS, TV, T>.One - y * y;
}

/// <summary>hardtanh = clamp(a, −1, 1), with derivative 1 where |y| &lt; 1 and 0 otherwise (PyTorch's strict inequality).</summary>
internal readonly struct HardTanhActivation : IActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> Apply<TS, TV, T>(Lane<TS, TV, T> a) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        Lane<TS, TV, T>.Min(Lane<TS, TV, T>.Max(a, -Lane<TS, TV, T>.One), Lane<TS, TV, T>.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> DerivativeFromOutput<TS, TV, T>(Lane<TS, TV, T> y) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        Lane<TS, TV, T>.WhereLess(Lane<TS, TV, T>.Abs(y), Lane<TS, TV, T>.One, Lane<TS, TV, T>.One, Lane<TS, TV, T>.Zero);
}

/// <summary>The identity, with derivative 1.</summary>
internal readonly struct IdentityActivation : IActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> Apply<TS, TV, T>(Lane<TS, TV, T> a) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> => a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane<TS, TV, T> DerivativeFromOutput<TS, TV, T>(Lane<TS, TV, T> y) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        Lane<TS, TV, T>.One;
}
