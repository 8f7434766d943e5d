using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MemoryLab.Numerics;

/// <summary>
/// The vector operations the kernels need, over one vector type (512, 256, 128 bits, the platform's
/// <see cref="Vector{T}"/>, or a scalar), so each kernel is written once and the JIT specialises it per width
/// (struct type arguments: the System.Numerics.Tensors operator-struct pattern). A kernel with a vector body
/// and a scalar tail runs the same generic code at <see cref="SimdVector{T}"/> and at <see cref="Simd1{T}"/>
/// (<see cref="Lanes.ForEach{TKernel, T}"/>). Each operation rounds as its scalar counterpart does lane by lane,
/// except <see cref="Exp"/> (the vector exp and <c>T.Exp</c> are different approximations) and <see cref="Fma"/>
/// where the hardware lacks FMA.
/// </summary>
internal interface ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract int Count { get; }
    static abstract TV Load(ref T p);
    static abstract void Store(TV v, ref T p);
    /// <summary>The lanes at <c>p + offset</c>.</summary>
    static abstract TV Load(ref T p, nuint offset);
    /// <summary>Stores at <c>p + offset</c>.</summary>
    static abstract void Store(TV v, ref T p, nuint offset);
    static abstract TV Splat(T s);
    static abstract TV Zero { get; }
    static abstract TV One { get; }
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Div(TV a, TV b);
    static abstract TV Neg(TV a);
    /// <summary>a·b + c, one rounding where the hardware has FMA.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    /// <summary>c − a·b.</summary>
    static abstract TV Fnma(TV a, TV b, TV c);
    /// <summary>Lane-wise minimum and maximum (IEEE 754-2019: a NaN lane stays NaN).</summary>
    static abstract TV Min(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    static abstract TV Abs(TV a);
    /// <summary><c>a &lt; b ? ifLess : otherwise</c> lane-wise.</summary>
    static abstract TV WhereLess(TV a, TV b, TV ifLess, TV otherwise);
    /// <summary>e^a lane-wise (float and double only).</summary>
    static abstract TV Exp(TV a);
    /// <summary>Sum of the lanes, halving the vector each step (fixed order).</summary>
    static abstract T Sum(TV v);
}

internal readonly struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T p) => Vector512.LoadUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> v, ref T p) => v.StoreUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T p, nuint offset) => Vector512.LoadUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> v, ref T p, nuint offset) => v.StoreUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Splat(T s) => Vector512.Create(s);
    public static Vector512<T> Zero => Vector512<T>.Zero;
    public static Vector512<T> One => Vector512<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Sub(Vector512<T> a, Vector512<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Mul(Vector512<T> a, Vector512<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Div(Vector512<T> a, Vector512<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Neg(Vector512<T> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fnma(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported) return Avx512F.FusedMultiplyAddNegated(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double) && Avx512F.IsSupported) return Avx512F.FusedMultiplyAddNegated(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return Fma(-a, b, c);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Min(Vector512<T> a, Vector512<T> b) => Vector512.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> WhereLess(Vector512<T> a, Vector512<T> b, Vector512<T> ifLess, Vector512<T> otherwise) =>
        Vector512.ConditionalSelect(Vector512.LessThan(a, b), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> a)
    {
        if (typeof(T) == typeof(float)) return Vector512.Exp(a.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.Exp(a.AsDouble()).As<double, T>();
        throw new NotSupportedException($"vectorised exp supports float and double, not {typeof(T).Name}");
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> v) => Simd256<T>.Sum(v.GetLower() + v.GetUpper());
}

internal readonly struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T p) => Vector256.LoadUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> v, ref T p) => v.StoreUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T p, nuint offset) => Vector256.LoadUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> v, ref T p, nuint offset) => v.StoreUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Splat(T s) => Vector256.Create(s);
    public static Vector256<T> Zero => Vector256<T>.Zero;
    public static Vector256<T> One => Vector256<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Sub(Vector256<T> a, Vector256<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Mul(Vector256<T> a, Vector256<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Div(Vector256<T> a, Vector256<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Neg(Vector256<T> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fnma(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float) && System.Runtime.Intrinsics.X86.Fma.IsSupported) return System.Runtime.Intrinsics.X86.Fma.MultiplyAddNegated(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double) && System.Runtime.Intrinsics.X86.Fma.IsSupported) return System.Runtime.Intrinsics.X86.Fma.MultiplyAddNegated(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return Fma(-a, b, c);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Min(Vector256<T> a, Vector256<T> b) => Vector256.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> WhereLess(Vector256<T> a, Vector256<T> b, Vector256<T> ifLess, Vector256<T> otherwise) =>
        Vector256.ConditionalSelect(Vector256.LessThan(a, b), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp(Vector256<T> a)
    {
        if (typeof(T) == typeof(float)) return Vector256.Exp(a.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.Exp(a.AsDouble()).As<double, T>();
        throw new NotSupportedException($"vectorised exp supports float and double, not {typeof(T).Name}");
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> v) => Simd128<T>.Sum(v.GetLower() + v.GetUpper());
}

internal readonly struct Simd128<T> : ISimd<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector128<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T p) => Vector128.LoadUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> v, ref T p) => v.StoreUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T p, nuint offset) => Vector128.LoadUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> v, ref T p, nuint offset) => v.StoreUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Splat(T s) => Vector128.Create(s);
    public static Vector128<T> Zero => Vector128<T>.Zero;
    public static Vector128<T> One => Vector128<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Sub(Vector128<T> a, Vector128<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Mul(Vector128<T> a, Vector128<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Div(Vector128<T> a, Vector128<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Neg(Vector128<T> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Fma(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Fnma(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (typeof(T) == typeof(float) && System.Runtime.Intrinsics.X86.Fma.IsSupported) return System.Runtime.Intrinsics.X86.Fma.MultiplyAddNegated(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double) && System.Runtime.Intrinsics.X86.Fma.IsSupported) return System.Runtime.Intrinsics.X86.Fma.MultiplyAddNegated(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return Fma(-a, b, c);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Min(Vector128<T> a, Vector128<T> b) => Vector128.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> WhereLess(Vector128<T> a, Vector128<T> b, Vector128<T> ifLess, Vector128<T> otherwise) =>
        Vector128.ConditionalSelect(Vector128.LessThan(a, b), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp(Vector128<T> a)
    {
        if (typeof(T) == typeof(float)) return Vector128.Exp(a.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector128.Exp(a.AsDouble()).As<double, T>();
        throw new NotSupportedException($"vectorised exp supports float and double, not {typeof(T).Name}");
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> v) => Vector128.Sum(v);
}

/// <summary>The platform's preferred vector, <see cref="Vector{T}"/> (256 bits on AVX2 and AVX-512 machines unless
/// the runtime is told otherwise, 128 on Arm): the width of the row kernels that run a vector body and a scalar tail
/// (<see cref="Lanes.ForEach{TKernel, T}"/>).</summary>
internal readonly struct SimdVector<T> : ISimd<Vector<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Load(ref T p) => Vector.LoadUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector<T> v, ref T p) => v.StoreUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Load(ref T p, nuint offset) => Vector.LoadUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector<T> v, ref T p, nuint offset) => v.StoreUnsafe(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Splat(T s) => new(s);
    public static Vector<T> Zero => Vector<T>.Zero;
    public static Vector<T> One => Vector<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Add(Vector<T> a, Vector<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Sub(Vector<T> a, Vector<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Mul(Vector<T> a, Vector<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Div(Vector<T> a, Vector<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Neg(Vector<T> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Fma(Vector<T> a, Vector<T> b, Vector<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Fnma(Vector<T> a, Vector<T> b, Vector<T> c) => Fma(-a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Min(Vector<T> a, Vector<T> b) => Vector.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Max(Vector<T> a, Vector<T> b) => Vector.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Abs(Vector<T> a) => Vector.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> WhereLess(Vector<T> a, Vector<T> b, Vector<T> ifLess, Vector<T> otherwise) =>
        Vector.ConditionalSelect(Vector.LessThan(a, b), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp(Vector<T> a)
    {
        if (typeof(T) == typeof(float)) return Vector.Exp(a.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector.Exp(a.As<T, double>()).As<double, T>();
        throw new NotSupportedException($"vectorised exp supports float and double, not {typeof(T).Name}");
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector<T> v) => Vector.Sum(v);
}

/// <summary>One lane: the scalar form of every kernel (a row's tail, or a width no vector divides).</summary>
internal readonly struct Simd1<T> : ISimd<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Load(ref T p) => p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T v, ref T p) => p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Load(ref T p, nuint offset) => Unsafe.Add(ref p, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T v, ref T p, nuint offset) => Unsafe.Add(ref p, offset) = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Splat(T s) => s;
    public static T Zero => T.Zero;
    public static T One => T.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Add(T a, T b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sub(T a, T b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Mul(T a, T b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Div(T a, T b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Neg(T a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Fma(T a, T b, T c) => T.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Fnma(T a, T b, T c) => T.FusedMultiplyAdd(-a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Min(T a, T b) => T.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Max(T a, T b) => T.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Abs(T a) => T.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T WhereLess(T a, T b, T ifLess, T otherwise) => a < b ? ifLess : otherwise;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Exp(T a) => T.Exp(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(T v) => v;
}
