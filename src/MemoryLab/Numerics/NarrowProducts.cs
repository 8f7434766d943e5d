using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemoryLab.Numerics;

/// <summary>
/// Products with one inner dimension of 1 (a layer with a single input or output feature), which
/// <see cref="Gemm"/> handles through its general tiling at a fraction of the speed a plain vector loop reaches.
/// Each gives exactly the bits of the <see cref="Gemm.Multiply{T}"/> call it replaces, so a layer can switch
/// to it without changing any result (on FMA hardware, where the GEMM takes its blocked path).
/// </summary>
public static class NarrowProducts
{
    /// <summary>dest[r, j] = α·(x[r]·b[j]) for <paramref name="rows"/> rows of width b.Length (row stride b.Length):
    /// <c>Gemm.Multiply(No, No, rows, n, 1, α, x, 1, b, n, 0, dest, n)</c>. The GEMM forms each entry as
    /// α·fma(x, b, +0) (which differs from α·(x·b) in the sign of some zeros), and so does this loop.</summary>
    public static void OuterProduct<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, T alpha, Span<T> dest, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = b.Length;
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "row count must be non-negative");
        if (x.Length < rows || dest.Length < (long)rows * n)
            throw new ArgumentException($"outer product of {rows} rows × {n} needs x ≥ {rows} and dest ≥ {(long)rows * n} entries (got {x.Length}, {dest.Length})");
        if (typeof(T) == typeof(float))
            OuterProduct(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(b), Unsafe.As<T, float>(ref alpha), MemoryMarshal.Cast<T, float>(dest), rows);
        else if (typeof(T) == typeof(double))
            OuterProduct(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(b), Unsafe.As<T, double>(ref alpha), MemoryMarshal.Cast<T, double>(dest), rows);
        else
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < n; j++) dest[r * n + j] = alpha * T.FusedMultiplyAdd(x[r], b[j], T.Zero);
    }

    private static void OuterProduct(ReadOnlySpan<float> x, ReadOnlySpan<float> b, float alpha, Span<float> dest, int rows)
    {
        int n = b.Length, w = Vector<float>.Count, vectorEnd = n - n % w;
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rd = ref MemoryMarshal.GetReference(dest);
        var va = new Vector<float>(alpha);
        for (int r = 0; r < rows; r++)
        {
            float xr = x[r];
            var vx = new Vector<float>(xr);
            ref float row = ref Unsafe.Add(ref rd, r * n);
            int j = 0;
            for (; j < vectorEnd; j += w)
                (va * Vector.FusedMultiplyAdd(vx, Vector.LoadUnsafe(ref rb, (nuint)j), Vector<float>.Zero)).StoreUnsafe(ref row, (nuint)j);
            for (; j < n; j++) Unsafe.Add(ref row, j) = alpha * MathF.FusedMultiplyAdd(xr, Unsafe.Add(ref rb, j), 0f);
        }
    }

    private static void OuterProduct(ReadOnlySpan<double> x, ReadOnlySpan<double> b, double alpha, Span<double> dest, int rows)
    {
        int n = b.Length, w = Vector<double>.Count, vectorEnd = n - n % w;
        ref double rb = ref MemoryMarshal.GetReference(b);
        ref double rd = ref MemoryMarshal.GetReference(dest);
        var va = new Vector<double>(alpha);
        for (int r = 0; r < rows; r++)
        {
            double xr = x[r];
            var vx = new Vector<double>(xr);
            ref double row = ref Unsafe.Add(ref rd, r * n);
            int j = 0;
            for (; j < vectorEnd; j += w)
                (va * Vector.FusedMultiplyAdd(vx, Vector.LoadUnsafe(ref rb, (nuint)j), Vector<double>.Zero)).StoreUnsafe(ref row, (nuint)j);
            for (; j < n; j++) Unsafe.Add(ref row, j) = alpha * Math.FusedMultiplyAdd(xr, Unsafe.Add(ref rb, j), 0.0);
        }
    }
}
