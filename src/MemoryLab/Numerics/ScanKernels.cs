using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MemoryLab.Numerics;

/// <summary>
/// Fused scans of the complex diagonal recurrence for narrow layers (few input and output features): the
/// input map u = B̃ x, the recurrence, the readout and, backward, e = ∂L/∂h from dy, the adjoint scan and
/// every parameter gradient are computed in one sweep over time, so the state buffers are written once
/// (forward) and read once (backward) — the compulsory traffic — instead of ~10 passes of rank-1 GEMMs
/// and separate scans. Vectorised over the N state neurons with the widest vector whose lane count
/// divides N (a scalar loop otherwise). Bits depend only on the vector width chosen, never on threads.
/// </summary>
internal static class ScanKernels
{
    /// <summary>A pinned array with room for <paramref name="length"/> elements starting at a 64-byte boundary,
    /// at index <paramref name="offset"/>: 512-bit loads and stores of rows whose width is a multiple of 64
    /// bytes then never straddle cache lines (a plain array starts 16 or so bytes past one).</summary>
    public static unsafe T[] AllocateAligned<T>(int length, out int offset) where T : unmanaged
    {
        int pad = 64 / sizeof(T);
        var array = GC.AllocateArray<T>(checked(length + pad), pinned: true);
        long address = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        offset = (int)((64 - address % 64) % 64) / sizeof(T);
        return array;
    }

    /// <summary>Σ_i a_i b_i over equal-length spans, in a fixed order (vector lanes, then the tail).</summary>
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        int n = a.Length, w = Vector<T>.Count, i = 0;
        T sum = T.Zero;
        if (n >= w)
        {
            var acc = Vector<T>.Zero;
            for (; i + w <= n; i += w) acc += Vector.LoadUnsafe(ref ra, (nuint)i) * Vector.LoadUnsafe(ref rb, (nuint)i);
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref ra, i) * Unsafe.Add(ref rb, i);
        return sum;
    }

    /// <summary>Widest accelerated lane count (64, 32, 16 bytes, else 1) that divides <paramref name="n"/>.</summary>
    public static int Width<T>(int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated && n % Vector512<T>.Count == 0) return 512;
        if (Vector256.IsHardwareAccelerated && n % Vector256<T>.Count == 0) return 256;
        if (Vector128.IsHardwareAccelerated && n % Vector128<T>.Count == 0) return 128;
        return 1;
    }

    /// <summary>
    /// Forward of <paramref name="count"/> sequences: h_t = λ ⊙ h_{t−1} + B̃ x_t (h_{−1} = 0), stored into
    /// hr, hi ([count, T, N]); y_t = Re(C h_t) written into y ([count, T, dout]; the caller adds D x).
    /// B̃ᵀ is [din × N]; C_re, C_im are [dout × N].
    /// </summary>
    public static void DiagonalForward<T>(ReadOnlySpan<T> x, Span<T> hr, Span<T> hi, ReadOnlySpan<T> lr, ReadOnlySpan<T> li,
        ReadOnlySpan<T> btRe, ReadOnlySpan<T> btIm, ReadOnlySpan<T> cRe, ReadOnlySpan<T> cIm, Span<T> y,
        int count, int time, int n, int din, int dout) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new DiagonalArgs<T>(x, hr, hi, lr, li, btRe, btIm, cRe, cIm, y, count, time, n, din, dout);
        switch (Width<T>(n))
        {
            case 512: DiagonalForwardCore<Simd512<T>, Vector512<T>, T>(in a); break;
            case 256: DiagonalForwardCore<Simd256<T>, Vector256<T>, T>(in a); break;
            case 128: DiagonalForwardCore<Simd128<T>, Vector128<T>, T>(in a); break;
            default: DiagonalForwardCore<Simd1<T>, T, T>(in a); break;
        }
    }

    /// <summary>
    /// Backward of <paramref name="count"/> sequences in one reverse sweep: g_t = e_t + λ̄ ⊙ g_{t+1} with
    /// e_t = dy_t C_re − i·dy_t C_im, and adds into the accumulators ∂L/∂Re λ, ∂L/∂Im λ (Σ_t g_t ⊙ conj h_{t−1}),
    /// ∂L/∂B̃ᵀ (Σ_t x_t ⊗ g_t, real and imaginary, [din × N]), ∂L/∂C_re = Σ_t dy_t ⊗ Re h_t and
    /// ∂L/∂C_im = −Σ_t dy_t ⊗ Im h_t ([dout × N]). When dx is not empty, writes dx_t = Re(g_t)B̃_re + Im(g_t)B̃_im
    /// (the caller adds the D term). <paramref name="scratch"/> holds 2N values (g_{t+1}).
    /// </summary>
    public static void DiagonalBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi,
        ReadOnlySpan<T> lr, ReadOnlySpan<T> li, ReadOnlySpan<T> btRe, ReadOnlySpan<T> btIm, ReadOnlySpan<T> cRe, ReadOnlySpan<T> cIm,
        Span<T> scratch, Span<T> dLr, Span<T> dLi, Span<T> dBtRe, Span<T> dBtIm, Span<T> dCRe, Span<T> dCIm, Span<T> dx,
        int count, int time, int n, int din, int dout) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new DiagonalBackArgs<T>(x, dy, hr, hi, lr, li, btRe, btIm, cRe, cIm, scratch, dLr, dLi, dBtRe, dBtIm, dCRe, dCIm, dx,
            count, time, n, din, dout);
        switch (Width<T>(n))
        {
            case 512: DiagonalBackwardCore<Simd512<T>, Vector512<T>, T>(in a); break;
            case 256: DiagonalBackwardCore<Simd256<T>, Vector256<T>, T>(in a); break;
            case 128: DiagonalBackwardCore<Simd128<T>, Vector128<T>, T>(in a); break;
            default: DiagonalBackwardCore<Simd1<T>, T, T>(in a); break;
        }
    }

    private readonly ref struct DiagonalArgs<T>(ReadOnlySpan<T> x, Span<T> hr, Span<T> hi, ReadOnlySpan<T> lr, ReadOnlySpan<T> li,
        ReadOnlySpan<T> btRe, ReadOnlySpan<T> btIm, ReadOnlySpan<T> cRe, ReadOnlySpan<T> cIm, Span<T> y,
        int count, int time, int n, int din, int dout) where T : unmanaged
    {
        public readonly ReadOnlySpan<T> X = x, Lr = lr, Li = li, BtRe = btRe, BtIm = btIm, CRe = cRe, CIm = cIm;
        public readonly Span<T> Hr = hr, Hi = hi, Y = y;
        public readonly int Count = count, Time = time, N = n, Din = din, Dout = dout;
    }

    private readonly ref struct DiagonalBackArgs<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi,
        ReadOnlySpan<T> lr, ReadOnlySpan<T> li, ReadOnlySpan<T> btRe, ReadOnlySpan<T> btIm, ReadOnlySpan<T> cRe, ReadOnlySpan<T> cIm,
        Span<T> scratch, Span<T> dLr, Span<T> dLi, Span<T> dBtRe, Span<T> dBtIm, Span<T> dCRe, Span<T> dCIm, Span<T> dx,
        int count, int time, int n, int din, int dout) where T : unmanaged
    {
        public readonly ReadOnlySpan<T> X = x, Dy = dy, Hr = hr, Hi = hi, Lr = lr, Li = li, BtRe = btRe, BtIm = btIm, CRe = cRe, CIm = cIm;
        public readonly Span<T> Scratch = scratch, DLr = dLr, DLi = dLi, DBtRe = dBtRe, DBtIm = dBtIm, DCRe = dCRe, DCIm = dCIm, Dx = dx;
        public readonly int Count = count, Time = time, N = n, Din = din, Dout = dout;
    }

    // Full optimisation at first call: a hot loop entered a few times per step would otherwise run as
    // on-stack-replaced tier-0 code for many steps.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DiagonalForwardCore<TS, TV, T>(in DiagonalArgs<T> a)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.N, din = a.Din, dout = a.Dout, time = a.Time, w = TS.Count;
        ref T lr = ref MemoryMarshal.GetReference(a.Lr);
        ref T li = ref MemoryMarshal.GetReference(a.Li);
        ref T bre = ref MemoryMarshal.GetReference(a.BtRe);
        ref T bim = ref MemoryMarshal.GetReference(a.BtIm);
        ref T cre = ref MemoryMarshal.GetReference(a.CRe);
        ref T cim = ref MemoryMarshal.GetReference(a.CIm);
        for (int s = 0; s < a.Count; s++)
        {
            ref T x = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.X), s * time * din);
            ref T y = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Y), s * time * dout);
            ref T hr = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hr), s * time * n);
            ref T hi = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hi), s * time * n);
            for (int t = 0; t < time; t++)
            {
                ref T xt = ref Unsafe.Add(ref x, t * din);
                ref T cr = ref Unsafe.Add(ref hr, t * n);
                ref T ci = ref Unsafe.Add(ref hi, t * n);
                for (int j = 0; j < n; j += w)
                {
                    // u = B̃ x_t for this block of neurons.
                    TV ur = TS.Zero, ui = TS.Zero;
                    for (int k = 0; k < din; k++)
                    {
                        TV xk = TS.Splat(Unsafe.Add(ref xt, k));
                        ur = TS.Fma(xk, TS.Load(ref Unsafe.Add(ref bre, k * n + j)), ur);
                        ui = TS.Fma(xk, TS.Load(ref Unsafe.Add(ref bim, k * n + j)), ui);
                    }
                    if (t > 0)
                    {
                        TV pr = TS.Load(ref Unsafe.Add(ref cr, j - n)), pi = TS.Load(ref Unsafe.Add(ref ci, j - n));
                        TV vr = TS.Load(ref Unsafe.Add(ref lr, j)), vi = TS.Load(ref Unsafe.Add(ref li, j));
                        ur = TS.Fnma(vi, pi, TS.Fma(vr, pr, ur));
                        ui = TS.Fma(vr, pi, TS.Fma(vi, pr, ui));
                    }
                    TS.Store(ur, ref Unsafe.Add(ref cr, j));
                    TS.Store(ui, ref Unsafe.Add(ref ci, j));
                }
                // y_t = Re(C h_t) = C_re h_re − C_im h_im; the state block is still in L1.
                for (int o = 0; o < dout; o++)
                {
                    TV acc = TS.Zero;
                    for (int j = 0; j < n; j += w)
                    {
                        acc = TS.Fma(TS.Load(ref Unsafe.Add(ref cre, o * n + j)), TS.Load(ref Unsafe.Add(ref cr, j)), acc);
                        acc = TS.Fnma(TS.Load(ref Unsafe.Add(ref cim, o * n + j)), TS.Load(ref Unsafe.Add(ref ci, j)), acc);
                    }
                    Unsafe.Add(ref y, t * dout + o) = TS.Sum(acc);
                }
            }
        }
    }

    // Full optimisation at first call: a hot loop entered a few times per step would otherwise run as
    // on-stack-replaced tier-0 code for many steps.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DiagonalBackwardCore<TS, TV, T>(in DiagonalBackArgs<T> a)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.N, din = a.Din, dout = a.Dout, time = a.Time, w = TS.Count;
        bool wantDx = !a.Dx.IsEmpty;
        ref T lr = ref MemoryMarshal.GetReference(a.Lr);
        ref T li = ref MemoryMarshal.GetReference(a.Li);
        ref T bre = ref MemoryMarshal.GetReference(a.BtRe);
        ref T bim = ref MemoryMarshal.GetReference(a.BtIm);
        ref T cre = ref MemoryMarshal.GetReference(a.CRe);
        ref T cim = ref MemoryMarshal.GetReference(a.CIm);
        ref T gr = ref MemoryMarshal.GetReference(a.Scratch);
        ref T gi = ref Unsafe.Add(ref gr, n);
        ref T dLr = ref MemoryMarshal.GetReference(a.DLr);
        ref T dLi = ref MemoryMarshal.GetReference(a.DLi);
        ref T dBr = ref MemoryMarshal.GetReference(a.DBtRe);
        ref T dBi = ref MemoryMarshal.GetReference(a.DBtIm);
        ref T dCr = ref MemoryMarshal.GetReference(a.DCRe);
        ref T dCi = ref MemoryMarshal.GetReference(a.DCIm);
        for (int s = 0; s < a.Count; s++)
        {
            ref T x = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.X), s * time * din);
            ref T dy = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Dy), s * time * dout);
            ref T hr = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hr), s * time * n);
            ref T hi = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hi), s * time * n);
            ref T dx = ref wantDx ? ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Dx), s * time * din) : ref Unsafe.NullRef<T>();
            for (int t = time - 1; t >= 0; t--)
            {
                ref T xt = ref Unsafe.Add(ref x, t * din);
                ref T dyt = ref Unsafe.Add(ref dy, t * dout);
                ref T htr = ref Unsafe.Add(ref hr, t * n);
                ref T hti = ref Unsafe.Add(ref hi, t * n);
                for (int j = 0; j < n; j += w)
                {
                    // e_t = ∂L/∂h_t from the readout, and dC from the same dy_t and h_t.
                    TV er = TS.Zero, ei = TS.Zero;
                    TV hcr = TS.Load(ref Unsafe.Add(ref htr, j)), hci = TS.Load(ref Unsafe.Add(ref hti, j));
                    for (int o = 0; o < dout; o++)
                    {
                        TV d = TS.Splat(Unsafe.Add(ref dyt, o));
                        er = TS.Fma(d, TS.Load(ref Unsafe.Add(ref cre, o * n + j)), er);
                        ei = TS.Fnma(d, TS.Load(ref Unsafe.Add(ref cim, o * n + j)), ei);
                        ref T pcr = ref Unsafe.Add(ref dCr, o * n + j);
                        ref T pci = ref Unsafe.Add(ref dCi, o * n + j);
                        TS.Store(TS.Fma(d, hcr, TS.Load(ref pcr)), ref pcr);
                        TS.Store(TS.Fnma(d, hci, TS.Load(ref pci)), ref pci);
                    }
                    // g_t = e_t + λ̄ ⊙ g_{t+1}
                    if (t < time - 1)
                    {
                        TV nr = TS.Load(ref Unsafe.Add(ref gr, j)), ni = TS.Load(ref Unsafe.Add(ref gi, j));
                        TV vr = TS.Load(ref Unsafe.Add(ref lr, j)), vi = TS.Load(ref Unsafe.Add(ref li, j));
                        er = TS.Fma(vi, ni, TS.Fma(vr, nr, er));
                        ei = TS.Fnma(vi, nr, TS.Fma(vr, ni, ei));
                    }
                    TS.Store(er, ref Unsafe.Add(ref gr, j));
                    TS.Store(ei, ref Unsafe.Add(ref gi, j));
                    // ∂L/∂λ += g_t ⊙ conj(h_{t−1})
                    if (t > 0)
                    {
                        TV pr = TS.Load(ref Unsafe.Add(ref htr, j - n)), pi = TS.Load(ref Unsafe.Add(ref hti, j - n));
                        ref T lar = ref Unsafe.Add(ref dLr, j);
                        ref T lai = ref Unsafe.Add(ref dLi, j);
                        TS.Store(TS.Fma(ei, pi, TS.Fma(er, pr, TS.Load(ref lar))), ref lar);
                        TS.Store(TS.Fnma(er, pi, TS.Fma(ei, pr, TS.Load(ref lai))), ref lai);
                    }
                    // ∂L/∂B̃ᵀ += x_t ⊗ g_t
                    for (int k = 0; k < din; k++)
                    {
                        TV xk = TS.Splat(Unsafe.Add(ref xt, k));
                        ref T pbr = ref Unsafe.Add(ref dBr, k * n + j);
                        ref T pbi = ref Unsafe.Add(ref dBi, k * n + j);
                        TS.Store(TS.Fma(xk, er, TS.Load(ref pbr)), ref pbr);
                        TS.Store(TS.Fma(xk, ei, TS.Load(ref pbi)), ref pbi);
                    }
                }
                if (wantDx)
                    for (int k = 0; k < din; k++)
                    {
                        TV acc = TS.Zero;
                        for (int j = 0; j < n; j += w)
                        {
                            acc = TS.Fma(TS.Load(ref Unsafe.Add(ref gr, j)), TS.Load(ref Unsafe.Add(ref bre, k * n + j)), acc);
                            acc = TS.Fma(TS.Load(ref Unsafe.Add(ref gi, j)), TS.Load(ref Unsafe.Add(ref bim, k * n + j)), acc);
                        }
                        Unsafe.Add(ref dx, t * din + k) = TS.Sum(acc);
                    }
            }
        }
    }

    /// <summary>Steps the recurrence of one sweep checkpoints: the state is kept for the backward pass only at the
    /// end of every segment of this many steps; the backward pass recomputes a segment's states from its
    /// checkpoint into a scratch that stays in L1 (<see cref="OneFeatureScratchLength"/>). So the scan's memory
    /// traffic no longer grows with batch × T × N, and its cost per token stays the same whether the states would
    /// have fitted in cache or not.</summary>
    public const int OneFeatureSegment = 64;

    /// <summary>Checkpoint rows per sequence for <paramref name="time"/> steps: row s holds h at step s·K − 1 (row 0 is unused: h_{−1} = 0).</summary>
    public static int OneFeatureCheckpoints(int time) => (time + OneFeatureSegment - 1) / OneFeatureSegment;

    /// <summary>Scratch one chunk's backward sweep needs for a layer of <paramref name="n"/> states (K + 1 rows of 2N).</summary>
    public static int OneFeatureScratchLength(int n) => (OneFeatureSegment + 1) * 2 * n;

    /// <summary>
    /// Forward for d_in = d_out = 1 (the teacher–student shape) of <paramref name="count"/> sequences: h_t = λ ⊙ h_{t−1} + B̃ x_t
    /// (h_{−1} = 0), y_t = Re(C h_t) written into y ([count, T]; the caller adds D x). Two neuron blocks at a time sweep time with
    /// their states in registers (two independent FMA chains hide the recurrence's latency); the first pair writes y_t, the
    /// others add in block order (deterministic). Only the checkpoints are stored: ckr, cki are [count, <see cref="OneFeatureCheckpoints"/>, N].
    /// </summary>
    public static void DiagonalForwardOneFeature<T>(ReadOnlySpan<T> x, Span<T> ckr, Span<T> cki, ReadOnlySpan<T> lr, ReadOnlySpan<T> li,
        ReadOnlySpan<T> btRe, ReadOnlySpan<T> btIm, ReadOnlySpan<T> cRe, ReadOnlySpan<T> cIm, Span<T> y, int count, int time, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckOneFeature(x.Length, y.Length, ckr.Length, cki.Length, count, time, n);
        var a = new DiagonalArgs<T>(x, ckr, cki, lr, li, btRe, btIm, cRe, cIm, y, count, time, n, 1, 1);
        switch (Width<T>(n))
        {
            case 512: OneFeatureForwardCore<Simd512<T>, Vector512<T>, T>(in a); break;
            case 256: OneFeatureForwardCore<Simd256<T>, Vector256<T>, T>(in a); break;
            case 128: OneFeatureForwardCore<Simd128<T>, Vector128<T>, T>(in a); break;
            default: OneFeatureForwardCore<Simd1<T>, T, T>(in a); break;
        }
    }

    /// <summary>
    /// Backward for d_in = d_out = 1 after <see cref="DiagonalForwardOneFeature{T}"/>: per neuron block, segments from the last
    /// to the first, each recomputed from its checkpoint into <paramref name="scratch"/> (the same operations as the forward
    /// pass, so the same bits) and then swept in reverse with g and every gradient accumulator in registers:
    /// g_t = dy_t (C_re − i C_im) + λ̄ ⊙ g_{t+1}; ∂L/∂λ += g_t ⊙ conj h_{t−1}; ∂L/∂B̃ᵀ += x_t g_t; ∂L/∂C_re += dy_t Re h_t,
    /// ∂L/∂C_im −= dy_t Im h_t; dx_t = Re(g_t) B̃_re + Im(g_t) B̃_im when dx is not empty (the caller adds the D term).
    /// Accumulators are added into the given spans in sequence order.
    /// </summary>
    public static void DiagonalBackwardOneFeature<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> ckr, ReadOnlySpan<T> cki,
        ReadOnlySpan<T> lr, ReadOnlySpan<T> li, ReadOnlySpan<T> btRe, ReadOnlySpan<T> btIm, ReadOnlySpan<T> cRe, ReadOnlySpan<T> cIm,
        Span<T> scratch, Span<T> dLr, Span<T> dLi, Span<T> dBtRe, Span<T> dBtIm, Span<T> dCRe, Span<T> dCIm, Span<T> dx,
        int count, int time, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckOneFeature(x.Length, dy.Length, ckr.Length, cki.Length, count, time, n);
        if (scratch.Length < OneFeatureScratchLength(n))
            throw new ArgumentException($"scratch holds {scratch.Length} values, the one-feature backward needs {OneFeatureScratchLength(n)}", nameof(scratch));
        var a = new DiagonalBackArgs<T>(x, dy, ckr, cki, lr, li, btRe, btIm, cRe, cIm, scratch, dLr, dLi, dBtRe, dBtIm, dCRe, dCIm, dx,
            count, time, n, 1, 1);
        switch (Width<T>(n))
        {
            case 512: OneFeatureBackwardCore<Simd512<T>, Vector512<T>, T>(in a); break;
            case 256: OneFeatureBackwardCore<Simd256<T>, Vector256<T>, T>(in a); break;
            case 128: OneFeatureBackwardCore<Simd128<T>, Vector128<T>, T>(in a); break;
            default: OneFeatureBackwardCore<Simd1<T>, T, T>(in a); break;
        }
    }

    private static void CheckOneFeature(int xLength, int yLength, int ckrLength, int ckiLength, int count, int time, int n)
    {
        long tokens = (long)count * time, checkpoints = (long)count * OneFeatureCheckpoints(time) * n;
        if (xLength < tokens || yLength < tokens || ckrLength < checkpoints || ckiLength < checkpoints)
            throw new ArgumentException($"one-feature scan of {count} × {time} steps × {n} states: x, y need {tokens} values and the checkpoints {checkpoints}");
    }

    // h ← λ ⊙ h + B̃ x for one block, the input product off the dependency chain: the forward pass and the backward
    // pass's recomputation both step through here, so the recomputed states are the forward's bit for bit.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TS, TV, T>(ref TV hr, ref TV hi, TV vr, TV vi, TV br, TV bi, TV xt)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV nr = TS.Fma(vr, hr, TS.Fnma(vi, hi, TS.Mul(xt, br)));
        TV ni = TS.Fma(vr, hi, TS.Fma(vi, hr, TS.Mul(xt, bi)));
        hr = nr; hi = ni;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OneFeatureForwardCore<TS, TV, T>(in DiagonalArgs<T> a)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.N, time = a.Time, w = TS.Count, rows = OneFeatureCheckpoints(time), seg = OneFeatureSegment;
        ref T lr = ref MemoryMarshal.GetReference(a.Lr);
        ref T li = ref MemoryMarshal.GetReference(a.Li);
        ref T bre = ref MemoryMarshal.GetReference(a.BtRe);
        ref T bim = ref MemoryMarshal.GetReference(a.BtIm);
        ref T cre = ref MemoryMarshal.GetReference(a.CRe);
        ref T cim = ref MemoryMarshal.GetReference(a.CIm);
        for (int s = 0; s < a.Count; s++)
        {
            ref T x = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.X), s * time);
            ref T y = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Y), s * time);
            ref T kr = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hr), s * rows * n);
            ref T ki = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hi), s * rows * n);
            int j = 0;
            for (; j + 2 * w <= n; j += 2 * w)
            {
                int k = j + w;
                TV vr0 = TS.Load(ref Unsafe.Add(ref lr, j)), vi0 = TS.Load(ref Unsafe.Add(ref li, j));
                TV vr1 = TS.Load(ref Unsafe.Add(ref lr, k)), vi1 = TS.Load(ref Unsafe.Add(ref li, k));
                TV br0 = TS.Load(ref Unsafe.Add(ref bre, j)), bi0 = TS.Load(ref Unsafe.Add(ref bim, j));
                TV br1 = TS.Load(ref Unsafe.Add(ref bre, k)), bi1 = TS.Load(ref Unsafe.Add(ref bim, k));
                TV cr0 = TS.Load(ref Unsafe.Add(ref cre, j)), ci0 = TS.Load(ref Unsafe.Add(ref cim, j));
                TV cr1 = TS.Load(ref Unsafe.Add(ref cre, k)), ci1 = TS.Load(ref Unsafe.Add(ref cim, k));
                TV hr0 = TS.Zero, hi0 = TS.Zero, hr1 = TS.Zero, hi1 = TS.Zero;
                for (int t = 0; t < time; t++)
                {
                    TV xt = TS.Splat(Unsafe.Add(ref x, t));
                    Step<TS, TV, T>(ref hr0, ref hi0, vr0, vi0, br0, bi0, xt);
                    Step<TS, TV, T>(ref hr1, ref hi1, vr1, vi1, br1, bi1, xt);
                    T part = TS.Sum(TS.Fnma(ci1, hi1, TS.Fma(cr1, hr1, TS.Fnma(ci0, hi0, TS.Mul(cr0, hr0)))));
                    Unsafe.Add(ref y, t) = j == 0 ? part : Unsafe.Add(ref y, t) + part;
                    if ((t + 1) % seg == 0 && t + 1 < time)
                    {
                        int o = (t + 1) / seg * n;
                        TS.Store(hr0, ref Unsafe.Add(ref kr, o + j)); TS.Store(hi0, ref Unsafe.Add(ref ki, o + j));
                        TS.Store(hr1, ref Unsafe.Add(ref kr, o + k)); TS.Store(hi1, ref Unsafe.Add(ref ki, o + k));
                    }
                }
            }
            for (; j < n; j += w)
            {
                TV vr0 = TS.Load(ref Unsafe.Add(ref lr, j)), vi0 = TS.Load(ref Unsafe.Add(ref li, j));
                TV br0 = TS.Load(ref Unsafe.Add(ref bre, j)), bi0 = TS.Load(ref Unsafe.Add(ref bim, j));
                TV cr0 = TS.Load(ref Unsafe.Add(ref cre, j)), ci0 = TS.Load(ref Unsafe.Add(ref cim, j));
                TV hr0 = TS.Zero, hi0 = TS.Zero;
                for (int t = 0; t < time; t++)
                {
                    Step<TS, TV, T>(ref hr0, ref hi0, vr0, vi0, br0, bi0, TS.Splat(Unsafe.Add(ref x, t)));
                    T part = TS.Sum(TS.Fnma(ci0, hi0, TS.Mul(cr0, hr0)));
                    Unsafe.Add(ref y, t) = j == 0 ? part : Unsafe.Add(ref y, t) + part;
                    if ((t + 1) % seg == 0 && t + 1 < time)
                    {
                        int o = (t + 1) / seg * n;
                        TS.Store(hr0, ref Unsafe.Add(ref kr, o + j)); TS.Store(hi0, ref Unsafe.Add(ref ki, o + j));
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OneFeatureBackwardCore<TS, TV, T>(in DiagonalBackArgs<T> a)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.N, time = a.Time, w = TS.Count, rows = OneFeatureCheckpoints(time), seg = OneFeatureSegment;
        bool wantDx = !a.Dx.IsEmpty;
        // Scratch row r of a segment starting at t0 holds h_{t0−1+r}: row 0 the checkpoint (or 0), rows 1..len its states.
        ref T sc = ref MemoryMarshal.GetReference(a.Scratch);
        for (int s = 0; s < a.Count; s++)
        {
            ref T x = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.X), s * time);
            ref T dy = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Dy), s * time);
            ref T kr = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hr), s * rows * n);
            ref T ki = ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Hi), s * rows * n);
            ref T dx = ref wantDx ? ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Dx), s * time) : ref Unsafe.NullRef<T>();
            int j = 0;
            // Two blocks at a time: two independent chains. A scratch row is [h_re0 | h_im0 | h_re1 | h_im1].
            for (; j + 2 * w <= n; j += 2 * w)
            {
                int k = j + w, row = 4 * w;
                ref T lr = ref MemoryMarshal.GetReference(a.Lr);
                ref T li = ref MemoryMarshal.GetReference(a.Li);
                ref T cre = ref MemoryMarshal.GetReference(a.CRe);
                ref T cim = ref MemoryMarshal.GetReference(a.CIm);
                ref T bre = ref MemoryMarshal.GetReference(a.BtRe);
                ref T bim = ref MemoryMarshal.GetReference(a.BtIm);
                TV vr0 = TS.Load(ref Unsafe.Add(ref lr, j)), vi0 = TS.Load(ref Unsafe.Add(ref li, j));
                TV vr1 = TS.Load(ref Unsafe.Add(ref lr, k)), vi1 = TS.Load(ref Unsafe.Add(ref li, k));
                TV cr0 = TS.Load(ref Unsafe.Add(ref cre, j)), ci0 = TS.Load(ref Unsafe.Add(ref cim, j));
                TV cr1 = TS.Load(ref Unsafe.Add(ref cre, k)), ci1 = TS.Load(ref Unsafe.Add(ref cim, k));
                TV br0 = TS.Load(ref Unsafe.Add(ref bre, j)), bi0 = TS.Load(ref Unsafe.Add(ref bim, j));
                TV br1 = TS.Load(ref Unsafe.Add(ref bre, k)), bi1 = TS.Load(ref Unsafe.Add(ref bim, k));
                TV gr0 = TS.Zero, gi0 = TS.Zero, dlr0 = TS.Zero, dli0 = TS.Zero, dbr0 = TS.Zero, dbi0 = TS.Zero, dcr0 = TS.Zero, dci0 = TS.Zero;
                TV gr1 = TS.Zero, gi1 = TS.Zero, dlr1 = TS.Zero, dli1 = TS.Zero, dbr1 = TS.Zero, dbi1 = TS.Zero, dcr1 = TS.Zero, dci1 = TS.Zero;
                for (int g = rows - 1; g >= 0; g--)
                {
                    int t0 = g * seg, len = Math.Min(seg, time - t0);
                    // Recompute h_{t0} … h_{t0+len−1} from the checkpoint h_{t0−1}.
                    TV hr0 = TS.Zero, hi0 = TS.Zero, hr1 = TS.Zero, hi1 = TS.Zero;
                    if (g > 0)
                    {
                        hr0 = TS.Load(ref Unsafe.Add(ref kr, g * n + j)); hi0 = TS.Load(ref Unsafe.Add(ref ki, g * n + j));
                        hr1 = TS.Load(ref Unsafe.Add(ref kr, g * n + k)); hi1 = TS.Load(ref Unsafe.Add(ref ki, g * n + k));
                    }
                    for (int r = 0; ; r++)
                    {
                        ref T p = ref Unsafe.Add(ref sc, r * row);
                        TS.Store(hr0, ref p); TS.Store(hi0, ref Unsafe.Add(ref p, w));
                        TS.Store(hr1, ref Unsafe.Add(ref p, 2 * w)); TS.Store(hi1, ref Unsafe.Add(ref p, 3 * w));
                        if (r == len) break;
                        TV xt = TS.Splat(Unsafe.Add(ref x, t0 + r));
                        Step<TS, TV, T>(ref hr0, ref hi0, vr0, vi0, br0, bi0, xt);
                        Step<TS, TV, T>(ref hr1, ref hi1, vr1, vi1, br1, bi1, xt);
                    }
                    // hr0 … hi1 now hold h_{t0+len−1}, the state of the segment's last step.
                    for (int t = t0 + len - 1; t >= t0; t--)
                    {
                        TV d = TS.Splat(Unsafe.Add(ref dy, t));
                        TV nr0 = TS.Fma(vi0, gi0, TS.Fma(vr0, gr0, TS.Mul(d, cr0)));
                        TV ni0 = TS.Fnma(vi0, gr0, TS.Fma(vr0, gi0, TS.Fnma(d, ci0, TS.Zero)));
                        TV nr1 = TS.Fma(vi1, gi1, TS.Fma(vr1, gr1, TS.Mul(d, cr1)));
                        TV ni1 = TS.Fnma(vi1, gr1, TS.Fma(vr1, gi1, TS.Fnma(d, ci1, TS.Zero)));
                        gr0 = nr0; gi0 = ni0; gr1 = nr1; gi1 = ni1;
                        dcr0 = TS.Fma(d, hr0, dcr0); dci0 = TS.Fnma(d, hi0, dci0);
                        dcr1 = TS.Fma(d, hr1, dcr1); dci1 = TS.Fnma(d, hi1, dci1);
                        TV xk = TS.Splat(Unsafe.Add(ref x, t));
                        dbr0 = TS.Fma(xk, gr0, dbr0); dbi0 = TS.Fma(xk, gi0, dbi0);
                        dbr1 = TS.Fma(xk, gr1, dbr1); dbi1 = TS.Fma(xk, gi1, dbi1);
                        if (wantDx)
                        {
                            T part = TS.Sum(TS.Fma(gi1, bi1, TS.Fma(gr1, br1, TS.Fma(gi0, bi0, TS.Mul(gr0, br0)))));
                            Unsafe.Add(ref dx, t) = j == 0 ? part : Unsafe.Add(ref dx, t) + part;
                        }
                        if (t > 0)
                        {
                            // h_{t−1}: scratch row t − t0 (row 0 is the checkpoint).
                            ref T p = ref Unsafe.Add(ref sc, (t - t0) * row);
                            TV pr0 = TS.Load(ref p), pi0 = TS.Load(ref Unsafe.Add(ref p, w));
                            TV pr1 = TS.Load(ref Unsafe.Add(ref p, 2 * w)), pi1 = TS.Load(ref Unsafe.Add(ref p, 3 * w));
                            dlr0 = TS.Fma(gi0, pi0, TS.Fma(gr0, pr0, dlr0)); dli0 = TS.Fnma(gr0, pi0, TS.Fma(gi0, pr0, dli0));
                            dlr1 = TS.Fma(gi1, pi1, TS.Fma(gr1, pr1, dlr1)); dli1 = TS.Fnma(gr1, pi1, TS.Fma(gi1, pr1, dli1));
                            hr0 = pr0; hi0 = pi0; hr1 = pr1; hi1 = pi1;
                        }
                    }
                }
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DLr), j), dlr0);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DLi), j), dli0);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DBtRe), j), dbr0);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DBtIm), j), dbi0);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DCRe), j), dcr0);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DCIm), j), dci0);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DLr), k), dlr1);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DLi), k), dli1);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DBtRe), k), dbr1);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DBtIm), k), dbi1);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DCRe), k), dcr1);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DCIm), k), dci1);
            }
            for (; j < n; j += w)
            {
                int row = 2 * w;
                TV vr = TS.Load(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Lr), j));
                TV vi = TS.Load(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.Li), j));
                TV cr = TS.Load(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.CRe), j));
                TV ci = TS.Load(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.CIm), j));
                TV br = TS.Load(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.BtRe), j));
                TV bi = TS.Load(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.BtIm), j));
                TV gr = TS.Zero, gi = TS.Zero, dlr = TS.Zero, dli = TS.Zero, dbr = TS.Zero, dbi = TS.Zero, dcr = TS.Zero, dci = TS.Zero;
                for (int g = rows - 1; g >= 0; g--)
                {
                    int t0 = g * seg, len = Math.Min(seg, time - t0);
                    TV hr = TS.Zero, hi = TS.Zero;
                    if (g > 0) { hr = TS.Load(ref Unsafe.Add(ref kr, g * n + j)); hi = TS.Load(ref Unsafe.Add(ref ki, g * n + j)); }
                    for (int r = 0; ; r++)
                    {
                        ref T p = ref Unsafe.Add(ref sc, r * row);
                        TS.Store(hr, ref p); TS.Store(hi, ref Unsafe.Add(ref p, w));
                        if (r == len) break;
                        Step<TS, TV, T>(ref hr, ref hi, vr, vi, br, bi, TS.Splat(Unsafe.Add(ref x, t0 + r)));
                    }
                    for (int t = t0 + len - 1; t >= t0; t--)
                    {
                        TV d = TS.Splat(Unsafe.Add(ref dy, t));
                        // g_t = dy_t (C_re − i C_im) + λ̄ ⊙ g_{t+1}   (g_T = 0)
                        TV nr = TS.Fma(vi, gi, TS.Fma(vr, gr, TS.Mul(d, cr)));
                        TV ni = TS.Fnma(vi, gr, TS.Fma(vr, gi, TS.Fnma(d, ci, TS.Zero)));
                        gr = nr; gi = ni;
                        dcr = TS.Fma(d, hr, dcr);
                        dci = TS.Fnma(d, hi, dci);
                        TV xk = TS.Splat(Unsafe.Add(ref x, t));
                        dbr = TS.Fma(xk, gr, dbr);
                        dbi = TS.Fma(xk, gi, dbi);
                        if (wantDx)
                        {
                            T part = TS.Sum(TS.Fma(gi, bi, TS.Mul(gr, br)));
                            Unsafe.Add(ref dx, t) = j == 0 ? part : Unsafe.Add(ref dx, t) + part;
                        }
                        if (t > 0)
                        {
                            ref T p = ref Unsafe.Add(ref sc, (t - t0) * row);
                            TV pr = TS.Load(ref p), pi = TS.Load(ref Unsafe.Add(ref p, w));
                            dlr = TS.Fma(gi, pi, TS.Fma(gr, pr, dlr));
                            dli = TS.Fnma(gr, pi, TS.Fma(gi, pr, dli));
                            hr = pr; hi = pi;
                        }
                    }
                }
                // Add this sequence's sums into the chunk's accumulators (sequence order: deterministic).
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DLr), j), dlr);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DLi), j), dli);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DBtRe), j), dbr);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DBtIm), j), dbi);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DCRe), j), dcr);
                AddInto<TS, TV, T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(a.DCIm), j), dci);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddInto<TS, TV, T>(ref T p, TV v)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
        => TS.Store(TS.Fma(TS.Splat(T.One), v, TS.Load(ref p)), ref p);
}
