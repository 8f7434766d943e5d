using MathNet.Numerics.LinearAlgebra;
using Complex = System.Numerics.Complex;

namespace MemoryLab.Models;

/// <summary>
/// The complex diagonal system equivalent to a dense linear recurrence (Zucchet24 §3; its Fig. 4 Hessian compares the two):
/// with A = V diag(λ) V⁻¹, the state z = V⁻¹h obeys z_t = λ ⊙ z_{t−1} + B̄ x_t with B̄ = V⁻¹B, and
/// y = C h + D x = Re(C̄ z) + D x with C̄ = C V (the imaginary part cancels over conjugate pairs).
/// </summary>
public static class DiagonalEquivalent
{
    /// <summary>Writes the diagonal equivalent of <paramref name="dense"/>'s parameters (its θ) into
    /// <paramref name="diagonal"/>'s θ (default parametrisation, no normalisation, full skip, same sizes).</summary>
    /// <param name="dense">A model whose root is a <see cref="DenseLinearRecurrence{T}"/>; read only.</param>
    /// <param name="diagonal">A model whose root is a <see cref="DiagonalRecurrence{T}"/>; its θ is overwritten.</param>
    public static void Convert(SequenceModel<double> dense, SequenceModel<double> diagonal)
    {
        if (dense.Root is not DenseLinearRecurrence<double> d || diagonal.Root is not DiagonalRecurrence<double> g)
            throw new ArgumentException("expects a DenseLinearRecurrence model and a DiagonalRecurrence model");
        var o = g.Options;
        if (g.Map != EigenvalueMaps.For<double>(EigenvalueParametrisation.Default) || o.Normalisation != InputNormalisation.None || o.Skip != SkipConnection.Full)
            throw new ArgumentException("the diagonal model must use the default parametrisation, no normalisation and a full skip");
        int n = d.Options.StateSize;
        if (o.StateSize != n || g.InputSize != d.InputSize || g.OutputSize != d.OutputSize)
            throw new ArgumentException("the two models must have the same state, input and output sizes");
        int din = d.InputSize, dout = d.OutputSize;
        var full = new double[n * n];
        d.FullRecurrentMatrix(dense.Theta, full);
        var a = Matrix<Complex>.Build.Dense(n, n, (i, j) => full[i * n + j]);
        var evd = a.Evd(Symmetricity.Asymmetric);
        var v = evd.EigenVectors;
        var vinv = v.Inverse();
        var b = Matrix<Complex>.Build.Dense(n, din, (i, j) => dense.Layout["B"].Of(dense.Theta)[i * din + j]);
        var c = Matrix<Complex>.Build.Dense(dout, n, (i, j) => dense.Layout["C"].Of(dense.Theta)[i * n + j]);
        var bBar = vinv * b;
        var cBar = c * v;
        var lay = diagonal.Layout; var th = diagonal.Theta;
        for (int i = 0; i < n; i++)
        {
            lay["lambda_re"].Of(th)[i] = evd.EigenValues[i].Real;
            lay["lambda_im"].Of(th)[i] = evd.EigenValues[i].Imaginary;
            for (int j = 0; j < din; j++)
            {
                lay["B_re"].Of(th)[i * din + j] = bBar[i, j].Real;
                lay["B_im"].Of(th)[i * din + j] = bBar[i, j].Imaginary;
            }
            for (int k = 0; k < dout; k++)
            {
                lay["C_re"].Of(th)[k * n + i] = cBar[k, i].Real;
                lay["C_im"].Of(th)[k * n + i] = cBar[k, i].Imaginary;
            }
        }
        if (dense.Layout.TryGet("D", out var dv)) dv.Of(dense.Theta).CopyTo(lay["D"].Of(th));
        else lay["D"].Of(th).Clear();
    }
}
