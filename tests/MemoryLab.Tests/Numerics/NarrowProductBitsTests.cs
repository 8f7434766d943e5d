using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Numerics;

/// <summary>
/// Fixed-seed bits of the narrow products <see cref="NarrowProducts.RowDots{T}"/> and
/// <see cref="NarrowProducts.VectorTimesMatrix{T}"/>, float and double, on lengths that vector widths divide and that
/// they do not (a scalar tail, or only a tail), with one and two k-blocks and with signed zeros in the inputs. The hashes
/// were recorded from the kernels as a vector body plus a separate scalar tail, before each was written once over
/// <see cref="ISimd{TV, T}"/>; a rewrite that moves any bit fails here. Recorded on one instruction set (AVX-512 with FMA,
/// Vector&lt;T&gt; of 256 bits); elsewhere the test checks run-to-run equality only.
/// </summary>
public class NarrowProductBitsTests
{
    private static string Isa => $"v512={Vector512.IsHardwareAccelerated},vec={Vector<byte>.Count * 8},fma={System.Runtime.Intrinsics.X86.Fma.IsSupported}";
    private const string RecordedIsa = "v512=True,vec=256,fma=True";

    public static TheoryData<string> Cases() => new(Expected.Keys);

    // case name → SHA-256 (first 16 hex digits) of the output bytes.
    // "rowdots f32 r13 k7 acc -0.75": RowDots over 13 rows of width 7, accumulating, α = −0.75.
    // "vxm f64 r131 n13 1": VectorTimesMatrix over 131 rows, 13 columns, α = 1.
    private static readonly Dictionary<string, string> Expected = new()
    {
        ["rowdots f32 r13 k7 set 1"] = "A9779291776706F0",
        ["rowdots f32 r13 k131 acc -0.75"] = "F8C634F90F3DF4D7",
        ["rowdots f32 r1 k9 acc 0.5"] = "8547905B993F8AC5",
        ["rowdots f32 r37 k300 set -1"] = "40733698598DC57E",
        ["rowdots f64 r13 k7 acc 1"] = "E27E08EDF283220B",
        ["rowdots f64 r13 k131 set -0.75"] = "BD0D1CF9359DB869",
        ["rowdots f64 r3 k9 set 0.5"] = "382A7FD6905F70F1",
        ["rowdots f64 r37 k300 acc -1"] = "F6903B627A41A932",
        ["vxm f32 r7 n13 1"] = "9123133522EECF5D",
        ["vxm f32 r131 n13 -0.75"] = "B4C8C43C7372B098",
        ["vxm f32 r300 n3 0.5"] = "B476A7FFFEBFDD5A",
        ["vxm f32 r9 n37 -1"] = "B1AFC6105F29D56B",
        ["vxm f32 r0 n13 1"] = "7955CB2DE90DD9EF",
        ["vxm f64 r7 n13 1"] = "453DDA529FBD03DD",
        ["vxm f64 r131 n13 -0.75"] = "5D84E9CB578012A7",
        ["vxm f64 r300 n3 0.5"] = "01473BDDAC275328",
        ["vxm f64 r9 n37 -1"] = "DA4AE8B827794BF8",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Narrow_product_gives_its_recorded_bits(string name)
    {
        string first = Hash(name), second = Hash(name);
        Assert.Equal(first, second);
        if (Isa != RecordedIsa) return; // recorded bits depend on the vector width and FMA
        Assert.Equal(Expected[name], first);
    }

    private static string Hash(string name)
    {
        var parts = name.Split(' ');
        bool f32 = parts[1] == "f32";
        int rows = int.Parse(parts[2][1..]), width = int.Parse(parts[3][1..]);
        if (parts[0] == "rowdots")
        {
            bool accumulate = parts[4] == "acc";
            double alpha = double.Parse(parts[5], System.Globalization.CultureInfo.InvariantCulture);
            return f32 ? RowDots(rows, width, (float)alpha, accumulate) : RowDots(rows, width, alpha, accumulate);
        }
        double a = double.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture);
        return f32 ? VectorTimesMatrix(rows, width, (float)a) : VectorTimesMatrix(rows, width, a);
    }

    // Normal entries with a few signed zeros: a zero product in an FMA chain from +0 is where a reordering would show.
    private static T[] Filled<T>(int length, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var v = new T[length];
        new CounterRng((ulong)seed, RandomPurpose.Data).FillNormal<T>(v);
        for (int i = 0; i < length; i += 11) v[i] = -T.Zero;
        for (int i = 5; i < length; i += 17) v[i] = T.Zero;
        return v;
    }

    private static string RowDots<T>(int rows, int k, T alpha, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Filled<T>(rows * k, 31); var b = Filled<T>(k, 32); var y = Filled<T>(rows, 33);
        NarrowProducts.RowDots(a, b, alpha, accumulate, y, rows);
        return Sha(y);
    }

    private static string VectorTimesMatrix<T>(int rows, int n, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = Filled<T>(rows, 34); var g = Filled<T>(rows * n, 35);
        var dest = new T[n];
        dest.AsSpan().Fill(T.NaN);
        NarrowProducts.VectorTimesMatrix(x, g, alpha, dest, rows);
        return Sha(dest);
    }

    private static string Sha<T>(T[] v) where T : unmanaged =>
        Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(v.AsSpan())))[..16];
}
