using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MemoryLab.Numerics;

/// <summary>What a random stream is for. Streams of different purposes never overlap, so adding a draw
/// in one place moves no number elsewhere (DESIGN.md, "Deterministic").</summary>
public enum RandomPurpose : uint
{
    /// <summary>Parameter initialisation.</summary>
    Init = 1,
    /// <summary>Training data (input batches).</summary>
    Data = 2,
    /// <summary>Parameter perturbations (stability analyses).</summary>
    Perturbation = 3,
    /// <summary>Teacher / target construction.</summary>
    Teacher = 4,
    /// <summary>Held-out evaluation data.</summary>
    Evaluation = 5,
    /// <summary>Monte Carlo estimates of closed forms.</summary>
    MonteCarlo = 6,
    /// <summary>Anything else a user adds.</summary>
    User = 7,
}

/// <summary>
/// Counter-based random generator (Philox4x32-10, Salmon et al. 2011). The output is a pure function
/// of (seed, purpose, substream, position), so any draw can be reproduced without replaying the ones
/// before it, and parallel work that draws by position gives the same bits on any thread count.
/// </summary>
public sealed class CounterRng
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private readonly uint _k0, _k1;
    private readonly ulong _substream;
    private ulong _position;      // index of the next 4-word block
    private int _available;       // unread words left in _block
    private uint _b0, _b1, _b2, _b3;
    private double _spareNormal;
    private bool _hasSpare;

    /// <summary>A stream for <paramref name="purpose"/> under <paramref name="seed"/>; <paramref name="substream"/> splits it further (a run index, a step, a sequence).</summary>
    public CounterRng(ulong seed, RandomPurpose purpose, ulong substream = 0)
    {
        ulong key = Mix(seed ^ Mix((ulong)purpose * 0x9E3779B97F4A7C15UL));
        _k0 = (uint)key;
        _k1 = (uint)(key >> 32);
        _substream = substream;
        Seed = seed;
        Purpose = purpose;
    }

    /// <summary>The seed this stream was made from.</summary>
    public ulong Seed { get; }

    /// <summary>The purpose this stream was made for.</summary>
    public RandomPurpose Purpose { get; }

    /// <summary>A new stream of the same seed and purpose with another substream index.</summary>
    public CounterRng Fork(ulong substream) => new(Seed, Purpose, Mix(_substream * 0x100000001B3UL + substream + 1));

    /// <summary>Jumps to block <paramref name="blockIndex"/> (each block holds four 32-bit words).</summary>
    public void Seek(ulong blockIndex)
    {
        _position = blockIndex;
        _available = 0;
        _hasSpare = false;
    }

    /// <summary>A uniform 32-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint NextUInt32()
    {
        if (_available == 0) Refill();
        uint r = (4 - _available) switch { 0 => _b0, 1 => _b1, 2 => _b2, _ => _b3 };
        _available--;
        return r;
    }

    /// <summary>A uniform 64-bit integer.</summary>
    public ulong NextUInt64() => ((ulong)NextUInt32() << 32) | NextUInt32();

    /// <summary>Uniform on [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform on (0, 1): never exactly 0, for logarithms.</summary>
    public double NextOpenDouble() => ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>Uniform on [lo, hi).</summary>
    public double NextUniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Standard normal by Box–Muller (both variates used).</summary>
    public double NextNormal()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareNormal;
        }
        double u1 = NextOpenDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double a = 2.0 * Math.PI * u2;
        _spareNormal = r * Math.Sin(a);
        _hasSpare = true;
        return r * Math.Cos(a);
    }

    /// <summary>Fills <paramref name="destination"/> with N(mean, std²) draws.</summary>
    public void FillNormal<T>(Span<T> destination, double mean = 0, double std = 1) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = T.CreateTruncating(mean + std * NextNormal());
    }

    /// <summary>Normals drawn per chunk of <see cref="FillNormalVectorized{T}"/> (64 Philox blocks).</summary>
    public const int VectorizedChunk = 256;

    /// <summary>
    /// Fills <paramref name="destination"/> with N(0, 1) draws by a vectorised float32 Box–Muller, in chunks of
    /// <see cref="VectorizedChunk"/>. A chunk takes 64 Philox blocks; in each group of 8 blocks, words w₀, w₁ of block j give
    /// pair j and words w₂, w₃ pair 64 + j (so 8 blocks are one AVX2 vector per word, 16 one AVX-512 vector), with u₁ = (w ≫ 9 + ½)·2⁻²³ ∈ (0, 1),
    /// r = √(−2 ln u₁), and the angle 2πu₂ of u₂ = (w ≫ 8)·2⁻²⁴ ∈ [0, 1) split exactly, in integers, into a quarter turn
    /// q = round(4u₂) and a rest a = 2π(u₂ − q/4) ∈ [−π/4, π/4): cos 2πu₂ and sin 2πu₂ are ±cos a, ±sin a by q. The logarithm,
    /// sine and cosine are float32 polynomials on their reduced ranges (<see cref="BoxMuller"/>), evaluated with additions and
    /// multiplications only, so the draws are the same bits with or without AVX2, AVX-512 or FMA (each lane runs the same IEEE
    /// operations whatever the vector width). The chunk's first 128 normals are
    /// r·cos 2πu₂ and its last 128 are r·sin 2πu₂ of the same pairs (a short tail is computed as a full chunk, so every draw takes
    /// the same path). Float32-accurate (within a few units in the last place of the exact transform of the same uniforms) and
    /// bounded by |z| ≤ √(2·24 ln 2) ≈ 5.8, which no training batch notices. The result is a pure function of (seed, purpose,
    /// substream, position) and takes ⌈n/256⌉·64 blocks.
    /// </summary>
    public void FillNormalVectorized<T>(Span<T> destination) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        const int Pairs = VectorizedChunk / 2, Blocks = VectorizedChunk / 4;
        Span<float> radius = stackalloc float[Pairs], angle = stackalloc float[Pairs], values = stackalloc float[VectorizedChunk];
        Span<int> quarter = stackalloc int[Pairs];
        for (int start = 0; start < destination.Length; start += VectorizedChunk)
        {
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) UniformChunkAvx512(_position, radius, angle, quarter);
            else
                for (int g = 0; g < Blocks; g += 8)
                    if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) UniformPairsAvx2(_position + (ulong)g, radius, angle, quarter, g);
                    else UniformPairsScalar(_position + (ulong)g, radius, angle, quarter, g);
            _position += Blocks;
            var chunk = destination.Slice(start, Math.Min(VectorizedChunk, destination.Length - start));
            // A whole float chunk is written in place; a short tail, or another type, goes through the stack buffer.
            bool direct = typeof(T) == typeof(float) && chunk.Length == VectorizedChunk;
            var output = direct ? System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(chunk) : values;
            if (Vector512.IsHardwareAccelerated) BoxMuller512(radius, angle, quarter, output);
            else BoxMuller(radius, angle, quarter, output);
            if (direct) continue;
            if (typeof(T) == typeof(float)) values[..chunk.Length].CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(chunk));
            else for (int i = 0; i < chunk.Length; i++) chunk[i] = T.CreateTruncating(values[i]);
        }
        _available = 0;
        _hasSpare = false;
    }

    // values[i] = r·cos(a + qπ/2), values[Pairs + i] = r·sin(a + qπ/2) with r = √(−2 ln u₁) (radius holds u₁): rotating (cos a, sin a)
    // by q quarter turns swaps the two for odd q and negates cos for q = 1, 2 and sin for q = 2, 3. Only additions, multiplications,
    // the square root and bit operations, each rounded once per lane, so Vector256's software form (without AVX2) gives the same bits.
    internal static void BoxMuller(ReadOnlySpan<float> radius, ReadOnlySpan<float> angle, ReadOnlySpan<int> quarter, Span<float> values)
    {
        int pairs = radius.Length;
        for (int i = 0; i < pairs; i += Vector256<float>.Count)
        {
            var r = Vector256.Sqrt(Vector256.Create(-2f) * Log(Vector256.Create(radius[i..])));
            var a = Vector256.Create(angle[i..]);
            var (s, c) = SinCos(a);
            var q = Vector256.Create(quarter[i..]);
            var swap = Vector256.Equals(q & Vector256.Create(1), Vector256.Create(1)).AsSingle();
            var negCos = (((q + Vector256.Create(1)) & Vector256.Create(2)) << 30).AsSingle();   // q = 1, 2
            var negSin = ((q & Vector256.Create(2)) << 30).AsSingle();                           // q = 2, 3
            var cq = Vector256.ConditionalSelect(swap, s, c) ^ negCos;
            var sq = Vector256.ConditionalSelect(swap, c, s) ^ negSin;
            (r * cq).CopyTo(values[i..]);
            (r * sq).CopyTo(values[(pairs + i)..]);
        }
    }

    // Cephes' logf (ln(1 + f) = f − f²/2 + f³P(f), f ∈ [√½ − 1, √2 − 1)), sinf and cosf (|a| ≤ π/4) minimax coefficients, highest first.
    private const float L8 = 7.0376836292e-2f, L7 = -1.1514610310e-1f, L6 = 1.1676998740e-1f, L5 = -1.2420140846e-1f, L4 = 1.4249322787e-1f,
        L3 = -1.6668057665e-1f, L2 = 2.0000714765e-1f, L1 = -2.4999993993e-1f, L0 = 3.3333331174e-1f;
    private const float Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f, Sqrt2 = 1.41421356f;
    private const float S2 = -1.9515295891e-4f, S1 = 8.3321608736e-3f, S0 = -1.6666654611e-1f;
    private const float C2 = 2.443315711809948e-5f, C1 = -1.388731625493765e-3f, C0 = 4.166664568298827e-2f;

    // ln u for normal u > 0: u = m·2ᵉ with m ∈ [√½, √2), ln u = ln(1 + f) + e ln 2 with f = m − 1, ln(1 + f) = f − f²/2 + f³P(f)
    // by the minimax polynomial of Cephes' logf (degree 8, float32 accuracy on that range), and ln 2 split in two so e·ln 2 is exact.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Log(Vector256<float> u)
    {
        var bits = u.AsInt32();
        var e = (bits >> 23) - Vector256.Create(127);
        var m = ((bits & Vector256.Create(0x007FFFFF)) | Vector256.Create(0x3F800000)).AsSingle();   // [1, 2)
        var high = Vector256.GreaterThan(m, Vector256.Create(Sqrt2));
        m = Vector256.ConditionalSelect(high, m * Vector256.Create(0.5f), m);
        e -= high.AsInt32();                                                                             // high is −1 where set
        var f = m - Vector256.Create(1f);
        var z = f * f;
        var p = Vector256.Create(L8);
        p = p * f + Vector256.Create(L7);
        p = p * f + Vector256.Create(L6);
        p = p * f + Vector256.Create(L5);
        p = p * f + Vector256.Create(L4);
        p = p * f + Vector256.Create(L3);
        p = p * f + Vector256.Create(L2);
        p = p * f + Vector256.Create(L1);
        p = p * f + Vector256.Create(L0);
        var fe = Vector256.ConvertToSingle(e);
        var y = f * z * p + fe * Vector256.Create(Ln2Low) - Vector256.Create(0.5f) * z;
        return f + y + fe * Vector256.Create(Ln2High);
    }

    // sin a and cos a for |a| ≤ π/4 by the minimax polynomials of Cephes' sinf and cosf (float32 accuracy on that range).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Sin, Vector256<float> Cos) SinCos(Vector256<float> a)
    {
        var z = a * a;
        var s = (Vector256.Create(S2) * z + Vector256.Create(S1)) * z + Vector256.Create(S0);
        s = s * z * a + a;
        var c = (Vector256.Create(C2) * z + Vector256.Create(C1)) * z + Vector256.Create(C0);
        c = c * z * z - Vector256.Create(0.5f) * z + Vector256.Create(1f);
        return (s, c);
    }

    // BoxMuller, Log and SinCos on 16 lanes: the same operations in the same order on each lane, so the same bits.
    internal static void BoxMuller512(ReadOnlySpan<float> radius, ReadOnlySpan<float> angle, ReadOnlySpan<int> quarter, Span<float> values)
    {
        int pairs = radius.Length;
        for (int i = 0; i < pairs; i += Vector512<float>.Count)
        {
            var r = Vector512.Sqrt(Vector512.Create(-2f) * Log512(Vector512.Create(radius[i..])));
            var a = Vector512.Create(angle[i..]);
            var z = a * a;
            var s = (Vector512.Create(S2) * z + Vector512.Create(S1)) * z + Vector512.Create(S0);
            s = s * z * a + a;
            var c = (Vector512.Create(C2) * z + Vector512.Create(C1)) * z + Vector512.Create(C0);
            c = c * z * z - Vector512.Create(0.5f) * z + Vector512.Create(1f);
            var q = Vector512.Create(quarter[i..]);
            var swap = Vector512.Equals(q & Vector512.Create(1), Vector512.Create(1)).AsSingle();
            var negCos = (((q + Vector512.Create(1)) & Vector512.Create(2)) << 30).AsSingle();   // q = 1, 2
            var negSin = ((q & Vector512.Create(2)) << 30).AsSingle();                           // q = 2, 3
            var cq = Vector512.ConditionalSelect(swap, s, c) ^ negCos;
            var sq = Vector512.ConditionalSelect(swap, c, s) ^ negSin;
            (r * cq).CopyTo(values[i..]);
            (r * sq).CopyTo(values[(pairs + i)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Log512(Vector512<float> u)
    {
        var bits = u.AsInt32();
        var e = (bits >> 23) - Vector512.Create(127);
        var m = ((bits & Vector512.Create(0x007FFFFF)) | Vector512.Create(0x3F800000)).AsSingle();
        var high = Vector512.GreaterThan(m, Vector512.Create(Sqrt2));
        m = Vector512.ConditionalSelect(high, m * Vector512.Create(0.5f), m);
        e -= high.AsInt32();
        var f = m - Vector512.Create(1f);
        var z = f * f;
        var p = Vector512.Create(L8);
        p = p * f + Vector512.Create(L7);
        p = p * f + Vector512.Create(L6);
        p = p * f + Vector512.Create(L5);
        p = p * f + Vector512.Create(L4);
        p = p * f + Vector512.Create(L3);
        p = p * f + Vector512.Create(L2);
        p = p * f + Vector512.Create(L1);
        p = p * f + Vector512.Create(L0);
        var fe = Vector512.ConvertToSingle(e);
        var y = f * z * p + fe * Vector512.Create(Ln2Low) - Vector512.Create(0.5f) * z;
        return f + y + fe * Vector512.Create(Ln2High);
    }

    private const float TwoPi = 2 * MathF.PI;
    private const float AngleScale = TwoPi / (1 << 24);

    // u₂ = v·2⁻²⁴ with v = w ≫ 8: the nearest quarter turn q = (v + 2²¹) ≫ 22 (0 … 4, taken mod 4) and the rest v − q·2²² ∈ [−2²¹, 2²¹),
    // exact in integers, whose angle is (v − q·2²²)·2π·2⁻²⁴ ∈ [−π/4, π/4).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Quarter, float Angle) Reduce(uint w)
    {
        int v = (int)(w >> 8), q = (v + (1 << 21)) >> 22;
        return (q & 3, (v - (q << 22)) * AngleScale);
    }

    // The (u₁, u₂) pairs g..g+7 (from words w₀, w₁ of blocks position..position+7) and 64+g..64+g+7 (from w₂, w₃), with u₁
    // stored as itself in radius and 2πu₂ as its quarter turn and rest (Reduce); UniformPairsAvx2 computes the same numbers eight blocks at a time.
    internal void UniformPairsScalar(ulong position, Span<float> radius, Span<float> angle, Span<int> quarter, int g)
    {
        const int Second = VectorizedChunk / 4;
        for (int j = 0; j < 8; j++)
        {
            ulong p = position + (ulong)j;
            var (w0, w1, w2, w3) = Philox4x32((uint)p, (uint)(p >> 32), (uint)_substream, (uint)(_substream >> 32), _k0, _k1);
            radius[g + j] = ((w0 >> 9) + 0.5f) * (1f / (1 << 23)); (quarter[g + j], angle[g + j]) = Reduce(w1);
            radius[Second + g + j] = ((w2 >> 9) + 0.5f) * (1f / (1 << 23)); (quarter[Second + g + j], angle[Second + g + j]) = Reduce(w3);
        }
    }

    // Philox4x32-10 on 8 consecutive blocks at once (one block per 32-bit lane); the words become the (u₁, u₂) pairs g..g+7
    // (from w₀, w₁) and 64+g..64+g+7 (from w₂, w₃), exactly as the scalar loop of FillNormalVectorized computes them.
    internal void UniformPairsAvx2(ulong position, Span<float> radius, Span<float> angle, Span<int> quarter, int g)
    {
        var lane = Vector256.Create(0UL, 1, 2, 3);
        var pLow = Vector256.Create(position) + lane; var pHigh = pLow + Vector256.Create(4UL);
        var c0 = Vector256.Narrow(pLow & Vector256.Create(0xFFFFFFFFUL), pHigh & Vector256.Create(0xFFFFFFFFUL));
        var c1 = Vector256.Narrow(pLow >>> 32, pHigh >>> 32);
        var c2 = Vector256.Create((uint)_substream); var c3 = Vector256.Create((uint)(_substream >> 32));
        uint k0 = _k0, k1 = _k1;
        var m0 = Vector256.Create(M0); var m1 = Vector256.Create(M1);
        for (int round = 0; round < 10; round++)
        {
            var (hi0, lo0) = MulHiLo(c0, m0);
            var (hi1, lo1) = MulHiLo(c2, m1);
            c0 = hi1 ^ c1 ^ Vector256.Create(k0); c2 = hi0 ^ c3 ^ Vector256.Create(k1);
            c1 = lo1; c3 = lo0;
            k0 += W0; k1 += W1;
        }
        var half = Vector256.Create(0.5f); var scaleR = Vector256.Create(1f / (1 << 23)); var scaleA = Vector256.Create(AngleScale);
        ((Vector256.ConvertToSingle((c0 >>> 9).AsInt32()) + half) * scaleR).CopyTo(radius[g..]);
        ((Vector256.ConvertToSingle((c2 >>> 9).AsInt32()) + half) * scaleR).CopyTo(radius[(64 + g)..]);
        ReduceVector(c1, scaleA, angle[g..], quarter[g..]);
        ReduceVector(c3, scaleA, angle[(64 + g)..], quarter[(64 + g)..]);
    }

    // UniformPairsAvx2 on a whole chunk, 64 consecutive blocks from position: four groups of 16 blocks (one block per 32-bit lane
    // of an AVX-512 vector) run round by round side by side, so their independent chains overlap (a round is a multiply and two
    // logic operations in sequence, so one group alone waits on its latency); the group of blocks g..g+15 gives pairs g..g+15 and
    // 64+g..64+g+15, as UniformPairsScalar does.
    internal void UniformChunkAvx512(ulong position, Span<float> radius, Span<float> angle, Span<int> quarter)
    {
        var lane = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        var low = Vector512.Create(0xFFFFFFFFUL);
        var key2 = Vector512.Create((uint)_substream); var key3 = Vector512.Create((uint)(_substream >> 32));
        var a0 = Counter(0, out var a1); var b0 = Counter(16, out var b1); var c0 = Counter(32, out var c1); var d0 = Counter(48, out var d1);
        Vector512<uint> a2 = key2, a3 = key3, b2 = key2, b3 = key3, c2 = key2, c3 = key3, d2 = key2, d3 = key3;
        // The 64-bit products of each lane with M0, M1: vpmuludq on the even lanes, then on the odd ones shifted down.
        var m0 = Vector512.Create((ulong)M0).AsUInt32(); var m1 = Vector512.Create((ulong)M1).AsUInt32();
        uint k0 = _k0, k1 = _k1;
        for (int round = 0; round < 10; round++)
        {
            var key0 = Vector512.Create(k0); var key1 = Vector512.Create(k1);
            Round(ref a0, ref a1, ref a2, ref a3, m0, m1, key0, key1);
            Round(ref b0, ref b1, ref b2, ref b3, m0, m1, key0, key1);
            Round(ref c0, ref c1, ref c2, ref c3, m0, m1, key0, key1);
            Round(ref d0, ref d1, ref d2, ref d3, m0, m1, key0, key1);
            k0 += W0; k1 += W1;
        }
        Words(a0, a1, a2, a3, radius, angle, quarter, 0); Words(b0, b1, b2, b3, radius, angle, quarter, 16);
        Words(c0, c1, c2, c3, radius, angle, quarter, 32); Words(d0, d1, d2, d3, radius, angle, quarter, 48);

        // Words 0 and 1 of the counters of blocks position + g … position + g + 15: the low and high halves of each position.
        Vector512<uint> Counter(int g, out Vector512<uint> high)
        {
            var p0 = Vector512.Create(position + (ulong)g) + lane; var p1 = p0 + Vector512.Create(8UL);
            high = Vector512.Narrow(p0 >>> 32, p1 >>> 32);
            return Vector512.Narrow(p0 & low, p1 & low);
        }

        static void Words(Vector512<uint> w0, Vector512<uint> w1, Vector512<uint> w2, Vector512<uint> w3, Span<float> radius, Span<float> angle, Span<int> quarter, int g)
        {
            var half = Vector512.Create(0.5f); var scaleR = Vector512.Create(1f / (1 << 23)); var scaleA = Vector512.Create(AngleScale);
            ((Vector512.ConvertToSingle((w0 >>> 9).AsInt32()) + half) * scaleR).CopyTo(radius[g..]);
            ((Vector512.ConvertToSingle((w2 >>> 9).AsInt32()) + half) * scaleR).CopyTo(radius[(64 + g)..]);
            ReduceVector(w1, scaleA, angle[g..], quarter[g..]);
            ReduceVector(w3, scaleA, angle[(64 + g)..], quarter[(64 + g)..]);
        }
    }

    // One Philox round on 16 blocks: (c0, c1, c2, c3) ← (hi(c2·M1) ^ c1 ^ k0, lo(c2·M1), hi(c0·M0) ^ c3 ^ k1, lo(c0·M0)).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref Vector512<uint> c0, ref Vector512<uint> c1, ref Vector512<uint> c2, ref Vector512<uint> c3,
        Vector512<uint> m0, Vector512<uint> m1, Vector512<uint> key0, Vector512<uint> key1)
    {
        var low = Vector512.Create(0xFFFFFFFFUL);
        var even0 = System.Runtime.Intrinsics.X86.Avx512F.Multiply(c0, m0);
        var odd0 = System.Runtime.Intrinsics.X86.Avx512F.Multiply((c0.AsUInt64() >>> 32).AsUInt32(), m0);
        var even1 = System.Runtime.Intrinsics.X86.Avx512F.Multiply(c2, m1);
        var odd1 = System.Runtime.Intrinsics.X86.Avx512F.Multiply((c2.AsUInt64() >>> 32).AsUInt32(), m1);
        var n0 = ((even1 >>> 32) | (odd1 & ~low)).AsUInt32() ^ c1 ^ key0;
        var n2 = ((even0 >>> 32) | (odd0 & ~low)).AsUInt32() ^ c3 ^ key1;
        c1 = ((even1 & low) | (odd1 << 32)).AsUInt32();
        c3 = ((even0 & low) | (odd0 << 32)).AsUInt32();
        c0 = n0; c2 = n2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReduceVector(Vector512<uint> w, Vector512<float> scale, Span<float> angle, Span<int> quarter)
    {
        var v = (w >>> 8).AsInt32();
        var q = (v + Vector512.Create(1 << 21)) >> 22;
        (Vector512.ConvertToSingle(v - (q << 22)) * scale).CopyTo(angle);
        (q & Vector512.Create(3)).CopyTo(quarter);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReduceVector(Vector256<uint> w, Vector256<float> scale, Span<float> angle, Span<int> quarter)
    {
        var v = (w >>> 8).AsInt32();
        var q = (v + Vector256.Create(1 << 21)) >> 22;
        (Vector256.ConvertToSingle(v - (q << 22)) * scale).CopyTo(angle);
        (q & Vector256.Create(3)).CopyTo(quarter);
    }

    // The high and low 32 bits of each lane's 64-bit product a·b (vpmuludq on the even lanes, then on the odd ones).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<uint> Hi, Vector256<uint> Lo) MulHiLo(Vector256<uint> a, Vector256<uint> b)
    {
        var even = System.Runtime.Intrinsics.X86.Avx2.Multiply(a, b);
        var odd = System.Runtime.Intrinsics.X86.Avx2.Multiply((a.AsUInt64() >>> 32).AsUInt32(), (b.AsUInt64() >>> 32).AsUInt32());
        var lo = System.Runtime.Intrinsics.X86.Avx2.Blend(even.AsUInt32(), (odd << 32).AsUInt32(), 0b10101010);
        var hi = System.Runtime.Intrinsics.X86.Avx2.Blend((even >>> 32).AsUInt32(), odd.AsUInt32(), 0b10101010);
        return (hi, lo);
    }

    /// <summary>Fills <paramref name="destination"/> with U[lo, hi) draws.</summary>
    public void FillUniform<T>(Span<T> destination, double lo, double hi) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = T.CreateTruncating(NextUniform(lo, hi));
    }

    private void Refill()
    {
        (_b0, _b1, _b2, _b3) = Philox4x32(
            (uint)_position, (uint)(_position >> 32), (uint)_substream, (uint)(_substream >> 32), _k0, _k1);
        _available = 4;
        _position++;
    }

    /// <summary>The Philox4x32-10 block function: counter (c0..c3) and key (k0, k1) to four words.</summary>
    internal static (uint, uint, uint, uint) Philox4x32(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0, hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            uint n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
            c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
            k0 += W0; k1 += W1;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>SplitMix64 finaliser: a bijective 64-bit mixer used to derive keys.</summary>
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
