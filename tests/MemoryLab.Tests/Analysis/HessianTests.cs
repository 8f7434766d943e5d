using MemoryLab.Analysis;
using MemoryLab.Models;
using MemoryLab.Numerics;
using static MemoryLab.Tests.Analysis.AnalysisTestFunctions;

namespace MemoryLab.Tests.Analysis;

public class HessianTests
{
    [Fact]
    public void Hessian_of_a_quadratic_is_its_matrix()
    {
        double[] lambdas = [-2.0, 0.3, 1.0, 7.5];
        var (m, _) = SymmetricMatrix(lambdas);
        var f = Quadratic(m, 4);
        double[] theta = [0.3, -1.0, 2.0, 0.5];
        foreach (var stencil in new[] { HessianStencil.TwoPoint, HessianStencil.FourPoint })
        {
            var h = Hessian.Compute(f, theta, stencil: stencil);
            for (int i = 0; i < 16; i++) Assert.Equal(m[i], h[i], 1e-9);
        }
        // The spectrum comes back sorted, with unit eigenvectors satisfying H v = λ v.
        var eig = Hessian.Eigen(m, 4);
        Assert.Equal(lambdas.OrderByDescending(x => x), eig.Eigenvalues, (a, b) => Math.Abs(a - b) < 1e-12);
        for (int k = 0; k < 4; k++)
        {
            var v = eig.Eigenvector(k);
            Assert.Equal(1, Norm(v), 12);
            for (int i = 0; i < 4; i++)
            {
                double hv = 0;
                for (int j = 0; j < 4; j++) hv += m[i * 4 + j] * v[j];
                Assert.Equal(eig.Eigenvalues[k] * v[i], hv, 12);
            }
        }
    }

    [Fact]
    public void Hessian_of_extended_rosenbrock_matches_the_analytic_one()
    {
        var f = Rosenbrock(6);
        double[] theta = [-1.2, 1.0, 0.4, -0.7, 1.3, 0.9];
        var exact = RosenbrockHessian(theta);
        double scale = exact.Max(Math.Abs);
        var h = new double[36];
        double asym = Hessian.Compute(f, theta, h);
        Assert.True(asym < 1e-9, $"asymmetry {asym:E3}");
        for (int i = 0; i < 36; i++) Assert.True(Math.Abs(h[i] - exact[i]) < 1e-9 * scale, $"entry {i}: {h[i]} vs {exact[i]}");
        // The 2-point stencil is O(h²) accurate: still close, but visibly less so on this cubic-in-θ gradient.
        var h2 = Hessian.Compute(f, theta, step: 1e-5, stencil: HessianStencil.TwoPoint);
        for (int i = 0; i < 36; i++) Assert.True(Math.Abs(h2[i] - exact[i]) < 1e-5 * scale, $"2-point entry {i}: {h2[i]} vs {exact[i]}");
    }

    [Fact]
    public void Hessian_vector_products_match_the_matrix()
    {
        var f = Rosenbrock(5);
        double[] theta = [0.5, -0.3, 1.1, 0.2, -0.8];
        var exact = RosenbrockHessian(theta);
        double[] v = [1.0, -2.0, 0.5, 3.0, -1.0];
        var hv = new double[5];
        var op = new HessianVectorOperator(f);
        op.Apply(theta, v, hv);
        for (int i = 0; i < 5; i++)
        {
            double e = 0;
            for (int j = 0; j < 5; j++) e += exact[i * 5 + j] * v[j];
            Assert.True(Math.Abs(hv[i] - e) < 1e-7 * (1 + Math.Abs(e)), $"(Hv)[{i}] = {hv[i]} vs {e}");
        }
        var zero = new double[5];
        Hessian.VectorProduct(f, theta, new double[5], zero);
        Assert.All(zero, x => Assert.Equal(0, x));
    }

    [Fact]
    public void Concentration_measures_separate_axis_aligned_from_spread_vectors()
    {
        double[] axis = [0, 0, -3, 0];
        double[] spread = [0.5, -0.5, 0.5, 0.5];
        Assert.Equal(1, Hessian.InverseParticipationRatio(axis), 14);
        Assert.Equal(0.25, Hessian.InverseParticipationRatio(spread), 14);
        Assert.Equal(1, Hessian.TopMassFraction(axis, 1), 14);
        Assert.Equal(0.5, Hessian.TopMassFraction(spread, 2), 14);
        double[] mixed = [3, 0, 4, 0]; // squares 9, 16 of 25
        Assert.Equal(16.0 / 25, Hessian.TopMassFraction(mixed, 1), 14);
        Assert.Equal((81.0 + 256) / (25.0 * 25), Hessian.InverseParticipationRatio(mixed), 14);
        Assert.Throws<ArgumentException>(() => Hessian.InverseParticipationRatio(new double[3]));

        var layout = new ParameterLayout();
        layout.Add("A", "recurrent", 2);
        layout.Add("B", "input", 2);
        var mass = Hessian.MassByView(mixed, layout);
        Assert.Equal(("A", 9.0 / 25), (mass[0].Name, mass[0].Fraction));
        Assert.Equal(16.0 / 25, mass[1].Fraction, 14);
    }

    [Fact]
    public void Diagonal_hessian_has_axis_aligned_eigenvectors_and_a_rotated_one_does_not()
    {
        // The Zucchet24 Fig. 4 contrast in miniature: same spectrum, axis-aligned vs rotated eigenbasis.
        double[] lambdas = [1e3, 10, 1, 0.1, 0.01];
        var diag = new double[25];
        for (int i = 0; i < 5; i++) diag[i * 5 + i] = lambdas[i];
        var (rotated, _) = SymmetricMatrix(lambdas);
        var top = Hessian.Eigen(diag, 5).Eigenvector(0);
        var topRot = Hessian.Eigen(rotated, 5).Eigenvector(0);
        Assert.Equal(1, Hessian.InverseParticipationRatio(top), 12);
        Assert.True(Hessian.InverseParticipationRatio(topRot) < 0.6, $"IPR {Hessian.InverseParticipationRatio(topRot)}");
        Assert.True(Hessian.TopMassFraction(topRot, 1) < 0.8);
    }

    [Fact]
    public void Hessian_of_a_model_objective_is_symmetric_and_matches_hessian_vector_products()
    {
        // The real use (Zucchet24 §5, Fig. 4): the loss of a linear recurrence on one batch, θ ↦ (J, ∇J) through the layer's backward.
        var model = new SequenceModel<double>(new DenseLinearRecurrence<double>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 3 }));
        model.Initialize(4);
        using var pool = new WorkerPool(1);
        model.Prepare(4, 12, pool);
        var x = new SequenceTensor<double>(4, 12, 1);
        var y = new SequenceTensor<double>(4, 12, 1);
        new CounterRng(9, RandomPurpose.Data).FillNormal<double>(x.Data);
        new CounterRng(10, RandomPurpose.Data).FillNormal<double>(y.Data);
        var dy = new SequenceTensor<double>(4, 12, 1);
        var f = new DelegateObjective<double>(model.Layout.Count, (theta, g) =>
        {
            theta.CopyTo(model.Theta);
            var o = model.Forward(x);
            double loss = 0;
            for (int i = 0; i < o.Data.Length; i++) { double d = o.Data[i] - y.Data[i]; loss += 0.5 * d * d; dy.Data[i] = d; }
            model.Backward(dy);
            model.Gradient.CopyTo(g);
            return loss;
        });
        var theta0 = model.Theta.ToArray();
        int n = f.Dimension;
        var h = new double[n * n];
        double asym = Hessian.Compute(f, theta0, h);
        Assert.True(asym < 1e-8, $"asymmetry {asym:E3}");
        var v = new double[n];
        new CounterRng(3, RandomPurpose.User).FillNormal<double>(v);
        var hv = new double[n];
        Hessian.VectorProduct(f, theta0, v, hv);
        double scale = h.Max(Math.Abs);
        for (int i = 0; i < n; i++)
        {
            double e = 0;
            for (int j = 0; j < n; j++) e += h[i * n + j] * v[j];
            Assert.True(Math.Abs(hv[i] - e) < 1e-7 * scale, $"(Hv)[{i}] {hv[i]} vs H·v {e}");
        }
        // Second-order Taylor check on the loss itself (independent of the gradient code path).
        var g0 = new double[n];
        double j0 = f.Evaluate(theta0, g0);
        double eps = 1e-3;
        var tp = theta0.Select((t, i) => t + eps * v[i]).ToArray();
        var tm = theta0.Select((t, i) => t - eps * v[i]).ToArray();
        double second = (f.Evaluate(tp, new double[n]) - 2 * j0 + f.Evaluate(tm, new double[n])) / (eps * eps);
        double vhv = v.Select((vi, i) => vi * hv[i]).Sum();
        Assert.True(Math.Abs(second - vhv) < 1e-4 * Math.Abs(vhv), $"vᵀHv {vhv} vs second difference {second}");
    }
}
