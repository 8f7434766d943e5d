using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemoryLab.Numerics;

/// <summary>Vectorised inner loops shared by the layers: the complex diagonal scans and small
/// elementwise helpers. Each loop is written once over <see cref="Vector{T}"/> with a scalar tail.</summary>
internal static class Kernels
{
    /// <summary>In place: h_t ← h_t + λ ⊙ h_{t−1} for t = 1..T−1 (h_t holds the input u_t on entry).
    /// Layout [T, N], real and imaginary parts in separate arrays.</summary>
    public static void ComplexScanForward<T>(Span<T> hr, Span<T> hi, ReadOnlySpan<T> lr, ReadOnlySpan<T> li, int time, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T rr = ref MemoryMarshal.GetReference(hr);
        ref T ri = ref MemoryMarshal.GetReference(hi);
        ref T a = ref MemoryMarshal.GetReference(lr);
        ref T b = ref MemoryMarshal.GetReference(li);
        int w = Vector<T>.Count, vend = n - n % w;
        for (int t = 1; t < time; t++)
        {
            ref T pr = ref Unsafe.Add(ref rr, (t - 1) * n);
            ref T pi = ref Unsafe.Add(ref ri, (t - 1) * n);
            ref T cr = ref Unsafe.Add(ref rr, t * n);
            ref T ci = ref Unsafe.Add(ref ri, t * n);
            int j = 0;
            for (; j < vend; j += w)
            {
                var vpr = Vector.LoadUnsafe(ref pr, (nuint)j);
                var vpi = Vector.LoadUnsafe(ref pi, (nuint)j);
                var va = Vector.LoadUnsafe(ref a, (nuint)j);
                var vb = Vector.LoadUnsafe(ref b, (nuint)j);
                (Vector.LoadUnsafe(ref cr, (nuint)j) + va * vpr - vb * vpi).StoreUnsafe(ref cr, (nuint)j);
                (Vector.LoadUnsafe(ref ci, (nuint)j) + vb * vpr + va * vpi).StoreUnsafe(ref ci, (nuint)j);
            }
            for (; j < n; j++)
            {
                T xr = Unsafe.Add(ref pr, j), xi = Unsafe.Add(ref pi, j), ar = Unsafe.Add(ref a, j), ai = Unsafe.Add(ref b, j);
                Unsafe.Add(ref cr, j) += ar * xr - ai * xi;
                Unsafe.Add(ref ci, j) += ai * xr + ar * xi;
            }
        }
    }

    /// <summary>Adjoint of <see cref="ComplexScanForward{T}"/>. On entry g_t holds the direct contribution e_t;
    /// on exit g_t = e_t + λ̄ ⊙ g_{t+1} = ∂L/∂h_t. Adds ∂L/∂Re λ = Σ_t Re(g_t)Re(h_{t−1}) + Im(g_t)Im(h_{t−1})
    /// and ∂L/∂Im λ = Σ_t Im(g_t)Re(h_{t−1}) − Re(g_t)Im(h_{t−1}) into dLr, dLi.</summary>
    public static void ComplexScanBackward<T>(Span<T> gr, Span<T> gi, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi,
        ReadOnlySpan<T> lr, ReadOnlySpan<T> li, Span<T> dLr, Span<T> dLi, int time, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T gR = ref MemoryMarshal.GetReference(gr);
        ref T gI = ref MemoryMarshal.GetReference(gi);
        ref T hR = ref MemoryMarshal.GetReference(hr);
        ref T hI = ref MemoryMarshal.GetReference(hi);
        ref T a = ref MemoryMarshal.GetReference(lr);
        ref T b = ref MemoryMarshal.GetReference(li);
        ref T da = ref MemoryMarshal.GetReference(dLr);
        ref T db = ref MemoryMarshal.GetReference(dLi);
        int w = Vector<T>.Count, vend = n - n % w;
        for (int t = time - 1; t >= 0; t--)
        {
            ref T cr = ref Unsafe.Add(ref gR, t * n);
            ref T ci = ref Unsafe.Add(ref gI, t * n);
            if (t < time - 1)
            {
                ref T nr = ref Unsafe.Add(ref gR, (t + 1) * n);
                ref T ni = ref Unsafe.Add(ref gI, (t + 1) * n);
                int j = 0;
                for (; j < vend; j += w)
                {
                    var vnr = Vector.LoadUnsafe(ref nr, (nuint)j);
                    var vni = Vector.LoadUnsafe(ref ni, (nuint)j);
                    var va = Vector.LoadUnsafe(ref a, (nuint)j);
                    var vb = Vector.LoadUnsafe(ref b, (nuint)j);
                    (Vector.LoadUnsafe(ref cr, (nuint)j) + va * vnr + vb * vni).StoreUnsafe(ref cr, (nuint)j);
                    (Vector.LoadUnsafe(ref ci, (nuint)j) + va * vni - vb * vnr).StoreUnsafe(ref ci, (nuint)j);
                }
                for (; j < n; j++)
                {
                    T xr = Unsafe.Add(ref nr, j), xi = Unsafe.Add(ref ni, j), ar = Unsafe.Add(ref a, j), ai = Unsafe.Add(ref b, j);
                    Unsafe.Add(ref cr, j) += ar * xr + ai * xi;
                    Unsafe.Add(ref ci, j) += ar * xi - ai * xr;
                }
            }
            if (t >= 1)
            {
                ref T pr = ref Unsafe.Add(ref hR, (t - 1) * n);
                ref T pi = ref Unsafe.Add(ref hI, (t - 1) * n);
                int j = 0;
                for (; j < vend; j += w)
                {
                    var vgr = Vector.LoadUnsafe(ref cr, (nuint)j);
                    var vgi = Vector.LoadUnsafe(ref ci, (nuint)j);
                    var vpr = Vector.LoadUnsafe(ref pr, (nuint)j);
                    var vpi = Vector.LoadUnsafe(ref pi, (nuint)j);
                    (Vector.LoadUnsafe(ref da, (nuint)j) + vgr * vpr + vgi * vpi).StoreUnsafe(ref da, (nuint)j);
                    (Vector.LoadUnsafe(ref db, (nuint)j) + vgi * vpr - vgr * vpi).StoreUnsafe(ref db, (nuint)j);
                }
                for (; j < n; j++)
                {
                    T xr = Unsafe.Add(ref cr, j), xi = Unsafe.Add(ref ci, j), yr = Unsafe.Add(ref pr, j), yi = Unsafe.Add(ref pi, j);
                    Unsafe.Add(ref da, j) += xr * yr + xi * yi;
                    Unsafe.Add(ref db, j) += xi * yr - xr * yi;
                }
            }
        }
    }

    /// <summary>into ← into + x (elementwise).</summary>
    public static void Add<T>(Span<T> into, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            System.Numerics.Tensors.TensorPrimitives.Add(MemoryMarshal.Cast<T, float>(into), MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(into));
        else if (typeof(T) == typeof(double))
            System.Numerics.Tensors.TensorPrimitives.Add(MemoryMarshal.Cast<T, double>(into), MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(into));
        else
            for (int i = 0; i < into.Length; i++) into[i] += x[i];
    }

    /// <summary>y[r, j] += d[j]·x[r, j] for each of <paramref name="rows"/> rows of width d.Length.</summary>
    public static void AddRowsScaled<T>(Span<T> y, ReadOnlySpan<T> x, ReadOnlySpan<T> d, int rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int f = d.Length;
        for (int r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * f, f); var xr = x.Slice(r * f, f);
            for (int j = 0; j < f; j++) yr[j] += d[j] * xr[j];
        }
    }

    /// <summary>into[j] = Σ_r a[r, j]·b[r, j] over <paramref name="rows"/> rows of width <paramref name="width"/>.</summary>
    public static void ColumnDotProducts<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, int rows, int width, Span<T> into) where T : unmanaged, IFloatingPointIeee754<T>
    {
        into.Clear();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++) into[j] += a[r * width + j] * b[r * width + j];
    }
}
