namespace MemoryLab.Theory;

/// <summary>
/// The Hessian, at the optimum, of the squared loss of a <see cref="DiagonalNetwork"/> with respect to its eigenvalues
/// (Zucchet24 §4; the theory panel of its Fig. 10). At the optimum it equals <c>E[∇_λ y ∇_λ yᵀ]</c>, whose 2×2 blocks
/// <see cref="SignalPropagation.HessianBlock"/> gives through the cross kernel S. Matrices are row-major 2n × 2n with the
/// coordinates ordered <c>(Re λ_1, …, Re λ_n, Im λ_1, …, Im λ_n)</c>, the layout the authors plot.
/// </summary>
public static class EigenvalueHessian
{
    /// <summary>The 2n × 2n Hessian at the optimum for inputs with <c>E[x_t x_{t+Δ}] = ρ^{|Δ|}</c>.</summary>
    public static double[] AtOptimum(DiagonalNetwork network, double rho)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.Validate();
        int n = network.Size, dim = 2 * n;
        var h = new double[dim * dim];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var block = SignalPropagation.HessianBlock(network.B[i], network.C[i], network.Lambda[i], network.B[j], network.C[j], network.Lambda[j], rho);
                h[i * dim + j] = block[0, 0];
                h[i * dim + n + j] = block[0, 1];
                h[(n + i) * dim + j] = block[1, 0];
                h[(n + i) * dim + n + j] = block[1, 1];
            }
        return h;
    }

    /// <summary>How far a symmetric matrix is from diagonal: <c>‖H − diag H‖_F / ‖H‖_F</c> ∈ [0, 1] (0 for a diagonal matrix).
    /// Adam rescales each coordinate separately, so it can undo the curvature of a diagonal Hessian but not of the
    /// off-diagonal part (Zucchet24 §4).</summary>
    public static double OffDiagonalFraction(ReadOnlySpan<double> matrix, int dimension)
    {
        CheckSquare(matrix, dimension);
        double all = 0, diagonal = 0;
        for (int i = 0; i < dimension; i++)
            for (int j = 0; j < dimension; j++)
            {
                double v = matrix[i * dimension + j];
                all += v * v;
                if (i == j) diagonal += v * v;
            }
        if (!(all > 0)) throw new ArgumentException("the matrix is zero: its off-diagonal fraction is undefined", nameof(matrix));
        return Math.Sqrt(Math.Max(0, all - diagonal) / all);
    }

    /// <summary><c>D^{−1/2} H D^{−1/2}</c> with D = diag H (unit diagonal): the curvature left after an ideal per-coordinate
    /// rescaling, as Adam's preconditioner approximates. Its eigenvalue spread is what such a rescaling cannot remove.
    /// Needs a positive diagonal.</summary>
    public static double[] DiagonallyScaled(ReadOnlySpan<double> matrix, int dimension)
    {
        CheckSquare(matrix, dimension);
        var s = new double[dimension];
        for (int i = 0; i < dimension; i++)
        {
            double d = matrix[i * dimension + i];
            if (!(d > 0)) throw new ArgumentException($"diagonal entry {i} is {d}: the rescaling needs a positive diagonal", nameof(matrix));
            s[i] = 1 / Math.Sqrt(d);
        }
        var scaled = new double[dimension * dimension];
        for (int i = 0; i < dimension; i++)
            for (int j = 0; j < dimension; j++)
                scaled[i * dimension + j] = matrix[i * dimension + j] * s[i] * s[j];
        return scaled;
    }

    private static void CheckSquare(ReadOnlySpan<double> matrix, int dimension)
    {
        if (dimension < 1 || matrix.Length != dimension * dimension)
            throw new ArgumentException($"expected a {dimension} × {dimension} matrix, got {matrix.Length} entries", nameof(matrix));
    }
}
