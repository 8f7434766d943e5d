using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>How a linear time-invariant layer (<see cref="DenseLinearRecurrence{T}"/>, <see cref="DiagonalRecurrence{T}"/>,
/// <see cref="LinearRecurrentUnit{T}"/>) computes y_t = Σ_{s≤t} K_s x_{t−s} + D x_t.</summary>
public enum LtiAlgorithm
{
    /// <summary>Pick per shape with <see cref="LtiCostModel.Choose"/> when the layer is prepared.</summary>
    Auto,
    /// <summary>The fused recurrence over time (state h_t = A h_{t−1} + B x_t) and its adjoint scan.</summary>
    Scan,
    /// <summary>Generate the kernel K_s (C A^s B, or Re(C Λ^s γB)) and convolve (<see cref="ToeplitzConvolution{T}"/>).</summary>
    Convolution,
}

/// <summary>A linear time-invariant layer that computes by the scan or the convolution (<see cref="DenseLinearRecurrence{T}"/>,
/// <see cref="DiagonalRecurrence{T}"/> and the <see cref="LinearRecurrentUnit{T}"/>).</summary>
public interface ILtiLayer
{
    /// <summary>The algorithm the layer would run at this shape on <paramref name="threads"/> threads: its setting, or for
    /// <see cref="LtiAlgorithm.Auto"/> the <see cref="LtiCostModel.Choose"/> pick (what <c>Prepare</c> settles on).</summary>
    LtiAlgorithm AlgorithmFor(int batch, int time, int threads);

    /// <summary>The algorithm the latest <c>Prepare</c> settled on.</summary>
    LtiAlgorithm ResolvedAlgorithm { get; }
}

/// <summary>Which family of LTI layer a cost estimate is for.</summary>
public enum LtiLayerKind
{
    /// <summary>Dense (optionally multi-head block-diagonal) real A: <see cref="DenseLinearRecurrence{T}"/>.</summary>
    Dense,
    /// <summary>Complex diagonal Λ: <see cref="DiagonalRecurrence{T}"/> and <see cref="LinearRecurrentUnit{T}"/>.</summary>
    Diagonal,
}

/// <summary>
/// The cost model that picks scan or convolution for an LTI layer, and the work estimates the benchmark
/// reports GFLOP/s and GB/s from. Both count one training pass of the layer (forward + backward with
/// input gradient), in floating-point operations (an FMA = 2) and bytes of main-memory traffic.
/// <code>
///   scan, dense:       3 · 2·B·T·(N·in + N²/heads + N·out + in·out)
///   scan, diagonal:    3 · B·T·(4N·in + 8N + 4N·out + 2·in·out)               (complex: re and im parts)
///   convolution:       3 · B·T·(T + P)·in·out  +  c·T²·in·out                  (three triangular GEMMs, P = panel;
///                                                 c = 1 for Q's diagonal sums, 2 with more than one input: M is built)
///        + kernel, dense:    3 · 2·T·in·(N²/heads + N·out)                      (V_s = A V_{s−1}, K_s = C V_s, adjoint)
///        + kernel, diagonal: 3 · 4·T·N·in·out                                   (K = Re(Λ^s) U − Im(Λ^s) V)
///   estimated time ∝ flops / efficiency,   efficiency: convolution 0.8, dense scan 0.5,
///                                          diagonal scan 0.6 with one input and one output feature, else 0.25
/// </code>
/// The efficiencies are the measured fractions of GEMM speed: the convolution is three large GEMMs, the
/// dense scan is T small GEMMs per chunk, and the diagonal scan is an elementwise recurrence — with one feature
/// in and out a register-resident sweep that recomputes its states from checkpoints (compute-bound, measured
/// ≈ 60% of the FMA peak), otherwise passes over stored states.
/// <see cref="Choose"/> takes the cheaper estimate, and the scan whenever the Toeplitz matrix would exceed
/// <see cref="ToeplitzConvolution{T}.MaxToeplitzEntries"/>. So narrow layers with moderate T (the Zucchet24
/// teacher–student setting: in = out = 1, T = 300) convolve, and wide layers (a deep stack, d_model 256) scan.
/// </summary>
public static class LtiCostModel
{
    /// <summary>Fraction of GEMM speed the convolution path reaches (three large GEMMs).</summary>
    public const double ConvolutionEfficiency = 0.8;
    /// <summary>Fraction of GEMM speed the dense scan reaches (one small GEMM per step and chunk).</summary>
    public const double DenseScanEfficiency = 0.5;
    /// <summary>Fraction of GEMM speed the diagonal scan reaches (an elementwise, sequential complex recurrence over stored states).</summary>
    public const double DiagonalScanEfficiency = 0.25;
    /// <summary>Fraction of GEMM speed the one-feature diagonal scan reaches (states in registers, recomputed from checkpoints).</summary>
    public const double OneFeatureDiagonalScanEfficiency = 0.6;

    /// <summary>Floating-point operations of one forward + backward pass (formulas in the class summary).</summary>
    /// <param name="kind">Dense or diagonal layer.</param>
    /// <param name="algorithm">Scan or convolution (Auto is resolved with <see cref="Choose"/> first).</param>
    /// <param name="batch">Sequences B.</param>
    /// <param name="time">Steps T.</param>
    /// <param name="hidden">State size N (complex neurons for a diagonal layer).</param>
    /// <param name="dIn">Input features.</param>
    /// <param name="dOut">Output features.</param>
    /// <param name="heads">Heads of a dense layer (block-diagonal A); ignored for a diagonal one.</param>
    public static double Flops(LtiLayerKind kind, LtiAlgorithm algorithm, int batch, int time, int hidden, int dIn, int dOut, int heads = 1)
    {
        CheckShape(batch, time, hidden, dIn, dOut, heads);
        if (algorithm == LtiAlgorithm.Auto) algorithm = Choose(kind, batch, time, hidden, dIn, dOut, heads);
        double b = batch, t = time, n = hidden, i = dIn, o = dOut, h = heads;
        if (algorithm == LtiAlgorithm.Scan)
            return kind == LtiLayerKind.Dense
                ? 3 * 2 * b * t * (n * i + n * n / h + n * o + i * o)
                : 3 * b * t * (4 * n * i + 8 * n + 4 * n * o + 2 * i * o);
        double conv = 3 * b * t * (t + ToeplitzConvolution<float>.PanelSteps) * i * o + (dIn == 1 ? 1 : 2) * t * t * i * o;
        double kernel = kind == LtiLayerKind.Dense ? 3 * 2 * t * i * (n * n / h + n * o) : 3 * 4 * t * n * i * o;
        return conv + kernel;
    }

    /// <summary>Bytes moved through memory by one forward + backward pass, for <paramref name="scalarBytes"/>-byte
    /// scalars (4 for float, 8 for double). Scan: x, y, ∂y, ∂x (4·B·T·(in+out)/2) plus what is stored for the backward
    /// pass, written and read: dense 4·B·T·N (states and adjoints); diagonal, real and imaginary parts, 8·B·T·N when
    /// the GEMM path stores states and adjoints (more than 8 features), 4·B·T·N for the fused scan that stores states
    /// only, and 4·B·⌈T/K⌉·N for the one-feature scan that keeps a checkpoint every K steps. Convolution: the same
    /// activations plus the correlation Q (T²·in·out) written once and read once, and the Toeplitz matrix (as large) too when
    /// there is more than one input (with one, the GEMMs read it from the kernel: <see cref="ToeplitzConvolution{T}"/>).</summary>
    public static double BytesMoved(LtiLayerKind kind, LtiAlgorithm algorithm, int batch, int time, int hidden, int dIn, int dOut,
        int heads = 1, int scalarBytes = 4)
    {
        CheckShape(batch, time, hidden, dIn, dOut, heads);
        if (scalarBytes <= 0) throw new ArgumentOutOfRangeException(nameof(scalarBytes), scalarBytes, "scalar size must be positive");
        if (algorithm == LtiAlgorithm.Auto) algorithm = Choose(kind, batch, time, hidden, dIn, dOut, heads);
        double b = batch, t = time, n = hidden;
        double activations = 2 * b * t * (dIn + (double)dOut);
        double work = algorithm != LtiAlgorithm.Scan ? (dIn == 1 ? 2 : 4) * t * t * dIn * (double)dOut
            : kind == LtiLayerKind.Dense ? 4 * b * t * n
            : dIn == 1 && dOut == 1 ? 4 * b * ScanKernels.OneFeatureCheckpoints(time) * n
            : dIn <= DiagonalKernel<float>.FusedMaxFeatures && dOut <= DiagonalKernel<float>.FusedMaxFeatures ? 4 * b * t * n
            : 8 * b * t * n;
        return scalarBytes * (activations + work);
    }

    /// <summary>Cost, in flop-equivalents, of waking the threads of a pool once per thread (one parallel pass): measured as
    /// ≈ 11 µs a thread on a 16-core Xeon, where on 16 threads the LRU at the teacher–student shape (batch 128, T = 300,
    /// hidden 64) took 0.43 ms with the scan and 0.63 ms with the convolution (2026-12-04), at the ≈ 126 GFLOP/s-equivalent
    /// that this model's single-thread estimates meet (0.42 ms for the convolution).</summary>
    public const double DispatchFlopsPerThread = 1.4e6;

    /// <summary>Relative run time of an algorithm on <paramref name="threads"/> threads: <see cref="Flops"/> divided by its
    /// efficiency and by the parallelism it can use (its fixed chunks: the scan's batch chunks of
    /// <see cref="ScanChunkSize"/> sequences, the convolution's row-chunk × time-panel tasks), plus
    /// <see cref="DispatchFlopsPerThread"/> × threads for each parallel pass (scan 2, convolution 3) when threads &gt; 1, except
    /// for a convolution whose passes are below <see cref="ToeplitzConvolution{T}.MinParallelMultiplyAdds"/> and run on the
    /// calling thread (arbitrary units; infinite for a convolution whose Toeplitz matrix would not fit).</summary>
    public static double EstimatedCost(LtiLayerKind kind, LtiAlgorithm algorithm, int batch, int time, int hidden, int dIn, int dOut, int heads = 1, int threads = 1)
    {
        if (algorithm == LtiAlgorithm.Auto) throw new ArgumentException("estimate a concrete algorithm (scan or convolution), not auto", nameof(algorithm));
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be at least 1");
        if (algorithm == LtiAlgorithm.Convolution && ToeplitzConvolution<float>.ToeplitzEntries(time, dIn, dOut) > ToeplitzConvolution<float>.MaxToeplitzEntries)
            return double.PositiveInfinity;
        double efficiency = algorithm == LtiAlgorithm.Convolution ? ConvolutionEfficiency
            : kind == LtiLayerKind.Dense ? DenseScanEfficiency
            : dIn == 1 && dOut == 1 ? OneFeatureDiagonalScanEfficiency : DiagonalScanEfficiency;
        double work = Flops(kind, algorithm, batch, time, hidden, dIn, dOut, heads) / efficiency;
        if (threads == 1) return work;
        if (algorithm == LtiAlgorithm.Convolution
            && ToeplitzConvolution<float>.PassMultiplyAdds(batch, time, dIn, dOut) < ToeplitzConvolution<float>.MinParallelMultiplyAdds)
            return work; // its passes run on the calling thread: no parallelism, no waking
        int tasks = algorithm == LtiAlgorithm.Convolution
            ? WorkerPool.ChunkCount(batch, ToeplitzConvolution<float>.SequencesPerChunk) * WorkerPool.ChunkCount(time, ToeplitzConvolution<float>.PanelSteps)
            : WorkerPool.ChunkCount(batch, ScanChunkSize(kind));
        int passes = algorithm == LtiAlgorithm.Convolution ? 3 : 2;
        return work / Math.Min(threads, tasks) + passes * threads * DispatchFlopsPerThread;
    }

    /// <summary>Sequences per parallel chunk of a layer's scan (fixed, so results do not depend on the thread count).</summary>
    public static int ScanChunkSize(LtiLayerKind kind) => kind == LtiLayerKind.Dense ? DenseLinearRecurrence<float>.ChunkSize : DiagonalKernel<float>.ChunkSize;

    /// <summary>The algorithm with the smaller <see cref="EstimatedCost"/> on <paramref name="threads"/> threads (the scan on a tie).</summary>
    public static LtiAlgorithm Choose(LtiLayerKind kind, int batch, int time, int hidden, int dIn, int dOut, int heads = 1, int threads = 1)
    {
        double scan = EstimatedCost(kind, LtiAlgorithm.Scan, batch, time, hidden, dIn, dOut, heads, threads);
        double conv = EstimatedCost(kind, LtiAlgorithm.Convolution, batch, time, hidden, dIn, dOut, heads, threads);
        return conv < scan ? LtiAlgorithm.Convolution : LtiAlgorithm.Scan;
    }

    private static void CheckShape(int batch, int time, int hidden, int dIn, int dOut, int heads)
    {
        if (batch <= 0 || time <= 0 || hidden <= 0 || dIn <= 0 || dOut <= 0 || heads <= 0)
            throw new ArgumentException($"cost model shapes must be positive (batch {batch}, time {time}, hidden {hidden}, in {dIn}, out {dOut}, heads {heads})");
    }
}
