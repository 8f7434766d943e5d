using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MemoryLab.Numerics;

/// <summary>
/// Measured machine ceilings for a roofline plot (Williams, Waterman &amp; Patterson 2009): the fused
/// multiply-add throughput of the vector units and the sustained memory bandwidth. Both are measured
/// on this machine, now (not read from a spec sheet), as the best of a few repetitions, so they are
/// what code here can actually reach.
/// </summary>
internal static class MachinePeaks
{
    /// <summary>Independent accumulator chains per thread: at least FMA latency × FMA ports (4 × 2 on
    /// current x86 cores), and few enough (12 + 2 constants) to stay in 16 vector registers.</summary>
    private const int Chains = 12;

    /// <summary>The widest vector the CPU runs natively (512 with AVX-512 on Zen 4/5 and recent Xeons, else
    /// 256): the width <see cref="Gemm"/> uses, so the roofline's compute ceiling is
    /// <c>MeasureFmaPeak(threads, NativeVectorBits)</c>.</summary>
    public static int NativeVectorBits => Vector512.IsHardwareAccelerated ? 512 : 256;

    /// <summary>
    /// Peak single-precision FMA throughput in GFLOP/s (one FMA = 2 flops) over <paramref name="threads"/>
    /// threads, each running independent FMA chains on <paramref name="vectorBits"/>-bit vectors held in
    /// registers (no memory traffic). Returns the best of <paramref name="repetitions"/> runs of about
    /// <paramref name="secondsPerRun"/> each.
    /// </summary>
    /// <param name="threads">Threads running at once (1 = one core).</param>
    /// <param name="vectorBits">256 (Vector256, AVX2+FMA class) or 512 (Vector512; needs hardware support).</param>
    /// <param name="repetitions">Runs to take the best of.</param>
    /// <param name="secondsPerRun">Approximate duration of one run.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    /// <exception cref="NotSupportedException">The vector width is not 256 or 512, or 512 is not accelerated here.</exception>
    public static double MeasureFmaPeak(int threads, int vectorBits = 256, int repetitions = 5, double secondsPerRun = 0.05)
    {
        CheckCounts(threads, repetitions, secondsPerRun);
        if (vectorBits != 256 && vectorBits != 512)
            throw new NotSupportedException($"vector width must be 256 or 512 bits, got {vectorBits}");
        if (vectorBits == 512 && !Vector512.IsHardwareAccelerated)
            throw new NotSupportedException("512-bit vectors are not hardware accelerated on this machine");
        int lanes = vectorBits / 32;
        Func<long, float> chain = vectorBits == 256 ? FmaChains256 : FmaChains512;
        // Calibrate on one thread so a run lasts about secondsPerRun.
        chain(10_000);
        long iterations = 1_000_000;
        var sw = Stopwatch.StartNew();
        chain(iterations);
        double perIteration = Math.Max(sw.Elapsed.TotalSeconds / iterations, 1e-12);
        iterations = Math.Max(10_000, (long)(secondsPerRun / perIteration));
        double seconds = BestParallelSeconds(threads, repetitions, _ => chain(iterations));
        return threads * (double)iterations * Chains * lanes * 2 / seconds / 1e9;
    }

    /// <summary>
    /// Sustained memory bandwidth in GB/s (10⁹ bytes/s) over <paramref name="threads"/> threads, from the
    /// STREAM triad <c>a[i] = b[i] + s·c[i]</c> (McCalpin 1995) on three float64 arrays of
    /// <paramref name="bytesPerArray"/> bytes each, far larger than the caches. Bytes are counted as STREAM
    /// does (two reads and one write per element; the write-allocate read is not counted). Each thread
    /// touches its own contiguous slice. Returns the best of <paramref name="repetitions"/> sweeps.
    /// </summary>
    /// <param name="threads">Threads streaming at once.</param>
    /// <param name="repetitions">Sweeps to take the best of.</param>
    /// <param name="bytesPerArray">Size of each of the three arrays; default 64 MiB (about 4× a 16–32 MiB L3 in total use).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count or size is not positive.</exception>
    public static double MeasureStreamBandwidth(int threads, int repetitions = 5, long bytesPerArray = 64L << 20)
    {
        CheckCounts(threads, repetitions, 1);
        if (bytesPerArray < 8 * threads)
            throw new ArgumentOutOfRangeException(nameof(bytesPerArray), bytesPerArray, "each array needs at least one float64 per thread");
        long length = bytesPerArray / sizeof(double);
        if (length > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(bytesPerArray), bytesPerArray, "array too large");
        var a = GC.AllocateUninitializedArray<double>((int)length);
        var b = GC.AllocateUninitializedArray<double>((int)length);
        var c = GC.AllocateUninitializedArray<double>((int)length);
        int sliceLength = (int)(length / threads);
        Span<double> Slice(double[] x, int t) => x.AsSpan(t * sliceLength, t == threads - 1 ? (int)length - t * sliceLength : sliceLength);
        // First touch by the thread that will stream the slice (pages land near it on NUMA machines).
        BestParallelSeconds(threads, 1, t => { Slice(a, t).Fill(0); Slice(b, t).Fill(1); Slice(c, t).Fill(2); return 0; });
        double seconds = BestParallelSeconds(threads, repetitions, t =>
        {
            TensorPrimitives.MultiplyAdd(Slice(c, t), 3.0, Slice(b, t), Slice(a, t));
            return 0;
        });
        if (a[0] != 7.0) throw new InvalidOperationException("stream triad produced a wrong value");
        return 3.0 * sizeof(double) * length / seconds / 1e9;
    }

    private static void CheckCounts(int threads, int repetitions, double seconds)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "need at least one thread");
        if (repetitions < 1) throw new ArgumentOutOfRangeException(nameof(repetitions), repetitions, "need at least one repetition");
        if (!(seconds > 0)) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "duration must be positive");
    }

    /// <summary>Runs <paramref name="work"/>(threadIndex) on <paramref name="threads"/> dedicated threads started
    /// together by a barrier, <paramref name="repetitions"/> times; returns the shortest span from the
    /// first start to the last finish.</summary>
    private static double BestParallelSeconds(int threads, int repetitions, Func<int, float> work)
    {
        var barrier = new Barrier(threads);
        var start = new long[threads];
        var stop = new long[threads];
        double best = double.PositiveInfinity;
        float sink = 0;
        Exception? error = null;
        var workers = new Thread[threads];
        var times = new double[repetitions];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                for (int r = 0; r < repetitions; r++)
                {
                    barrier.SignalAndWait();
                    start[index] = Stopwatch.GetTimestamp();
                    try
                    {
                        float s = work(index);
                        if (s == 12345.678f) Volatile.Write(ref sink, s); // keeps the result observable
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref error, e, null);
                    }
                    stop[index] = Stopwatch.GetTimestamp();
                    // Every thread stays in step with the barrier even after a failure, so none is left waiting.
                    barrier.SignalAndWait();
                    if (index == 0) times[r] = (stop.Max() - start.Min()) / (double)Stopwatch.Frequency;
                }
            }) { IsBackground = true, Name = $"memlab-peak-{t}" };
        }
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        barrier.Dispose();
        if (error != null) throw new InvalidOperationException("peak measurement failed", error);
        foreach (double s in times) best = Math.Min(best, s);
        return Math.Max(best, 1e-9);
    }

    /// <summary>Twelve independent FMA chains on Vector256&lt;float&gt;. The accumulators must not live across a
    /// call (the JIT would keep them on the stack), so the timing stays outside this method.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains256(long iterations)
    {
        // x·m + d with m just below 1 keeps every chain finite and away from denormals.
        var m = Vector256.Create(0.9999999f);
        var d = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1.00f), a1 = Vector256.Create(1.01f), a2 = Vector256.Create(1.02f),
            a3 = Vector256.Create(1.03f), a4 = Vector256.Create(1.04f), a5 = Vector256.Create(1.05f),
            a6 = Vector256.Create(1.06f), a7 = Vector256.Create(1.07f), a8 = Vector256.Create(1.08f),
            a9 = Vector256.Create(1.09f), a10 = Vector256.Create(1.10f), a11 = Vector256.Create(1.11f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, d); a1 = Vector256.FusedMultiplyAdd(a1, m, d);
            a2 = Vector256.FusedMultiplyAdd(a2, m, d); a3 = Vector256.FusedMultiplyAdd(a3, m, d);
            a4 = Vector256.FusedMultiplyAdd(a4, m, d); a5 = Vector256.FusedMultiplyAdd(a5, m, d);
            a6 = Vector256.FusedMultiplyAdd(a6, m, d); a7 = Vector256.FusedMultiplyAdd(a7, m, d);
            a8 = Vector256.FusedMultiplyAdd(a8, m, d); a9 = Vector256.FusedMultiplyAdd(a9, m, d);
            a10 = Vector256.FusedMultiplyAdd(a10, m, d); a11 = Vector256.FusedMultiplyAdd(a11, m, d);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    /// <summary>As <see cref="FmaChains256"/> on Vector512&lt;float&gt;.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains512(long iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var d = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1.00f), a1 = Vector512.Create(1.01f), a2 = Vector512.Create(1.02f),
            a3 = Vector512.Create(1.03f), a4 = Vector512.Create(1.04f), a5 = Vector512.Create(1.05f),
            a6 = Vector512.Create(1.06f), a7 = Vector512.Create(1.07f), a8 = Vector512.Create(1.08f),
            a9 = Vector512.Create(1.09f), a10 = Vector512.Create(1.10f), a11 = Vector512.Create(1.11f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, d); a1 = Vector512.FusedMultiplyAdd(a1, m, d);
            a2 = Vector512.FusedMultiplyAdd(a2, m, d); a3 = Vector512.FusedMultiplyAdd(a3, m, d);
            a4 = Vector512.FusedMultiplyAdd(a4, m, d); a5 = Vector512.FusedMultiplyAdd(a5, m, d);
            a6 = Vector512.FusedMultiplyAdd(a6, m, d); a7 = Vector512.FusedMultiplyAdd(a7, m, d);
            a8 = Vector512.FusedMultiplyAdd(a8, m, d); a9 = Vector512.FusedMultiplyAdd(a9, m, d);
            a10 = Vector512.FusedMultiplyAdd(a10, m, d); a11 = Vector512.FusedMultiplyAdd(a11, m, d);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }
}
