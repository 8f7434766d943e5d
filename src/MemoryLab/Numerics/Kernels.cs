using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemoryLab.Numerics;

/// <summary>Vectorised inner loops shared by the layers: the complex diagonal scans (written once over
/// <see cref="ISimd{TV, T}"/>, run at <see cref="Vector{T}"/>'s width and then one lane at a time) and small
/// elementwise helpers.</summary>
internal static class Kernels
{
    /// <summary>In place: h_t ← h_t + λ ⊙ h_{t−1} for t = 1..T−1 (h_t holds the input u_t on entry).
    /// Layout [T, N], real and imaginary parts in separate arrays.</summary>
    public static void ComplexScanForward<T>(Span<T> hr, Span<T> hi, ReadOnlySpan<T> lr, ReadOnlySpan<T> li, int time, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scan = new ScanForward<T>(hr, hi, lr, li, time, n);
        Lanes.ForEach<ScanForward<T>, T>(ref scan, n);
    }

    /// <summary>Adjoint of <see cref="ComplexScanForward{T}"/>. On entry g_t holds the direct contribution e_t;
    /// on exit g_t = e_t + λ̄ ⊙ g_{t+1} = ∂L/∂h_t. Adds ∂L/∂Re λ = Σ_t Re(g_t)Re(h_{t−1}) + Im(g_t)Im(h_{t−1})
    /// and ∂L/∂Im λ = Σ_t Im(g_t)Re(h_{t−1}) − Re(g_t)Im(h_{t−1}) into dLr, dLi.</summary>
    public static void ComplexScanBackward<T>(Span<T> gr, Span<T> gi, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi,
        ReadOnlySpan<T> lr, ReadOnlySpan<T> li, Span<T> dLr, Span<T> dLi, int time, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scan = new ScanBackward<T>(gr, gi, hr, hi, lr, li, dLr, dLi, time, n);
        Lanes.ForEach<ScanBackward<T>, T>(ref scan, n);
    }

    // c + p + q and c + p − q for two products p, q. Vector lanes add left to right, (c + p) ± q; a single lane forms
    // p ± q first, c + (p ± q), as the scalar tail of these scans always has: both orders are kept so that no bit of a
    // saved result moves (TS.Count is a JIT-time constant, so each width keeps one branch).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV AddSum<TS, TV, T>(TV c, TV p, TV q) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        TS.Count == 1 ? TS.Add(c, TS.Add(p, q)) : TS.Add(TS.Add(c, p), q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV AddDifference<TS, TV, T>(TV c, TV p, TV q) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
        TS.Count == 1 ? TS.Add(c, TS.Sub(p, q)) : TS.Sub(TS.Add(c, p), q);

    private readonly ref struct ScanForward<T>(Span<T> hr, Span<T> hi, ReadOnlySpan<T> lr, ReadOnlySpan<T> li, int time, int n) : ILaneKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ref T _hr = ref MemoryMarshal.GetReference(hr), _hi = ref MemoryMarshal.GetReference(hi);
        private readonly ref T _lr = ref MemoryMarshal.GetReference(lr), _li = ref MemoryMarshal.GetReference(li);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (int t = 1; t < time; t++)
            {
                ref T pr = ref Unsafe.Add(ref _hr, (t - 1) * n);
                ref T pi = ref Unsafe.Add(ref _hi, (t - 1) * n);
                ref T cr = ref Unsafe.Add(ref _hr, t * n);
                ref T ci = ref Unsafe.Add(ref _hi, t * n);
                for (nuint j = from; j < to; j += (nuint)TS.Count)
                {
                    TV a = TS.Load(ref _lr, j), b = TS.Load(ref _li, j), xr = TS.Load(ref pr, j), xi = TS.Load(ref pi, j);
                    // h_t = u_t + λ h_{t−1}
                    TS.Store(AddDifference<TS, TV, T>(TS.Load(ref cr, j), TS.Mul(a, xr), TS.Mul(b, xi)), ref cr, j);
                    TS.Store(AddSum<TS, TV, T>(TS.Load(ref ci, j), TS.Mul(b, xr), TS.Mul(a, xi)), ref ci, j);
                }
            }
        }
    }

    private readonly ref struct ScanBackward<T>(Span<T> gr, Span<T> gi, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi,
        ReadOnlySpan<T> lr, ReadOnlySpan<T> li, Span<T> dLr, Span<T> dLi, int time, int n) : ILaneKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ref T _gr = ref MemoryMarshal.GetReference(gr), _gi = ref MemoryMarshal.GetReference(gi);
        private readonly ref T _hr = ref MemoryMarshal.GetReference(hr), _hi = ref MemoryMarshal.GetReference(hi);
        private readonly ref T _lr = ref MemoryMarshal.GetReference(lr), _li = ref MemoryMarshal.GetReference(li);
        private readonly ref T _dLr = ref MemoryMarshal.GetReference(dLr), _dLi = ref MemoryMarshal.GetReference(dLi);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (int t = time - 1; t >= 0; t--)
            {
                ref T cr = ref Unsafe.Add(ref _gr, t * n);
                ref T ci = ref Unsafe.Add(ref _gi, t * n);
                if (t < time - 1)
                {
                    ref T nr = ref Unsafe.Add(ref _gr, (t + 1) * n);
                    ref T ni = ref Unsafe.Add(ref _gi, (t + 1) * n);
                    for (nuint j = from; j < to; j += (nuint)TS.Count)
                    {
                        TV a = TS.Load(ref _lr, j), b = TS.Load(ref _li, j), xr = TS.Load(ref nr, j), xi = TS.Load(ref ni, j);
                        // g_t = e_t + λ̄ g_{t+1}
                        TS.Store(AddSum<TS, TV, T>(TS.Load(ref cr, j), TS.Mul(a, xr), TS.Mul(b, xi)), ref cr, j);
                        TS.Store(AddDifference<TS, TV, T>(TS.Load(ref ci, j), TS.Mul(a, xi), TS.Mul(b, xr)), ref ci, j);
                    }
                }
                if (t >= 1)
                {
                    ref T pr = ref Unsafe.Add(ref _hr, (t - 1) * n);
                    ref T pi = ref Unsafe.Add(ref _hi, (t - 1) * n);
                    for (nuint j = from; j < to; j += (nuint)TS.Count)
                    {
                        TV xr = TS.Load(ref cr, j), xi = TS.Load(ref ci, j), yr = TS.Load(ref pr, j), yi = TS.Load(ref pi, j);
                        // ∂L/∂λ += g_t conj(h_{t−1})
                        TS.Store(AddSum<TS, TV, T>(TS.Load(ref _dLr, j), TS.Mul(xr, yr), TS.Mul(xi, yi)), ref _dLr, j);
                        TS.Store(AddDifference<TS, TV, T>(TS.Load(ref _dLi, j), TS.Mul(xi, yr), TS.Mul(xr, yi)), ref _dLi, j);
                    }
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
