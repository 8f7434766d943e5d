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

    private static bool SameBits<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> =>
        a.Equals(b) && T.IsNegative(a) == T.IsNegative(b);

    private static void RowDotsMatchGemm<T>(int rows, int k, T alpha, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new CounterRng(21, RandomPurpose.Data);
        var a = new T[rows * k]; var b = new T[k]; var y0 = new T[rows];
        rng.FillNormal<T>(a); rng.FillNormal<T>(b); rng.FillNormal<T>(y0);
        var viaGemm = (T[])y0.Clone(); var viaLoop = (T[])y0.Clone();
        Gemm.Multiply(Transpose.No, Transpose.Yes, rows, 1, k, alpha, a, k, b, k, accumulate ? T.One : T.Zero, viaGemm, 1);
        NarrowProducts.RowDots(a, b, alpha, accumulate, viaLoop, rows);
        for (int i = 0; i < rows; i++) Assert.True(SameBits(viaGemm[i], viaLoop[i]), $"row {i}: GEMM {viaGemm[i]}, loop {viaLoop[i]}");
    }

    private static void VectorTimesMatrixMatchesGemm<T>(int rows, int n, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new CounterRng(22, RandomPurpose.Data);
        var x = new T[rows]; var g = new T[rows * n];
        rng.FillNormal<T>(x); rng.FillNormal<T>(g);
        var viaGemm = new T[n]; var viaLoop = new T[n];
        viaLoop.AsSpan().Fill(T.NaN);
        Gemm.Multiply(Transpose.Yes, Transpose.No, 1, n, rows, alpha, x, 1, g, n, T.Zero, viaGemm, n);
        NarrowProducts.VectorTimesMatrix(x, g, alpha, viaLoop, rows);
        for (int j = 0; j < n; j++) Assert.True(SameBits(viaGemm[j], viaLoop[j]), $"column {j}: GEMM {viaGemm[j]}, loop {viaLoop[j]}");
    }

    [Theory]
    [InlineData(4800, 64, 1.0, false)]
    [InlineData(37, 64, -1.0, true)]
    [InlineData(19, 1, 1.0, true)]
    [InlineData(45, 300, 0.5, false)]
    [InlineData(3, 130, -1.0, true)]
    public void Row_dots_give_the_gemm_bits(int rows, int k, double alpha, bool accumulate)
    {
        RowDotsMatchGemm(rows, k, alpha, accumulate);
        RowDotsMatchGemm(rows, k, (float)alpha, accumulate);
    }

    [Theory]
    [InlineData(4800, 64, 1.0)]
    [InlineData(300, 64, -1.0)]
    [InlineData(129, 1, 1.0)]
    [InlineData(77, 13, 0.5)]
    [InlineData(5, 3, -1.0)]
    public void Vector_times_matrix_gives_the_gemm_bits(int rows, int n, double alpha)
    {
        VectorTimesMatrixMatchesGemm(rows, n, alpha);
        VectorTimesMatrixMatchesGemm(rows, n, (float)alpha);
    }

    [Fact]
    public void Outer_product_rejects_short_buffers()
    {
        var e = Assert.Throws<ArgumentException>(() => NarrowProducts.OuterProduct<double>(new double[3], new double[4], 1.0, new double[11], 3));
        Assert.Contains("12", e.Message);
    }
    // (transA, transB, m, n, k, lda, ldb, ldc, beta): the shapes the diagonal recurrence's GEMM path routes, and two it must not.
    public static TheoryData<int, int, int, int, int, int, int, int, double> RoutedShapes() => new()
    {
        { 0, 0, 37, 13, 1, 1, 13, 13, 0.0 },  // u = x B̃ᵀ with one input: outer product
        { 0, 1, 37, 1, 13, 13, 13, 1, 0.0 },  // y = h C_reᵀ with one output: row dots
        { 0, 1, 37, 1, 13, 13, 13, 1, 1.0 },  // y −= h C_imᵀ: row dots, accumulated
        { 0, 0, 37, 1, 9, 9, 1, 1, 1.0 },     // dx += dy D with one input: row dots over B's one column
        { 1, 0, 1, 13, 37, 1, 13, 13, 0.0 },  // ∂L/∂C = dyᵀ h with one output: vector × matrix
        { 0, 1, 37, 9, 1, 1, 1, 9, 1.0 },     // y += x Dᵀ with one input (β = 1): the GEMM
        { 1, 0, 9, 1, 37, 9, 1, 1, 0.0 },     // ∂L/∂D with one input, several outputs: the GEMM
    };

    [Theory]
    [MemberData(nameof(RoutedShapes))]
    public void The_router_gives_the_gemm_bits(int transA, int transB, int m, int n, int k, int lda, int ldb, int ldc, double beta)
    {
        RouterMatchesGemm<double>(transA, transB, m, n, k, lda, ldb, ldc, beta);
        RouterMatchesGemm<float>(transA, transB, m, n, k, lda, ldb, ldc, beta);
    }

    private static void RouterMatchesGemm<T>(int transA, int transB, int m, int n, int k, int lda, int ldb, int ldc, double beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new CounterRng(23, RandomPurpose.Data);
        var a = new T[m * k]; var b = new T[k * n]; var c0 = new T[m * n];
        rng.FillNormal<T>(a); rng.FillNormal<T>(b); rng.FillNormal<T>(c0);
        var viaGemm = (T[])c0.Clone(); var viaRouter = (T[])c0.Clone();
        var ta = (Transpose)transA; var tb = (Transpose)transB;
        T alpha = T.CreateTruncating(-0.75), bt = T.CreateTruncating(beta);
        Gemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, bt, viaGemm, ldc);
        NarrowProducts.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, bt, viaRouter, ldc);
        for (int i = 0; i < viaGemm.Length; i++) Assert.True(SameBits(viaGemm[i], viaRouter[i]), $"entry {i}: GEMM {viaGemm[i]}, router {viaRouter[i]}");
    }
}
