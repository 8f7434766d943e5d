using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Theory;

/// <summary>
/// The exact stationary (t → ∞) loss <c>L = ½ E[(y(λ) − y(λ*))²]</c> of a <see cref="DiagonalNetwork"/> student against a
/// teacher with the same b and c, as a function of the student's eigenvalues, for inputs with <c>E[x_t x_{t+Δ}] = ρ^{|Δ|}</c>
/// (Zucchet24 §4). With <c>a_k = c_k b_k</c>, <c>u(λ) = Σ_k a_k h(λ_k)</c> and <c>E[Re u Re w] = ½ Re(E[uw] + E[u w̄])</c>,
/// every term is a sum of the master correlation <see cref="SignalPropagation.Correlation(Complex, Complex, double)"/>.
/// θ = (Re λ_1, …, Re λ_n, Im λ_1, …, Im λ_n), the order of <see cref="EigenvalueHessian.AtOptimum"/>, whose matrix is this
/// loss's Hessian at θ* = the teacher's eigenvalues.
/// </summary>
public sealed class DiagonalTeacherStudentLoss : IObjective<double>
{
    private readonly Complex[] _a, _teacher;
    private readonly double _rho;

    /// <summary>A loss against <paramref name="teacher"/>; the student shares its b and c.</summary>
    public DiagonalTeacherStudentLoss(DiagonalNetwork teacher, double rho)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        teacher.Validate();
        if (!(Math.Abs(rho) <= 1)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "input autocorrelation ρ must lie in [−1, 1]");
        Teacher = teacher;
        _rho = rho;
        _teacher = (Complex[])teacher.Lambda.Clone();
        _a = new Complex[teacher.Size];
        for (int k = 0; k < _a.Length; k++) _a[k] = teacher.C[k] * teacher.B[k];
        Layout = new ParameterLayout();
        Layout.Add("re_lambda", "recurrent", teacher.Size);
        Layout.Add("im_lambda", "recurrent", teacher.Size);
    }

    /// <summary>The teacher network.</summary>
    public DiagonalNetwork Teacher { get; }
    /// <summary>θ layout: re_lambda (n), im_lambda (n).</summary>
    public ParameterLayout Layout { get; }
    /// <inheritdoc />
    public int Dimension => 2 * _a.Length;

    /// <summary>θ* (the teacher's eigenvalues in the layout of θ).</summary>
    public double[] Optimum()
    {
        int n = _a.Length;
        var theta = new double[2 * n];
        for (int k = 0; k < n; k++) { theta[k] = _teacher[k].Real; theta[n + k] = _teacher[k].Imaginary; }
        return theta;
    }

    /// <inheritdoc />
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        int n = _a.Length;
        if (theta.Length != 2 * n) throw new ArgumentException($"θ has {theta.Length} entries, the loss expects {2 * n}");
        var lambda = new Complex[n];
        for (int k = 0; k < n; k++)
        {
            lambda[k] = new Complex(theta[k], theta[n + k]);
            if (!(Complex.Abs(lambda[k]) < 1)) throw new ArgumentOutOfRangeException(nameof(theta), lambda[k], "a student eigenvalue left the unit disc: the loss is infinite");
        }
        double loss = 0.5 * (Moment(lambda, lambda) - 2 * Moment(lambda, _teacher) + Moment(_teacher, _teacher));
        if (gradient.Length == 0) return loss;
        if (gradient.Length != 2 * n) throw new ArgumentException($"the gradient has {gradient.Length} entries, the loss has {2 * n}");
        // ∂L/∂Re λ_k = ½ Re(Y_k + Z_k − W_k), ∂L/∂Im λ_k = −½ Im(Y_k + Z_k − W_k), with ∂₁f the derivative in the first slot:
        // Y_k = a_k Σ_l a_l ∂₁f(λ_k, λ_l), Z_k = a_k Σ_l ā_l ∂₁f(λ_k, λ̄_l) (from E[u u] and E[u ū]; f is symmetric and has
        // real coefficients), W_k = a_k Σ_l (a_l ∂₁f(λ_k, λ*_l) + ā_l ∂₁f(λ_k, λ̄*_l)) (from the cross term).
        for (int k = 0; k < n; k++)
        {
            Complex sum = 0;
            for (int l = 0; l < n; l++)
            {
                Complex al = _a[l], alc = Complex.Conjugate(al);
                sum += al * SignalPropagation.CorrelationDerivative(lambda[k], lambda[l], _rho)
                    + alc * SignalPropagation.CorrelationDerivative(lambda[k], Complex.Conjugate(lambda[l]), _rho)
                    - al * SignalPropagation.CorrelationDerivative(lambda[k], _teacher[l], _rho)
                    - alc * SignalPropagation.CorrelationDerivative(lambda[k], Complex.Conjugate(_teacher[l]), _rho);
            }
            Complex d = _a[k] * sum;
            gradient[k] = 0.5 * d.Real;
            gradient[n + k] = -0.5 * d.Imaginary;
        }
        return loss;
    }

    /// <summary><c>E[Re u(α) Re u(β)] = ½ Re Σ_{k,l} a_k (a_l f(α_k, β_l) + ā_l f(α_k, β̄_l))</c>.</summary>
    private double Moment(Complex[] alpha, Complex[] beta)
    {
        Complex s = 0;
        for (int k = 0; k < alpha.Length; k++)
            for (int l = 0; l < beta.Length; l++)
                s += _a[k] * (_a[l] * SignalPropagation.Correlation(alpha[k], beta[l], _rho)
                    + Complex.Conjugate(_a[l]) * SignalPropagation.Correlation(alpha[k], Complex.Conjugate(beta[l]), _rho));
        return 0.5 * s.Real;
    }
}
