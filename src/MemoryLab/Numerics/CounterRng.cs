using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

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
    /// Fills <paramref name="destination"/> with N(0, 1) draws by a vectorised float32 Box–Muller: each Philox block's four
    /// words give two pairs (u₁, u₂), u₁ = (w ≫ 9 + ½)·2⁻²³ ∈ (0, 1) and u₂ = (w ≫ 8)·2⁻²⁴ ∈ [0, 1), and
    /// z = √(−2 ln u₁)·(cos 2πu₂, sin 2πu₂) evaluated with <see cref="TensorPrimitives"/> over chunks of
    /// <see cref="VectorizedChunk"/> (a short tail is computed as a full chunk, so every draw takes the vector path).
    /// About 20× faster than <see cref="FillNormal{T}"/> (double precision, scalar libm); the draws are float32-accurate and
    /// bounded by |z| ≤ √(2·24 ln 2) ≈ 5.8, which the training data of a teacher task never notices. The result is a
    /// pure function of (seed, purpose, substream, position) and takes ⌈n/256⌉·64 blocks from the stream.
    /// </summary>
    public void FillNormalVectorized<T>(Span<T> destination) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        const int Pairs = VectorizedChunk / 2;
        const float TwoPi = 2 * MathF.PI;
        Span<uint> words = stackalloc uint[VectorizedChunk];
        Span<float> radius = stackalloc float[Pairs], angle = stackalloc float[Pairs];
        Span<float> sin = stackalloc float[Pairs], cos = stackalloc float[Pairs];
        for (int start = 0; start < destination.Length; start += VectorizedChunk)
        {
            for (int b = 0; b < VectorizedChunk / 4; b++)
            {
                var (w0, w1, w2, w3) = Philox4x32((uint)_position, (uint)(_position >> 32), (uint)_substream, (uint)(_substream >> 32), _k0, _k1);
                _position++;
                radius[2 * b] = ((w0 >> 9) + 0.5f) * (1f / (1 << 23)); angle[2 * b] = (w1 >> 8) * (TwoPi / (1 << 24));
                radius[2 * b + 1] = ((w2 >> 9) + 0.5f) * (1f / (1 << 23)); angle[2 * b + 1] = (w3 >> 8) * (TwoPi / (1 << 24));
            }
            TensorPrimitives.Log(radius, radius);
            TensorPrimitives.Multiply(radius, -2f, radius);
            TensorPrimitives.Sqrt(radius, radius);
            TensorPrimitives.Sin(angle, sin);   // (TensorPrimitives.SinCos has no vector path yet: 30× slower)
            TensorPrimitives.Cos(angle, cos);
            var chunk = destination.Slice(start, Math.Min(VectorizedChunk, destination.Length - start));
            for (int i = 0; i < chunk.Length; i++)
                chunk[i] = T.CreateTruncating((i & 1) == 0 ? radius[i >> 1] * cos[i >> 1] : radius[i >> 1] * sin[i >> 1]);
        }
        _available = 0;
        _hasSpare = false;
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
