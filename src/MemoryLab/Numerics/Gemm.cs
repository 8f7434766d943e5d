using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemoryLab.Numerics;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>Use the matrix as stored.</summary>
    No,
    /// <summary>Use its transpose.</summary>
    Yes,
}

/// <summary>
/// Single-threaded general matrix multiply on row-major storage:
/// <c>C ← α·op(A)·op(B) + β·C</c>, op(A) is m×k, op(B) is k×n, C is m×n, with leading dimensions
/// (row strides) lda, ldb, ldc. Layers parallelise over batch chunks and call this inside a chunk.
/// When β = 0, C is not read (NaNs in it are overwritten).
/// </summary>
public static class Gemm
{
    /// <summary>C ← α·op(A)·op(B) + β·C.</summary>
    public static void Multiply<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0) return;
        Validate(transA, m, k, a.Length, lda, "A");
        Validate(transB, k, n, b.Length, ldb, "B");
        Validate(Transpose.No, m, n, c.Length, ldc, "C");
        ScaleC(m, n, beta, c, ldc);
        if (k == 0 || alpha == T.Zero) return;
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T rc = ref MemoryMarshal.GetReference(c);
        if (transB == Transpose.No)
        {
            // c[i, :] += α a(i, p) b[p, :] — contiguous rows of B and C, vectorised over j.
            for (int i = 0; i < m; i++)
            {
                ref T ci = ref Unsafe.Add(ref rc, i * ldc);
                for (int p = 0; p < k; p++)
                {
                    T aip = alpha * (transA == Transpose.No ? Unsafe.Add(ref ra, i * lda + p) : Unsafe.Add(ref ra, p * lda + i));
                    if (aip == T.Zero) continue;
                    Axpy(n, aip, ref Unsafe.Add(ref rb, p * ldb), ref ci);
                }
            }
        }
        else
        {
            // c[i, j] += α dot(a(i, :), b[j, :]) — both rows contiguous when A is not transposed.
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    T s = T.Zero;
                    if (transA == Transpose.No)
                        s = Dot(k, ref Unsafe.Add(ref ra, i * lda), ref Unsafe.Add(ref rb, j * ldb));
                    else
                        for (int p = 0; p < k; p++) s += Unsafe.Add(ref ra, p * lda + i) * Unsafe.Add(ref rb, j * ldb + p);
                    Unsafe.Add(ref rc, i * ldc + j) += alpha * s;
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy<T>(int n, T a, ref T x, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var va = new Vector<T>(a);
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
            {
                ref T yj = ref Unsafe.Add(ref y, j);
                var vy = Vector.LoadUnsafe(ref yj) + va * Vector.LoadUnsafe(ref Unsafe.Add(ref x, j));
                vy.StoreUnsafe(ref yj);
            }
        }
        for (; j < n; j++) Unsafe.Add(ref y, j) += a * Unsafe.Add(ref x, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(int n, ref T x, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        T s = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                acc += Vector.LoadUnsafe(ref Unsafe.Add(ref x, j)) * Vector.LoadUnsafe(ref Unsafe.Add(ref y, j));
            s = Vector.Sum(acc);
        }
        for (; j < n; j++) s += Unsafe.Add(ref x, j) * Unsafe.Add(ref y, j);
        return s;
    }

    private static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    private static void Validate(Transpose t, int rows, int cols, int length, int ld, string name)
    {
        int storedRows = t == Transpose.No ? rows : cols, storedCols = t == Transpose.No ? cols : rows;
        if (storedRows == 0 || storedCols == 0) return;
        if (ld < storedCols) throw new ArgumentException($"GEMM: leading dimension of {name} ({ld}) is smaller than its {storedCols} columns");
        if ((long)(storedRows - 1) * ld + storedCols > length)
            throw new ArgumentException($"GEMM: {name} needs {(long)(storedRows - 1) * ld + storedCols} elements, has {length}");
    }

    /// <summary>Plain triple loop in float64 accumulation: the reference the fast paths are tested against.</summary>
    public static void Reference<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    T av = transA == Transpose.No ? a[i * lda + p] : a[p * lda + i];
                    T bv = transB == Transpose.No ? b[p * ldb + j] : b[j * ldb + p];
                    s += double.CreateTruncating(av) * double.CreateTruncating(bv);
                }
                T prev = beta == T.Zero ? T.Zero : beta * c[i * ldc + j];
                c[i * ldc + j] = alpha * T.CreateTruncating(s) + prev;
            }
    }
}
