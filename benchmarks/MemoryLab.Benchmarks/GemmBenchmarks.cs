using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using MemoryLab.Numerics;

namespace MemoryLab.Benchmarks;

/// <summary>One GEMM problem: C (m×n) ← op(A)·op(B), op(A) m×k.</summary>
public sealed record GemmShape(int M, int N, int K, Transpose TransA, Transpose TransB)
{
    /// <summary>Floating-point operations of one call (one multiply and one add per term).</summary>
    public double Flops => 2.0 * M * N * K;

    /// <inheritdoc/>
    public override string ToString() => $"{M}x{N}x{K} {(TransA == Transpose.No ? 'N' : 'T')}{(TransB == Transpose.No ? 'N' : 'T')}";
}

/// <summary>
/// Single-threaded float32 GEMM on the shapes recurrent layers use: a 32-sequence chunk through a 64-wide
/// layer (NN), the input-gradient product against 256 outputs (NT), a weight gradient reduced over
/// 600 steps × 64 sequences (TN, k = 38400), and a GRU-style 3·64 gate block over 128 rows.
/// The GFLOP/s column divides 2mnk by the mean time; the "% peak" columns compare it with
/// <see cref="MachinePeaks.MeasureFmaPeak"/> on one thread with 256-bit and (where native) 512-bit vectors,
/// measured in the host process when the table is printed.
/// Run: <c>dotnet run -c Release --project benchmarks/MemoryLab.Benchmarks -- --filter '*Gemm*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GflopsConfig))]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private int _lda, _ldb;

    /// <summary>The shapes measured.</summary>
    public static IEnumerable<GemmShape> Shapes =>
    [
        new(32, 64, 64, Transpose.No, Transpose.No),
        new(32, 256, 64, Transpose.No, Transpose.Yes),
        new(64, 64, 38400, Transpose.Yes, Transpose.No),
        new(128, 192, 64, Transpose.No, Transpose.No),
    ];

    /// <summary>The shape of this run.</summary>
    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = new(1, 1, 1, Transpose.No, Transpose.No);

    /// <summary>Random operands of the current shape.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var s = Shape;
        _lda = s.TransA == Transpose.No ? s.K : s.M;
        _ldb = s.TransB == Transpose.No ? s.N : s.K;
        _a = new float[s.M * s.K];
        _b = new float[s.K * s.N];
        _c = new float[s.M * s.N];
        var rng = new CounterRng(1, RandomPurpose.User);
        rng.FillNormal<float>(_a);
        rng.FillNormal<float>(_b);
    }

    /// <summary>What callers get: the blocked path at the widest native vector width.</summary>
    [Benchmark(Baseline = true)]
    public void Multiply() =>
        Gemm.Multiply(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K, 1f, _a, _lda, _b, _ldb, 0f, _c, Shape.N);

    /// <summary>The blocked path held to 256-bit vectors (AVX2 + FMA, e.g. Zen 3).</summary>
    [Benchmark]
    public void Blocked256() =>
        Gemm.MultiplyBlocked(256, Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K, 1f, _a, _lda, _b, _ldb, 0f, _c, Shape.N);

    /// <summary>The portable Vector&lt;T&gt; path (what CPUs without AVX2/FMA run), for comparison.</summary>
    [Benchmark]
    public void Portable() =>
        Gemm.MultiplyPortable(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K, 1f, _a, _lda, _b, _ldb, 0f, _c, Shape.N);

    private sealed class GflopsConfig : ManualConfig
    {
        public GflopsConfig()
        {
            AddColumn(new GflopsColumn(0), new GflopsColumn(256));
            if (Gemm.WideKernel) AddColumn(new GflopsColumn(512));
        }
    }

    /// <summary>Achieved GFLOP/s (2mnk / mean time) when <paramref name="peakBits"/> is 0, else that as a
    /// percentage of the measured one-core FMA peak at that vector width.</summary>
    private sealed class GflopsColumn(int peakBits) : IColumn
    {
        private static readonly Lazy<double> Peak256 = new(() => MachinePeaks.MeasureFmaPeak(1, 256));
        private static readonly Lazy<double> Peak512 = new(() => MachinePeaks.MeasureFmaPeak(1, 512));

        public string Id => peakBits == 0 ? "GFlops" : $"PercentPeak{peakBits}";
        public string ColumnName => peakBits == 0 ? "GFLOP/s" : $"% of {peakBits}-bit peak";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => peakBits;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => peakBits == 0
            ? "2·m·n·k divided by the mean time"
            : $"GFLOP/s as a percentage of MachinePeaks.MeasureFmaPeak(1, {peakBits}) measured in the host process";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats || benchmarkCase.Parameters["Shape"] is not GemmShape shape) return "-";
            double gflops = shape.Flops / stats.Mean; // flops per ns = GFLOP/s
            return peakBits switch
            {
                0 => $"{gflops:F1}",
                256 => $"{100 * gflops / Peak256.Value:F0}%",
                _ => $"{100 * gflops / Peak512.Value:F0}%",
            };
        }
    }
}
