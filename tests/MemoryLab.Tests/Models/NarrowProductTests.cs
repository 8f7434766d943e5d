using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>The narrow products the LTI scans use for one input/output feature give the GEMM's exact bits.</summary>
public class NarrowProductTests
{
    private static void SameBitsAsGemm<T>(int rows, int n, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new CounterRng(9, RandomPurpose.Data);
        var x = new T[rows]; var b = new T[n];
        rng.FillNormal<T>(x); rng.FillNormal<T>(b);
        // Signed zeros and a tiny product: the cases where a plain multiply and the GEMM's fma(x, b, +0) could differ.
        x[0] = -T.Zero; x[1] = T.Zero; b[0] = -T.Zero; x[2] = T.CreateTruncating(-1e-30); b[1] = T.CreateTruncating(1e-30);
        var viaGemm = new T[rows * n]; var viaLoop = new T[rows * n];
        viaLoop.AsSpan().Fill(T.NaN);
        Gemm.Multiply(Transpose.No, Transpose.No, rows, n, 1, alpha, x, 1, b, n, T.Zero, viaGemm, n);
        NarrowProducts.OuterProduct(x, b, alpha, viaLoop, rows);
        for (int i = 0; i < viaGemm.Length; i++)
            Assert.True(viaGemm[i].Equals(viaLoop[i]) && T.IsNegative(viaGemm[i]) == T.IsNegative(viaLoop[i]), $"entry {i}: GEMM {viaGemm[i]}, loop {viaLoop[i]}");
    }

    [Theory]
    [InlineData(37, 64, 1.0)]
    [InlineData(5, 13, -1.0)]
    [InlineData(300, 7, 0.5)]
    public void Outer_product_gives_the_gemm_bits(int rows, int n, double alpha)
    {
        SameBitsAsGemm(rows, n, alpha);
        SameBitsAsGemm(rows, n, (float)alpha);
    }

    [Fact]
    public void Outer_product_rejects_short_buffers()
    {
        var e = Assert.Throws<ArgumentException>(() => NarrowProducts.OuterProduct<double>(new double[3], new double[4], 1.0, new double[11], 3));
        Assert.Contains("12", e.Message);
    }
}
